package ssh

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"

	"quintupleo/internal/testtool"
)

// The exact strings libvirt 9.0 sends (shared/reference/libvirt-rpc.md §5).
const (
	autoRW    = `sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     virt-ssh-helper 'qemu:///system'; else    if 'nc' -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'nc' $ARG -U /var/run/libvirt/libvirt-sock; fi'`
	autoRO    = `sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     virt-ssh-helper -r 'qemu:///system'; else    if 'nc' -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'nc' $ARG -U /var/run/libvirt/libvirt-sock-ro; fi'`
	autoSess  = `sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     virt-ssh-helper 'qemu:///session'; else    if 'nc' -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'nc' $ARG -U /var/run/libvirt/libvirt-sock; fi'`
	native    = `sh -c 'virt-ssh-helper 'qemu:///system''`
	nativeRO  = `sh -c 'virt-ssh-helper -r 'qemu:///system''`
	netcat    = `sh -c 'if 'nc' -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'nc' $ARG -U /var/run/libvirt/libvirt-sock'`
	netcatRO  = `sh -c 'if 'nc' -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'nc' $ARG -U /var/run/libvirt/libvirt-sock-ro'`
	ncat      = `sh -c 'if '/usr/bin/ncat' -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'/usr/bin/ncat' $ARG -U /var/run/libvirt/libvirt-sock'`
	socketArg = `sh -c 'if 'nc' -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'nc' $ARG -U /tmp/x.sock'`
)

func TestMatchProxyCommand(t *testing.T) {
	tests := []struct {
		cmd          string
		ok, readOnly bool
	}{
		{autoRW, true, false},
		{autoRO, true, true},
		{autoSess, true, false},
		{native, true, false},
		{nativeRO, true, true},
		{netcat, true, false},
		{netcatRO, true, true},
		{ncat, true, false},
		{socketArg, true, false},
		{"virt-ssh-helper qemu:///system", false, false},
		{"nc -U /var/run/libvirt/libvirt-sock", false, false},
		{autoRW + "; id", false, false},
		{`sh -c 'virt-ssh-helper 'qemu:///system'; id'`, false, false},
		{"sh -c 'nc -l 1234'", false, false},
	}
	for _, tc := range tests {
		ro, ok := matchProxyCommand(tc.cmd)
		if ok != tc.ok || ro != tc.readOnly {
			t.Errorf("%q: got ok=%v ro=%v, want ok=%v ro=%v", tc.cmd, ok, ro, tc.ok, tc.readOnly)
		}
	}
}

// TestBridge drives the proxy strings over SSH into a Dialer whose far end
// echoes, and checks the read-only flag reaches the Dialer.
func TestBridge(t *testing.T) {
	testtool.CheckGoroutines(t, "quintupleo/ssh")
	var mu sync.Mutex
	var dialed []bool
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	ts := newTestServer(t, func(c *Config) {
		c.Dialer = func(ctx context.Context, readOnly bool) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, readOnly)
			mu.Unlock()
			a, b := net.Pipe()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer b.Close()
				_, _ = io.Copy(b, b) // echo server, ends when the bridge closes a
			}()
			return a, nil
		}
	})
	c := ts.dial(t, "stack", ts.signer, nil)
	for _, cmd := range []string{autoRW, autoRO, native, netcatRO} {
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		stdin, _ := s.StdinPipe()
		stdout, _ := s.StdoutPipe()
		if err := s.Start(cmd); err != nil {
			t.Fatal(err)
		}
		msg := []byte("\x00\x00\x00\x1c libvirt rpc bytes")
		if _, err := stdin.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(stdout, got); err != nil || string(got) != string(msg) {
			t.Fatalf("%s: echo %q %v", cmd, got, err)
		}
		_ = stdin.Close() // client EOF ends the bridge
		if err := s.Wait(); err != nil {
			t.Errorf("bridge exit: %v", err)
		}
		s.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	want := []bool{false, true, false, true}
	if len(dialed) != len(want) {
		t.Fatalf("dials %v", dialed)
	}
	for i := range want {
		if dialed[i] != want[i] {
			t.Errorf("dial %d readOnly=%v want %v", i, dialed[i], want[i])
		}
	}
}
