package cloudsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// apiError is an error answer in the shape of the service that gives it.
type apiError struct {
	status int
	body   any    // JSON body; nil with text set means a text/plain body
	text   string // plain-text body (Glance)
	msg    string // message, for logs
	header http.Header
	ctype  string // Content-Type; "" = Nova's "application/json; charset=UTF-8", or text/plain for text
}

func (e *apiError) write(w http.ResponseWriter) {
	for k, vs := range e.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if e.body == nil {
		ct := e.ctype
		if ct == "" {
			ct = "text/plain; charset=UTF-8"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(e.status)
		_, _ = w.Write([]byte(e.text))
		return
	}
	b, _ := json.Marshal(e.body)
	ct := e.ctype
	if ct == "" {
		ct = "application/json; charset=UTF-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

// novaFaultNames maps status codes to Nova's fault wrapper keys
// (nova/api/openstack/wsgi.py Fault._fault_names).
func novaFaultName(status int) string {
	switch status {
	case 400:
		return "badRequest"
	case 401:
		return "unauthorized"
	case 403:
		return "forbidden"
	case 404:
		return "itemNotFound"
	case 405:
		return "badMethod"
	case 406:
		return "notAcceptable"
	case 409:
		return "conflictingRequest"
	case 413, 429:
		return "overLimit"
	case 415:
		return "badMediaType"
	case 501:
		return "notImplemented"
	case 503:
		return "serviceUnavailable"
	}
	return "computeFault"
}

// novaErr is Nova's error body: {"<faultName>": {"code": N, "message": "…"}}.
func novaErr(status int, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	return &apiError{status: status, msg: msg, body: map[string]any{
		novaFaultName(status): map[string]any{"code": status, "message": msg}}}
}

// conflict is Nova's 409 for an action refused in the current state
// (nova.exception.InstanceInvalidState via common.raise_http_conflict_for_instance_invalid_state).
func conflict(action, id, attr, value string) *apiError {
	return novaErr(409, "Cannot '%s' instance %s while it is in %s %s", action, id, attr, value)
}

func malformedNova() *apiError { return novaErr(400, "Malformed request body") }

// neutronErr is Neutron's error body.
func neutronErr(status int, typ, msg string) *apiError {
	return &apiError{status: status, msg: msg, ctype: "application/json", body: map[string]any{
		"NeutronError": map[string]any{"type": typ, "message": msg, "detail": ""}}}
}

// glanceErr is Glance's error as webob renders it for a client that accepts
// JSON (gophercloud, openstacksdk and glanceclient all send
// Accept: application/json): code and title as strings, the explanation
// followed by webob's empty detail (recorded from real Glance,
// conformance/testdata/realcloud/TestNotFound.json).
func glanceErr(status int, msg string) *apiError {
	code := fmt.Sprintf("%d %s", status, http.StatusText(status))
	return &apiError{status: status, msg: msg, ctype: "application/json; charset=UTF-8", body: map[string]any{
		"code": code, "title": http.StatusText(status), "message": msg + "<br /><br />\n\n\n"}}
}

// keystoneErr is Keystone's (and keystonemiddleware's) error body.
func keystoneErr(status int, title, msg string) *apiError {
	return &apiError{status: status, msg: msg, ctype: "application/json", body: map[string]any{
		"error": map[string]any{"code": status, "title": title, "message": msg}}}
}

func unauthorized(authURL string) *apiError {
	e := keystoneErr(401, "Unauthorized", "The request you have made requires authentication.")
	e.header = http.Header{"Www-Authenticate": {fmt.Sprintf("Keystone uri=%q", authURL)}}
	return e
}

// writeJSON writes a JSON success body.
func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		novaErr(500, "cloudsim: encode: %v", err).write(w)
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeEmpty writes a body-less answer the way Nova does for 202/204
// (Content-Type application/json, Content-Length 0).
func writeEmpty(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}
