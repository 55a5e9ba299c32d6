// Package metrics is the operator's view of a running quintupleo: one
// private Prometheus registry (no package-level default registry, so two
// stacks in one test binary never share a counter) that implements the
// small observer interfaces of rpc, ssh and nodes, wraps the Redfish
// handler, and serves /metrics, /healthz and /readyz on one listener.
// docs/metrics.md lists every metric; the packages it observes import no
// metrics library.
package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"quintupleo/internal/limit"
)

// namespace prefixes every metric of ours.
const namespace = "quintupleo"

// Metrics holds the registry and every metric. Its methods are safe for
// concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	libvirtCalls    *prometheus.CounterVec
	sshSessions     *prometheus.CounterVec
	sshCommands     *prometheus.CounterVec
	redfishRequests *prometheus.CounterVec
	latency         *prometheus.HistogramVec
	cloudRequests   *prometheus.CounterVec
	refreshDuration *prometheus.HistogramVec
	nodes           *prometheus.GaugeVec
	inFlight        *prometheus.GaugeVec
	actions         *prometheus.CounterVec
	actionDuration  *prometheus.HistogramVec
	conflictRetries *prometheus.CounterVec
	eventsDropped   *prometheus.CounterVec
	limitEvents     *prometheus.CounterVec
	connections     *prometheus.GaugeVec
	unauthenticated *prometheus.GaugeVec
	// frontOf is the front end of each limit (from limit.Events).
	frontOf map[limit.Name]limit.Front

	mu       sync.Mutex // guards the refresh state below
	lastOK   time.Time  // end of the last successful refresh
	lastErr  error      // error of the last refresh
	statuses map[string]bool
}

// New builds the metrics on a registry of their own, with the Go runtime's
// and the process's collectors beside them.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), statuses: map[string]bool{}}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, labels)
		m.reg.MustRegister(g)
		return g
	}
	histogram := func(name, help string, labels ...string) *prometheus.HistogramVec {
		// From a cached list (sub-millisecond) to a power action riding
		// out Nova's 60 s graceful shutdown.
		buckets := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
		m.reg.MustRegister(h)
		return h
	}
	m.libvirtCalls = counter("libvirt_calls_total", "libvirt RPC calls answered, by procedure and the libvirt error code the client was told (0: success).", "procedure", "code")
	m.sshSessions = counter("ssh_sessions_total", "SSH session channels that ran something (exec, shell, qemu+ssh bridge), by exit status.", "status")
	m.sshCommands = counter("ssh_commands_total", "SSH command lines run (each exec request, each line of an interactive shell), by exit status.", "status")
	m.redfishRequests = counter("redfish_requests_total", "Redfish HTTP requests, by method, route pattern and status.", "method", "route", "status")
	m.latency = histogram("request_duration_seconds", "Time to answer one client request, per front end: a libvirt call, an SSH command line, a Redfish request.", "front")
	m.cloudRequests = counter("cloud_requests_total", "HTTP requests to the cloud, by catalog service, method and path with IDs as {id}, and status (0: no answer).", "service", "endpoint", "status")
	m.refreshDuration = histogram("inventory_refresh_duration_seconds", "Time of one listing of the cloud's servers, by result (ok, error).", "result")
	m.nodes = gauge("nodes", "Nodes in the inventory after its last successful refresh, by Nova status.", "status")
	m.inFlight = gauge("actions_in_flight", "Changes to the cloud under way (server actions until their target state, server creations and deletions, metadata writes, virtual media, networks, volumes), by action.", "action")
	m.actions = counter("actions_total", "Changes to the cloud that ended, by action and result (ok, error).", "action", "result")
	m.actionDuration = histogram("action_duration_seconds", "Time of one change to the cloud, from its first request to its end (waits for the target state included), by action.", "action")
	m.conflictRetries = counter("action_conflict_retries_total", "Nova 409 answers to an action that the executor rode out by sending it again, by action.", "action")
	m.eventsDropped = counter("events_dropped_total", "Changes a subscriber lost because its queue was full, by stream (inventory: node changes; lifecycle: libvirt domain events).", "stream")
	m.limitEvents = counter("limit_events_total", "Times a limit acted on a client: refused a request or connection, evicted or closed a connection, made accepting or reading wait, or stopped a command line; by front end, limit and outcome.", "front", "limit", "outcome")
	m.connections = gauge("connections", "Connections accepted from the front end's listeners and open now (the libvirt count leaves out the SSH side's in-process connections).", "front")
	m.unauthenticated = gauge("connections_unauthenticated", "Of quintupleo_connections, those not yet through CONNECT_OPEN (libvirt, the TLS handshake included) or authentication (SSH): what --max-anonymous-clients and --ssh-max-startups bound.", "front")
	m.frontOf = map[limit.Name]limit.Front{}
	for ev, front := range limit.Events() {
		m.frontOf[ev.Limit] = front
		// Every series exists from the start, at 0, so that rate() and
		// alerts over them have a value before the limit first acts.
		m.limitEvents.WithLabelValues(string(front), string(ev.Limit), string(ev.Outcome))
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "inventory_age_seconds",
		Help: "Seconds since the last successful refresh of the inventory (-1 before the first)."}, m.inventoryAge))
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Call implements rpc.Observer.
func (m *Metrics) Call(proc string, code int, took time.Duration) {
	m.libvirtCalls.WithLabelValues(proc, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues("libvirt").Observe(took.Seconds())
}

// Session implements ssh.Observer.
func (m *Metrics) Session(status uint32, _ time.Duration) {
	m.sshSessions.WithLabelValues(strconv.FormatUint(uint64(status), 10)).Inc()
}

// Command implements ssh.Observer.
func (m *Metrics) Command(status uint32, took time.Duration) {
	m.sshCommands.WithLabelValues(strconv.FormatUint(uint64(status), 10)).Inc()
	m.latency.WithLabelValues("ssh").Observe(took.Seconds())
}

// Limited implements rpc.Observer, ssh.Observer and redfish.Observer: one
// act of limit l. The front comes from limit.Events, so that a caller
// cannot put an unbounded value in the label; a limit missing there
// counts under front "unknown" (TestLimitedEveryEvent keeps the list
// whole).
func (m *Metrics) Limited(l limit.Name, o limit.Outcome) {
	front, ok := m.frontOf[l]
	if !ok {
		front = "unknown"
	}
	m.limitEvents.WithLabelValues(string(front), string(l), string(o)).Inc()
}

// Connections implements rpc.Observer, ssh.Observer and redfish.Observer: the level of a
// front end's connections after a change.
func (m *Metrics) Connections(f limit.Front, open, unauthenticated int) {
	m.connections.WithLabelValues(string(f)).Set(float64(open))
	m.unauthenticated.WithLabelValues(string(f)).Set(float64(unauthenticated))
}

// CloudRequest implements nodes.Observer.
func (m *Metrics) CloudRequest(service, endpoint string, status int, _ time.Duration) {
	m.cloudRequests.WithLabelValues(service, endpoint, strconv.Itoa(status)).Inc()
}

// Refreshed implements nodes.Observer: the duration, the nodes by status,
// and the state /readyz and inventory_age_seconds report.
func (m *Metrics) Refreshed(took time.Duration, err error, byStatus map[string]int) {
	m.refreshDuration.WithLabelValues(resultOf(err)).Observe(took.Seconds())
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastErr = err
	if err != nil {
		return
	}
	m.lastOK = time.Now()
	// A status no node has any more reads 0 rather than its last count.
	for s := range m.statuses {
		if _, ok := byStatus[s]; !ok {
			m.nodes.WithLabelValues(s).Set(0)
		}
	}
	for s, n := range byStatus {
		m.statuses[s] = true
		m.nodes.WithLabelValues(s).Set(float64(n))
	}
}

// The values of a result label.
const (
	resultOK    = "ok"
	resultError = "error"
)

// resultOf is the result label of an outcome.
func resultOf(err error) string {
	if err != nil {
		return resultError
	}
	return resultOK
}

// ActionStarted implements nodes.Observer: the change is in flight until
// done, which counts and times it (once, however often it is called).
func (m *Metrics) ActionStarted(action string) func(error) {
	g := m.inFlight.WithLabelValues(action)
	g.Inc()
	start := time.Now()
	var once sync.Once
	return func(err error) {
		once.Do(func() {
			g.Dec()
			m.actionDuration.WithLabelValues(action).Observe(time.Since(start).Seconds())
			m.actions.WithLabelValues(action, resultOf(err)).Inc()
		})
	}
}

// KnownActions makes the series of each action exist from the start, at 0
// (nodes.ObservedActions lists them), so that rate() and alerts over them
// have a value before the action first happens.
func (m *Metrics) KnownActions(actions []string) {
	for _, a := range actions {
		m.inFlight.WithLabelValues(a)
		m.actionDuration.WithLabelValues(a)
		m.actions.WithLabelValues(a, resultOK)
		m.actions.WithLabelValues(a, resultError)
	}
}

// ConflictRetried implements nodes.Observer.
func (m *Metrics) ConflictRetried(action string) { m.conflictRetries.WithLabelValues(action).Inc() }

// ChangeDropped implements nodes.Observer.
func (m *Metrics) ChangeDropped() { m.eventsDropped.WithLabelValues("inventory").Inc() }

// LifecycleEventDropped counts a libvirt lifecycle event a subscriber lost.
func (m *Metrics) LifecycleEventDropped() { m.eventsDropped.WithLabelValues("lifecycle").Inc() }

func (m *Metrics) inventoryAge() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lastOK.IsZero() {
		return -1
	}
	return time.Since(m.lastOK).Seconds()
}

// Redfish wraps the Redfish handler: each request counted by method, the
// route pattern the handler's ServeMux matched (bounded, unlike paths) and
// status, and timed.
func (m *Metrics) Redfish(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		m.latency.WithLabelValues("redfish").Observe(time.Since(start).Seconds())
		m.redfishRequests.WithLabelValues(r.Method, routeOf(r.Pattern), strconv.Itoa(sw.status)).Inc()
	})
}

// routeOf is a ServeMux pattern without its method ("GET /redfish/v1/Systems/{id}"
// → "/redfish/v1/Systems/{id}"); "unmatched" when no pattern matched.
func routeOf(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Handler serves /metrics, /healthz (the process is up and serving this
// listener) and /readyz (the inventory is loaded and the cloud answered its
// last refresh: 503 with the reason otherwise).
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if why := m.notReady(); why != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(why + "\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// notReady is why the shim is not ready, "" when it is.
func (m *Metrics) notReady() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.lastOK.IsZero() && m.lastErr != nil:
		// A shim started while the cloud is down: say why.
		return "not ready: the inventory has not been loaded yet: " + m.lastErr.Error()
	case m.lastOK.IsZero():
		return "not ready: the inventory has not been loaded yet"
	case m.lastErr != nil:
		return "not ready: the last refresh of the inventory failed: " + m.lastErr.Error()
	}
	return ""
}
