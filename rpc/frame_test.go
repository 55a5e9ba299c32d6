package rpc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/digitalocean/go-libvirt"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFrameRoundTrip reads packets captured from libvirt 9.0 (§2), decodes
// their bodies into go-libvirt's structs and re-encodes them byte for byte.
func TestFrameRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		pkt  string
		hdr  Header
		body any
	}{
		{"AUTH_LIST reply",
			"00000024 20008086 00000001 00000042 00000001 00000000 00000000 00000001 00000000",
			Header{Program: RemoteProgram, Version: 1, Procedure: ProcAuthList, Type: TypeReply, Serial: 0, Status: StatusOK},
			&libvirt.AuthListRet{}},
		{"CONNECT_LIST_ALL_DOMAINS call",
			"00000024 20008086 00000001 00000111 00000000 00000006 00000000 00000001 00000003",
			Header{Program: RemoteProgram, Version: 1, Procedure: ProcConnectListAllDomains, Type: TypeCall, Serial: 6},
			&libvirt.ConnectListAllDomainsArgs{}},
		{"CONNECT_LIST_ALL_DOMAINS reply",
			"00000040 20008086 00000001 00000111 00000001 00000006 00000000 00000001 00000004 74657374 6695eb01f6a4830479aa97f2502e193f 00000001 00000001",
			Header{Program: RemoteProgram, Version: 1, Procedure: ProcConnectListAllDomains, Type: TypeReply, Serial: 6},
			&libvirt.ConnectListAllDomainsRet{}},
		{"DOMAIN_GET_STATE call",
			"0000003c 20008086 00000001 000000d4 00000000 00000007 00000000 00000004 74657374 6695eb01f6a4830479aa97f2502e193f 00000001 00000000",
			Header{Program: RemoteProgram, Version: 1, Procedure: ProcDomainGetState, Type: TypeCall, Serial: 7},
			&libvirt.DomainGetStateArgs{}},
		{"keepalive PING",
			"0000001c 6b656570 00000001 00000001 00000002 00000000 00000000",
			Header{Program: KeepaliveProgram, Version: 1, Procedure: ProcKeepalivePing, Type: TypeMessage},
			nil},
		{"DOMAIN_LOOKUP_BY_NAME error reply (test driver)",
			`00000070 20008086 00000001 00000017 00000001 00000006 00000001
			 0000002a 0000000c 00000001 00000010 446f6d61696e206e6f7420666f756e64
			 00000002 00000000 00000001 00000010 446f6d61696e206e6f7420666f756e64
			 00000000 00000000 ffffffff ffffffff 00000000`,
			Header{Program: RemoteProgram, Version: 1, Procedure: ProcDomainLookupByName, Type: TypeReply, Serial: 6, Status: StatusError},
			&RemoteError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkt := unhex(t, tt.pkt)
			h, body, err := readFrame(bytes.NewReader(pkt))
			if err != nil {
				t.Fatal(err)
			}
			if h != tt.hdr {
				t.Errorf("header %+v, want %+v", h, tt.hdr)
			}
			var v any
			if tt.body != nil {
				if err := decode(body, tt.body); err != nil {
					t.Fatal(err)
				}
				v = tt.body
			}
			out, err := encode(v)
			if err != nil {
				t.Fatal(err)
			}
			again, err := appendFrame(nil, h, out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, pkt) {
				t.Errorf("re-encoded\n%x\nwant\n%x", again, pkt)
			}
		})
	}
}

func TestReadFrameErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"short length word", "0000"},
		{"length below header", "00000010 00000000 00000000 00000000"},
		{"length above 32 MiB", "02000001"},
		{"truncated header", "0000001c 20008086 00000001"},
		{"truncated body", "00000024 20008086 00000001 00000042 00000000 00000000 00000000 0000"},
	}
	for _, tt := range tests {
		_, _, err := readFrame(bytes.NewReader(unhex(t, tt.in)))
		var fe *FrameError
		if !errors.As(err, &fe) || !fe.Fatal {
			t.Errorf("%s: %v, want a fatal *FrameError", tt.name, err)
		}
	}
	if _, _, err := readFrame(bytes.NewReader(nil)); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
	// Exactly 32 MiB is allowed.
	big := make([]byte, MaxMessageSize)
	copy(big, unhex(t, "02000000 20008086 00000001 00000042 00000000 00000000 00000000"))
	if _, body, err := readFrame(bytes.NewReader(big)); err != nil || len(body) != MaxMessageSize-28 {
		t.Errorf("32 MiB packet: %d bytes, %v", len(body), err)
	}
	if _, err := appendFrame(nil, Header{}, make([]byte, MaxMessageSize)); err == nil {
		t.Errorf("appendFrame accepted an oversized packet")
	}
}

func TestDecodeBoundsArrays(t *testing.T) {
	// A list reply claiming 2^30 domains in a 12-byte body must fail
	// without allocating for them.
	var r libvirt.ConnectListAllDomainsRet
	if err := decode(unhex(t, "40000000 00000000 00000000"), &r); err == nil {
		t.Errorf("decoded a forged array length")
	}
}

// TestFitRemoteError: an error echoing a huge argument is cut to what a
// libvirt client decodes (REMOTE_STRING_MAX per string), on a UTF-8
// boundary, and then always fits one packet.
func TestFitRemoteError(t *testing.T) {
	huge := strings.Repeat("é", 10<<20) // 20 MiB, two bytes a rune
	re := &RemoteError{Message: libvirt.OptString{huge}, Str1: libvirt.OptString{"%s"}, Str2: libvirt.OptString{huge}, Str3: libvirt.OptString{huge}}
	fitRemoteError(re)
	for _, s := range []string{re.Message[0], re.Str2[0], re.Str3[0]} {
		if len(s) > RemoteStringMax || !strings.HasSuffix(s, truncatedMark) || !utf8.ValidString(s) {
			t.Fatalf("cut string: %d bytes, valid UTF-8 %v, suffix %q", len(s), utf8.ValidString(s), s[len(s)-5:])
		}
	}
	if re.Str1[0] != "%s" {
		t.Errorf("short str1 changed to %q", re.Str1[0])
	}
	body, err := encode(re)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := appendFrame(nil, Header{Program: RemoteProgram, Type: TypeReply, Status: StatusError}, body); err != nil {
		t.Errorf("fitted error does not fit a packet: %v", err)
	}
	if got := truncateString("short", RemoteStringMax); got != "short" {
		t.Errorf("truncateString of a short string = %q", got)
	}
}
