package cinder

import (
	"errors"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
)

// TestClassify pins how a failed Cinder call is classed and worded (the
// rules every service shares are held in nodes/cloudcall's tests).
func TestClassify(t *testing.T) {
	answer := func(code int, body string) error {
		return gophercloud.ErrUnexpectedResponseCode{Method: "POST", URL: "http://cinder/volumes", Actual: code, Body: []byte(body)}
	}
	cases := []struct {
		in   error
		kind error
		text string
	}{
		{answer(404, `{"itemNotFound": {"code": 404, "message": "Volume x could not be found."}}`), ErrNotFound, "cinder: op: not found: Volume x could not be found."},
		{answer(413, `{"overLimit": {"code": 413, "message": "VolumeSizeExceedsAvailableQuota"}}`), ErrOverQuota, "cinder: op: over quota: VolumeSizeExceedsAvailableQuota"},
		{answer(400, `{"badRequest": {"code": 400, "message": "Invalid input"}}`), ErrRefused, "cinder: op: refused by Cinder: Invalid input"},
		{answer(409, ``), ErrRefused, "cinder: op: refused by Cinder: Expected HTTP response code [] when accessing [POST http://cinder/volumes], but got 409 instead: "},
		{answer(503, `{"x": {"message": "down"}}`), ErrUnavailable, "cinder: op: cloud unavailable: HTTP 503 from POST http://cinder/volumes"},
		{&Error{Op: "inner", Kind: ErrFailed, Reason: "status error"}, ErrFailed, "cinder: inner: failed by Cinder: status error"},
	}
	for _, c := range cases {
		var e *Error
		if err := classify("op", c.in); !errors.As(err, &e) || !errors.Is(err, c.kind) || err.Error() != c.text {
			t.Errorf("classify(%v) = %v (%T), want kind %v, text %q", c.in, err, err, c.kind, c.text)
		}
	}
}
