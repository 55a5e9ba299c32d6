package cloudsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// RequestRecord is one entry of the request log.
type RequestRecord struct {
	Seq      int64         `json:"seq"`
	Time     time.Time     `json:"time"`
	Method   string        `json:"method"`
	Path     string        `json:"path"`
	Query    string        `json:"query,omitempty"`
	Service  string        `json:"service"`          // identity, compute, network, image, volume, or "" (no route)
	Endpoint string        `json:"endpoint"`         // route pattern, plus " <action>" for server actions
	Action   string        `json:"action,omitempty"` // server action name (os-stop, reboot, …)
	Status   int           `json:"status"`           // 0 if the client went away first
	Duration time.Duration `json:"duration"`         // time in the sim, injected latency included
	Faults   []string      `json:"faults,omitempty"` // ids of the faults that affected it
	// Handled says the service itself acted on the request: not answered
	// by a fault before it (an After fault's request is handled).
	Handled bool `json:"handled,omitempty"`
}

// observer holds the request log, counters and fault rules. Guarded by Sim.mu.
type observer struct {
	ring      []RequestRecord
	next      int // ring write position
	full      bool
	seq       int64
	counters  map[string]int64
	faults    []*faultRule
	nextFault int
}

func (o *observer) init(size int) {
	o.ring = make([]RequestRecord, size)
	o.counters = make(map[string]int64)
}

func (o *observer) add(rec RequestRecord) {
	o.seq++
	rec.Seq = o.seq
	o.ring[o.next] = rec
	o.next++
	if o.next == len(o.ring) {
		o.next, o.full = 0, true
	}
}

// Counters returns the number of requests per endpoint key since the last
// ResetCounters. Server actions are counted both under the plain pattern and
// under "<pattern> <action>"; "total" counts every service request.
func (s *Sim) Counters() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.obs.counters))
	for k, v := range s.obs.counters {
		out[k] = v
	}
	return out
}

// Count returns the sum of the counters whose key contains substr
// (e.g. "servers/detail", "os-stop"); "" counts every request.
func (s *Sim) Count(substr string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if substr == "" {
		return s.obs.counters["total"]
	}
	var n int64
	for k, v := range s.obs.counters {
		if k != "total" && strings.Contains(k, substr) && !isActionKey(k, substr) {
			n += v
		}
	}
	return n
}

// isActionKey avoids double counting: "…/action os-stop" and "…/action" both
// contain "/action"; only the plain pattern is summed then.
func isActionKey(k, substr string) bool {
	return strings.Contains(substr, "/action") && !strings.Contains(substr, "/action ") &&
		strings.Contains(k, "/action ")
}

// ResetCounters zeroes the counters and empties the request log.
func (s *Sim) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.obs.counters)
	clear(s.obs.ring)
	s.obs.next, s.obs.full = 0, false
}

// Requests returns the request log, oldest first (at most
// Options.RequestLogSize entries).
func (s *Sim) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RequestRecord
	if s.obs.full {
		out = append(out, s.obs.ring[s.obs.next:]...)
	}
	return append(out, s.obs.ring[:s.obs.next]...)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// serviceOf names the service a path belongs to.
func serviceOf(path string) string {
	switch {
	case path == IdentityPath || strings.HasPrefix(path, IdentityPath+"/"):
		return "identity"
	case strings.HasPrefix(path, "/compute"):
		return "compute"
	case strings.HasPrefix(path, NetworkPath):
		return "network"
	case strings.HasPrefix(path, ImagePath):
		return "image"
	case strings.HasPrefix(path, VolumePath):
		return "volume"
	}
	return ""
}

// maxBody bounds every request body.
const maxBody = 1 << 20

// serve is the root handler: request log and counters, faults, then the
// route table.
func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, AdminPath+"/") || r.URL.Path == AdminPath {
		s.mux.ServeHTTP(w, r)
		return
	}
	start := s.now()
	_, pattern := s.mux.Handler(r)
	endpoint := pattern
	if endpoint == "" {
		endpoint = r.Method + " (no route)"
	}
	action := ""
	if strings.HasSuffix(pattern, "/action") && r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		_ = r.Body.Close()
		if err == nil {
			action = actionName(body)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if action != "" {
		endpoint += " " + action
	}
	service := serviceOf(r.URL.Path)

	s.mu.Lock()
	s.obs.counters["total"]++
	s.obs.counters[endpoint]++
	if action != "" {
		s.obs.counters[pattern]++
	}
	d := s.decideFaults(endpoint)
	s.mu.Unlock()

	rec := &statusRecorder{ResponseWriter: w}
	handled := false
	defer func() {
		s.mu.Lock()
		s.obs.add(RequestRecord{Time: start, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Service: service, Endpoint: endpoint, Action: action, Status: rec.status,
			Duration: s.now().Sub(start), Faults: d.names, Handled: handled})
		s.mu.Unlock()
		s.log.Debug("cloudsim request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery,
			"endpoint", endpoint, "status", rec.status)
	}()

	if d.latency > 0 && !s.wait(r, d.latency) {
		return
	}
	if d.hang {
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return
	}
	switch {
	case d.status != 0 && d.after:
		handled = true
		s.mux.ServeHTTP(&discardWriter{header: http.Header{}}, r)
		proxyError(d.status, d.retryAfter).write(rec)
	case d.status != 0 && d.proxy:
		proxyError(d.status, d.retryAfter).write(rec)
	case d.status != 0:
		setRequestID(rec.Header(), service)
		faultError(service, d.status, d.retryAfter).write(rec)
	default:
		handled = true
		setRequestID(rec.Header(), service)
		s.mux.ServeHTTP(rec, r)
	}
}

// setRequestID sets the header the request-id middleware at the front of
// every OpenStack API's pipeline puts on each answer, errors included (Nova
// also its legacy X-Compute-Request-Id). An error without it did not come
// from the service: clients tell a load balancer's answer by it.
func setRequestID(h http.Header, service string) {
	id := requestID()
	h.Set("X-Openstack-Request-Id", id)
	if service == "compute" {
		h.Set("X-Compute-Request-Id", id)
	}
}

// discardWriter takes the answer an After fault replaces.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// wait sleeps for d unless the request or the sim ends first.
func (s *Sim) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closing:
		return false
	}
}

// actionName is the single top-level key of an action body ("" if none).
func actionName(body []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || len(m) != 1 {
		return ""
	}
	for k := range m {
		return k
	}
	return ""
}
