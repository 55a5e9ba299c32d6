package rpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket"
)

// Programs and versions this server speaks.
const (
	// RemoteProgram is REMOTE_PROGRAM; its version is RemoteVersion.
	RemoteProgram uint32 = 0x20008086
	RemoteVersion uint32 = 1

	// KeepaliveProgram is KEEPALIVE_PROGRAM ("keep"); version 1.
	KeepaliveProgram uint32 = 0x6b656570
	KeepaliveVersion uint32 = 1

	// ProcKeepalivePing and ProcKeepalivePong are the keepalive procedures.
	ProcKeepalivePing uint32 = 1
	ProcKeepalivePong uint32 = 2
)

// Message types and statuses (virNetMessageType / virNetMessageStatus).
const (
	TypeCall    uint32 = socket.Call
	TypeReply   uint32 = socket.Reply
	TypeMessage uint32 = socket.Message
	TypeStream  uint32 = socket.Stream

	StatusOK       uint32 = socket.StatusOK
	StatusError    uint32 = socket.StatusError
	StatusContinue uint32 = socket.StatusContinue
)

const (
	// lenSize is the 4-byte length word, which counts itself.
	lenSize = 4
	// HeaderSize is the size of the packet header after the length word.
	HeaderSize = 24
	// MaxMessageSize is libvirt's VIR_NET_MESSAGE_MAX (32 MiB): the largest
	// packet, length word included, either side may send.
	MaxMessageSize = 32 << 20
	// RemoteStringMax is libvirt's REMOTE_STRING_MAX (4 MiB): the longest
	// string either side may send. libvirtd refuses a call carrying a longer
	// one with "Unable to decode message payload", and real clients refuse a
	// reply carrying one, so error strings are cut to it.
	RemoteStringMax = 4 << 20
)

// Header is a libvirt packet header (virNetMessageHeader).
type Header = socket.Header

// FrameError reports a packet that cannot be read. Fatal errors leave the
// stream out of sync: the connection must be closed. A non-fatal one (a bad
// header whose body was consumed) can be answered and reading continues.
type FrameError struct {
	Len    uint32  // the length word as received
	Header *Header // the header, when it was read
	Reason string
	Fatal  bool
	Err    error // the underlying read error, if any
}

func (e *FrameError) Error() string {
	s := "rpc: bad frame: " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FrameError) Unwrap() error { return e.Err }

// readFrame reads one packet. It returns io.EOF only for a clean end of
// stream between packets; any other failure is a *FrameError.
func readFrame(r io.Reader) (Header, []byte, error) {
	var lb [lenSize]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return Header{}, nil, io.EOF
		}
		return Header{}, nil, &FrameError{Reason: "reading length", Fatal: true, Err: err}
	}
	n := binary.BigEndian.Uint32(lb[:])
	if n < lenSize+HeaderSize {
		return Header{}, nil, &FrameError{Len: n, Reason: fmt.Sprintf("length %d shorter than a header", n), Fatal: true}
	}
	if n > MaxMessageSize {
		return Header{}, nil, &FrameError{Len: n, Reason: fmt.Sprintf("length %d over the %d byte limit", n, MaxMessageSize), Fatal: true}
	}
	buf := make([]byte, n-lenSize)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Header{}, nil, &FrameError{Len: n, Reason: "truncated packet", Fatal: true, Err: err}
	}
	h := decodeHeader(buf[:HeaderSize])
	return h, buf[HeaderSize:], nil
}

func decodeHeader(b []byte) Header {
	return Header{
		Program:   binary.BigEndian.Uint32(b[0:]),
		Version:   binary.BigEndian.Uint32(b[4:]),
		Procedure: binary.BigEndian.Uint32(b[8:]),
		Type:      binary.BigEndian.Uint32(b[12:]),
		Serial:    int32(binary.BigEndian.Uint32(b[16:])),
		Status:    binary.BigEndian.Uint32(b[20:]),
	}
}

// appendFrame appends the packet h+body to dst.
func appendFrame(dst []byte, h Header, body []byte) ([]byte, error) {
	n := lenSize + HeaderSize + len(body)
	if n > MaxMessageSize {
		return dst, &FrameError{Len: uint32(min(n, 1<<32-1)), Header: &h, Reason: fmt.Sprintf("reply of %d bytes over the %d byte limit", n, MaxMessageSize)}
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = binary.BigEndian.AppendUint32(dst, h.Program)
	dst = binary.BigEndian.AppendUint32(dst, h.Version)
	dst = binary.BigEndian.AppendUint32(dst, h.Procedure)
	dst = binary.BigEndian.AppendUint32(dst, h.Type)
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.Serial))
	dst = binary.BigEndian.AppendUint32(dst, h.Status)
	return append(dst, body...), nil
}

// truncatedMark ends a string fitRemoteError had to cut.
const truncatedMark = "..."

// fitRemoteError cuts every string of re to REMOTE_STRING_MAX bytes, the
// longest a libvirt client decodes. With at most four strings (message,
// str1..str3; dom and net carry names decode already bounded) the encoded
// error then stays well under MaxMessageSize.
func fitRemoteError(re *RemoteError) {
	for _, s := range []libvirt.OptString{re.Message, re.Str1, re.Str2, re.Str3} {
		for i := range s {
			s[i] = truncateString(s[i], RemoteStringMax)
		}
	}
}

// truncateString returns s cut to at most n bytes, on a UTF-8 boundary and
// ending in truncatedMark when cut.
func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len(truncatedMark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncatedMark
}
