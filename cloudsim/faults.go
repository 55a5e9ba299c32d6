package cloudsim

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is one injected misbehaviour. A request matches when Endpoint is a
// substring of its endpoint key (see RequestRecord.Endpoint, e.g.
// "GET /compute/v2.1/servers/detail" or "POST /compute/v2.1/servers/{id}/action os-stop");
// an empty Endpoint matches every service request (never /_sim/).
//
// Rates are deterministic, not random: with ErrorRate 0.5 every second
// matching request fails, with 1 every one does.
type Fault struct {
	ID         int           `json:"id"`
	Endpoint   string        `json:"endpoint,omitempty"`
	Latency    time.Duration `json:"latency,omitempty"`     // added before the request is handled
	ErrorRate  float64       `json:"error_rate,omitempty"`  // fraction answered with Status
	Status     int           `json:"status,omitempty"`      // 500 (default) or 503, or any 4xx/5xx
	RateLimit  float64       `json:"rate_limit,omitempty"`  // fraction answered 429 with Retry-After
	RetryAfter time.Duration `json:"retry_after,omitempty"` // Retry-After (whole seconds, rounded up; default 1s)
	Hang       bool          `json:"hang,omitempty"`        // never answer: hold until the client gives up or Close
	Count      int           `json:"count,omitempty"`       // affect at most Count requests, then vanish; 0 = forever
	// Proxy answers Status (or 429) as the load balancer in front of the
	// service does: HAProxy's HTML body and no X-Openstack-Request-Id, the
	// header every OpenStack API's WSGI pipeline sets. Without it the
	// service itself answers (its error body, with a request id).
	Proxy bool `json:"proxy,omitempty"`
	// After lets the service handle the request and then replaces its answer
	// with Status from the proxy (a 504 after the backend acted but its
	// answer was lost): the client sees an error for an action the cloud
	// accepted. Implies Proxy.
	After bool `json:"after,omitempty"`
}

func (f Fault) validate() error {
	switch {
	case f.Latency < 0:
		return fmt.Errorf("cloudsim: fault latency %v < 0", f.Latency)
	case f.ErrorRate < 0 || f.ErrorRate > 1 || math.IsNaN(f.ErrorRate):
		return fmt.Errorf("cloudsim: fault error rate %v not in [0,1]", f.ErrorRate)
	case f.RateLimit < 0 || f.RateLimit > 1 || math.IsNaN(f.RateLimit):
		return fmt.Errorf("cloudsim: fault rate limit %v not in [0,1]", f.RateLimit)
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return fmt.Errorf("cloudsim: fault status %d not an HTTP error", f.Status)
	case f.Count < 0:
		return fmt.Errorf("cloudsim: fault count %d < 0", f.Count)
	case f.After && f.ErrorRate == 0:
		return fmt.Errorf("cloudsim: fault after needs an error rate (the status that replaces the answer)")
	case f.Latency == 0 && f.ErrorRate == 0 && f.RateLimit == 0 && !f.Hang:
		return fmt.Errorf("cloudsim: fault does nothing (set latency, error_rate, rate_limit or hang)")
	}
	return nil
}

// ParseFault parses the flag/admin syntax: comma-separated key=value pairs,
// keys endpoint, latency (Go duration), error-rate, status, rate-limit,
// retry-after (duration), hang, proxy, after (bools; the key alone means
// true), count.
// Example: "endpoint=servers/detail,latency=200ms" or "endpoint=os-stop,error-rate=1,status=503,count=1".
func ParseFault(spec string) (Fault, error) {
	var f Fault
	for kv := range strings.SplitSeq(spec, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, hasV := strings.Cut(kv, "=")
		var err error
		switch k {
		case "endpoint":
			f.Endpoint = v
		case "latency":
			f.Latency, err = time.ParseDuration(v)
		case "error-rate", "error_rate":
			f.ErrorRate, err = strconv.ParseFloat(v, 64)
		case "status":
			f.Status, err = strconv.Atoi(v)
		case "rate-limit", "rate_limit":
			f.RateLimit, err = strconv.ParseFloat(v, 64)
		case "retry-after", "retry_after":
			f.RetryAfter, err = time.ParseDuration(v)
		case "hang":
			f.Hang, err = flagValue(v, hasV)
		case "proxy":
			f.Proxy, err = flagValue(v, hasV)
		case "after":
			f.After, err = flagValue(v, hasV)
		case "count":
			f.Count, err = strconv.Atoi(v)
		default:
			return Fault{}, fmt.Errorf("cloudsim: fault %q: unknown key %q", spec, k)
		}
		if err != nil {
			return Fault{}, fmt.Errorf("cloudsim: fault %q: %s: %w", spec, k, err)
		}
	}
	if err := f.validate(); err != nil {
		return Fault{}, err
	}
	return f, nil
}

// flagValue is a boolean key's value: true when the key stands alone.
func flagValue(v string, hasV bool) (bool, error) {
	if !hasV {
		return true, nil
	}
	return strconv.ParseBool(v)
}

type faultRule struct {
	Fault
	errAcc, rlAcc float64
	fired         int
}

// AddFault installs f and returns its id.
func (s *Sim) AddFault(f Fault) (int, error) {
	if err := f.validate(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.obs.nextFault++
	f.ID = s.obs.nextFault
	s.obs.faults = append(s.obs.faults, &faultRule{Fault: f})
	return f.ID, nil
}

// SetFault replaces every installed fault with f (a convenience for tests
// that flip one fault mid-run) and returns its id.
func (s *Sim) SetFault(f Fault) (int, error) {
	if err := f.validate(); err != nil {
		return 0, err
	}
	s.ClearFaults()
	return s.AddFault(f)
}

// RemoveFault removes the fault with this id; false if there is none.
func (s *Sim) RemoveFault(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.obs.faults {
		if r.ID == id {
			s.obs.faults = append(s.obs.faults[:i], s.obs.faults[i+1:]...)
			return true
		}
	}
	return false
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.obs.faults = nil
}

// Faults lists the installed faults.
func (s *Sim) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.obs.faults))
	for _, r := range s.obs.faults {
		out = append(out, r.Fault)
	}
	return out
}

// faultDecision is what the matching faults do to one request.
type faultDecision struct {
	latency    time.Duration
	hang       bool
	status     int // 0 = handle normally
	retryAfter time.Duration
	proxy      bool // the answer comes from the load balancer (Fault.Proxy)
	after      bool // the service handles the request first (Fault.After)
	names      []string
}

// decideFaults evaluates the faults for one request. Caller holds s.mu.
func (s *Sim) decideFaults(endpoint string) faultDecision {
	var d faultDecision
	kept := s.obs.faults[:0]
	for _, r := range s.obs.faults {
		if r.Endpoint != "" && !strings.Contains(endpoint, r.Endpoint) {
			kept = append(kept, r)
			continue
		}
		affected := false
		if r.Latency > 0 {
			d.latency += r.Latency
			affected = true
		}
		if r.Hang {
			d.hang = true
			affected = true
		}
		if r.RateLimit > 0 && d.status == 0 {
			r.rlAcc += r.RateLimit
			if r.rlAcc >= 1-1e-9 {
				r.rlAcc--
				d.status = http.StatusTooManyRequests
				d.retryAfter = r.RetryAfter
				if d.retryAfter <= 0 {
					d.retryAfter = time.Second
				}
				d.proxy = r.Proxy
				affected = true
			}
		}
		if r.ErrorRate > 0 && d.status == 0 {
			r.errAcc += r.ErrorRate
			if r.errAcc >= 1-1e-9 {
				r.errAcc--
				d.status = r.Status
				if d.status == 0 {
					d.status = http.StatusInternalServerError
				}
				d.proxy, d.after = r.Proxy || r.After, r.After
				affected = true
			}
		}
		if affected {
			r.fired++
			d.names = append(d.names, strconv.Itoa(r.ID))
		}
		if r.Count == 0 || r.fired < r.Count {
			kept = append(kept, r)
		}
	}
	clear(s.obs.faults[len(kept):])
	s.obs.faults = kept
	return d
}

// faultError is the error body a service gives for an injected status.
func faultError(service string, status int, retryAfter time.Duration) *apiError {
	var e *apiError
	msg := http.StatusText(status)
	switch service {
	case "compute":
		switch status {
		case 429:
			e = novaErr(429, "This request was rate-limited.")
		case 503:
			e = novaErr(503, "Service Unavailable")
		case 500:
			e = novaErr(500, "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.\n<class 'cloudsim.InjectedFault'>")
		default:
			e = novaErr(status, "%s", msg)
		}
	case "network":
		e = neutronErr(status, "HTTP"+strings.ReplaceAll(msg, " ", ""), msg)
	case "image":
		e = glanceErr(status, msg)
	case "volume":
		switch status {
		case 500:
			e = cinderErr(500, "The server has either erred or is incapable of performing the requested operation.")
		case 429:
			e = cinderErr(429, "This request was rate-limited.")
		default:
			e = cinderErr(status, "%s", msg)
		}
	default:
		e = keystoneErr(status, msg, msg)
	}
	if status == 429 {
		e.header = http.Header{"Retry-After": {retryAfterSeconds(retryAfter)}}
	}
	return e
}

// proxyError is what HAProxy, the usual load balancer in front of an
// OpenStack API, answers on its own: an HTML page and no request id.
func proxyError(status int, retryAfter time.Duration) *apiError {
	detail := map[int]string{
		429: "You have sent too many requests in a given amount of time.",
		502: "The server returned an invalid or incomplete response.",
		503: "No server is available to handle this request.",
		504: "The server didn't respond in time.",
	}[status]
	e := &apiError{status: status, text: fmt.Sprintf("<html><body><h1>%d %s</h1>\n%s\n</body></html>\n",
		status, http.StatusText(status), detail), ctype: "text/html"}
	e.header = http.Header{"Cache-Control": {"no-cache"}}
	if status == 429 {
		e.header.Set("Retry-After", retryAfterSeconds(retryAfter))
	}
	return e
}

// retryAfterSeconds is Retry-After in whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
