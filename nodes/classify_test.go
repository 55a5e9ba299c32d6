package nodes

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// TestClassify pins how a failed Nova call is classed and worded: the
// sentinel callers branch on and the message an operator reads (the rules
// every service shares are held in nodes/cloudcall's tests).
func TestClassify(t *testing.T) {
	answer := func(code int, body string) error {
		return gophercloud.ErrUnexpectedResponseCode{Method: "POST", URL: "http://nova/servers/1/action", Actual: code, Body: []byte(body)}
	}
	for _, tt := range []struct {
		err  error
		kind error
		text string
	}{
		{answer(404, `{"itemNotFound": {"message": "no such server"}}`), ErrNotFound,
			`nodes: op: not found: Expected HTTP response code [] when accessing [POST http://nova/servers/1/action], but got 404 instead: {"itemNotFound": {"message": "no such server"}}`},
		{answer(409, `{"conflictingRequest": {"code": 409, "message": "in task_state powering-off"}}`), ErrConflict,
			"nodes: op: conflict: in task_state powering-off"},
		{answer(503, ""), ErrUnavailable, "nodes: op: cloud unavailable: HTTP 503 from POST http://nova/servers/1/action"},
		{answer(429, ""), ErrUnavailable, "nodes: op: cloud unavailable: HTTP 429 from POST http://nova/servers/1/action"},
		{answer(400, `{"badRequest": {"message": "no"}}`), ErrUnavailable,
			`nodes: op: cloud unavailable: Expected HTTP response code [] when accessing [POST http://nova/servers/1/action], but got 400 instead: {"badRequest": {"message": "no"}}`},
		{fmt.Errorf("get: %w", &RequestTimeoutError{Method: "GET", URL: "http://nova/servers", Deadline: time.Second}), ErrUnavailable,
			"nodes: op: cloud unavailable: no answer from GET http://nova/servers within 1s"},
		{&Error{Op: "inner", Kind: ErrFailed, Reason: "went to ERROR"}, ErrFailed, "nodes: inner: action failed: went to ERROR"},
		{errors.New("odd"), ErrUnavailable, "nodes: op: cloud unavailable: odd"},
	} {
		var e *Error
		if err := classify("op", tt.err); !errors.As(err, &e) || !errors.Is(err, tt.kind) || err.Error() != tt.text {
			t.Errorf("classify(%v) = %v (%T), want kind %v, text %q", tt.err, err, err, tt.kind, tt.text)
		}
	}
}
