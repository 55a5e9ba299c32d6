package cloudsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"quintupleo/cloudsim"
)

// discoveryRecord is one recorded GET of testdata/realdiscovery/discovery.json:
// a catalog URL or version root of the real cloud, fetched without a token
// and without following redirects, as keystoneauth's discovery does.
type discoveryRecord struct {
	Service string            `json:"service"`
	Root    string            `json:"root"` // the real service's unversioned root
	Path    string            `json:"path"` // under Root
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    any               `json:"body"`
}

// getNoRedirect GETs url as a discovery client does, without a token, and
// does not follow a redirect: what the exact URL answers is what counts.
func getNoRedirect(t *testing.T, url string) (int, http.Header, any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body any
	if err := json.Unmarshal(b, &body); err != nil {
		body = string(b)
	}
	return resp.StatusCode, resp.Header, body
}

// TestDiscoveryAtEveryCatalogURL: each URL of the token's catalog answers
// its discovery document itself (200 or 300 with JSON versions), never a
// redirect, which keystoneauth — under the openstack CLI and openstacksdk —
// does not follow there.
func TestDiscoveryAtEveryCatalogURL(t *testing.T) {
	sim := testSim(t, cloudsim.Options{})
	c := connect(t, sim)
	opts := authOpts(sim)
	cat, err := tokens.Create(t.Context(), c.identity, &opts).ExtractServiceCatalog()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range cat.Entries {
		for _, ep := range e.Endpoints {
			n++
			url := ep.URL
			if e.Type == "block-storage" || e.Type == "volumev3" {
				// Real Cinder's catalog URL (…/v3/<project>) answers 401
				// without a token, as everything under /v3 does; its
				// discovery document is at the unversioned root, where
				// keystoneauth and gophercloud look (they strip the version
				// and project from the URL).
				if status, _, _ := getNoRedirect(t, url); status != 401 {
					t.Errorf("%s %s: GET %s without a token: %d, real Cinder 401", e.Type, ep.Interface, url, status)
				}
				url = strings.TrimSuffix(url, "/v3/"+sim.ProjectID())
			}
			status, hdr, body := getNoRedirect(t, url)
			m, _ := body.(map[string]any)
			if (status != 200 && status != 300) || hdr.Get("Content-Type") != "application/json" ||
				(m["version"] == nil && m["versions"] == nil) {
				t.Errorf("%s %s: GET %s: %d %v %v; want its discovery document", e.Type, ep.Interface, url, status, hdr, body)
			}
		}
	}
	if n == 0 {
		t.Fatal("empty catalog")
	}
}

// TestDiscoveryMatchesRealCloud holds each recorded real answer against the
// sim's at the same place: status, the discovery headers, and the body with
// the real service's root replaced by the sim's.
func TestDiscoveryMatchesRealCloud(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "realdiscovery", "discovery.json"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []discoveryRecord
	if err := json.Unmarshal(b, &recs); err != nil {
		t.Fatal(err)
	}
	sim := testSim(t, cloudsim.Options{})
	simRoot := map[string]string{
		"identity": sim.URL(), "compute": sim.URL() + "/compute",
		"image": sim.URL() + "/image", "network": sim.URL() + "/network", "volume": sim.URL() + "/volume",
	}
	for _, rec := range recs {
		root := simRoot[rec.Service]
		url := root + rec.Path
		if rec.Path == "/" && rec.Service != "identity" {
			url = root // the catalog URL itself, as the services sit under a path prefix here
		}
		want := rebase(t, rec.Body, rec.Root, root)
		if rec.Service == "compute" && rec.Path == "/" {
			want = withoutLegacyV2(want)
		}
		status, hdr, got := getNoRedirect(t, url)
		if status != rec.Status {
			t.Errorf("GET %s: status %d, real %s%s %d", url, status, rec.Root, rec.Path, rec.Status)
		}
		// The recorded headers, the ones a client's discovery reads.
		for _, h := range []string{"Content-Type", "Location", "OpenStack-API-Version", "X-OpenStack-Nova-API-Version"} {
			if w := strings.ReplaceAll(rec.Headers[h], rec.Root, root); hdr.Get(h) != w {
				t.Errorf("GET %s: %s %q, real %q", url, h, hdr.Get(h), w)
			}
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Errorf("GET %s:\n got %s\nreal %s", url, g, w)
		}
	}
}

// rebase replaces the real root in every string of a decoded JSON body.
func rebase(t *testing.T, body any, from, to string) any {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(b), from, to)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// withoutLegacyV2 drops the v2.0 entry from Nova's version list: the sim
// serves only v2.1 (docs/cloudsim.md, divergences).
func withoutLegacyV2(body any) any {
	m := body.(map[string]any)
	var keep []any
	for _, v := range m["versions"].([]any) {
		if v.(map[string]any)["id"] != "v2.0" {
			keep = append(keep, v)
		}
	}
	return map[string]any{"versions": keep}
}
