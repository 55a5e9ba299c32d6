package nodes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// Link is the way to the cloud: the service clients once Keystone has
// authenticated us and handed over the catalog, or why it has not yet. A
// shim started while the cloud is down serves what needs no cloud and
// connects later (docs/reliability.md, "Cloud down at start"): whoever needs
// the cloud asks the Link, which tries again no sooner than a jittered,
// bounded back-off (backoff in retry.go) after its last failure, so that
// neither the refresh loop nor a crowd of clients hammers a Keystone that is
// coming up.
type Link struct {
	cfg     CloudConfig
	obs     Observer
	log     *slog.Logger
	authURL string

	cloud atomic.Pointer[Cloud]
	up    chan struct{} // closed once cloud is set

	// attempt makes one attempt at a time. It is not mu: a client asking
	// why the cloud is down (failed) must get the last answer at once,
	// not wait out an attempt against a Keystone that does not answer.
	attempt sync.Mutex
	mu      sync.Mutex // guards the rest
	// fails counts the attempts that failed in a row; next is when the
	// next may start; lastErr is the last one's error (ErrUnavailable).
	fails    uint
	next     time.Time
	lastErr  error
	downFrom time.Time // when the first failed attempt ended
}

// OpConnect is the Op of a Link's errors.
const OpConnect = "connect to the cloud"

// NewLink checks cfg (the cloud named, its auth URL well formed) without
// asking the cloud anything: what no retry can fix fails here.
func NewLink(cfg CloudConfig) (*Link, error) {
	authOpts, _, _, err := loadConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkAuthURL(authOpts.IdentityEndpoint); err != nil {
		return nil, err
	}
	return &Link{cfg: cfg, obs: (&Cloud{obs: cfg.Observer}).observer(), log: loggerOrDiscard(cfg.Logger),
		authURL: authOpts.IdentityEndpoint, up: make(chan struct{})}, nil
}

// Linked is the Link of a cloud already connected.
func Linked(c *Cloud) *Link {
	l := &Link{obs: c.observer(), log: loggerOrDiscard(nil), up: make(chan struct{})}
	l.cloud.Store(c)
	close(l.up)
	return l
}

// checkAuthURL refuses an auth URL no request could ever use (a typo in
// clouds.yaml), which the HTTP client would otherwise report like a cloud
// that cannot be reached.
func checkAuthURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("nodes: malformed auth URL %q: %w", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("nodes: auth URL %q: want an http:// or https:// URL", raw)
	case u.Host == "":
		return fmt.Errorf("nodes: auth URL %q names no host", raw)
	}
	return nil
}

// AuthURL is the Keystone URL the Link authenticates against ("" for a
// Linked one).
func (l *Link) AuthURL() string { return l.authURL }

// Up is closed once the Link has connected.
func (l *Link) Up() <-chan struct{} { return l.up }

// current is the connected cloud, nil before.
func (l *Link) current() *Cloud { return l.cloud.Load() }

// Cloud returns the connected cloud, connecting first if the back-off since
// the last failure has run out; otherwise it answers that failure again at
// once. An attempt is bounded by ctx and by the cloud's request deadline.
func (l *Link) Cloud(ctx context.Context) (*Cloud, error) {
	if c := l.cloud.Load(); c != nil {
		return c, nil
	}
	l.attempt.Lock()
	defer l.attempt.Unlock()
	if c := l.cloud.Load(); c != nil {
		return c, nil
	}
	l.mu.Lock()
	lastErr, next := l.lastErr, l.next
	l.mu.Unlock()
	if lastErr != nil && time.Now().Before(next) {
		return nil, lastErr
	}
	c, err := Connect(ctx, l.cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err // the caller gave up: not the cloud's doing
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		l.fails++
		l.next = time.Now().Add(backoff(l.fails))
		if l.downFrom.IsZero() {
			l.downFrom = time.Now()
		}
		l.lastErr = &Error{Op: OpConnect, Kind: ErrUnavailable, Err: err,
			Reason: fmt.Sprintf("cannot authenticate with Keystone at %s: %s", l.authURL, cause(err))}
		l.log.Debug("cloud still unreachable", "url", l.authURL, "attempt", l.fails, "err", err)
		return nil, l.lastErr
	}
	l.mu.Lock()
	fails, downFrom := l.fails, l.downFrom
	l.mu.Unlock()
	if fails > 0 {
		l.log.Info("cloud reachable: connected", "url", l.authURL, "failed_attempts", fails,
			"unreachable_for", time.Since(downFrom).Round(time.Millisecond))
	}
	l.cloud.Store(c)
	close(l.up)
	return c, nil
}

// failed is the last attempt's error while the Link is down after one, nil
// when it is up or has not tried yet.
func (l *Link) failed() error {
	if l.cloud.Load() != nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr
}

// cause is what went wrong underneath a failed connect, in the words of
// whoever saw it (the dialler, the resolver, our request deadline, the
// HTTP status), without the layers of wrapping that only repeat the op.
func cause(err error) string {
	var noAnswer *RequestTimeoutError
	var resp gophercloud.ErrUnexpectedResponseCode
	var dns *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &noAnswer):
		return noAnswer.Error()
	case errors.As(err, &resp):
		return fmt.Sprintf("HTTP %d from %s %s", resp.Actual, resp.Method, resp.URL)
	case errors.As(err, &dns):
		return dns.Error()
	case errors.As(err, &opErr):
		return opErr.Error()
	}
	return err.Error()
}

// CredentialsRefused says Keystone answered 401: the user, password,
// project or domains of the cloud's entry are wrong (or the user disabled).
func CredentialsRefused(err error) bool {
	return gophercloud.ResponseCodeIs(err, http.StatusUnauthorized)
}

// Retryable says a failed connect or listing may succeed later with nobody
// changing anything: the cloud was not reached (refused, no route, no such
// host), did not answer within the deadline, or answered 5xx or 429.
// Keystone refusing the credentials (401), any other 4xx and a catalog
// without Nova are answers the cloud gave on purpose: retrying repeats them.
func Retryable(err error) bool {
	var resp gophercloud.ErrUnexpectedResponseCode
	var noEndpoint *gophercloud.ErrEndpointNotFound
	var noAnswer *RequestTimeoutError
	var netErr net.Error
	switch {
	case errors.As(err, &resp):
		return resp.Actual >= 500 || resp.Actual == http.StatusTooManyRequests || resp.Actual == http.StatusRequestTimeout
	case errors.As(err, &noEndpoint):
		return false
	case errors.As(err, &noAnswer), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &netErr):
		return true
	}
	return false
}
