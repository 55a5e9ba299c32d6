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
	case f.Latency == 0 && f.ErrorRate == 0 && f.RateLimit == 0 && !f.Hang:
		return fmt.Errorf("cloudsim: fault does nothing (set latency, error_rate, rate_limit or hang)")
	}
	return nil
}

// ParseFault parses the flag/admin syntax: comma-separated key=value pairs,
// keys endpoint, latency (Go duration), error-rate, status, rate-limit,
// retry-after (duration), hang (bool, "hang" alone means true), count.
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
			f.Hang = true
			if hasV {
				f.Hang, err = strconv.ParseBool(v)
			}
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
		secs := int(math.Ceil(retryAfter.Seconds()))
		if secs < 1 {
			secs = 1
		}
		e.header = http.Header{"Retry-After": {strconv.Itoa(secs)}}
	}
	return e
}
