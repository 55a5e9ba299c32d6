package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/crypto/bcrypt"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
)

// scrape is one scrape of the env's /metrics.
type scrape map[string]*dto.MetricFamily

// scrapeMetrics GETs base+"/metrics" and parses the exposition as a
// Prometheus server would.
func scrapeMetrics(t *testing.T, base string) scrape {
	t.Helper()
	status, body := httpGet(t, base+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return fams
}

// value is the sample of family name whose labels include want (a
// counter's or gauge's value, a histogram's count); 0 when there is none,
// as Prometheus reads a series that has not moved yet.
func (s scrape) value(name string, want ...string) float64 {
	f := s[name]
	if f == nil {
		return 0
	}
	sum := 0.0
	for _, m := range f.Metric {
		if hasLabels(m, want) {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

// has says whether family name has a series whose labels include want
// (at any value, 0 included).
func (s scrape) has(name string, want ...string) bool {
	for _, m := range s[name].GetMetric() {
		if hasLabels(m, want) {
			return true
		}
	}
	return false
}

func hasLabels(m *dto.Metric, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		found := false
		for _, l := range m.Label {
			if l.GetName() == want[i] && l.GetValue() == want[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// withMetrics serves --listen-metrics on a port of the kernel's choice.
func withMetrics(_ *cloudsim.Options, c *serveConfig) { c.obs.listenMetrics = "127.0.0.1:0" }

// TestMetricsMoveDuringAVirshSession scrapes --listen-metrics while the real
// virsh, OpenSSH and a Redfish client use the shim, and checks that each
// metric of docs/metrics.md moves as that page says.
func TestMetricsMoveDuringAVirshSession(t *testing.T) {
	var client sshClient
	auth := filepath.Join(t.TempDir(), "htpasswd")
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	testtool.WriteFile(t, auth, []byte("ironic:"+string(hash)+"\n"))
	e := startEnv(t, withMetrics, withSSH(t, &client), func(_ *cloudsim.Options, c *serveConfig) {
		c.redfish = redfishFlags{listen: "127.0.0.1:0", plainHTTP: true, authFile: auth, sessionTimeout: time.Minute}
	})
	base := "http://" + e.st.metrics.Addr().String()

	// Health: up, and ready once the inventory is loaded (it is, at start).
	if status, body := httpGet(t, base+"/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q", status, body)
	}
	if status, body := httpGet(t, base+"/readyz"); status != http.StatusOK {
		t.Errorf("/readyz = %d %q, want 200 with the inventory loaded", status, body)
	}

	before := scrapeMetrics(t, base)
	if got := before.value("quintupleo_nodes", "status", "SHUTOFF"); got != fixtureNodes {
		t.Errorf("nodes{status=SHUTOFF} = %v, want the %d fixture nodes", got, fixtureNodes)
	}
	if age := before.value("quintupleo_inventory_age_seconds"); age < 0 || age > 30 {
		t.Errorf("inventory_age_seconds = %v, want a fresh inventory", age)
	}
	if before.value("quintupleo_inventory_refresh_duration_seconds", "result", "ok") < 1 {
		t.Error("no successful refresh timed")
	}

	e.mustVirsh(t, "list", "--all")
	e.mustVirsh(t, "start", "node-1")
	if _, _, code := e.virsh(t, "dominfo", "no-such-node"); code != 1 {
		t.Fatalf("dominfo of an unknown domain: exit %d, want 1", code)
	}
	if _, errOut, code := e.ssh(t, &client, "virsh list --all --name"); code != 0 {
		t.Fatalf("ssh virsh list: exit %d: %s", code, errOut)
	}
	if _, _, code := e.ssh(t, &client, "exit 3"); code != 3 {
		t.Fatalf("ssh exit 3: exit %d", code)
	}
	if status, _ := httpGet(t, "http://"+e.st.redfish.Addr().String()+"/redfish/v1/"); status != http.StatusOK {
		t.Fatalf("GET /redfish/v1/: %d", status)
	}

	// The counters move by what the session did. A refresh may list in
	// between, so cloud and inventory figures are checked as lower bounds.
	var after scrape
	waitFor(t, 10*time.Second, "ACTIVE node counted", func() bool {
		after = scrapeMetrics(t, base)
		return after.value("quintupleo_nodes", "status", "ACTIVE") == 1
	})
	moved := func(name string, want float64, labels ...string) {
		t.Helper()
		if got := after.value(name, labels...) - before.value(name, labels...); got != want {
			t.Errorf("%s%v moved by %v, want %v", name, labels, got, want)
		}
	}
	atLeast := func(name string, want float64, labels ...string) {
		t.Helper()
		if got := after.value(name, labels...) - before.value(name, labels...); got < want {
			t.Errorf("%s%v moved by %v, want at least %v", name, labels, got, want)
		}
	}
	// libvirt RPC: both virsh list calls (TCP and the SSH side's), the
	// start, and the lookup refused with VIR_ERR_NO_DOMAIN (42).
	moved("quintupleo_libvirt_calls_total", 2, "procedure", "CONNECT_LIST_ALL_DOMAINS", "code", "0")
	moved("quintupleo_libvirt_calls_total", 1, "procedure", "DOMAIN_CREATE", "code", "0")
	moved("quintupleo_libvirt_calls_total", 1, "procedure", "DOMAIN_LOOKUP_BY_NAME", "code", "42")
	// SSH: two sessions and two command lines, by exit status.
	moved("quintupleo_ssh_sessions_total", 1, "status", "0")
	moved("quintupleo_ssh_sessions_total", 1, "status", "3")
	moved("quintupleo_ssh_commands_total", 1, "status", "0")
	moved("quintupleo_ssh_commands_total", 1, "status", "3")
	// Redfish: the service root, by its route pattern.
	moved("quintupleo_redfish_requests_total", 1, "method", "GET", "route", "/redfish/v1/{$}", "status", "200")
	if t.Failed() {
		for _, m := range after["quintupleo_redfish_requests_total"].GetMetric() {
			t.Log(m.String())
		}
	}
	// Latency per front end: one observation per call, command, request.
	moved("quintupleo_request_duration_seconds", 2, "front", "ssh")
	moved("quintupleo_request_duration_seconds", 1, "front", "redfish")
	atLeast("quintupleo_request_duration_seconds", 4, "front", "libvirt")
	// The cloud: one os-start, accepted (202), and the polls that followed.
	moved("quintupleo_cloud_requests_total", 1, "service", "compute", "endpoint", "POST /servers/{id}/action", "status", "202")
	atLeast("quintupleo_cloud_requests_total", 1, "service", "compute", "endpoint", "GET /servers/{id}", "status", "200")
	atLeast("quintupleo_inventory_refresh_duration_seconds", 1, "result", "ok")
	if got := after.value("quintupleo_actions_in_flight", "action", "os-start"); got != 0 {
		t.Errorf("actions_in_flight{os-start} = %v after the start returned, want 0", got)
	}
	if after.value("quintupleo_nodes", "status", "SHUTOFF") != fixtureNodes-1 {
		t.Errorf("nodes{SHUTOFF} = %v, want %d", after.value("quintupleo_nodes", "status", "SHUTOFF"), fixtureNodes-1)
	}
	moved("quintupleo_events_dropped_total", 0)
	moved("quintupleo_action_conflict_retries_total", 0)
}

// TestReadyzWhenTheCloudStopsAnswering: /readyz turns 503, naming the failed
// refresh, once the cloud no longer answers; /healthz stays 200.
func TestReadyzWhenTheCloudStopsAnswering(t *testing.T) {
	e := startEnv(t, withMetrics)
	base := "http://" + e.st.metrics.Addr().String()
	if status, _ := httpGet(t, base+"/readyz"); status != http.StatusOK {
		t.Fatalf("/readyz = %d before the outage", status)
	}
	e.sim.Close()
	var body string
	waitFor(t, 20*time.Second, "/readyz 503", func() bool {
		var status int
		status, body = httpGet(t, base+"/readyz")
		return status == http.StatusServiceUnavailable
	})
	if !strings.Contains(body, "last refresh of the inventory failed") {
		t.Errorf("/readyz body %q does not say why", body)
	}
	if status, _ := httpGet(t, base+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz = %d during the outage, want 200 (the process is up)", status)
	}
}
