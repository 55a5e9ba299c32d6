package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/translate"
)

// RemoteError is libvirt's remote_error, the body of every REPLY with
// status ERROR. go-libvirt's own copy is unexported (and names the domain
// field OptDomain), so the protocol layer keeps this one; its XDR bytes match
// libvirtd's (libvirt-rpc.md §2).
type RemoteError struct {
	Code    int32
	Domain  int32
	Message libvirt.OptString
	Level   int32
	Dom     libvirt.OptDomain
	Str1    libvirt.OptString
	Str2    libvirt.OptString
	Str3    libvirt.OptString
	Int1    int32
	Int2    int32
	Net     libvirt.OptNetwork
}

// errLevelError is VIR_ERR_ERROR.
const errLevelError = 2

// toRemoteError is the one place a Go error becomes what a client sees. A
// *translate.Error anywhere in the chain travels as is; anything else is
// VIR_ERR_INTERNAL_ERROR with a generic message, its detail only logged.
func toRemoteError(log *slog.Logger, proc string, err error) *RemoteError {
	var te *translate.Error
	if !errors.As(err, &te) {
		if errors.Is(err, context.Canceled) {
			log.Debug("rpc: call cancelled", "proc", proc, "err", err)
		} else {
			log.Error("rpc: call failed with an untyped error", "proc", proc, "err", err)
		}
	} else if te.Err != nil {
		log.Warn("rpc: call failed", "proc", proc, "code", int32(te.Code), "err", err)
	}
	te = translate.AsError(err)
	re := &RemoteError{
		Code:    int32(te.Code),
		Domain:  int32(te.Domain),
		Message: libvirt.OptString{te.Message()},
		Level:   errLevelError,
		Int1:    -1,
		Int2:    -1,
	}
	if te.Detail == "" {
		// libvirt fills str1 with the whole message when there is no detail.
		re.Str1 = libvirt.OptString{te.Message()}
	} else {
		re.Str1 = libvirt.OptString{te.Format}
		re.Str2 = libvirt.OptString{te.Detail}
	}
	return re
}

// Errors the dispatcher itself raises, worded as libvirtd words them.

func errCannotFindProgram(prog, vers uint32) error {
	return translate.RPCError(fmt.Sprintf("Cannot find program %d version %d", prog, vers), nil)
}

func errUnexpectedStatus(status uint32) error {
	return translate.RPCError(fmt.Sprintf("Unexpected message status %d", status), nil)
}

func errUnexpectedType(typ uint32) error {
	return translate.RPCError(fmt.Sprintf("Unexpected message type %d", typ), nil)
}

func errDecode(cause error) error {
	return translate.RPCError("Unable to decode message payload", cause)
}

// errReadOnly is what libvirt's virCheckReadOnlyGoto raises on a read-only
// connection: VIR_ERR_OPERATION_DENIED from the API's own error domain.
func errReadOnly(api string) error {
	e := translate.OperationDenied("read only access prevents " + api)
	if len(api) > len("virDomain") && api[:len("virDomain")] == "virDomain" {
		e.Domain = translate.FromDomain
	}
	return e
}

// errNoConnect is VIR_ERR_NO_CONNECT for a URI no driver accepts, as
// libvirtd answers CONNECT_OPEN for e.g. xen:///system.
func errNoConnect(uri string) error {
	return &translate.Error{Code: libvirt.ErrNoConnect, Domain: translate.FromNone, Format: "no connection driver available for %s", Detail: uri}
}

// errBadQEMUPath is libvirtd's answer to qemu:///<something else>.
func errBadQEMUPath(path string) error {
	e := translate.Internal(fmt.Sprintf("unexpected qemu URI path '%s', try qemu:///system", path), nil)
	e.Domain = translate.FromNone
	return e
}

var errShortBody = errors.New("rpc: body too short")

// errNotOpenFeature is libvirtd's answer to SUPPORTS_FEATURE (other than
// keepalive) before CONNECT_OPEN.
func errNotOpenFeature() error {
	e := translate.Internal("connection not open", nil)
	e.Domain = translate.FromRPC
	return e
}

func errAlreadyOpen() error {
	e := translate.Internal("connection already open", nil)
	e.Domain = translate.FromRPC
	return e
}

func errTooMany(what string, n, max int) error {
	return translate.RPCError(fmt.Sprintf("too many remote %s: %d > %d", what, n, max), nil)
}
