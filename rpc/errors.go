package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

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
// VIR_ERR_INTERNAL_ERROR with a generic message, its detail only logged
// (logFailure).
func toRemoteError(err error) *RemoteError {
	te, ok := virt.As(err)
	if !ok {
		te = virt.Unexpected(virt.FromQEMU, err)
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

// logFailure logs a failed call, with the domain it was about when its
// arguments name one (callError): at debug when the client asked for
// something libvirt refuses too (not found, already active, read-only, no
// support, bad XML, protocol misuse) — the client is told, the operator need
// not be — and at warn (error for failures nobody mapped, i.e. bugs) when
// the client did not cause it: internal errors, failed or timed-out cloud
// actions, an unavailable cloud.
func (c *conn) logFailure(proc string, err error, took time.Duration, more ...any) {
	attrs := append([]any{"proc", proc, "duration", took}, more...)
	if ce, ok := errors.AsType[*callError](err); ok {
		attrs = append(attrs, ce.dom...)
	}
	level := slog.LevelDebug
	te, typed := virt.As(err)
	switch {
	case errors.Is(err, context.Canceled):
		// The client went away; nobody is waiting for the answer.
	case !typed:
		level = slog.LevelError
	default:
		attrs = append(attrs, "code", te.Code)
		if !clientCaused(te) {
			level = slog.LevelWarn
		}
	}
	c.log.Log(c.ctx, level, "rpc: call failed", append(attrs, "err", logCut(err.Error()))...)
}

// maxLoggedError is how much of a failed call's error the log keeps. An
// XML error quotes the offending line and a caret line as long: a 4 MiB
// one-line document made 8 MiB of log per call, so a client could fill the
// disk at the speed of its uplink.
const maxLoggedError = 2048

// logCut is s cut to maxLoggedError bytes (at a rune boundary), saying how
// long it was.
func logCut(s string) string {
	if len(s) <= maxLoggedError {
		return s
	}
	cut := maxLoggedError
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes in all)", s[:cut], len(s))
}

// clientCaused reports whether e is libvirt refusing what the client asked
// (rather than failing to do it).
func clientCaused(e *virt.Error) bool {
	switch e.Code {
	case libvirt.ErrOperationFailed, libvirt.ErrOperationTimeout:
		return false
	case libvirt.ErrInternalError:
		// rpc's own "internal" errors are protocol misuse: not open,
		// already open, unknown callback.
		return e.Domain == virt.FromRPC
	}
	return true
}

// callError is a handler's error together with the domain its arguments
// named, for logFailure.
type callError struct {
	err error
	dom []any // slog attributes: domain name and/or uuid
}

func (e *callError) Error() string { return e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

// withArgDomain attaches the domain that args (go-libvirt's generated Args:
// a Dom field, or a lookup's Name or UUID) name to err.
func withArgDomain(err error, args any) error {
	dom := argDomain(args)
	if dom == nil {
		return err
	}
	return &callError{err: err, dom: dom}
}

// argDomain is the domain args name, as slog attributes (nil if none).
func argDomain(args any) (dom []any) {
	v := reflect.ValueOf(args)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	if f := v.FieldByName("Dom"); f.IsValid() {
		if d, ok := f.Interface().(libvirt.Domain); ok {
			dom = []any{"domain", d.Name, "uuid", virt.UUID(d.UUID)}
		}
	} else if f := v.FieldByName("UUID"); f.IsValid() {
		if u, ok := f.Interface().(libvirt.UUID); ok {
			dom = []any{"uuid", virt.UUID(u)}
		}
	} else if f := v.FieldByName("Name"); f.IsValid() && f.Kind() == reflect.String {
		dom = []any{"domain", f.String()}
	}
	return dom
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
