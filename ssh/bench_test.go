package ssh

import (
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"quintupleo/internal/stacktest"
)

// BenchmarkExecOnOneConn: one exec channel per op on a kept connection
// (Nova's VirtualPowerManager reuses its connection).
func BenchmarkExecOnOneConn(b *testing.B) {
	st := stacktest.New(b, 8)
	ts := newTestServer(b, func(c *Config) { c.Dialer = st.Dial })
	c := ts.dial(b, "stack", ts.signer, nil)
	for _, cmd := range []string{
		"echo success",
		"LC_ALL=C /usr/bin/virsh --connect qemu:///system list --all --name",
		"LC_ALL=C /usr/bin/virsh --connect qemu:///system dumpxml node-3 | awk -F \"'\" '/mac address/{print $2}'| tr -d ':'",
	} {
		b.Run(cmd[:min(len(cmd), 60)], func(b *testing.B) {
			for b.Loop() {
				if out, errs, status := run(b, c, cmd, ""); status != 0 || out == "" {
					b.Fatalf("%q: %q %q %d", cmd, out, errs, status)
				}
			}
		})
	}
}

// BenchmarkIronicPowerQuery: what one Ironic power-state poll costs — a new
// SSH connection, list --all --name, one dumpxml|awk|tr, list --name.
func BenchmarkIronicPowerQuery(b *testing.B) {
	st := stacktest.New(b, 8)
	ts := newTestServer(b, func(c *Config) { c.Dialer = st.Dial })
	const base = "LC_ALL=C /usr/bin/virsh --connect qemu:///system "
	for b.Loop() {
		c, err := gossh.Dial("tcp", ts.addr, &gossh.ClientConfig{
			User: "stack", Auth: []gossh.AuthMethod{gossh.PublicKeys(ts.signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		})
		if err != nil {
			b.Fatal(err)
		}
		run(b, c, base+"list --all --name", "")
		run(b, c, base+"dumpxml node-0 | awk -F \"'\" '/mac address/{print $2}'| tr -d ':'", "")
		run(b, c, base+"list --name", "")
		c.Close()
	}
}
