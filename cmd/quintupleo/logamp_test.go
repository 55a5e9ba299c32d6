package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"quintupleo/internal/testtool"
)

// TestInvalidXMLDoesNotAmplifyTheLog defines a 4 MiB one-line domain XML
// that is not well-formed with the real virsh against a `serve
// --log-level debug` process, and measures what that adds to its log. The
// error quotes the line and a caret line as long; logged whole, each such
// call wrote 8 MiB (measured 8,389,964 bytes), so a client could fill the
// disk at its uplink's speed. The log keeps 2 KiB of an error.
func TestInvalidXMLDoesNotAmplifyTheLog(t *testing.T) {
	p, _ := startDemoServe(t, "--log-level", "debug")
	file := filepath.Join(t.TempDir(), "invalid.xml")
	head := "<domain type='kvm'><name>inv</name><memory>1024</memory><os><type>hvm</type></os><description>"
	doc := head + strings.Repeat("x", 4<<20-200) + "</descriptio></domain>\n"
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	before := len(p.logText())
	cmd := exec.CommandContext(ctx, testtool.Require(t, "virsh"), "-c", "qemu+tcp://"+p.libvirtAddr+"/system", "define", file)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir())
	_, errOut, code := testtool.Run(t, cmd)
	if code == 0 || !strings.Contains(errOut, "Opening and ending tag mismatch: description line 1 and descriptio") {
		t.Fatalf("define of invalid XML: exit %d\n%.300s", code, errOut)
	}
	// The failure is logged when the reply is sent, before virsh hears it;
	// the connection's close lines follow.
	deadline := time.Now().Add(promptly)
	for !strings.Contains(p.logText()[before:], "CONNECT_CLOSE") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	grew := len(p.logText()) - before
	t.Logf("one define of a 4 MiB invalid document added %d bytes to the debug log", grew)
	if grew > 64<<10 {
		t.Errorf("the log grew by %d bytes for one 4 MiB document; want at most 64 KiB", grew)
	}
}
