// Package cloudsim is a simulated OpenStack cloud: a subset of Keystone v3,
// Nova (2.1 with microversions up to 2.93), Neutron v2.0 and Glance v2 served
// over real HTTP, with Nova's asynchronous state machines, 409 conflicts,
// injectable faults and a request log. It is the embedded cloud of
// `quintupleo serve --demo`, the standalone `quintupleo sim`, and the test bed
// of every package that talks to OpenStack.
//
// Every Sim owns its state, timers and goroutines; nothing lives at package
// level, so a test binary can run many sims at once. Close stops them all.
//
// JSON shapes, status codes and error bodies follow the samples recorded from
// a real Nova Zed (see testdata/realnova/ and docs/cloudsim.md).
package cloudsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Fixed credentials of the simulated cloud.
const (
	Username          = "admin"
	Password          = "secret"
	ProjectName       = "admin"
	UserDomainName    = "Default"
	ProjectDomainName = "Default"
	Region            = "RegionOne"
	// The application credential of the user (Keystone's
	// v3applicationcredential auth; its secret is Options.AppCredentialSecret).
	AppCredentialID   = "6b1c5a54e0d94a4c9f2d8a3e7c1b0a99"
	AppCredentialName = "quintupleo"
	// AppCredentialSecret is the default secret of that credential.
	AppCredentialSecret = "appcred-secret"
)

// Service paths under URL(). gophercloud appends "v2.0/" to the network
// endpoint and "v2/" to the image endpoint; the compute endpoint is used as is.
const (
	IdentityPath = "/v3"
	ComputePath  = computeRoot + "/v2.1"
	NetworkPath  = "/network"
	ImagePath    = "/image"
	// VolumePath is Cinder's root; the catalog URL is VolumePath/v3/<project id>.
	VolumePath = "/volume"
	AdminPath  = "/_sim"
)

// computeRoot is Nova's unversioned root, its version list.
const computeRoot = "/compute"

// DefaultTransitionDelay is the duration of one step of an asynchronous Nova
// task when Options.TransitionDelay is 0.
const DefaultTransitionDelay = 50 * time.Millisecond

// DefaultRequestLogSize bounds the request log when Options.RequestLogSize is 0.
const DefaultRequestLogSize = 10000

// Options configures a Sim.
type Options struct {
	// Nodes pre-creates node-0..node-(N-1): the fixture of realcloud's nodes.sh N
	// (network provision, flavor baremetal, image ipxe-boot, one port per node
	// with MAC 52:54:00 + index, all SHUTOFF).
	Nodes int
	// TransitionDelay is how long one step of an asynchronous task
	// (powering-on, rebooting, …) takes. 0 means DefaultTransitionDelay (50ms);
	// a negative value means steps fire as soon as possible (still
	// asynchronously, on a zero timer).
	TransitionDelay time.Duration
	// ShutdownDelay is extra time modelled for the guest's graceful shutdown
	// in os-stop (added to the powering-off step). 0 = none.
	ShutdownDelay time.Duration
	// TokenTTL is the Keystone token lifetime; 0 means 1h.
	TokenTTL time.Duration
	// Logger receives one debug line per request and info lines for
	// transitions; nil discards.
	Logger *slog.Logger
	// RequestLogSize bounds the request log (oldest entries dropped);
	// 0 means DefaultRequestLogSize.
	RequestLogSize int
	// BlockQuota is the project's Cinder quota; the zero value means
	// DefaultBlockQuota (the realcloud's admin project).
	BlockQuota BlockQuota
	// ComputeQuota is the project's Nova quota; the zero value means
	// DefaultComputeQuota (the realcloud's admin project).
	ComputeQuota ComputeQuota
	// Role is the user's role in its project: "admin" (the default) or
	// "member", for which Neutron's policy applies as in real Neutron
	// (see Sim.AddNetwork for networks of another project).
	Role string
	// Password is the user's password (default Password) and
	// AppCredentialSecret its application credential's secret (default
	// AppCredentialSecret): tests that look for them in logs give ones that
	// occur nowhere else.
	Password, AppCredentialSecret string
	// MaxMicroversion is the newest compute microversion served ("2.60"),
	// as an older Nova's; "" means 2.93 (Zed). Newer requests get Nova's 406.
	MaxMicroversion string
	// WithoutCinder leaves Cinder out of the service catalog, as a cloud
	// without block storage (its routes still answer, unlisted).
	WithoutCinder bool
	// ImportAllowedHosts and ImportAllowedPorts are Glance's
	// [import_filtering_opts] allowed_hosts and allowed_ports for the
	// web-download import: empty means Glance's defaults (any host but
	// loopback and link-local addresses; an explicit port only 80 or 443).
	// A test serving an image on 127.0.0.1:port allows both, as a
	// deployment would.
	ImportAllowedHosts []string
	ImportAllowedPorts []int
	// Faults are installed before the first request.
	Faults []Fault
	// Now is the clock; nil means time.Now. Tests may inject one (timers
	// still run on real time).
	Now func() time.Time
	// OnChange, if set, is called with a snapshot after every server state
	// change (task start, each transition, out-of-band change), in order. It
	// runs with the sim locked: it must not call the Sim.
	OnChange func(ServerInfo)
	// OnVolumeChange, like OnChange for volumes: called with a volume's ID
	// and its new status after every status change, "" once it is gone. It
	// lets a test see every status even when its polls would miss one.
	OnVolumeChange func(id, status string)
}

// Sim is one simulated cloud. Its methods are safe for concurrent use.
type Sim struct {
	opts Options
	log  *slog.Logger
	// maxMinor is the newest compute microversion served (2.maxMinor).
	maxMinor int
	now      func() time.Time
	root     http.Handler
	mux      *http.ServeMux
	actions  map[string]actionSpec
	closing  chan struct{}

	// wg counts goroutines and armed timers that Close waits for.
	wg sync.WaitGroup

	srvMu    sync.Mutex // guards httpSrv, listener, baseURL
	httpSrv  *http.Server
	listener net.Listener
	baseURL  string

	mu      sync.Mutex // guards everything below
	closed  bool
	st      *state
	tokens  map[string]time.Time // token → expiry
	obs     observer
	changed chan struct{} // closed and replaced on every server change (WaitServer)
}

// Check reports the first option New would refuse (the node count, the
// role, the microversion), so a command line can call it a usage error
// before anything is built.
func (opts Options) Check() error {
	if opts.Nodes < 0 || opts.Nodes > 1<<24 {
		return fmt.Errorf("cloudsim: Nodes %d out of range [0, 2^24]", opts.Nodes)
	}
	switch opts.Role {
	case "", RoleAdmin, RoleMember:
	default:
		return fmt.Errorf("cloudsim: Role %q: want %q or %q", opts.Role, RoleAdmin, RoleMember)
	}
	_, err := parseMaxMicroversion(opts.MaxMicroversion)
	return err
}

// New builds a sim with its fixture. It starts no goroutines: Start does.
func New(opts Options) (*Sim, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	if opts.TransitionDelay == 0 {
		opts.TransitionDelay = DefaultTransitionDelay
	} else if opts.TransitionDelay < 0 {
		opts.TransitionDelay = 0
	}
	if opts.ShutdownDelay < 0 {
		opts.ShutdownDelay = 0
	}
	if opts.Password == "" {
		opts.Password = Password
	}
	if opts.AppCredentialSecret == "" {
		opts.AppCredentialSecret = AppCredentialSecret
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.BlockQuota == (BlockQuota{}) {
		opts.BlockQuota = DefaultBlockQuota
	}
	if opts.ComputeQuota == (ComputeQuota{}) {
		opts.ComputeQuota = DefaultComputeQuota
	}
	if opts.Role == "" {
		opts.Role = RoleAdmin
	}
	if opts.RequestLogSize <= 0 {
		opts.RequestLogSize = DefaultRequestLogSize
	}
	top, err := parseMaxMicroversion(opts.MaxMicroversion)
	if err != nil {
		return nil, err
	}
	s := &Sim{
		maxMinor: top,
		opts:     opts,
		log:      opts.Logger,
		now:      opts.Now,
		closing:  make(chan struct{}),
		tokens:   make(map[string]time.Time),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.obs.init(opts.RequestLogSize)
	s.actions = s.actionTable()
	s.st = newState(s.now())
	if err := s.st.fixture(opts.Nodes, s.now()); err != nil {
		return nil, err
	}
	for _, f := range opts.Faults {
		if _, err := s.AddFault(f); err != nil {
			return nil, err
		}
	}
	s.mux = http.NewServeMux()
	s.routes()
	s.root = http.HandlerFunc(s.serve)
	return s, nil
}

// Handler returns the sim's HTTP handler (all services plus /_sim/), e.g. for
// httptest.NewServer. Links and the catalog use the request's Host.
func (s *Sim) Handler() http.Handler { return s.root }

// Start listens on addr ("127.0.0.1:0" picks a port) and serves in the
// background until Close.
func (s *Sim) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cloudsim: listen: %w", err)
	}
	return s.Serve(ln)
}

// Serve serves on ln in the background until Close; it takes ownership of ln.
func (s *Sim) Serve(ln net.Listener) error {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		ln.Close()
		return errors.New("cloudsim: Serve after Close")
	}
	if s.httpSrv != nil {
		ln.Close()
		return errors.New("cloudsim: already started")
	}
	s.listener = ln
	s.baseURL = "http://" + ln.Addr().String()
	s.httpSrv = &http.Server{
		Handler:           s.root,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	srv := s.httpSrv
	s.wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("cloudsim: serve", "err", err)
		}
	})
	return nil
}

// URL is "http://HOST:PORT" once started, "" before.
func (s *Sim) URL() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.baseURL
}

// AuthURL is the Keystone v3 endpoint: URL()+"/v3".
func (s *Sim) AuthURL() string { return s.URL() + IdentityPath }

// CloudsYAML renders a standard clouds.yaml with one cloud named cloudName
// pointing at this sim (call after Start).
func (s *Sim) CloudsYAML(cloudName string) []byte {
	return cloudsYAML(cloudName, s.AuthURL(), s.opts.Password)
}

// CloudsYAMLAppCredential is a clouds.yaml naming the simulated cloud
// cloudName, authenticating with the user's application credential.
func (s *Sim) CloudsYAMLAppCredential(cloudName string) []byte {
	return fmt.Appendf(nil, `clouds:
  %s:
    auth_type: v3applicationcredential
    auth:
      auth_url: %s
      application_credential_id: %s
      application_credential_secret: %s
    region_name: %s
    interface: public
    identity_api_version: 3
`, cloudName, s.AuthURL(), AppCredentialID, s.opts.AppCredentialSecret, Region)
}

// IssuedTokens are the tokens Keystone issued that have not been pruned
// (tests look for them where they must not be).
func (s *Sim) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.tokens {
		out = append(out, t)
	}
	return out
}

// CloudsYAMLAt is the clouds.yaml of a sim that will listen at addr
// (host:port), for a client started before it (a shim started while its
// cloud is down).
func CloudsYAMLAt(cloudName, addr, password string) []byte {
	return cloudsYAML(cloudName, "http://"+addr+IdentityPath, password)
}

func cloudsYAML(cloudName, authURL, password string) []byte {
	return fmt.Appendf(nil, `clouds:
  %s:
    auth:
      auth_url: %s
      username: %s
      password: %s
      project_name: %s
      user_domain_name: %s
      project_domain_name: %s
    region_name: %s
    interface: public
    identity_api_version: 3
`, cloudName, authURL, Username, password, ProjectName, UserDomainName, ProjectDomainName, Region)
}

// Close stops the listener, every pending transition timer and every
// goroutine, waiting for them. Hanging requests are released. Close is
// idempotent.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.st.stopTimers(&s.wg)
	s.mu.Unlock()

	s.srvMu.Lock()
	srv := s.httpSrv
	s.srvMu.Unlock()
	var err error
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = srv.Shutdown(ctx)
		cancel()
		if err != nil {
			err = srv.Close()
		}
	}
	s.wg.Wait()
	return err
}

// discard drains and closes a body (bounded).
func discard(rc io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, rc, 1<<20)
	_ = rc.Close()
}
