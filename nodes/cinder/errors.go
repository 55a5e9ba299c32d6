package cinder

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"

	"quintupleo/nodes/cloudcall"
)

// The kinds of Cinder failure callers branch on (errors.Is); the classes
// every service shares are nodes/cloudcall's.
var (
	ErrNotFound    = cloudcall.ErrNotFound
	ErrOverQuota   = errors.New("over quota")        // 413: VolumeSizeExceedsAvailableQuota, VolumeLimitExceeded
	ErrRefused     = errors.New("refused by Cinder") // 400, 403, 409: the request itself is wrong here
	ErrFailed      = errors.New("failed by Cinder")  // accepted, then the volume went to an error status
	ErrUnavailable = cloudcall.ErrUnavailable        // 5xx, 429, no answer
	ErrTimeout     = cloudcall.ErrTimeout
)

// Error carries the kind, the operation and Cinder's own message ("cinder:
// create volume x: over quota: …").
type Error = cloudcall.Error[service]

// service makes Error this package's: its messages begin "cinder: ".
type service struct{}

func (service) Prefix() string { return "cinder" }

// classify turns a gophercloud or transport error into an *Error.
func classify(op string, err error) error {
	return cloudcall.Classify(op, err, func(e *Error) {
		var resp gophercloud.ErrUnexpectedResponseCode
		if !errors.As(err, &resp) {
			return
		}
		e.Reason = message(resp.Body)
		switch {
		case resp.Actual == http.StatusNotFound:
			e.Kind = ErrNotFound
		case resp.Actual == http.StatusRequestEntityTooLarge:
			e.Kind = ErrOverQuota
		case resp.Actual == http.StatusBadRequest, resp.Actual == http.StatusForbidden, resp.Actual == http.StatusConflict:
			e.Kind = ErrRefused
		default:
			e.Kind = ErrUnavailable
			e.Reason = cloudcall.HTTPReason(resp)
		}
	})
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
