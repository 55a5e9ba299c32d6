package translate

import (
	"errors"
	"fmt"

	"github.com/digitalocean/go-libvirt"
)

// ErrorDomain is a libvirt virErrorDomain (VIR_FROM_*). go-libvirt's exported
// names for these vary between versions, so the values we use live here.
type ErrorDomain int32

// The virErrorDomain values quintupleo reports.
const (
	FromNone   ErrorDomain = 0
	FromXML    ErrorDomain = 5
	FromDomain ErrorDomain = 6
	FromRPC    ErrorDomain = 7
	FromQEMU   ErrorDomain = 10 // we present ourselves as the qemu driver
	FromRemote ErrorDomain = 13
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
		if n := len(e.Format); n >= 4 && e.Format[n-4:] == ": %s" {
			return e.Format[:n-4]
		}
		return e.Format
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

// libvirt's message formats (virErrorMsg in src/util/virerror.c), per code.
const (
	fmtInternal         = "internal error: %s"
	fmtNoSupport        = "this function is not supported by the connection driver: %s"
	fmtInvalidArg       = "invalid argument: %s"
	fmtOperationFailed  = "operation failed: %s"
	fmtXMLError         = "XML error: %s"
	fmtOperationDenied  = "operation forbidden: %s"
	fmtNoDomain         = "Domain not found: %s"
	fmtOperationInvalid = "Requested operation is not valid: %s"
	fmtConfigUnsupp     = "unsupported configuration: %s"
	fmtOperationTimeout = "Timed out during operation: %s"
	fmtRPC              = "%s"
)

func newError(code libvirt.ErrorNumber, dom ErrorDomain, format, detail string, cause error) *Error {
	return &Error{Code: code, Domain: dom, Format: format, Detail: detail, Err: cause}
}

// NoDomainName is VIR_ERR_NO_DOMAIN for a lookup by name, worded as qemu's driver does.
func NoDomainName(name string) *Error {
	return newError(libvirt.ErrNoDomain, FromQEMU, fmtNoDomain, fmt.Sprintf("no domain with matching name '%s'", name), nil)
}

// NoDomainUUID is VIR_ERR_NO_DOMAIN for a lookup by UUID.
func NoDomainUUID(uuid string) *Error {
	return newError(libvirt.ErrNoDomain, FromQEMU, fmtNoDomain, fmt.Sprintf("no domain with matching uuid '%s'", uuid), nil)
}

// NoDomainID is VIR_ERR_NO_DOMAIN for a lookup by id.
func NoDomainID(id int32) *Error {
	return newError(libvirt.ErrNoDomain, FromQEMU, fmtNoDomain, fmt.Sprintf("no domain with matching id %d", id), nil)
}

// OperationInvalid is VIR_ERR_OPERATION_INVALID, e.g. "domain is already running".
func OperationInvalid(detail string) *Error {
	return newError(libvirt.ErrOperationInvalid, FromQEMU, fmtOperationInvalid, detail, nil)
}

// OperationFailed is VIR_ERR_OPERATION_FAILED: the cloud refused or failed the action.
func OperationFailed(detail string, cause error) *Error {
	return newError(libvirt.ErrOperationFailed, FromQEMU, fmtOperationFailed, detail, cause)
}

// OperationTimeout is VIR_ERR_OPERATION_TIMEOUT.
func OperationTimeout(detail string, cause error) *Error {
	return newError(libvirt.ErrOperationTimeout, FromQEMU, fmtOperationTimeout, detail, cause)
}

// OperationDenied is VIR_ERR_OPERATION_DENIED (read-only connections use it).
func OperationDenied(detail string) *Error {
	return newError(libvirt.ErrOperationDenied, FromNone, fmtOperationDenied, detail, nil)
}

// NoSupport is VIR_ERR_NO_SUPPORT: an API this backend does not implement.
func NoSupport(detail string) *Error {
	return newError(libvirt.ErrNoSupport, FromQEMU, fmtNoSupport, detail, nil)
}

// ConfigUnsupported is VIR_ERR_CONFIG_UNSUPPORTED: valid XML asking for
// something the cloud cannot do.
func ConfigUnsupported(detail string) *Error {
	return newError(libvirt.ErrConfigUnsupported, FromQEMU, fmtConfigUnsupp, detail, nil)
}

// InvalidArg is VIR_ERR_INVALID_ARG.
func InvalidArg(detail string) *Error {
	return newError(libvirt.ErrInvalidArg, FromQEMU, fmtInvalidArg, detail, nil)
}

// XMLError is VIR_ERR_XML_ERROR: XML that does not parse or has the wrong shape.
func XMLError(detail string, cause error) *Error {
	return newError(libvirt.ErrXMLError, FromXML, fmtXMLError, detail, cause)
}

// Internal is VIR_ERR_INTERNAL_ERROR with a detail safe to show clients.
func Internal(detail string, cause error) *Error {
	return newError(libvirt.ErrInternalError, FromQEMU, fmtInternal, detail, cause)
}

// NotOpen is what libvirtd answers to a call made before CONNECT_OPEN.
func NotOpen() *Error {
	return newError(libvirt.ErrInternalError, FromRPC, fmtInternal, "hypervisor connection not open", nil)
}

// UnknownProcedure is libvirtd's answer to a procedure number it does not know.
func UnknownProcedure(proc int32) *Error {
	return newError(libvirt.ErrRPC, FromRPC, fmtRPC, fmt.Sprintf("unknown procedure: %d", proc), nil)
}

// RPCError is VIR_ERR_RPC from VIR_FROM_RPC with a free-form detail, for
// malformed calls.
func RPCError(detail string, cause error) *Error {
	return newError(libvirt.ErrRPC, FromRPC, fmtRPC, detail, cause)
}

// AsError returns err as a *Error: itself if it already is one (anywhere in
// its chain), otherwise VIR_ERR_INTERNAL_ERROR with a generic message that
// leaks nothing of the cause (the cause stays in Err, for logs).
func AsError(err error) *Error {
	var te *Error
	if errors.As(err, &te) {
		return te
	}
	return Internal("unexpected failure in the cloud backend; see the quintupleo log", err)
}
