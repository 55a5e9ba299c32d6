package nodes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"
)

// Sentinel conditions. Errors returned by this package wrap one of them (test
// with errors.Is) and keep the gophercloud error underneath (errors.As down to
// gophercloud.ErrUnexpectedResponseCode still works).
var (
	// ErrNotFound: the server does not exist (Nova 404, or not a node).
	ErrNotFound = errors.New("not found")
	// ErrConflict: Nova refused the action in the server's current state (409)
	// and waiting did not help.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the cloud did not answer usefully (5xx, 429 past its
	// budget, connection refused, no answer within the request deadline, the
	// inventory too stale to trust).
	ErrUnavailable = errors.New("cloud unavailable")
	// ErrFailed: the action was accepted but the server went to ERROR.
	ErrFailed = errors.New("action failed")
	// ErrTimeout: the server did not reach the target state in time.
	ErrTimeout = errors.New("timed out waiting for the cloud")
	// ErrUnsupported: the cloud cannot do what was asked at all (its API
	// lacks the call, its policy or hypervisor refuses it), whatever the
	// server's state.
	ErrUnsupported = errors.New("not supported by the cloud")
)

// Error carries the condition, the operation and Nova's own explanation.
type Error struct {
	Op     string // e.g. "os-stop node-1"
	Kind   error  // one of the sentinels above
	Reason string // Nova's message (409 body, fault message), safe to show
	Err    error  // underlying error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("nodes: %s: %v", e.Op, e.Kind)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Err != nil && e.Reason == "" {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Is(target error) bool { return target == e.Kind }

func (e *Error) Unwrap() error { return e.Err }

// classify turns a gophercloud/transport error into an *Error with a sentinel.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	e := &Error{Op: op, Err: err}
	var resp gophercloud.ErrUnexpectedResponseCode
	var netErr net.Error
	var noAnswer *RequestTimeoutError
	switch {
	case gophercloud.ResponseCodeIs(err, http.StatusNotFound):
		e.Kind = ErrNotFound
	case gophercloud.ResponseCodeIs(err, http.StatusConflict):
		e.Kind = ErrConflict
		e.Reason = novaMessage(err)
	case errors.As(err, &resp) && (resp.Actual >= 500 || resp.Actual == http.StatusTooManyRequests):
		e.Kind = ErrUnavailable
		e.Reason = fmt.Sprintf("HTTP %d from %s %s", resp.Actual, resp.Method, resp.URL)
	case errors.As(err, &noAnswer):
		// Our per-request deadline, not the caller's: the cloud is not
		// answering, which a later request may change.
		e.Kind = ErrUnavailable
		e.Reason = noAnswer.Error()
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind = ErrTimeout
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("nodes: %s: %w", op, err)
	case errors.As(err, &netErr):
		e.Kind = ErrUnavailable
		e.Reason = "cannot reach the cloud"
	default:
		e.Kind = ErrUnavailable
	}
	return e
}

// novaMessage extracts the message of a Nova error body such as
// {"conflictingRequest": {"code": 409, "message": "..."}}.
func novaMessage(err error) string {
	var resp gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &resp) {
		return ""
	}
	return bodyMessage(resp.Body)
}
