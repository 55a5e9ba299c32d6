package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/internal/testtool"
)

// promptly bounds a call that libvirtd answers in milliseconds; it is wide
// for a loaded 2-CPU test machine, and far below "never".
const promptly = 10 * time.Second

// TestOversizeArgumentAnsweredAtOnce sends, with go-libvirt over TCP, domain
// names longer than REMOTE_STRING_MAX (4 MiB). libvirtd 9.0 answers each at
// once with VIR_ERR_RPC "Unable to decode message payload"; a 4 MiB name is
// still looked up. (virsh cannot send these: its own encoder refuses them.)
func TestOversizeArgumentAnsweredAtOnce(t *testing.T) {
	e := startEnv(t)
	l := e.golibvirt(t)
	for _, n := range []int{4<<20 + 1, 17 << 20} {
		err := withinBound(t, func() error { _, err := l.DomainLookupByName(strings.Repeat("n", n)); return err })
		var le libvirt.Error
		if !errors.As(err, &le) || le.Code != uint32(libvirt.ErrRPC) || le.Message != "Unable to decode message payload" {
			t.Errorf("lookup of a %d-byte name: %.200v, want VIR_ERR_RPC Unable to decode message payload", n, err)
		}
	}
	// At the limit the name is decoded and not found; the error, which
	// echoes the name, is cut to what a client accepts instead of dropped.
	err := withinBound(t, func() error { _, err := l.DomainLookupByName(strings.Repeat("n", 4<<20)); return err })
	if !libvirt.IsNotFound(err) {
		t.Errorf("lookup of a 4 MiB name: %.200v, want not found", err)
	}
	if _, err := l.DomainLookupByName("node-1"); err != nil {
		t.Errorf("the connection after the oversize calls: %v", err)
	}
}

// withinBound runs call and fails the test unless it returns within
// promptly; a call never answered is the defect this guards against.
func withinBound(t *testing.T, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(promptly):
		t.Fatalf("no answer within %v", promptly)
		return nil
	}
}

// TestSSHDefineOversizeXMLAnswered pipes a 16 MiB domain XML (the most the
// SSH side's virsh reads from stdin) into `virsh define /dev/stdin` over real
// OpenSSH. Its huge boot device, echoed twice in an XML error (message and
// str2), made a reply over the 32 MiB packet limit that was dropped, and the
// session hung; now the string is refused on decode, as libvirtd does, and
// the session ends with that error at once.
func TestSSHDefineOversizeXMLAnswered(t *testing.T) {
	var client sshClient
	e := startEnv(t, withSSH(t, &client))
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	cmd := client.command(ctx, t, e.st.sshLn.Addr().String(), "virsh define /dev/stdin")
	// node-1's own XML with a 16 MiB boot device.
	xml := e.mustVirsh(t, "dumpxml", "node-1")
	if !strings.Contains(xml, "<boot dev='hd'/>") {
		t.Fatalf("node-1's XML has no <boot dev='hd'/>:\n%s", xml)
	}
	cmd.Stdin = strings.NewReader(strings.Replace(xml, "<boot dev='hd'/>", "<boot dev='"+strings.Repeat("x", 16<<20)+"'/>", 1))
	start := time.Now()
	_, errOut, code := testtool.Run(t, cmd)
	if code == 0 || !strings.HasPrefix(errOut, "error: ") {
		t.Errorf("define of 16 MiB XML over ssh: exit %d, stderr %.200q; want a virsh error", code, errOut)
	}
	t.Logf("answered in %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(errOut))
}
