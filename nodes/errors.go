package nodes

import (
	"errors"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"

	"quintupleo/nodes/cloudcall"
)

// Sentinel conditions. Errors returned by this package wrap one of them (test
// with errors.Is) and keep the gophercloud error underneath (errors.As down to
// gophercloud.ErrUnexpectedResponseCode still works). The classes every
// service shares are nodes/cloudcall's.
var (
	// ErrNotFound: the server does not exist (Nova 404, or not a node).
	ErrNotFound = cloudcall.ErrNotFound
	// ErrConflict: Nova refused the action in the server's current state (409)
	// and waiting did not help.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the cloud did not answer usefully (5xx, 429 past its
	// budget, connection refused, no answer within the request deadline, the
	// inventory too stale to trust).
	ErrUnavailable = cloudcall.ErrUnavailable
	// ErrFailed: the action was accepted but the server went to ERROR.
	ErrFailed = errors.New("action failed")
	// ErrTimeout: the server did not reach the target state in time.
	ErrTimeout = cloudcall.ErrTimeout
	// ErrUnsupported: the cloud cannot do what was asked at all (its API
	// lacks the call, its policy or hypervisor refuses it), whatever the
	// server's state.
	ErrUnsupported = errors.New("not supported by the cloud")
	// ErrDeletedDuringAction is under an ErrNotFound whose server was
	// there when the cloud accepted the action and gone before it reached
	// its target state (errors.Is finds both): deleted by someone else
	// meanwhile, such as the reaper of a transient domain that saw it stop.
	ErrDeletedDuringAction = errors.New("the server was deleted after the cloud accepted the action")
)

// Error carries the condition, the operation and Nova's own explanation
// ("nodes: os-stop node-1: conflict: …").
type Error = cloudcall.Error[service]

// service makes Error this package's: its messages begin "nodes: ".
type service struct{}

func (service) Prefix() string { return "nodes" }

// classify turns a gophercloud/transport error into an *Error with a sentinel.
func classify(op string, err error) error {
	return cloudcall.Classify(op, err, func(e *Error) {
		var resp gophercloud.ErrUnexpectedResponseCode
		var noAnswer *RequestTimeoutError
		switch {
		case gophercloud.ResponseCodeIs(err, http.StatusNotFound):
			e.Kind = ErrNotFound
		case gophercloud.ResponseCodeIs(err, http.StatusConflict):
			e.Kind = ErrConflict
			e.Reason = novaMessage(err)
		case errors.As(err, &resp) && (resp.Actual >= 500 || resp.Actual == http.StatusTooManyRequests):
			e.Kind = ErrUnavailable
			e.Reason = cloudcall.HTTPReason(resp)
		case errors.As(err, &noAnswer):
			// Our per-request deadline, not the caller's: the cloud is not
			// answering, which a later request may change.
			e.Kind = ErrUnavailable
			e.Reason = noAnswer.Error()
		}
	})
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
