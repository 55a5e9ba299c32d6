package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/virt"
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
// *virt.Error anywhere in the chain travels as is; anything else is
// VIR_ERR_INTERNAL_ERROR with a generic message, its detail only logged.
func toRemoteError(log *slog.Logger, proc string, err error) *RemoteError {
	te, ok := virt.As(err)
	if !ok {
		if errors.Is(err, context.Canceled) {
			log.Debug("rpc: call cancelled", "proc", proc, "err", err)
		} else {
			log.Error("rpc: call failed with an untyped error", "proc", proc, "err", err)
		}
		te = virt.Unexpected(virt.FromQEMU, err)
	} else if te.Err != nil {
		log.Warn("rpc: call failed", "proc", proc, "code", int32(te.Code), "err", err)
	}
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

// errRPC is VIR_ERR_RPC from VIR_FROM_RPC: a malformed or refused call.
func errRPC(detail string, cause error) error { return virt.RPC(virt.FromRPC, detail, cause) }

func errCannotFindProgram(prog, vers uint32) error {
	return errRPC(fmt.Sprintf("Cannot find program %d version %d", prog, vers), nil)
}

func errUnexpectedStatus(status uint32) error {
	return errRPC(fmt.Sprintf("Unexpected message status %d", status), nil)
}

func errUnexpectedType(typ uint32) error {
	return errRPC(fmt.Sprintf("Unexpected message type %d", typ), nil)
}

func errDecode(cause error) error { return errRPC("Unable to decode message payload", cause) }

// errUnknownProcedure is libvirtd's answer to a procedure number that is not
// in the protocol.
func errUnknownProcedure(proc uint32) error {
	return errRPC(fmt.Sprintf("unknown procedure: %d", proc), nil)
}

// errNotOpen is what libvirtd answers to a call made before CONNECT_OPEN.
func errNotOpen() error {
	return virt.Internal(virt.FromRPC, "hypervisor connection not open", nil)
}

// errReadOnly is what libvirt's virCheckReadOnlyGoto raises on a read-only
// connection: VIR_ERR_OPERATION_DENIED from the API's own error domain.
func errReadOnly(api string) error {
	dom := virt.FromNone
	if strings.HasPrefix(api, "virDomain") && len(api) > len("virDomain") {
		dom = virt.FromDom
	}
	return virt.OperationDenied(dom, "read only access prevents "+api)
}

// errNoConnect is VIR_ERR_NO_CONNECT for a URI no driver accepts, as
// libvirtd answers CONNECT_OPEN for e.g. xen:///system.
func errNoConnect(uri string) error { return virt.NoConnect(virt.FromNone, uri) }

// errBadQEMUPath is libvirtd's answer to qemu:///<something else>.
func errBadQEMUPath(path string) error {
	return virt.Internal(virt.FromNone, fmt.Sprintf("unexpected qemu URI path '%s', try qemu:///system", path), nil)
}

var errShortBody = errors.New("rpc: body too short")

// errNotOpenFeature is libvirtd's answer to SUPPORTS_FEATURE (other than
// keepalive) before CONNECT_OPEN.
func errNotOpenFeature() error { return virt.Internal(virt.FromRPC, "connection not open", nil) }

func errAlreadyOpen() error { return virt.Internal(virt.FromRPC, "connection already open", nil) }

func errTooMany(what string, n, max int) error {
	return errRPC(fmt.Sprintf("too many remote %s: %d > %d", what, n, max), nil)
}

// errNoSupport is what libvirt's public API raises when the connection has no
// driver (or the driver no function) for it (virReportUnsupportedError):
// VIR_ERR_NO_SUPPORT naming the API, from the error domain of its family.
func errNoSupport(api procAPI) error { return virt.NoSupport(api.from, api.name) }
