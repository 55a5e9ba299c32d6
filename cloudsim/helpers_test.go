package cloudsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"quintupleo/cloudsim"
)

// testSim starts a sim on a loopback port, closed at test end.
func testSim(t testing.TB, opts cloudsim.Options) *cloudsim.Sim {
	t.Helper()
	if opts.TransitionDelay == 0 {
		opts.TransitionDelay = 5 * time.Millisecond
	}
	sim, err := cloudsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return sim
}

type clients struct {
	provider *gophercloud.ProviderClient
	compute  *gophercloud.ServiceClient
	network  *gophercloud.ServiceClient
	image    *gophercloud.ServiceClient
	identity *gophercloud.ServiceClient
}

func authOpts(sim *cloudsim.Sim) gophercloud.AuthOptions {
	return gophercloud.AuthOptions{
		IdentityEndpoint: sim.AuthURL(),
		Username:         cloudsim.Username,
		Password:         cloudsim.Password,
		TenantName:       cloudsim.ProjectName,
		DomainName:       cloudsim.UserDomainName,
		AllowReauth:      true,
	}
}

// connect authenticates like nodes/ will: password auth, reauth allowed,
// compute pinned to 2.79.
func connect(t testing.TB, sim *cloudsim.Sim) clients {
	t.Helper()
	ctx := context.Background()
	if tt, ok := t.(*testing.T); ok {
		ctx = tt.Context()
	}
	p, err := openstack.AuthenticatedClient(ctx, authOpts(sim))
	if err != nil {
		t.Fatalf("auth: %v", err)
	}
	eo := gophercloud.EndpointOpts{Region: cloudsim.Region}
	var c clients
	c.provider = p
	if c.compute, err = openstack.NewComputeV2(p, eo); err != nil {
		t.Fatal(err)
	}
	c.compute.Microversion = "2.79"
	if c.network, err = openstack.NewNetworkV2(p, eo); err != nil {
		t.Fatal(err)
	}
	if c.image, err = openstack.NewImageV2(p, eo); err != nil {
		t.Fatal(err)
	}
	if c.identity, err = openstack.NewIdentityV3(p, eo); err != nil {
		t.Fatal(err)
	}
	return c
}

// listAll lists /servers/detail through gophercloud's pager.
func listAll(t testing.TB, ctx context.Context, c *gophercloud.ServiceClient, opts servers.ListOpts) []servers.Server {
	t.Helper()
	var out []servers.Server
	err := servers.List(c, opts).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		s, err := servers.ExtractServers(page)
		out = append(out, s...)
		return true, err
	})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	return out
}

// waitState waits (on the sim's change notifications, no polling) until
// the server reaches status with no task.
func waitState(t *testing.T, sim *cloudsim.Sim, id, status string) cloudsim.ServerInfo {
	t.Helper()
	in, err := sim.WaitServer(t.Context(), id, func(in cloudsim.ServerInfo) bool {
		return in.Status == status && in.TaskState == ""
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// rawDo sends a raw request with a valid token (for malformed bodies).
func rawDo(t *testing.T, c clients, method, url, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", c.provider.Token())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-OpenStack-Nova-API-Version", "2.79")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// statusOf extracts the HTTP status of a gophercloud error (0 if none).
func statusOf(err error) int {
	var e gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &e) {
		return e.Actual
	}
	return 0
}

func bodyOf(err error) string {
	var e gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &e) {
		return string(e.Body)
	}
	return ""
}

func compact(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}
