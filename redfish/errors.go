package redfish

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"quintupleo/internal/limit"
	"quintupleo/nodes"
)

// registry is the message registry the error bodies cite (DMTF's Base
// registry, version 1.8): clients such as sushy show its Message text.
const registry = "Base.1.8"

// message is one entry of the Base registry: its format (%1, %2 … are the
// arguments), severity and resolution, as DMTF publishes them.
type message struct {
	format, severity, resolution string
}

// The Base messages this service answers with.
var baseMessages = map[string]message{
	"ActionNotSupported":              {"The action %1 is not supported by the resource.", "Critical", "The action supplied cannot be resubmitted to the implementation.  Perhaps the action was invalid, the wrong resource was the target or the implementation documentation may be of assistance."},
	"ActionParameterMissing":          {"The action %1 requires the parameter %2 to be present in the request body.", "Critical", "Supply the action with the required parameter in the request body when the request is resubmitted."},
	"ActionParameterNotSupported":     {"The parameter %1 for the action %2 is not supported on the target resource.", "Warning", "Remove the parameter supplied and resubmit the request if the operation failed."},
	"ActionParameterValueFormatError": {"The value '%1' for the parameter %2 in the action %3 is of a different format than the parameter can accept.", "Warning", "Correct the value for the parameter in the request body and resubmit the request if the operation failed."},
	"ActionParameterValueTypeError":   {"The value '%1' for the parameter %2 in the action %3 is of a different type than the parameter can accept.", "Warning", "Correct the value for the parameter in the request body and resubmit the request if the operation failed."},
	"CreateLimitReachedForResource":   {"The create operation failed because the resource has reached the limit of possible resources.", "Critical", "Either delete resources and resubmit the request if the operation failed or do not resubmit the request."},
	"ActionParameterUnknown":          {"The action %1 was submitted with the invalid parameter %2.", "Warning", "Correct the invalid action parameter and resubmit the request if the operation failed."},
	"InsufficientPrivilege":           {"There are insufficient privileges for the account or credentials associated with the current session to perform the requested operation.", "Critical", "Either abandon the operation or change the associated access rights and resubmit the request if the operation failed."},
	"InternalError":                   {"The request failed due to an internal service error.  The service is still operational.", "Critical", "Resubmit the request.  If the problem persists, consider resetting the service."},
	"MalformedJSON":                   {"The request body submitted was malformed JSON and could not be parsed by the receiving service.", "Critical", "Ensure that the request body is valid JSON and resubmit the request."},
	"NoValidSession":                  {"There is no valid session established with the implementation.", "Critical", "Establish a session before attempting any operations."},
	"OperationNotAllowed":             {"The HTTP method is not allowed on this resource.", "Critical", "None."},
	"PreconditionFailed":              {"The ETag supplied did not match the ETag required to change this resource.", "Critical", "Try the operation again using the appropriate ETag."},
	"PropertyMissing":                 {"The property %1 is a required property and must be included in the request.", "Warning", "Ensure that the property is in the request body and has a valid value and resubmit the request if the operation failed."},
	"PropertyNotWritable":             {"The property %1 is a read only property and cannot be assigned a value.", "Warning", "Remove the property from the request body and resubmit the request if the operation failed."},
	"PropertyUnknown":                 {"The property %1 is not in the list of valid properties for the resource.", "Warning", "Remove the unknown property from the request body and resubmit the request if the operation failed."},
	"PropertyValueConflict":           {"The property '%1' could not be written because its value would conflict with the value of the '%2' property.", "Warning", "No resolution is required."},
	"PropertyValueNotInList":          {"The value '%1' for the property %2 is not in the list of acceptable values.", "Warning", "Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed."},
	"PropertyValueTypeError":          {"The value '%1' for the property %2 is of a different type than the property can accept.", "Warning", "Correct the value for the property in the request body and resubmit the request if the operation failed."},
	"ResourceInUse":                   {"The change to the requested resource failed because the resource is in use or in transition.", "Warning", "Remove the condition and resubmit the request if the operation failed."},
	"ResourceMissingAtURI":            {"The resource at the URI '%1' was not found.", "Critical", "Place a valid resource at the URI or correct the URI and resubmit the request."},
	"ResourceNotFound":                {"The requested resource of type %1 named '%2' was not found.", "Critical", "Provide a valid resource identifier and resubmit the request."},
	"ServiceTemporarilyUnavailable":   {"The service is temporarily unavailable.  Retry in %1 seconds.", "Critical", "Wait for the indicated retry duration and retry the operation."},
}

// Error is a refusal as Redfish states it: an HTTP status and one Base
// message with its arguments, and, when the registry's text alone would not
// say why, the reason in quintupleo's words (it becomes the Resolution, which
// sushy and Ironic show with the message).
type Error struct {
	Status int
	ID     string // the Base message, e.g. "PropertyValueNotInList"
	Args   []string
	Reason string
	// limit is the limit that refused, if one did (the metrics count it).
	limit limit.Name
	// retryAfter is a 503's Retry-After in seconds (default 10).
	retryAfter string
}

// by marks e as a refusal of limit l.
func (e *Error) by(l limit.Name) *Error {
	e.limit = l
	return e
}

func (e *Error) Error() string {
	if e.Reason != "" {
		return e.text() + " " + e.Reason
	}
	return e.text()
}

// text is the registry message with the arguments filled in.
func (e *Error) text() string {
	s := baseMessages[e.ID].format
	for i := len(e.Args); i > 0; i-- { // %10 before %1
		s = strings.ReplaceAll(s, fmt.Sprintf("%%%d", i), e.Args[i-1])
	}
	return s
}

func refuse(status int, id, reason string, args ...string) *Error {
	return &Error{Status: status, ID: id, Args: args, Reason: reason}
}

// body is the error response of the Redfish specification: a GeneralError
// carrying the message in @Message.ExtendedInfo.
func (e *Error) body() map[string]any {
	m := baseMessages[e.ID]
	resolution := m.resolution
	if e.Reason != "" {
		resolution = e.Reason
	}
	args := e.Args
	if args == nil {
		args = []string{}
	}
	return map[string]any{"error": map[string]any{
		"code":    registry + "." + e.ID,
		"message": e.Error(),
		"@Message.ExtendedInfo": []any{map[string]any{
			"@odata.type": "#Message.v1_1_1.Message",
			"MessageId":   registry + "." + e.ID,
			"Message":     e.text(),
			"MessageArgs": args,
			"Severity":    m.severity,
			"Resolution":  resolution,
		}},
	}}
}

// fromNodes maps an error of the node model to what a Redfish client is
// told: a node gone is a missing resource; a refusal of the cloud in the
// node's state is 409 with Nova's reason; an unavailable cloud is 503 with a
// retry hint (never for an idle node: the Executor rides out Nova's 409s).
func fromNodes(err error) *Error {
	var re *Error
	if errors.As(err, &re) {
		return re
	}
	var ne *nodes.Error
	reason := err.Error()
	if errors.As(err, &ne) && ne.Reason != "" {
		reason = ne.Reason
	}
	switch {
	case errors.Is(err, nodes.ErrNotFound):
		return refuse(http.StatusNotFound, "ResourceNotFound", "", "ComputerSystem", opOf(ne))
	case errors.Is(err, nodes.ErrConflict), errors.Is(err, nodes.ErrFailed):
		return refuse(http.StatusConflict, "ResourceInUse", "The cloud refused: "+reason)
	case errors.Is(err, nodes.ErrUnsupported):
		return refuse(http.StatusBadRequest, "ActionNotSupported", "The cloud cannot do it: "+reason, actionOf(ne))
	case errors.Is(err, nodes.ErrUnavailable), errors.Is(err, nodes.ErrTimeout):
		return refuse(http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable", "The cloud did not answer usefully: "+reason, "10")
	}
	return refuse(http.StatusInternalServerError, "InternalError", reason)
}

// actionOf is the cloud action an error is of: its Op without the server.
func actionOf(e *nodes.Error) string {
	action, _, _ := strings.Cut(opOf(e), " ")
	return action
}

func opOf(e *nodes.Error) string {
	if e == nil {
		return ""
	}
	return e.Op
}
