package rpc_test

import (
	"bufio"
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/internal/testtool"
	"quintupleo/rpc"
	"quintupleo/virt"
)

func TestGoLibvirtLifecycleEvents(t *testing.T) {
	b := newFakeDomains()
	srv := newServer(t, drivers(b))
	watcher := goLibvirt(t, srv, false)
	actor := goLibvirt(t, srv, false)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events, err := watcher.SubscribeEvents(ctx, libvirt.DomainEventIDLifecycle, libvirt.OptDomain{})
	if err != nil {
		t.Fatalf("SubscribeEvents: %v", err)
	}

	// A change made by another client…
	d, err := actor.DomainLookupByName("node-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := actor.DomainCreate(d); err != nil {
		t.Fatal(err)
	}
	// …and one made behind our back in the cloud.
	b.Emit("node-2", virt.EventStopped, 5 /* FAILED */)

	want := []struct {
		name          string
		event, detail int32
	}{{"node-1", int32(virt.EventStarted), 0}, {"node-2", int32(virt.EventStopped), 5}}
	for _, w := range want {
		select {
		case ev := <-events:
			le, ok := ev.(*libvirt.DomainEventCallbackLifecycleMsg)
			if !ok {
				t.Fatalf("event %T", ev)
			}
			if le.Msg.Dom.Name != w.name || le.Msg.Event != w.event || le.Msg.Detail != w.detail {
				t.Errorf("event %+v, want %+v", le.Msg, w)
			}
		case <-t.Context().Done():
			t.Fatal("no event")
		}
	}
	// Deregistering (cancel) unsubscribes from the Domains driver.
	cancel()
	if _, err := watcher.ConnectGetType(); err != nil { // a round trip after the deregistration
		t.Fatal(err)
	}
}

func TestEventDeregisterAndDisconnectUnsubscribe(t *testing.T) {
	b := newFakeDomains()
	srv := newServer(t, drivers(b))
	c := pipe(t, srv, false)
	openRaw(t, c, false)

	// Register lifecycle (event 0) for all domains: callback IDs are
	// server-global, starting at 0 like libvirtd's.
	exchange(t, c, "REGISTER_ANY",
		fixture(t, "00000024 20008086 00000001 0000013c 00000000 00000002 00000000", "00000000 00000000 // eventID 0, dom NULL"),
		fixture(t, "00000020 20008086 00000001 0000013c 00000001 00000002 00000000", "00000000 // callbackID 0"))
	if n := b.subscribers(); n != 1 {
		t.Fatalf("subscribers = %d, want 1", n)
	}
	// A second registration for another event ID does not subscribe again.
	exchange(t, c, "REGISTER_ANY reboot",
		fixture(t, "00000024 20008086 00000001 0000013c 00000000 00000003 00000000", "00000001 00000000"),
		fixture(t, "00000020 20008086 00000001 0000013c 00000001 00000003 00000000", "00000001"))

	b.Emit("node-0", virt.EventSuspended, 0)
	// The event MESSAGE, serial 1 as libvirtd sends it.
	want := fixture(t, "00000048 20008086 00000001 0000013e 00000002 00000001 00000000 // proc 318 MESSAGE serial 1",
		"00000000 // callbackID",
		`00000006 "node-0" 0000 11111111222233334444555555555555 00000001 // dom`,
		"00000003 00000000 // SUSPENDED, detail 0")
	if got := readPacket(t, c); string(got) != string(want) {
		t.Errorf("event\n%x\nwant\n%x", got, want)
	}

	exchange(t, c, "DEREGISTER_ANY 0",
		fixture(t, "00000020 20008086 00000001 0000013d 00000000 00000004 00000000", "00000000"),
		fixture(t, "0000001c 20008086 00000001 0000013d 00000001 00000004 00000000"))
	if n := b.subscribers(); n != 0 {
		t.Errorf("subscribers after deregistering lifecycle = %d, want 0", n)
	}
	// Deregistering an unknown callback is an error.
	c2 := fixture(t, "00000020 20008086 00000001 0000013d 00000000 00000005 00000000", "00000063")
	if _, err := c.Write(c2); err != nil {
		t.Fatal(err)
	}
	if got := readPacket(t, c); got[27] != 1 /* status ERROR */ {
		t.Errorf("deregister unknown: %x", got)
	}

	// Re-register, then disconnect: the subscription goes away.
	exchange(t, c, "REGISTER_ANY again",
		fixture(t, "00000024 20008086 00000001 0000013c 00000000 00000006 00000000", "00000000 00000000"),
		fixture(t, "00000020 20008086 00000001 0000013c 00000001 00000006 00000000", "00000002"))
	c.Close()
	srv.Close() // waits for the connection's goroutines
	if n := b.subscribers(); n != 0 {
		t.Errorf("subscribers after disconnect = %d, want 0", n)
	}
}

// TestVirshEventLoop runs `virsh event --all --loop` and checks it prints
// lifecycle events of changes made by another client and by the cloud.
func TestVirshEventLoop(t *testing.T) {
	bin := testtool.Require(t, "virsh")
	b := newFakeDomains()
	b.subscribed = make(chan struct{}, 1)
	rec := &recorder{}
	srv := newServer(t, drivers(b))
	port := tcpServer(t, srv, rec)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-c", "qemu+tcp://127.0.0.1:"+port+"/system", "event", "--all", "--loop", "--timeout", "60")
	cmd.Env = append(cmd.Environ(), "LC_ALL=C")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cancel()

	select {
	case <-b.subscribed:
	case <-t.Context().Done():
		t.Fatal("virsh never registered for events")
	}
	// Another client starts a domain (like `virsh start`), and the cloud stops one.
	mustVirsh(t, port, "start", "node-1")
	b.Emit("node-0", virt.EventStopped, 1)

	sc := bufio.NewScanner(out)
	var got []string
	for len(got) < 2 && sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			got = append(got, l)
		}
	}
	want := []string{
		"event 'lifecycle' for domain 'node-1': Started Booted",
		"event 'lifecycle' for domain 'node-0': Stopped Destroyed",
	}
	if !slices.Equal(got, want) {
		t.Errorf("virsh event printed %q, want %q", got, want)
	}

	// virsh registered all 27 event IDs (§4 `event --all`), each accepted.
	calls := rec.calls(t)
	var reg int
	for _, p := range calls {
		if p == rpc.ProcConnectDomainEventCallbackRegisterAny {
			reg++
		}
	}
	if reg != 27 {
		t.Errorf("%d CALLBACK_REGISTER_ANY calls, want 27 (calls %v)", reg, calls)
	}
}
