package nodes

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultRequestTimeout bounds one request to the cloud when
// CloudConfig.RequestTimeout is zero. docs/limits.md ("Cloud deadlines")
// gives the reasoning: generous for a 1000-server page of a busy Nova, no
// longer than the proxies in front of most clouds wait themselves.
const DefaultRequestTimeout = 60 * time.Second

// RequestTimeoutError is a request the cloud did not answer, body included,
// within the per-request deadline.
type RequestTimeoutError struct {
	Method, URL string
	Deadline    time.Duration
}

func (e *RequestTimeoutError) Error() string {
	return fmt.Sprintf("no answer from %s %s within %s", e.Method, e.URL, e.Deadline)
}

// Timeout makes it a net.Error that says so.
func (e *RequestTimeoutError) Timeout() bool { return true }

// Temporary is the rest of net.Error: a later request may well be answered.
func (e *RequestTimeoutError) Temporary() bool { return true }

// deadlineTransport gives every request its own deadline, reading the body
// included, whatever http.Client the caller supplied. http.Client.Timeout
// does the same, but its error names neither the deadline nor that it was
// ours, and a caller's client (tests wrap the transport) would have to set
// it; a transport wrapper applies to any client and reports the URL and the
// deadline in the error, which the operator needs to tell a dead cloud from
// a slow one.
type deadlineTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (t deadlineTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	cause := &RequestTimeoutError{Method: req.Method, URL: req.URL.Redacted(), Deadline: t.timeout}
	ctx, cancel := context.WithTimeoutCause(req.Context(), t.timeout, cause)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		if context.Cause(ctx) == cause {
			return nil, cause
		}
		return nil, err
	}
	resp.Body = &deadlineBody{ReadCloser: resp.Body, ctx: ctx, cancel: cancel, cause: cause}
	return resp, nil
}

// deadlineBody keeps the request's deadline running while the body is read
// and releases it on Close.
type deadlineBody struct {
	io.ReadCloser
	ctx    context.Context
	cancel context.CancelFunc
	cause  error
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && context.Cause(b.ctx) == b.cause {
		return n, b.cause
	}
	return n, err
}

func (b *deadlineBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// withDeadline returns a copy of c whose every request has its own deadline.
func withDeadline(c *http.Client, timeout time.Duration) http.Client {
	out := *c
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	out.Transport = deadlineTransport{next: next, timeout: timeout}
	return out
}
