package nodes

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// sample is one recorded real Nova exchange from testdata/.
func sample(t *testing.T, name string) (path string, body json.RawMessage) {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Request  struct{ Path string }
		Response struct{ Body json.RawMessage }
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s.Request.Path, s.Response.Body
}

// TestListServersDecodesRealNova replays a real changes-since listing paged
// one server at a time: the lister must send changes-since, follow
// servers_links, and decode DELETED and live servers from Nova's own JSON.
func TestListServersDecodesRealNova(t *testing.T) {
	_, page1 := sample(t, "107-servers-detail-changes-since-limit-1.json")
	_, all := sample(t, "108-servers-detail-changes-since.json")
	var full struct{ Servers []json.RawMessage }
	if err := json.Unmarshal(all, &full); err != nil || len(full.Servers) != 2 {
		t.Fatalf("sample 108: %v", err)
	}
	var srvURL string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2.1/servers/detail", func(w http.ResponseWriter, r *http.Request) {
		if got := r.URL.Query().Get("changes-since"); got != "2026-11-25T12:24:35Z" {
			t.Errorf("changes-since = %q", got)
		}
		if r.Header.Get("X-OpenStack-Nova-API-Version") != "2.79" {
			t.Errorf("microversion header = %q", r.Header.Get("X-OpenStack-Nova-API-Version"))
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("marker") == "" {
			// The recorded first page, its next link pointed at this server.
			body := strings.ReplaceAll(string(page1), "http://127.0.0.1:8774", srvURL)
			w.Write([]byte(body))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"servers": []json.RawMessage{full.Servers[1]}})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL
	c := &gophercloud.ServiceClient{
		ProviderClient: &gophercloud.ProviderClient{HTTPClient: *srv.Client(), TokenID: "token"},
		Endpoint:       srv.URL + "/v2.1/",
		Microversion:   novaMicroversion,
		Type:           "compute",
	}

	since, _ := time.Parse(time.RFC3339, "2026-11-25T12:24:35Z")
	var got []Node
	if err := listServers(t.Context(), c, since, func(n Node) { got = append(got, n) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("listed %d servers, want 2 (two pages)", len(got))
	}
	if !got[0].Deleted() {
		t.Errorf("first server %s/%s not seen as deleted", got[0].Status, got[0].VMState)
	}
	live := got[1]
	if live.Deleted() || live.Status != "SHUTOFF" || live.PowerState != 4 || live.TaskState != "" ||
		live.Flavor.RAMMiB == 0 || live.Flavor.VCPUs == 0 || live.Updated.IsZero() || live.InstanceNumber() <= 0 {
		t.Errorf("live server decoded as %+v", live)
	}
}

// TestGetServerDecodesRealNova decodes a real server show: identity, state,
// embedded flavor, image, ports from addresses, metadata and timestamps.
func TestGetServerDecodesRealNova(t *testing.T) {
	_, body := sample(t, "04-server-show-active.json")
	var w struct{ Server wireServer }
	if err := json.Unmarshal(body, &w); err != nil {
		t.Fatal(err)
	}
	n := w.Server.node()
	want := Node{ID: "f92eecf1-5d24-4fe3-8447-ad172a3851c1", Name: "probe-0", Status: "ACTIVE", VMState: "active", PowerState: 1,
		InstanceName: "instance-0000000b", Flavor: Flavor{Name: "baremetal", RAMMiB: 4096, VCPUs: 2, DiskGiB: 10},
		ImageID: "a67fb392-5a17-4956-8ca8-605df06f5661"}
	if n.ID != want.ID || n.Name != want.Name || n.Status != want.Status || n.VMState != want.VMState ||
		n.PowerState != want.PowerState || n.InstanceName != want.InstanceName || n.Flavor != want.Flavor || n.ImageID != want.ImageID {
		t.Errorf("decoded %+v\nwant    %+v", n, want)
	}
	if n.InstanceNumber() != 11 {
		t.Errorf("InstanceNumber = %d, want 11", n.InstanceNumber())
	}
	if len(n.Ports) != 1 || !reflect.DeepEqual(n.Ports[0], Port{MAC: "52:54:00:00:0f:00", Network: "provision",
		FixedIPs: []IP{{Addr: "10.128.0.158", Version: 4}}}) {
		t.Errorf("ports = %+v", n.Ports)
	}
	if v, ok := n.Metadata["libvirt:pxe-first"]; !ok || v != "" {
		t.Errorf("metadata = %v", n.Metadata)
	}
	if n.Updated.Format(time.RFC3339) != "2026-11-25T12:24:39Z" {
		t.Errorf("updated = %v", n.Updated)
	}
}
