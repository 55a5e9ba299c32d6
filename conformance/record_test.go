package conformance_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

var verbose = flag.Bool("conformance.show", false, "print every normalized exchange")

// exchange is one HTTP request/response pair as the wire saw it.
type exchange struct {
	method, url string
	status      int
	token       string // X-Auth-Token sent
	body        []byte
	ctype       string
}

// recordingTransport keeps every exchange; gophercloud talks through it.
type recordingTransport struct {
	next http.RoundTripper

	mu sync.Mutex
	// mu guards:
	log []exchange
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	rt.mu.Lock()
	rt.log = append(rt.log, exchange{
		method: req.Method, url: req.URL.String(), status: resp.StatusCode,
		token: req.Header.Get("X-Auth-Token"), body: body, ctype: resp.Header.Get("Content-Type"),
	})
	rt.mu.Unlock()
	return resp, nil
}

// mark is the position of the next exchange.
func (rt *recordingTransport) mark() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return len(rt.log)
}

// since returns the exchanges from mark m on.
func (rt *recordingTransport) since(m int) []exchange {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Clone(rt.log[m:])
}

// all returns every exchange so far.
func (rt *recordingTransport) all() []exchange { return rt.since(0) }

// Record is the normalized behaviour of one conformance test: the file
// testdata/<cloud>/<Test>.json.
type Record struct {
	Steps     []Step              `json:"steps"`
	Sequences map[string][]string `json:"sequences,omitempty"`
	Facts     map[string]any      `json:"facts,omitempty"`
}

// Step is one labelled API call (or a few, e.g. the pages of a listing).
type Step struct {
	Label     string     `json:"label"`
	Exchanges []Exchange `json:"exchanges"`
}

// Exchange is one normalized request/response.
type Exchange struct {
	Request string            `json:"request"` // "GET compute /servers/{uuid}?limit"
	Status  int               `json:"status"`
	Shape   map[string]string `json:"shape,omitempty"`   // JSON path → type
	Message string            `json:"message,omitempty"` // error message, IDs replaced
}

var (
	uuidRE    = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	serviceRE = regexp.MustCompile(`^.*?/(v2\.1|v2\.0|v2|v3)(/.*)?$`)
	// segments after these path elements are IDs whatever they look like.
	idAfter = map[string]bool{"servers": true, "flavors": true, "images": true, "ports": true, "networks": true, "subnets": true, "metadata": true,
		"volumes": true, "types": true, "os-quota-sets": true}
	// volumeRE is Cinder's project-scoped path (/v3/<project id>/…), which
	// tells it from Keystone's /v3/….
	volumeRE = regexp.MustCompile(`^/[0-9a-f]{32}(/.*)?$`)
)

var serviceOf = map[string]string{"v2.1": "compute", "v2.0": "network", "v2": "image", "v3": "identity"}

// normRequest turns a URL into "METHOD service /path?keys", IDs as {id}.
func normRequest(method, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return method + " " + raw
	}
	svc, path := "?", u.Path
	if m := serviceRE.FindStringSubmatch(u.Path); m != nil {
		svc, path = serviceOf[m[1]], m[2]
		if v := volumeRE.FindStringSubmatch(path); m[1] == "v3" && v != nil {
			svc, path = "volume", v[1]
		}
	} else {
		// An unversioned endpoint (version discovery): the sim serves every
		// service under a path prefix, a real cloud on its own port.
		for _, prefix := range []string{"/network", "/image", "/compute", "/volume"} {
			path = strings.TrimPrefix(path, prefix)
		}
	}
	segs := strings.Split(path, "/")
	for i := 1; i < len(segs); i++ {
		if idAfter[segs[i-1]] && segs[i] != "detail" && segs[i] != "" {
			segs[i] = "{id}"
		}
	}
	path = uuidRE.ReplaceAllString(strings.Join(segs, "/"), "{id}")
	var keys []string
	for k := range u.Query() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	q := ""
	if len(keys) > 0 {
		q = "?" + strings.Join(keys, "&")
	}
	return fmt.Sprintf("%s %s %s%s", method, svc, path, q)
}

// dynamicKeys are objects whose keys are data, not schema: their members are
// folded into one "*" member.
var dynamicKeys = map[string]bool{"metadata": true, "addresses": true, "extra_specs": true}

// shapeOf flattens a JSON body into path → type. Arrays fold all elements
// into "[]"; an element-less array is just "array".
func shapeOf(body []byte, ctype string) map[string]string {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if !strings.Contains(ctype, "json") {
		return map[string]string{"": "non-json"}
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return map[string]string{"": "invalid-json"}
	}
	out := map[string]string{}
	walkShape(out, "", "", v)
	return out
}

func walkShape(out map[string]string, path, key string, v any) {
	typ := "null"
	switch x := v.(type) {
	case map[string]any:
		typ = "object"
		for k, e := range x {
			if dynamicKeys[key] {
				k = "*"
			}
			walkShape(out, join(path, k), k, e)
		}
	case []any:
		typ = "array"
		for _, e := range x {
			walkShape(out, path+"[]", key, e)
		}
	case string:
		typ = "string"
	case float64:
		typ = "number"
	case bool:
		typ = "bool"
	}
	if prev, ok := out[path]; ok && prev != typ {
		// Folded members of different types (a null among strings): keep both.
		ts := strings.Split(prev, "|")
		if !slices.Contains(ts, typ) {
			ts = append(ts, typ)
			sort.Strings(ts)
		}
		typ = strings.Join(ts, "|")
	}
	out[path] = typ
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// errorMessage is the message of an OpenStack error body, IDs replaced.
func errorMessage(status int, body []byte) string {
	if status < 400 {
		return ""
	}
	var top map[string]any
	if json.Unmarshal(body, &top) != nil {
		return ""
	}
	msg := ""
	for _, v := range top {
		if m, ok := v.(map[string]any); ok {
			if s, ok := m["message"].(string); ok {
				msg = s
			}
		}
	}
	if s, ok := top["message"].(string); ok && msg == "" {
		msg = s
	}
	return uuidRE.ReplaceAllString(msg, "{id}")
}

func normalize(xs []exchange) []Exchange {
	out := make([]Exchange, 0, len(xs))
	for _, x := range xs {
		out = append(out, Exchange{
			Request: normRequest(x.method, x.url),
			Status:  x.status,
			Shape:   shapeOf(x.body, x.ctype),
			Message: errorMessage(x.status, x.body),
		})
	}
	return out
}

// recordPath is where the record of test name lives for cloud.
func recordPath(cloud, name string) string {
	return filepath.Join("testdata", cloud, name+".json")
}

func writeRecord(t *testing.T, dir, name string, r *Record) {
	t.Helper()
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readRecord(t *testing.T, path string) *Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no record of the real cloud (%v); record it with QUINTUPLEO_CLOUD=realcloud (docs/realcloud.md)", err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

// compare reports every difference between the real record and what the sim
// did, except the documented divergences (key "label|request|path"). With
// endOnly (a fresh real recording held to the committed one), state
// sequences need only end alike: polling a real cloud twice sees different
// short-lived states, and a fast transition (rebuild on the fake driver) can
// be over before the action's 202 reaches the client.
func compare(t *testing.T, real, sim *Record, allowed map[string]string, endOnly bool) {
	t.Helper()
	if len(real.Steps) != len(sim.Steps) {
		var rl, sl []string
		for _, s := range real.Steps {
			rl = append(rl, s.Label)
		}
		for _, s := range sim.Steps {
			sl = append(sl, s.Label)
		}
		t.Errorf("steps differ:\nreal %q\nsim  %q", rl, sl)
	}
	for i := range min(len(real.Steps), len(sim.Steps)) {
		rs, ss := real.Steps[i], sim.Steps[i]
		if rs.Label != ss.Label {
			t.Errorf("step %d: real %q, sim %q", i, rs.Label, ss.Label)
			continue
		}
		if len(rs.Exchanges) != len(ss.Exchanges) {
			t.Errorf("%s: real made %d requests %v, sim %d %v", rs.Label, len(rs.Exchanges), reqs(rs.Exchanges), len(ss.Exchanges), reqs(ss.Exchanges))
			continue
		}
		for j := range rs.Exchanges {
			re, se := rs.Exchanges[j], ss.Exchanges[j]
			where := fmt.Sprintf("%s: %s", rs.Label, re.Request)
			if re.Request != se.Request {
				t.Errorf("%s: sim sent %s", where, se.Request)
				continue
			}
			if re.Status != se.Status {
				t.Errorf("%s: status real %d, sim %d", where, re.Status, se.Status)
			}
			if re.Message != se.Message && allowed[rs.Label+"|"+re.Request+"|message"] == "" {
				t.Errorf("%s: message\nreal %q\nsim  %q", where, re.Message, se.Message)
			}
			for _, k := range unionKeys(re.Shape, se.Shape) {
				rt, rok := re.Shape[k]
				st, sok := se.Shape[k]
				if rt == st {
					continue
				}
				if allowed[rs.Label+"|"+re.Request+"|"+k] != "" || allowed["*|"+k] != "" {
					continue
				}
				switch {
				case !sok:
					t.Errorf("%s: sim lacks %q (%s)", where, k, rt)
				case !rok:
					t.Errorf("%s: sim has extra %q (%s)", where, k, st)
				default:
					t.Errorf("%s: %q is %s in real Nova, %s in sim", where, k, rt, st)
				}
			}
		}
	}
	for label, rseq := range real.Sequences {
		sseq := sim.Sequences[label]
		a, b := withoutTransient(rseq), withoutTransient(sseq)
		if endOnly && len(a) > 0 && len(b) > 0 {
			a, b = a[len(a)-1:], b[len(b)-1:]
		}
		if !slices.Equal(a, b) {
			t.Errorf("state sequence %q (compute-side transient task states dropped):\nreal %q\nsim  %q", label, rseq, sseq)
		}
	}
	for label := range sim.Sequences {
		if _, ok := real.Sequences[label]; !ok {
			t.Errorf("state sequence %q: not in the real record", label)
		}
	}
	for k, rv := range real.Facts {
		if sv := sim.Facts[k]; fmt.Sprint(rv) != fmt.Sprint(sv) {
			t.Errorf("fact %q: real %v, sim %v", k, rv, sv)
		}
	}
}

func reqs(xs []Exchange) []string {
	var out []string
	for _, x := range xs {
		out = append(out, fmt.Sprintf("%s→%d", x.Request, x.Status))
	}
	return out
}

func unionKeys(a, b map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]string{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// transientTasks are the task states nova-compute sets and clears within a
// few milliseconds of each other on its own side of a transition (the API's
// task state, e.g. rebooting_hard, and the end state are never among them).
// Polling a real Nova sees a random subset of them: two recordings of the
// same transition on the same cloud differ. State sequences are compared
// without them; docs/cloudsim.md ("Divergences from real Nova") lists which
// ones cloudsim models.
var transientTasks = map[string]bool{
	"networking": true, "block_device_mapping": true,
	"reboot_pending": true, "reboot_started": true,
	"reboot_pending_hard": true, "reboot_started_hard": true,
	"rebuild_block_device_mapping": true,
}

// withoutTransient drops the states whose task is in transientTasks (and the
// repeats that leaves).
func withoutTransient(seq []string) []string {
	var out []string
	for _, st := range seq {
		parts := strings.Split(st, "/")
		if len(parts) == 4 && transientTasks[parts[2]] {
			continue
		}
		if len(out) == 0 || out[len(out)-1] != st {
			out = append(out, st)
		}
	}
	return out
}
