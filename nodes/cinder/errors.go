package cinder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"
)

// The kinds of Cinder failure callers branch on (errors.Is).
var (
	ErrNotFound    = errors.New("not found")
	ErrOverQuota   = errors.New("over quota")        // 413: VolumeSizeExceedsAvailableQuota, VolumeLimitExceeded
	ErrRefused     = errors.New("refused by Cinder") // 400, 403, 409: the request itself is wrong here
	ErrFailed      = errors.New("failed by Cinder")  // accepted, then the volume went to an error status
	ErrUnavailable = errors.New("cloud unavailable") // 5xx, 429, no answer
	ErrTimeout     = errors.New("timed out waiting for the cloud")
)

// Error carries the kind, the operation and Cinder's own message.
type Error struct {
	Op     string
	Kind   error
	Reason string // Cinder's message, safe to show
	Err    error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("cinder: %s: %v", e.Op, e.Kind)
	if e.Reason != "" {
		return msg + ": " + e.Reason
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Is(target error) bool { return target == e.Kind }

func (e *Error) Unwrap() error { return e.Err }

// classify turns a gophercloud or transport error into an *Error.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	e := &Error{Op: op, Err: err, Kind: ErrUnavailable}
	var resp gophercloud.ErrUnexpectedResponseCode
	var netErr net.Error
	switch {
	case errors.As(err, &resp):
		e.Reason = message(resp.Body)
		switch {
		case resp.Actual == http.StatusNotFound:
			e.Kind = ErrNotFound
		case resp.Actual == http.StatusRequestEntityTooLarge:
			e.Kind = ErrOverQuota
		case resp.Actual == http.StatusBadRequest, resp.Actual == http.StatusForbidden, resp.Actual == http.StatusConflict:
			e.Kind = ErrRefused
		default:
			e.Reason = fmt.Sprintf("HTTP %d from %s %s", resp.Actual, resp.Method, resp.URL)
		}
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind = ErrTimeout
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("cinder: %s: %w", op, err)
	case errors.As(err, &netErr):
		e.Reason = "cannot reach the cloud"
	}
	return e
}

// message is the "message" of a Cinder error body, which wraps it in one
// key named after the fault: {"overLimit": {"code": 413, "message": …}}.
func message(body []byte) string {
	var wrapped map[string]struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &wrapped) != nil {
		return ""
	}
	for _, inner := range wrapped {
		if inner.Message != "" {
			return inner.Message
		}
	}
	return ""
}
