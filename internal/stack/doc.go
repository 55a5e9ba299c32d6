// Package stack builds and runs one quintupleo: cloud → nodes → driver/{host,domain} →
// rpc and the front ends serving it, in the one way both `quintupleo serve`
// and the tests (internal/stacktest) use. cmd keeps the flags and says which
// parts to build; this package owns how they are built, started and stopped.
//
// A stack is built in three steps:
//
//  1. Builders, one per part, construct it and register with the Stack what
//     it needs: AddInventory (the cloud and the shared inventory), AddDriver
//     (the libvirt driver over it), AddLibvirt (the RPC server, its TCP and
//     unix listeners, and the in-process Dial), sshstack.Add (the SSH
//     endpoint). A builder registers its background loops (Go), its
//     listeners (Listen, not yet bound), its graceful stop (OnShutdown) and
//     what must be released last (OnClose). A new front end (TLS, metrics,
//     Redfish) is one more builder of the same shape.
//  2. Bind, once every part is built, binds every listener: a port conflict
//     fails start-up before anything serves, and no client can reach one
//     port of a stack whose other ports (or host keys) are not there yet.
//  3. Run starts the loops, serves every listener, logs "ready" once with
//     every address, and on the end of its ctx shuts the parts down in the
//     reverse order of building.
//
// Cancellation has one rule. The ctx of a builder bounds only the building
// (connecting to the cloud, the first listing); Run's ctx is the stack's
// lifetime. A connection — accepted on a listener or opened in process by
// Libvirt.Dial — lives until its peer closes it or the stack shuts down,
// never until the ctx of whoever dialled it ends (net.Dialer.DialContext's
// rule).
//
// The SSH builder lives in stack/sshstack: ssh's own tests import stacktest,
// which imports this package, so this package must not import ssh.
//
// Must not: import cloudsim (cmd starts the demo cloud and hands its
// clouds.yaml in), parse flags, or hold package-level state.
package stack
