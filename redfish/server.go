package redfish

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"quintupleo/internal/actionlog"
	"quintupleo/internal/limit"
	"quintupleo/internal/lograte"
	"quintupleo/internal/penalty"
	"quintupleo/nodes"
)

// Config is the Redfish front end's: who may log in, and how long an idle
// session lives.
type Config struct {
	// Accounts are the users (LoadAccounts); required.
	Accounts *Accounts
	// SessionTimeout ends a session idle for longer. Default 30m, the
	// SessionService default most BMCs ship.
	SessionTimeout time.Duration
	Logger         *slog.Logger
	// MaxSessions caps the sessions of all accounts, MaxSessionsPerAccount
	// those of one (defaults DefaultMaxSessions, DefaultMaxSessionsPerAccount):
	// a login past either is refused with CreateLimitReachedForResource.
	MaxSessions, MaxSessionsPerAccount int
	// AuthFailPenalty is what a wrong password adds to its source address's
	// penalty (internal/penalty, as the SSH front's --ssh-auth-fail-penalty;
	// default penalty.DefaultAuthFail; < 0 disables penalties). PenaltyMin and
	// PenaltyMax are the lock-out threshold and the longest penalty
	// (defaults penalty.DefaultMin, penalty.DefaultMax).
	AuthFailPenalty, PenaltyMin, PenaltyMax time.Duration
	// Observer is told when a limit refuses a request (default: nobody).
	Observer Observer
}

// Observer is told when a limit of the Redfish front refuses a request, for
// the operator's metrics (cmd wires one; redfish imports no metrics
// library). Limited must be quick and safe for concurrent use.
type Observer interface {
	Limited(l limit.Name, o limit.Outcome)
	// Connections is the level after a change: the open connections
	// (ConnLimit; unauthenticated is always 0, Redfish authenticates each
	// request).
	Connections(f limit.Front, open, unauthenticated int)
}

type nopObserver struct{}

func (nopObserver) Limited(limit.Name, limit.Outcome) {}
func (nopObserver) Connections(limit.Front, int, int) {}

// Defaults of Config.
const (
	DefaultSessionTimeout = 30 * time.Minute
	// DefaultMaxSessionsPerAccount: Ironic keeps one sushy client, so one
	// session, per BMC address and account in each conductor, and every
	// node here shares one address: 64 covers 64 conductors or tools.
	DefaultMaxSessionsPerAccount = 64
	// DefaultMaxSessions bounds what all accounts hold together.
	DefaultMaxSessions = 256
)

// Server serves the Redfish API over the node model: every GET from the
// inventory's cache, every change through the Executor. It is an
// http.Handler; Shutdown waits for the actions it started.
type Server struct {
	inv      *nodes.Inventory
	act      *nodes.Executor
	accounts *Accounts
	sessions *sessions
	log      *slog.Logger
	obs      Observer
	mux      *http.ServeMux
	images   *imageFacts
	index    nodeIndex
	// penalties locks out addresses that sent wrong passwords (nil:
	// disabled); penaltyLog spaces the warnings about them.
	penalties       *penalty.Table
	authFailPenalty time.Duration
	penaltyLog      lograte.Limiter

	// Actions outlive the request that started them (Reset answers once the
	// cloud accepted): they run under ctx, tracked by actions.
	ctx     context.Context
	cancel  context.CancelFunc
	actions sync.WaitGroup
}

// New builds the Redfish server over inv's nodes, acting through act.
func New(inv *nodes.Inventory, act *nodes.Executor, cfg Config) (*Server, error) {
	if cfg.Accounts == nil {
		return nil, errors.New("redfish: no accounts")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	obs := cfg.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{inv: inv, act: act, accounts: cfg.Accounts, log: log, obs: obs,
		sessions: newSessions(cmp.Or(cfg.SessionTimeout, DefaultSessionTimeout),
			cmp.Or(cfg.MaxSessions, DefaultMaxSessions), cmp.Or(cfg.MaxSessionsPerAccount, DefaultMaxSessionsPerAccount)),
		mux: http.NewServeMux(), images: newImageFacts(act), ctx: ctx, cancel: cancel,
		penaltyLog: lograte.Limiter{Every: penaltyLogEvery}}
	if cfg.AuthFailPenalty >= 0 {
		s.authFailPenalty = cmp.Or(cfg.AuthFailPenalty, penalty.DefaultAuthFail)
		s.penalties = penalty.New(cmp.Or(cfg.PenaltyMin, penalty.DefaultMin), cmp.Or(cfg.PenaltyMax, penalty.DefaultMax))
	}
	s.routes()
	return s, nil
}

// Shutdown waits for the actions in flight until ctx ends, then cancels
// those left.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.actions.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	s.cancel()
	<-done
	return nil
}

// handler serves one method of one resource for an authenticated principal.
type handler func(w http.ResponseWriter, r *http.Request, p principal)

// route is one resource: its handlers by method, and whether it is open to
// anonymous clients (the service root, and logging in).
type route struct {
	methods map[string]handler
	open    map[string]bool
}

// handle registers the resource at pattern (a ServeMux pattern without a
// method): a method it lacks gets 405 with the Allow header, a client
// without valid credentials 401, a read-only one 403 for anything but GET.
func (s *Server) handle(pattern string, rt route) {
	allow := slices.Sorted(func(yield func(string) bool) {
		for m := range rt.methods {
			if !yield(m) {
				return
			}
		}
	})
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		h, ok := rt.methods[method]
		if !ok {
			s.fail(w, r, refuse(http.StatusMethodNotAllowed, "OperationNotAllowed", ""))
			return
		}
		var p principal
		if !rt.open[method] {
			var err *Error
			if p, err = s.authenticate(r); err != nil {
				if err.Status == http.StatusUnauthorized {
					w.Header().Set("WWW-Authenticate", `Basic realm="quintupleo Redfish"`)
				}
				s.fail(w, r, err)
				return
			}
			if p.readOnly && method != http.MethodGet && !(method == http.MethodDelete && ownSession(r, p)) {
				s.fail(w, r, refuse(http.StatusForbidden, "InsufficientPrivilege", "The account "+p.user+" is read-only."))
				return
			}
		}
		if method == http.MethodGet {
			h(w, r, p)
			return
		}
		s.serveAction(w, r, p, h)
	})
}

// serveAction serves a request that may change something (every method but
// GET) and logs its one action line: who (address and account), what
// (method, path, the System's Id), the cloud requests it cost, how long it
// took and the status answered — as the libvirt front logs its actions.
func (s *Server) serveAction(w http.ResponseWriter, r *http.Request, p principal, h handler) {
	start := time.Now()
	ctx, calls := actionlog.WithCounter(r.Context())
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	h(sw, r.WithContext(ctx), p)
	attrs := []any{"remote", r.RemoteAddr, "user", p.user, "method", r.Method, "path", r.URL.Path}
	if id := r.PathValue("id"); id != "" {
		attrs = append(attrs, "system", id)
	}
	attrs = append(attrs, "cloud_calls", calls.N(), "duration", time.Since(start), "status", sw.status)
	s.log.Info("redfish: action", attrs...)
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// ownSession reports whether r deletes the caller's own session (logging
// out, which a read-only account may do).
func ownSession(r *http.Request, p principal) bool {
	return p.session != nil && r.PathValue("session") == p.session.id
}

// ServeHTTP serves the API. A trailing slash is ignored (but for the
// service root, whose canonical URI has one).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("OData-Version", "4.0")
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") && p != rootPath {
		r.URL.Path = strings.TrimSuffix(p, "/")
		r.URL.RawPath = ""
	}
	s.mux.ServeHTTP(w, r)
}

// authenticate finds who r is from: a session token (X-Auth-Token), else
// HTTP Basic credentials.
func (s *Server) authenticate(r *http.Request) (principal, *Error) {
	if token := r.Header.Get("X-Auth-Token"); token != "" {
		ss, ok := s.sessions.lookup(token)
		if !ok {
			return principal{}, refuse(http.StatusUnauthorized, "NoValidSession", "The session token is unknown or expired; log in again.").by(limit.RedfishAuth)
		}
		return principal{user: ss.user, readOnly: ss.readOnly, session: ss}, nil
	}
	user, password, ok := r.BasicAuth()
	if !ok {
		return principal{}, refuse(http.StatusUnauthorized, "NoValidSession", "Authenticate with HTTP Basic or an X-Auth-Token from the SessionService.")
	}
	readOnly, err := s.checkPassword(r, user, password)
	if err != nil {
		return principal{}, err
	}
	return principal{user: user, readOnly: readOnly}, nil
}

// etagOf is the strong ETag of a resource's representation: it changes
// whenever the resource does (its power, its boot override).
func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

// writeJSON sends a resource with its ETag.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.log.Error("redfish: render", "err", err)
		http.Error(w, "render failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("ETag", etagOf(body))
	w.WriteHeader(status)
	w.Write(body)
}

// fail sends a refusal as a Redfish error body and logs it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := fromNodes(err)
	if e.limit != "" {
		s.obs.Limited(e.limit, limit.Refused)
	}
	level := slog.LevelInfo
	if e.Status >= 500 {
		level = slog.LevelWarn
	}
	s.log.Log(r.Context(), level, "redfish request refused", "method", r.Method, "path", r.URL.Path,
		"status", e.Status, "message", e.ID, "err", e.Error())
	body, _ := json.Marshal(e.body())
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", cmp.Or(e.retryAfter, "10"))
	}
	w.WriteHeader(e.Status)
	w.Write(body)
}

// decodeObject reads a JSON object request body, each member raw.
func decodeObject(r *http.Request) (map[string]json.RawMessage, *Error) {
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err != nil {
		e := refuse(http.StatusBadRequest, "MalformedJSON", "The body could not be read: "+err.Error())
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			e = e.by(limit.RedfishBodySize)
		case errors.Is(err, os.ErrDeadlineExceeded): // the server's ReadTimeout
			e = e.by(limit.RedfishReadTimeout)
		}
		return nil, e
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		reason := "The body must be a JSON object."
		if err != nil {
			reason = err.Error()
		}
		return nil, refuse(http.StatusBadRequest, "MalformedJSON", reason)
	}
	return obj, nil
}

// stringMember is obj[key] as a string; present is false when it is absent.
func stringMember(obj map[string]json.RawMessage, key string) (v string, present bool, err *Error) {
	raw, ok := obj[key]
	if !ok {
		return "", false, nil
	}
	if json.Unmarshal(raw, &v) != nil {
		return "", true, refuse(http.StatusBadRequest, "PropertyValueTypeError", "", string(raw), key)
	}
	return v, true, nil
}
