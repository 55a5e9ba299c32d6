package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"quintupleo/internal/testtool"
	"quintupleo/rpc"
)

// startDemoServe runs `quintupleo serve --demo` as a process with TCP and
// SSH listeners and the extra flags.
func startDemoServe(t *testing.T, extra ...string) (*serveProcess, *sshClient) {
	t.Helper()
	var client sshClient
	var keys serveConfig
	withSSH(t, &client)(nil, &keys)
	args := append([]string{"serve", "--demo", "--listen-tcp", "127.0.0.1:0", "--listen-ssh", "127.0.0.1:0",
		"--ssh-authorized-keys", keys.sshAuthKeys, "--ssh-host-key", keys.sshHostKey}, extra...)
	return startServeProcess(t, testtool.BuildQuintupleo(t), args...), &client
}

// rawClient speaks the libvirt wire by hand, to do what no library client
// does: ignore PINGs, pipeline calls without reading the replies.
type rawClient struct {
	net.Conn
	r      *bufio.Reader
	serial uint32
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{Conn: c, r: bufio.NewReader(c)}
}

// packet is one frame: program, procedure, type, serial, status 0, body.
func packet(prog, proc, typ, serial uint32, body []byte) []byte {
	b := make([]byte, 28, 28+len(body))
	binary.BigEndian.PutUint32(b[0:], uint32(28+len(body)))
	vers := rpc.RemoteVersion
	if prog == rpc.KeepaliveProgram {
		vers = rpc.KeepaliveVersion
	}
	for i, v := range []uint32{prog, vers, proc, typ, serial, 0} {
		binary.BigEndian.PutUint32(b[4+4*i:], v)
	}
	return append(b, body...)
}

// xdrString is an XDR string: length, bytes, padding to 4.
func xdrString(s string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(s)))
	b = append(b, s...)
	return append(b, make([]byte, (4-len(s)%4)%4)...)
}

// call sends one CALL and returns its serial.
func (c *rawClient) call(t *testing.T, proc uint32, body []byte) uint32 {
	t.Helper()
	c.serial++
	if _, err := c.Write(packet(rpc.RemoteProgram, proc, rpc.TypeCall, c.serial, body)); err != nil {
		t.Fatalf("call %d: %v", proc, err)
	}
	return c.serial
}

// read returns the next packet's header words (program, version, procedure,
// type, serial, status) and body.
func (c *rawClient) read() ([6]uint32, []byte, error) {
	var h [6]uint32
	var lb [4]byte
	if _, err := io.ReadFull(c.r, lb[:]); err != nil {
		return h, nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint32(lb[:])-4)
	if _, err := io.ReadFull(c.r, buf); err != nil {
		return h, nil, err
	}
	for i := range h {
		h[i] = binary.BigEndian.Uint32(buf[4*i:])
	}
	return h, buf[24:], nil
}

// open does what virsh does first: keepalive on (SUPPORTS_FEATURE 10), then
// CONNECT_OPEN qemu:///system, reading both replies.
func (c *rawClient) open(t *testing.T) {
	t.Helper()
	c.call(t, rpc.ProcConnectSupportsFeature, binary.BigEndian.AppendUint32(nil, 10))
	c.call(t, rpc.ProcConnectOpen, append(append(binary.BigEndian.AppendUint32(nil, 1), xdrString("qemu:///system")...), 0, 0, 0, 0))
	for got := 0; got < 2; {
		h, _, err := c.read()
		if err != nil {
			t.Fatalf("opening: %v", err)
		}
		if h[3] == rpc.TypeReply {
			if h[5] != 0 {
				t.Fatalf("opening: call %d failed", h[2])
			}
			got++
		}
	}
}

// TestKeepaliveClosesASilentPeer opens a raw connection to `serve
// --keepalive-interval 300ms --keepalive-count 2` and never answers a PING:
// libvirtd's rule is PINGs after interval of silence, the peer dropped when
// count of them went unanswered, so the server must send two PINGs and
// close the connection about interval × (count+1) after the last packet. A
// real `virsh event --loop` on the same server, idle as long, answers its
// PINGs and is kept to its own --timeout.
func TestKeepaliveClosesASilentPeer(t *testing.T) {
	const interval, count = 300 * time.Millisecond, 2
	p, _ := startDemoServe(t, "--keepalive-interval", interval.String(), "--keepalive-count", strconv.Itoa(count))
	virsh := testtool.Require(t, "virsh")

	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	events := exec.CommandContext(ctx, virsh, "-c", "qemu+tcp://"+p.libvirtAddr+"/system", "event", "--all", "--loop", "--timeout", "3")
	events.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir())
	eventsDone := make(chan string, 1)
	go func() { out, errOut, _ := testtool.Run(t, events); eventsDone <- out + errOut }()

	c := dialRaw(t, p.libvirtAddr)
	c.open(t)
	start := time.Now()
	pings := 0
	c.SetReadDeadline(time.Now().Add(promptly))
	for {
		h, _, err := c.read()
		if err != nil {
			if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("after %d PINGs: %v, want the connection closed", pings, err)
			}
			break
		}
		if h[0] == rpc.KeepaliveProgram && h[2] == rpc.ProcKeepalivePing {
			pings++
		}
	}
	took := time.Since(start)
	t.Logf("silent peer closed after %v and %d PINGs", took.Round(time.Millisecond), pings)
	if pings != count || took < interval*count || took > interval*(count+1)+2*time.Second {
		t.Errorf("closed after %v and %d PINGs; want %d PINGs and about %v", took, pings, count, interval*(count+1))
	}
	select {
	case out := <-eventsDone:
		if !strings.Contains(out, "event loop timed out") {
			t.Errorf("virsh event --loop --timeout 3, idle, answering PINGs: %s", out)
		}
	case <-time.After(promptly):
		t.Fatal("virsh event --timeout 3 did not end")
	}
}

// TestPipelinedCallsWaitUnread pipelines 2000 calls of 64 KiB each (128 MiB,
// DOMAIN_LOOKUP_BY_NAME with a long name) on one raw connection without
// reading a reply. libvirtd runs max_client_requests (5) of them and reads
// nothing more from that client until one finishes; here too, so the
// client's writes stall once the sockets' buffers are full, the server's
// memory stays put, and every call is answered once the client reads. Meanwhile the real virsh is served at once.
func TestPipelinedCallsWaitUnread(t *testing.T) {
	p, client := startDemoServe(t, "--max-client-requests", "5")
	c := dialRaw(t, p.libvirtAddr)
	c.open(t)
	rssBefore := rssKiB(t, p.cmd.Process.Pid)

	const calls, nameLen = 2000, 64 << 10
	body := xdrString(strings.Repeat("n", nameLen))
	first := c.serial + 1
	var rest []byte // the part of the call the stalled write did not send
	for range calls {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		c.serial++
		pkt := packet(rpc.RemoteProgram, rpc.ProcDomainLookupByName, rpc.TypeCall, c.serial, body)
		if n, err := c.Write(pkt); err != nil {
			rest = pkt[n:]
			break
		}
	}
	sent := int(c.serial - first + 1)
	rssGrew := rssKiB(t, p.cmd.Process.Pid) - rssBefore
	t.Logf("writes stalled at call %d of %d (%d MiB); serve's RSS grew %d KiB", sent, calls, sent*nameLen>>20, rssGrew)
	if rest == nil || sent*nameLen > 64<<20 {
		t.Errorf("the server took %d of %d pipelined calls (%d MiB) without answering any; want its reads to stop", sent, calls, sent*nameLen>>20)
	}
	if rssGrew > 64<<10 {
		t.Errorf("serve's RSS grew by %d KiB while the calls were pipelined", rssGrew)
	}
	p.mustServeBoth(t, client)

	// Reading the replies lets the rest in: every call is answered (in the
	// order they finish: up to five run at once, as in libvirtd).
	c.SetWriteDeadline(time.Time{})
	wrote := make(chan error, 1)
	go func() { _, err := c.Write(rest); wrote <- err }()
	c.SetReadDeadline(time.Now().Add(promptly))
	answered := map[uint32]bool{}
	for len(answered) < sent {
		h, _, err := c.read()
		if err != nil {
			t.Fatalf("after %d of %d replies: %v", len(answered), sent, err)
		}
		if h[3] != rpc.TypeReply {
			continue
		}
		if h[4] < first || h[4] > c.serial || answered[h[4]] || h[5] != 1 {
			t.Fatalf("reply serial %d status %d, want one of the calls' %d…%d once, an error (no such domain)", h[4], h[5], first, c.serial)
		}
		answered[h[4]] = true
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
}

// rssKiB is a process's resident set (VmRSS) in KiB.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
