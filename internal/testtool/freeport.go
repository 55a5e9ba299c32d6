package testtool

import (
	"net"
	"testing"
)

// FreeAddr is a loopback address ("127.0.0.1:port") whose port nothing
// listened on a moment ago, for a server a test starts. Another process may
// take it in between; the tests that use it start their server at once.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
