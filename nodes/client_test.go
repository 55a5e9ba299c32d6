package nodes_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"quintupleo/cloudsim"
	"quintupleo/internal/stacktest"
	"quintupleo/nodes"
)

// withoutService puts a proxy in front of sim whose Keystone tokens list
// every service but those of type typ, as a cloud that does not run it
// would. Every other request passes through unchanged.
func withoutService(t *testing.T, sim *cloudsim.Sim, typ string) *httptest.Server {
	t.Helper()
	target, err := url.Parse(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method != http.MethodPost || !strings.HasSuffix(resp.Request.URL.Path, "/auth/tokens") {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var tok map[string]map[string]any
		if err := json.Unmarshal(body, &tok); err != nil {
			return err
		}
		var kept []any
		catalog, _ := tok["token"]["catalog"].([]any)
		for _, svc := range catalog {
			if svc.(map[string]any)["type"] != typ {
				kept = append(kept, svc)
			}
		}
		tok["token"]["catalog"] = kept
		if body, err = json.Marshal(tok); err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv
}

// Only provisioning talks to Neutron (a node's ports come from Nova's
// addresses), so a cloud whose catalog has no network service must still
// start and list its nodes, their ports included.
func TestConnectWithoutNeutron(t *testing.T) {
	sim := stacktest.StartSim(t, cloudsim.Options{Nodes: 2})
	with, err := nodes.Connect(t.Context(), stacktest.SimConfig(sim))
	if err != nil || with.Network == nil {
		t.Fatalf("Connect to a cloud with Neutron: Network %v, %v", with.Network, err)
	}

	proxy := withoutService(t, sim, "network")
	yaml := bytes.ReplaceAll(sim.CloudsYAML("sim"), []byte(sim.URL()), []byte(proxy.URL))
	cloud, err := nodes.Connect(t.Context(), nodes.CloudConfig{Cloud: "sim", CloudsYAMLData: yaml})
	if err != nil {
		t.Fatalf("Connect to a cloud without Neutron: %v", err)
	}
	if cloud.Network != nil {
		t.Errorf("Network = %v for a catalog without Neutron, want nil", cloud.Network)
	}
	ns, _, err := nodes.NewInventory(cloud, nodes.InventoryConfig{}).Nodes(t.Context())
	if err != nil || len(ns) != 2 || len(ns[0].Ports) != 1 {
		t.Fatalf("Nodes without Neutron = %+v, %v", ns, err)
	}

	// Without Nova there is nothing to serve: that must still fail, naming it.
	noNova := withoutService(t, sim, "compute")
	yaml = bytes.ReplaceAll(sim.CloudsYAML("sim"), []byte(sim.URL()), []byte(noNova.URL))
	if _, err := nodes.Connect(t.Context(), nodes.CloudConfig{Cloud: "sim", CloudsYAMLData: yaml}); err == nil ||
		!strings.Contains(err.Error(), "compute endpoint") {
		t.Errorf("Connect to a cloud without Nova: %v, want a compute endpoint error", err)
	}
}

// Provisioning and check's network facts, the users of Neutron, refuse on a
// cloud without it, saying why, and make nothing.
func TestProvisionerWithoutNeutronRefuses(t *testing.T) {
	sim := stacktest.StartSim(t, cloudsim.Options{Nodes: 1})
	proxy := withoutService(t, sim, "network")
	yaml := bytes.ReplaceAll(sim.CloudsYAML("sim"), []byte(sim.URL()), []byte(proxy.URL))
	cloud, err := nodes.Connect(t.Context(), nodes.CloudConfig{Cloud: "sim", CloudsYAMLData: yaml})
	if err != nil {
		t.Fatal(err)
	}
	inv := nodes.NewInventory(cloud, nodes.InventoryConfig{})
	prov := nodes.NewProvisioner(cloud, inv, nodes.ProvisionConfig{DefaultNetwork: "provision"})
	const why = "no network service (Neutron)"
	// quintupleo check's network facts too.
	if _, err := cloud.NetworksNamed(t.Context(), "provision"); !errors.Is(err, nodes.ErrUnavailable) || !strings.Contains(err.Error(), why) {
		t.Errorf("NetworksNamed without Neutron: %v, want ErrUnavailable saying %q", err, why)
	}
	if err := cloud.ProbePortMAC(t.Context(), "x"); !errors.Is(err, nodes.ErrUnavailable) || !strings.Contains(err.Error(), why) {
		t.Errorf("ProbePortMAC without Neutron: %v, want ErrUnavailable saying %q", err, why)
	}
	_, err = prov.Create(t.Context(), nodes.CreateSpec{Name: "new", RAMMiB: 1024, VCPUs: 1, Ports: []nodes.PortSpec{{}}})
	if !errors.Is(err, nodes.ErrUnavailable) || !strings.Contains(err.Error(), why) {
		t.Errorf("Create without Neutron: %v, want ErrUnavailable saying %q", err, why)
	}
	ns, _, err := inv.Nodes(t.Context())
	if err != nil || len(ns) != 1 {
		t.Fatalf("Nodes = %d, %v; want the one node, nothing created", len(ns), err)
	}
	if err := prov.Delete(t.Context(), ns[0].ID); !errors.Is(err, nodes.ErrUnavailable) || !strings.Contains(err.Error(), why) {
		t.Errorf("Delete without Neutron: %v, want ErrUnavailable saying %q", err, why)
	}
	if _, err := inv.Node(t.Context(), ns[0].ID); err != nil {
		t.Errorf("the node after a refused Delete: %v", err)
	}
}
