// Package cloudcall is what the OpenStack service packages (nodes,
// nodes/cinder) share about a call to the cloud: the shape of a failed
// call's error, the classes of a failure that are not the service's own
// (no answer, an expired or cancelled context, a 5xx), and polling a
// resource until a condition holds.
//
// It is a leaf: it imports nothing of quintupleo, so that nodes can compose
// the service packages that use it (nodes/doc.go) without an import cycle.
package cloudcall

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/gophercloud/gophercloud/v2"
)

// The classes every service shares. A service package re-exports them
// beside its own (nodes.ErrNotFound is ErrNotFound).
var (
	// ErrNotFound: the resource does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the cloud did not answer usefully (5xx, 429,
	// connection refused, no answer within the request deadline).
	ErrUnavailable = errors.New("cloud unavailable")
	// ErrTimeout: the caller's deadline passed, typically while waiting
	// for the resource to reach a state.
	ErrTimeout = errors.New("timed out waiting for the cloud")
)

// Service is the package an Error belongs to: Prefix begins its message
// ("nodes: …", "cinder: …"). Each package instantiates Error with a
// zero-size type of its own, so that its errors stay a type of their own
// for errors.As.
type Service interface{ Prefix() string }

// Error is a failed call: the class, the operation and the service's own
// explanation.
type Error[S Service] struct {
	Op     string // e.g. "os-stop node-1"
	Kind   error  // one of the service package's sentinels
	Reason string // the service's message (409 body, fault message), safe to show
	Err    error  // underlying error
}

func (e *Error[S]) Error() string {
	var s S
	msg := fmt.Sprintf("%s: %s: %v", s.Prefix(), e.Op, e.Kind)
	if e.Reason != "" {
		return msg + ": " + e.Reason
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error[S]) Is(target error) bool { return target == e.Kind }

func (e *Error[S]) Unwrap() error { return e.Err }

// Classify turns a gophercloud or transport error into an *Error[S]. nil
// stays nil and an *Error[S] is kept. own, the service's part, looks first
// and sets Kind (and Reason) for what it knows, its HTTP answers above all;
// what it leaves without a Kind is classed here: an expired context is
// ErrTimeout, a cancelled one is returned wrapped as it is (not a cloud
// failure: the caller's own check), a transport failure is ErrUnavailable
// ("cannot reach the cloud"), and anything else ErrUnavailable.
func Classify[S Service](op string, err error, own func(e *Error[S])) error {
	if err == nil {
		return nil
	}
	var already *Error[S]
	if errors.As(err, &already) {
		return err
	}
	e := &Error[S]{Op: op, Err: err}
	own(e)
	var netErr net.Error
	switch {
	case e.Kind != nil:
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind = ErrTimeout
	case errors.Is(err, context.Canceled):
		var s S
		return fmt.Errorf("%s: %s: %w", s.Prefix(), op, err)
	case errors.As(err, &netErr):
		e.Kind = ErrUnavailable
		e.Reason = "cannot reach the cloud"
	default:
		e.Kind = ErrUnavailable
	}
	return e
}

// HTTPReason is the Reason of an answer that says only that the cloud
// failed: "HTTP 503 from GET https://…".
func HTTPReason(resp gophercloud.ErrUnexpectedResponseCode) string {
	return fmt.Sprintf("HTTP %d from %s %s", resp.Actual, resp.Method, resp.URL)
}
