package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/rpc"
)

// TestEventRegistrationFlood registers domain event callbacks from one
// go-libvirt connection until refused. libvirtd 9.0 accepted 20,000 of
// them (distinct domain filters; measured against the reference, 13 s),
// each held in memory for the connection's life; here the
// rpc.DefaultMaxEventCallbacks-th is the last accepted and the next is
// refused with VIR_ERR_RPC, network registrations counting too. A second
// registration of the same event ID and filter is refused as libvirtd
// refuses it ("event callback already tracked"). Other connections go on
// being served, and a freed slot can be used again.
func TestEventRegistrationFlood(t *testing.T) {
	e := startEnv(t)
	l := e.golibvirt(t)
	register := func() (int32, error) {
		var u libvirt.UUID
		rand.Read(u[:])
		return l.ConnectDomainEventCallbackRegisterAny(int32(libvirt.DomainEventIDLifecycle), libvirt.OptDomain{{Name: "x", UUID: u, ID: -1}})
	}
	if _, err := l.ConnectDomainEventCallbackRegisterAny(int32(libvirt.DomainEventIDLifecycle), nil); err != nil {
		t.Fatal(err)
	}
	_, err := l.ConnectDomainEventCallbackRegisterAny(int32(libvirt.DomainEventIDLifecycle), nil)
	if want := "invalid argument: event callback already tracked"; !isLibvirtError(err, libvirt.ErrInvalidArg, want) {
		t.Errorf("the same registration twice: %v, want %q", err, want)
	}
	if _, err := l.ConnectNetworkEventRegisterAny(0, nil); err != nil {
		t.Fatal(err)
	}
	var last int32
	for i := 2; i < rpc.DefaultMaxEventCallbacks; i++ {
		if last, err = register(); err != nil {
			t.Fatalf("registration %d of %d: %v", i+1, rpc.DefaultMaxEventCallbacks, err)
		}
	}
	want := fmt.Sprintf("too many event callbacks on this connection: %d > %d", rpc.DefaultMaxEventCallbacks+1, rpc.DefaultMaxEventCallbacks)
	for range 3 {
		if _, err := register(); !isLibvirtError(err, libvirt.ErrRPC, want) {
			t.Fatalf("registration past the cap: %v, want VIR_ERR_RPC %q", err, want)
		}
		if _, err := l.ConnectNetworkEventRegisterAny(0, nil); !isLibvirtError(err, libvirt.ErrRPC, want) {
			t.Fatalf("network registration past the cap: %v, want VIR_ERR_RPC %q", err, want)
		}
	}
	if out := e.mustVirsh(t, "list", "--all", "--name"); !strings.Contains(out, "node-0") {
		t.Errorf("another client during the flood: %q", out)
	}
	if err := l.ConnectDomainEventCallbackDeregisterAny(last); err != nil {
		t.Fatal(err)
	}
	if _, err := register(); err != nil {
		t.Errorf("registration after a deregistration: %v", err)
	}
}

// isLibvirtError reports whether err is libvirt's error code with message.
func isLibvirtError(err error, code libvirt.ErrorNumber, message string) bool {
	var le libvirt.Error
	return errors.As(err, &le) && le.Code == uint32(code) && le.Message == message
}
