package nodes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// Retries of requests to the cloud (docs/reliability.md, "Cloud faults").
// A request is tried at most 1+DefaultMaxRetries times; the waits between
// tries grow from retryBase to retryCap with full jitter, so that many
// callers failing together do not come back together; a Retry-After longer
// than maxRetryAfter is not waited for (the caller gets the 429).
const (
	DefaultMaxRetries = 3
	retryBase         = 250 * time.Millisecond
	retryCap          = 4 * time.Second
	maxRetryAfter     = 10 * time.Second
)

// retryPolicy is gophercloud's ProviderClient.RetryFunc: it is called after
// every failed request and returns nil to send it again (after waiting) or
// the error to give up with.
//
// A read (GET, HEAD) is retried on 429, on 5xx and when the cloud could not
// be reached: sending it again changes nothing. A request that changes
// something (an action, a create, a delete) is retried only when the answer
// proves the cloud never acted on it, because a second copy of an action
// Nova accepted would start, stop or create twice:
//   - 429: the request was refused before it was processed (RFC 6585; the
//     rate limiter sits in front of every handler);
//   - 503 without X-Openstack-Request-Id: the request-id middleware is the
//     first thing in every OpenStack API's pipeline and stamps every answer,
//     errors included, so a 503 without it comes from the load balancer in
//     front ("no server is available"), which did not forward the request;
//   - the connection could not be made (dial error): nothing was sent.
//
// Everything else (a 500 or 503 from the service, a 502/504 from a proxy
// whose backend may have acted, a reset or a timeout after the request was
// sent) is not retried and reaches the client as an error. A timeout is not
// retried for reads either: the caller has already waited a whole request
// deadline, and the inventory's next refresh tries again anyway.
type retryPolicy struct {
	maxRetries int
	log        *slog.Logger
}

func newRetryPolicy(cfg CloudConfig) retryPolicy {
	p := retryPolicy{maxRetries: cfg.MaxRetries, log: cfg.Logger}
	if p.maxRetries == 0 {
		p.maxRetries = DefaultMaxRetries
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

func (p retryPolicy) retry(ctx context.Context, method, url string, _ *gophercloud.RequestOpts, err error, failCount uint) error {
	if int(failCount) > p.maxRetries {
		return err
	}
	wait, why, ok := retryWait(method, err, failCount)
	if !ok {
		return err
	}
	if deadline, has := ctx.Deadline(); has && time.Until(deadline) < wait {
		return err // the caller would be gone before the next try
	}
	p.log.Info("retrying cloud request", "method", method, "url", url, "retry", failCount,
		"wait", wait.Round(time.Millisecond), "because", why)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return err
	case <-t.C:
		return nil
	}
}

// retryWait says whether a request that failed with err may be sent again,
// after how long, and why (for the log).
func retryWait(method string, err error, failCount uint) (time.Duration, string, bool) {
	read := method == http.MethodGet || method == http.MethodHead
	var resp gophercloud.ErrUnexpectedResponseCode
	var opErr *net.OpError
	var noAnswer *RequestTimeoutError
	switch {
	case errors.As(err, &resp) && resp.Actual == http.StatusTooManyRequests:
		ra, ok := retryAfter(resp.ResponseHeader, time.Now())
		if !ok {
			return backoff(failCount), "429 without Retry-After", true
		}
		if ra > maxRetryAfter {
			return 0, "", false
		}
		// A little jitter on top, so the callers told the same second
		// do not all come back in it.
		return ra + rand.N(ra/5+time.Millisecond), "429, Retry-After " + ra.String(), true
	case errors.As(err, &resp) && resp.Actual == http.StatusServiceUnavailable && !fromService(resp.ResponseHeader):
		return backoff(failCount), "503 from a proxy in front of the cloud", true
	case errors.As(err, &resp):
		return backoff(failCount), fmt.Sprintf("HTTP %d on a read", resp.Actual), read && resp.Actual >= 500
	case errors.As(err, &noAnswer), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return 0, "", false
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return backoff(failCount), "cannot connect", true
	case errors.As(err, &opErr):
		return backoff(failCount), "connection lost", read
	}
	return 0, "", false
}

// fromService says the answer went through an OpenStack API's WSGI
// pipeline, whose request-id middleware stamps every answer.
func fromService(h http.Header) bool {
	return h.Get("X-Openstack-Request-Id") != "" || h.Get("X-Compute-Request-Id") != ""
}

// backoff is the wait before retry n (1-based): exponential from retryBase,
// capped at retryCap, with full jitter in its upper half.
func backoff(n uint) time.Duration {
	d := retryCap
	if n < 16 {
		d = min(retryCap, retryBase<<(n-1))
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads Retry-After: delay-seconds or an HTTP-date (RFC 9110).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(0, at.Sub(now)), true
	}
	return 0, false
}
