package virt

import (
	"errors"
	"fmt"
	"strings"

	"github.com/digitalocean/go-libvirt"
)

// ErrorDomain is a libvirt virErrorDomain (VIR_FROM_*): which part of libvirt
// raised an error. go-libvirt's exported names for these vary between
// versions, so the values live here.
type ErrorDomain int32

// The virErrorDomain values quintupleo reports (include/libvirt/virterror.h).
const (
	FromNone             ErrorDomain = 0
	FromXML              ErrorDomain = 5
	FromDom              ErrorDomain = 6 // VIR_FROM_DOM
	FromRPC              ErrorDomain = 7
	FromQEMU             ErrorDomain = 10 // we present ourselves as the qemu driver
	FromStorage          ErrorDomain = 18
	FromNetwork          ErrorDomain = 19
	FromDomain           ErrorDomain = 20 // VIR_FROM_DOMAIN: libvirt-domain.c and libvirt-host.c
	FromNodeDev          ErrorDomain = 22
	FromInterface        ErrorDomain = 26
	FromSecret           ErrorDomain = 30
	FromNWFilter         ErrorDomain = 33
	FromDomainSnapshot   ErrorDomain = 35
	FromStreams          ErrorDomain = 38
	FromDomainCheckpoint ErrorDomain = 69
)

// Error is a libvirt error: the code, domain and message that virsh and the
// client libraries print and branch on. Format is libvirt's format string for
// Code (it travels as str1 on the wire); Detail fills its %s (str2).
type Error struct {
	Code   libvirt.ErrorNumber
	Domain ErrorDomain
	Format string
	Detail string
	Err    error // the cause, for logs; never shown to clients
}

// Message is the text libvirt would print: Format with Detail filled in.
func (e *Error) Message() string {
	if e.Detail == "" {
		// libvirt drops the ": %s" tail when there is no detail.
		return strings.TrimSuffix(e.Format, ": %s")
	}
	return fmt.Sprintf(e.Format, e.Detail)
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message() + ": " + e.Err.Error()
	}
	return e.Message()
}

func (e *Error) Unwrap() error { return e.Err }

// formatOf is libvirt's message format for code (virErrorMsg in
// src/util/virerror.c), for the codes quintupleo raises.
func formatOf(code libvirt.ErrorNumber) string {
	switch code {
	case libvirt.ErrInternalError:
		return "internal error: %s"
	case libvirt.ErrNoSupport:
		return "this function is not supported by the connection driver: %s"
	case libvirt.ErrNoConnect:
		return "no connection driver available for %s"
	case libvirt.ErrInvalidArg:
		return "invalid argument: %s"
	case libvirt.ErrOperationFailed:
		return "operation failed: %s"
	case libvirt.ErrXMLError:
		return "XML error: %s"
	case libvirt.ErrOperationDenied:
		return "operation forbidden: %s"
	case libvirt.ErrNoDomain:
		return "Domain not found: %s"
	case libvirt.ErrNoName:
		return "missing name information: %s"
	case libvirt.ErrOperationInvalid:
		return "Requested operation is not valid: %s"
	case libvirt.ErrConfigUnsupported:
		return "unsupported configuration: %s"
	case libvirt.ErrOperationTimeout:
		return "Timed out during operation: %s"
	case libvirt.ErrOperationUnsupported:
		return "Operation not supported: %s"
	case libvirt.ErrArgumentUnsupported:
		return "argument unsupported: %s"
	case libvirt.ErrNoDomainMetadata:
		return "metadata not found: %s"
	}
	// VIR_ERR_RPC, VIR_ERR_XML_DETAIL and the rest: the detail is the message.
	return "%s"
}

// New is the error libvirt raises as virReportError(code, "%s", detail)
// from error domain dom, with cause kept for logs.
func New(dom ErrorDomain, code libvirt.ErrorNumber, detail string, cause error) *Error {
	return &Error{Code: code, Domain: dom, Format: formatOf(code), Detail: detail, Err: cause}
}

// NoDomain is VIR_ERR_NO_DOMAIN.
func NoDomain(dom ErrorDomain, detail string, cause error) *Error {
	return New(dom, libvirt.ErrNoDomain, detail, cause)
}

// NoName is VIR_ERR_NO_NAME without a detail ("missing name information").
func NoName(dom ErrorDomain) *Error { return New(dom, libvirt.ErrNoName, "", nil) }

// OperationInvalid is VIR_ERR_OPERATION_INVALID, e.g. "domain is already running".
func OperationInvalid(dom ErrorDomain, detail string, cause error) *Error {
	return New(dom, libvirt.ErrOperationInvalid, detail, cause)
}

// OperationFailed is VIR_ERR_OPERATION_FAILED: the cloud refused or failed the action.
func OperationFailed(dom ErrorDomain, detail string, cause error) *Error {
	return New(dom, libvirt.ErrOperationFailed, detail, cause)
}

// OperationTimeout is VIR_ERR_OPERATION_TIMEOUT.
func OperationTimeout(dom ErrorDomain, detail string, cause error) *Error {
	return New(dom, libvirt.ErrOperationTimeout, detail, cause)
}

// OperationDenied is VIR_ERR_OPERATION_DENIED (read-only connections use it).
func OperationDenied(dom ErrorDomain, detail string) *Error {
	return New(dom, libvirt.ErrOperationDenied, detail, nil)
}

// NoSupport is VIR_ERR_NO_SUPPORT: a function the driver does not implement.
// libvirt's detail is the public API's name (virReportUnsupportedError).
func NoSupport(dom ErrorDomain, detail string) *Error {
	return New(dom, libvirt.ErrNoSupport, detail, nil)
}

// NoConnect is VIR_ERR_NO_CONNECT for a URI no driver accepts.
func NoConnect(dom ErrorDomain, uri string) *Error {
	return New(dom, libvirt.ErrNoConnect, uri, nil)
}

// ConfigUnsupported is VIR_ERR_CONFIG_UNSUPPORTED: valid XML asking for
// something the cloud cannot do.
func ConfigUnsupported(dom ErrorDomain, detail string) *Error {
	return New(dom, libvirt.ErrConfigUnsupported, detail, nil)
}

// OperationUnsupported is VIR_ERR_OPERATION_UNSUPPORTED: the hypervisor
// cannot do this at all (libvirt's "Operation not supported").
func OperationUnsupported(dom ErrorDomain, detail string, cause error) *Error {
	return New(dom, libvirt.ErrOperationUnsupported, detail, cause)
}

// ArgumentUnsupported is VIR_ERR_ARGUMENT_UNSUPPORTED.
func ArgumentUnsupported(dom ErrorDomain, detail string) *Error {
	return New(dom, libvirt.ErrArgumentUnsupported, detail, nil)
}

// NoDomainMetadata is VIR_ERR_NO_DOMAIN_METADATA as libvirt's domain
// configuration code raises it.
func NoDomainMetadata() *Error {
	return New(FromDomain, libvirt.ErrNoDomainMetadata, "Requested metadata element is not present", nil)
}

// InvalidArgRaw is VIR_ERR_INVALID_ARG raised with a message of its own
// (libvirt's virReportInvalidArg and the null-argument checks), which has
// no "invalid argument: " prefix.
func InvalidArgRaw(dom ErrorDomain, msg string) *Error {
	return &Error{Code: libvirt.ErrInvalidArg, Domain: dom, Format: "%s", Detail: msg}
}

// InvalidArg is VIR_ERR_INVALID_ARG.
func InvalidArg(dom ErrorDomain, detail string) *Error {
	return New(dom, libvirt.ErrInvalidArg, detail, nil)
}

// XMLError is VIR_ERR_XML_ERROR: XML that has the wrong shape.
func XMLError(dom ErrorDomain, detail string, cause error) *Error {
	return New(dom, libvirt.ErrXMLError, detail, cause)
}

// XMLDetail is VIR_ERR_XML_DETAIL: XML that is not well-formed, with the
// parser's own message as the whole text.
func XMLDetail(dom ErrorDomain, detail string, cause error) *Error {
	return New(dom, libvirt.ErrXMLDetail, detail, cause)
}

// Internal is VIR_ERR_INTERNAL_ERROR with a detail safe to show clients.
func Internal(dom ErrorDomain, detail string, cause error) *Error {
	return New(dom, libvirt.ErrInternalError, detail, cause)
}

// RPC is VIR_ERR_RPC with a free-form detail (malformed or refused calls).
func RPC(dom ErrorDomain, detail string, cause error) *Error {
	return New(dom, libvirt.ErrRPC, detail, cause)
}

// As returns the *Error in err's chain, if there is one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Unexpected is what a client sees of a failure nobody mapped to a libvirt
// error: VIR_ERR_INTERNAL_ERROR that tells nothing of the cause (it stays in
// Err, for the log).
func Unexpected(dom ErrorDomain, cause error) *Error {
	return Internal(dom, "unexpected failure in the cloud backend; see the quintupleo log", cause)
}
