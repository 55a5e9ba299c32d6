package cloudsim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"quintupleo/cloudsim"
)

// sample is one recorded call of testdata/realnova.
type sample struct {
	Request struct {
		Method       string          `json:"method"`
		Path         string          `json:"path"`
		Microversion *string         `json:"microversion"`
		Body         json.RawMessage `json:"body"`
		Service      string          `json:"service"`
	} `json:"request"`
	Response struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"response"`
}

func loadSample(t *testing.T, name string) sample {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join("testdata", "realnova", name+"*.json"))
	if len(m) == 0 {
		t.Fatalf("no sample %s", name)
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	var s sample
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

type seqEntry struct {
	Status     string  `json:"status"`
	VMState    *string `json:"vm_state"`
	TaskState  *string `json:"task_state"`
	PowerState *int    `json:"power_state"`
}

// loadSeq returns a sequence as "STATUS/vm/task/power" strings (404 dropped).
func loadSeq(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "realnova", name))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Sequence []seqEntry `json:"sequence"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range s.Sequence {
		if e.Status == "404" {
			continue
		}
		task := "None"
		if e.TaskState != nil {
			task = *e.TaskState
		}
		out = append(out, fmt.Sprintf("%s/%s/%s/%d", e.Status, *e.VMState, task, *e.PowerState))
	}
	return out
}

func tuple(in cloudsim.ServerInfo) string {
	task := in.TaskState
	if task == "" {
		task = "None"
	}
	return fmt.Sprintf("%s/%s/%s/%d", in.Status, in.VMState, task, in.PowerState)
}

// recorder collects OnChange snapshots per server.
type recorder struct {
	mu  sync.Mutex
	seq map[string][]string
}

func (r *recorder) on(in cloudsim.ServerInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seq == nil {
		r.seq = map[string][]string{}
	}
	tp := tuple(in)
	if l := r.seq[in.ID]; len(l) == 0 || l[len(l)-1] != tp {
		r.seq[in.ID] = append(l, tp)
	}
}

func (r *recorder) take(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.seq[id]
	delete(r.seq, id)
	return out
}

// TestStateSequences drives every action and compares the states the sim
// goes through with the *.seq.json sequences recorded from real Nova.
func TestStateSequences(t *testing.T) {
	rec := &recorder{}
	sim := testSim(t, cloudsim.Options{TransitionDelay: time.Millisecond, OnChange: rec.on})
	c := connect(t, sim)
	rescueImg := sim.ImageID("fake-image")
	cases := []struct {
		seq, start, final, body string
	}{
		{"12-os-stop-states.seq.json", "ACTIVE", "SHUTOFF", `{"os-stop": null}`},
		{"21-os-start-states.seq.json", "SHUTOFF", "ACTIVE", `{"os-start": null}`},
		{"16-reboot-hard-on-shutoff-states.seq.json", "SHUTOFF", "ACTIVE", `{"reboot": {"type": "HARD"}}`},
		{"23-reboot-soft-states.seq.json", "ACTIVE", "ACTIVE", `{"reboot": {"type": "SOFT"}}`},
		{"25-reboot-hard-states.seq.json", "ACTIVE", "ACTIVE", `{"reboot": {"type": "HARD"}}`},
		{"60-rescue-states.seq.json", "ACTIVE", "RESCUE", `{"rescue": {"rescue_image_ref": "` + rescueImg + `"}}`},
		{"79-rescue-from-shutoff-states.seq.json", "SHUTOFF", "RESCUE", `{"rescue": null}`},
		{"73-unrescue-states.seq.json", "RESCUE", "ACTIVE", `{"unrescue": null}`},
		{"83-rebuild-states.seq.json", "ACTIVE", "ACTIVE", `{"rebuild": {"imageRef": "` + rescueImg + `"}}`},
		{"90-rebuild-while-shutoff-states.seq.json", "SHUTOFF", "SHUTOFF", `{"rebuild": {"imageRef": "` + rescueImg + `"}}`},
	}
	for i, tc := range cases {
		t.Run(tc.seq, func(t *testing.T) {
			st := tc.start
			if st == "RESCUE" {
				st = "ACTIVE"
			}
			in, err := sim.CreateServer(cloudsim.ServerSpec{Name: fmt.Sprintf("seq-%d", i), Status: st, Network: "none"})
			if err != nil {
				t.Fatal(err)
			}
			if tc.start == "RESCUE" {
				if code, _, b := rawDo(t, c, "POST", c.compute.Endpoint+"servers/"+in.ID+"/action", `{"rescue": null}`); code != 200 {
					t.Fatalf("rescue: %d %s", code, b)
				}
				waitState(t, sim, in.ID, "RESCUE")
			}
			rec.take(in.ID)
			if code, _, b := rawDo(t, c, "POST", c.compute.Endpoint+"servers/"+in.ID+"/action", tc.body); code >= 300 {
				t.Fatalf("action: %d %s", code, b)
			}
			waitState(t, sim, in.ID, tc.final)
			got, want := rec.take(in.ID), loadSeq(t, tc.seq)
			if strings.Join(got, " -> ") != strings.Join(want, " -> ") {
				t.Errorf("sequence\n got  %s\n want %s", strings.Join(got, " -> "), strings.Join(want, " -> "))
			}
		})
	}
	t.Run("delete", func(t *testing.T) {
		in, err := sim.CreateServer(cloudsim.ServerSpec{Name: "seq-del", Status: "ACTIVE"})
		if err != nil {
			t.Fatal(err)
		}
		rec.take(in.ID)
		if code, _, b := rawDo(t, c, "DELETE", c.compute.Endpoint+"servers/"+in.ID, ""); code != 204 {
			t.Fatalf("delete: %d %s", code, b)
		}
		if _, err := sim.WaitServer(t.Context(), in.ID, func(in cloudsim.ServerInfo) bool { return in.Deleted }); err != nil {
			t.Fatal(err)
		}
		got, want := rec.take(in.ID), loadSeq(t, "104-server-delete-states.seq.json")
		if strings.Join(got, " -> ") != strings.Join(want, " -> ") {
			t.Errorf("sequence\n got  %s\n want %s", strings.Join(got, " -> "), strings.Join(want, " -> "))
		}
	})
	t.Run("create", func(t *testing.T) {
		port := createPort(t, c, sim, "seq-create-port", "52:54:00:aa:00:01")
		body := fmt.Sprintf(`{"server": {"name": "seq-create", "flavorRef": %q, "imageRef": %q, "networks": [{"port": %q}]}}`,
			sim.FlavorID("baremetal"), sim.ImageID("ipxe-boot"), port)
		code, _, b := rawDo(t, c, "POST", c.compute.Endpoint+"servers", body)
		if code != 202 {
			t.Fatalf("create: %d %s", code, b)
		}
		var r struct{ Server struct{ ID string } }
		_ = json.Unmarshal([]byte(b), &r)
		waitState(t, sim, r.Server.ID, "ACTIVE")
		got, want := rec.take(r.Server.ID), loadSeq(t, "03-server-create-states.seq.json")
		if strings.Join(got, " -> ") != strings.Join(want, " -> ") {
			t.Errorf("sequence\n got  %s\n want %s", strings.Join(got, " -> "), strings.Join(want, " -> "))
		}
	})
}

func createPort(t *testing.T, c clients, sim *cloudsim.Sim, name, mac string) string {
	t.Helper()
	body := fmt.Sprintf(`{"port": {"name": %q, "network_id": %q, "mac_address": %q}}`, name, sim.NetworkID("provision"), mac)
	code, _, b := rawDo(t, c, "POST", c.network.ResourceBase+"ports", body)
	if code != 201 {
		t.Fatalf("port create: %d %s", code, b)
	}
	var r struct{ Port struct{ ID string } }
	_ = json.Unmarshal([]byte(b), &r)
	return r.Port.ID
}

// rawMV sends a request with an explicit microversion ("" = none).
func rawMV(t *testing.T, c clients, method, url, mv, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", c.provider.Token())
	req.Header.Set("Content-Type", "application/json")
	if mv != "" {
		req.Header.Set("OpenStack-API-Version", "compute "+mv)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestConflictMessages replays every recorded 409 against the same state
// and compares status and message.
func TestConflictMessages(t *testing.T) {
	fast := testSim(t, cloudsim.Options{TransitionDelay: time.Millisecond})
	slow := testSim(t, cloudsim.Options{TransitionDelay: time.Hour}) // tasks stay in flight
	cases := []struct {
		sample string
		slow   bool
		start  string // ACTIVE, SHUTOFF or RESCUE
		first  string // action put in flight first (slow sim)
	}{
		{"10-", false, "ACTIVE", ""},
		{"13-", false, "SHUTOFF", ""},
		{"14-", false, "SHUTOFF", ""},
		{"27-", true, "ACTIVE", `{"os-stop": null}`},
		{"28-", true, "ACTIVE", `{"os-stop": null}`},
		{"32-", true, "SHUTOFF", `{"os-start": null}`},
		{"33-", true, "SHUTOFF", `{"os-start": null}`},
		{"36-", true, "ACTIVE", `{"reboot": {"type": "SOFT"}}`},
		{"37-", true, "ACTIVE", `{"reboot": {"type": "SOFT"}}`},
		{"41-", true, "ACTIVE", `{"os-stop": null}`},
		{"47-", true, "ACTIVE", `{"rescue": null}`},
		{"48-", true, "ACTIVE", `{"rescue": null}`},
		{"62-", false, "RESCUE", ""},
		{"63-", false, "RESCUE", ""},
		{"64-", false, "RESCUE", ""},
		{"65-", false, "RESCUE", ""},
		{"67-", false, "RESCUE", ""},
		{"68-", false, "RESCUE", ""},
		{"69-", false, "RESCUE", ""},
		{"70-", false, "RESCUE", ""},
		{"71-", false, "RESCUE", ""},
		{"74-", false, "ACTIVE", ""},
		{"75-", false, "ACTIVE", ""},
		{"57-", false, "ACTIVE", ""},
		{"118-", false, "ACTIVE", ""},
		{"119-", false, "ACTIVE", ""},
		{"99-", false, "ACTIVE", ""},
		{"113-", false, "ACTIVE", ""},
	}
	const sampleID = "f92eecf1-5d24-4fe3-8447-ad172a3851c1"
	for i, tc := range cases {
		t.Run(tc.sample, func(t *testing.T) {
			sim := fast
			if tc.slow {
				sim = slow
			}
			c := connect(t, sim)
			smp := loadSample(t, tc.sample)
			st := tc.start
			if st == "RESCUE" {
				st = "ACTIVE"
			}
			in, err := sim.CreateServer(cloudsim.ServerSpec{Name: fmt.Sprintf("c-%d", i), Status: st, Network: "none",
				Metadata: map[string]string{"libvirt:pxe-first": "1"}})
			if err != nil {
				t.Fatal(err)
			}
			base := strings.TrimSuffix(c.compute.Endpoint, "/")
			if tc.start == "RESCUE" {
				if code, b := rawMV(t, c, "POST", base+"/servers/"+in.ID+"/action", "2.93", `{"rescue": null}`); code != 200 {
					t.Fatalf("rescue: %d %s", code, b)
				}
				waitState(t, sim, in.ID, "RESCUE")
			}
			if tc.first != "" {
				if code, b := rawMV(t, c, "POST", base+"/servers/"+in.ID+"/action", "2.93", tc.first); code >= 300 {
					t.Fatalf("first action: %d %s", code, b)
				}
			}
			path := strings.ReplaceAll(smp.Request.Path, sampleID, in.ID)
			body := strings.ReplaceAll(string(smp.Request.Body), sampleID, in.ID)
			if body == "null" {
				body = ""
			}
			body = strings.ReplaceAll(body, "2e53f6ab-f754-4c4a-ba5d-502f44ad2d9c", sim.ImageID("fake-image"))
			body = strings.ReplaceAll(body, "a67fb392-5a17-4956-8ca8-605df06f5661", sim.ImageID("ipxe-boot"))
			code, got := rawMV(t, c, smp.Request.Method, base+path, "2.93", body)
			want := strings.ReplaceAll(string(smp.Response.Body), sampleID, in.ID)
			if code != smp.Response.Status {
				t.Fatalf("status %d, want %d: %s", code, smp.Response.Status, got)
			}
			if compact(got) != compact(want) {
				t.Errorf("body\n got  %s\n want %s", compact(got), compact(want))
			}
		})
	}
}

// shapeDiff compares two JSON values by keys and types, recursively (the
// first element of arrays; data-keyed maps by value type only).
func shapeDiff(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want object, got %T", path, got)}
		}
		var out []string
		if dataKeyed(path) {
			return nil
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			wv, wok := w[k]
			gv, gok := g[k]
			switch {
			case !wok:
				out = append(out, fmt.Sprintf("%s.%s: extra key", path, k))
			case !gok:
				out = append(out, fmt.Sprintf("%s.%s: missing key", path, k))
			default:
				out = append(out, shapeDiff(path+"."+k, wv, gv)...)
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want array, got %T", path, got)}
		}
		if len(w) > 0 && len(g) > 0 {
			return shapeDiff(path+"[0]", w[0], g[0])
		}
		return nil
	default:
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			return []string{fmt.Sprintf("%s: want %T (%v), got %T (%v)", path, want, want, got, got)}
		}
		return nil
	}
}

func dataKeyed(path string) bool {
	for _, suffix := range []string{".metadata", ".addresses", ".extra_specs", ".binding:vif_details.bound_drivers"} {
		if strings.HasSuffix(path, suffix) {
			return true
		}
	}
	return false
}

// TestResponseShapes compares our bodies with the recorded ones, key for
// key and type for type.
func TestResponseShapes(t *testing.T) {
	sim := testSim(t, cloudsim.Options{Nodes: 3, TransitionDelay: time.Millisecond})
	c := connect(t, sim)
	base := strings.TrimSuffix(c.compute.Endpoint, "/")
	netBase := c.network.ResourceBase
	port := createPort(t, c, sim, "probe-0-port", "52:54:00:00:0f:00")
	code, b := rawMV(t, c, "POST", base+"/servers", "2.93", fmt.Sprintf(
		`{"server": {"name": "probe-0", "flavorRef": %q, "imageRef": %q, "metadata": {"libvirt:pxe-first": ""}, "networks": [{"port": %q}]}}`,
		sim.FlavorID("baremetal"), sim.ImageID("ipxe-boot"), port))
	if code != 202 {
		t.Fatalf("create: %d %s", code, b)
	}
	var cr struct{ Server struct{ ID string } }
	_ = json.Unmarshal([]byte(b), &cr)
	id := cr.Server.ID
	check := func(name, gotBody string, pick func(any) any) {
		t.Helper()
		smp := loadSample(t, name)
		var want, got any
		if err := json.Unmarshal(smp.Response.Body, &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(gotBody), &got); err != nil {
			t.Fatalf("%s: %v: %s", name, err, gotBody)
		}
		if pick != nil {
			want, got = pick(want), pick(got)
		}
		for _, d := range shapeDiff(name, want, got) {
			t.Error(d)
		}
	}
	get := func(url, mv string) string {
		t.Helper()
		code, b := rawMV(t, c, "GET", url, mv, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", url, code, b)
		}
		return b
	}
	check("02-", b, nil)
	waitState(t, sim, id, "ACTIVE")
	check("04-", get(base+"/servers/"+id, "2.93"), nil)
	check("05-", get(base+"/servers/"+id, "2.37"), nil)
	check("06-", get(base+"/servers/"+id, ""), nil)
	check("07-", get(netBase+"ports/"+port, ""), nil)
	check("08-", get(base+"/servers/"+id+"/os-interface", "2.93"), nil)
	check("09-", get(base+"/servers/"+id+"/ips", "2.93"), nil)
	check("55-", get(base+"/servers/"+id+"/metadata", "2.93"), nil)
	check("120-", get(base+"/flavors/detail", "2.93"), nil)
	check("121-", get(c.image.ResourceBase+"images/"+sim.ImageID("ipxe-boot"), ""), nil)
	check("122-", get(base+"/", "2.93"), nil)
	check("97-", get(base+"/servers?limit=2", "2.93"), nil)
	check("94-", get(base+"/servers/detail?limit=2&name=node", "2.93"), nil)
	check("100-", get(base+"/servers/detail?name=node", "2.93"), nil)
	since := time.Now().UTC().Add(-time.Minute).Format("2006-01-02T15:04:05Z")
	if code, b := rawMV(t, c, "POST", base+"/servers/"+id+"/action", "2.93", `{"os-stop": null}`); code != 202 {
		t.Fatalf("stop: %d %s", code, b)
	}
	waitState(t, sim, id, "SHUTOFF")
	if code, b := rawMV(t, c, "POST", base+"/servers/"+id+"/action", "2.93", `{"rescue": null}`); code != 200 {
		t.Fatalf("rescue: %d %s", code, b)
	} else {
		check("59-", b, nil)
	}
	waitState(t, sim, id, "RESCUE")
	check("61-", get(base+"/servers/"+id, "2.93"), nil)
	victim := sim.Servers()[0].ID
	if err := sim.DeleteServer(victim); err != nil {
		t.Fatal(err)
	}
	var list struct{ Servers []json.RawMessage }
	_ = json.Unmarshal([]byte(get(base+"/servers/detail?changes-since="+since, "2.93")), &list)
	for _, raw := range list.Servers {
		if strings.Contains(string(raw), victim) {
			check("108-", `{"servers": [`+string(raw)+`]}`, nil)
		}
	}
	if code, b := rawMV(t, c, "POST", netBase+"ports", "", fmt.Sprintf(`{"port": {"name": "x", "network_id": %q, "mac_address": "52:54:00:00:0f:01"}}`, sim.NetworkID("provision"))); code != 201 {
		t.Fatalf("port: %d %s", code, b)
	} else {
		check("01-", b, nil)
	}
	code, b = rawMV(t, c, "GET", netBase+"ports/00000000-0000-0000-0000-000000000000", "", "")
	if code != 404 {
		t.Fatalf("port 404: %d", code)
	}
	check("106-", b, nil)
}
