package rpc_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"quintupleo/driver/domain"
	"quintupleo/rpc"
	"quintupleo/virt"
)

// versionedDomains is the fake with a list version, counting list calls.
type versionedDomains struct {
	*fakeDomains
	version atomic.Uint64
	lists   atomic.Int32
}

func (b *versionedDomains) ListVersion(context.Context) (uint64, error) { return b.version.Load(), nil }

func (b *versionedDomains) List(ctx context.Context, f virt.ListFlags) ([]domain.Domain, error) {
	b.lists.Add(1)
	return b.fakeDomains.List(ctx, f)
}

func TestListRepliesAreReusedPerVersion(t *testing.T) {
	b := &versionedDomains{fakeDomains: newFakeDomains()} // node-0 running, node-1 and node-2 shut off
	srv := rpc.NewServer(drivers(b), rpc.WithLogger(testLogger(t)))
	t.Cleanup(func() { srv.Close() })
	client, server := net.Pipe()
	go srv.ServeConn(t.Context(), server, rpc.Policy{})
	l := libvirt.NewWithDialer(dialers.NewAlreadyConnected(client))
	if err := l.ConnectToURI(libvirt.QEMUSystem); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Disconnect() })

	all := libvirt.ConnectListDomainsActive | libvirt.ConnectListDomainsInactive
	list := func(flags libvirt.ConnectListAllDomainsFlags) []string {
		t.Helper()
		doms, _, err := l.ConnectListAllDomains(1, flags)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range doms {
			names = append(names, d.Name)
		}
		return names
	}
	first, second := list(all), list(all)
	if len(first) != 3 || len(second) != 3 || first[0] != second[0] || first[2] != second[2] {
		t.Fatalf("lists differ or are wrong: %q, %q", first, second)
	}
	if got := b.lists.Load(); got != 1 {
		t.Errorf("two identical lists at one version asked the backend %d times, want 1", got)
	}
	if got := list(libvirt.ConnectListDomainsActive); len(got) != 1 || got[0] != "node-0" {
		t.Errorf("active list = %q (other flags must not share the cached reply)", got)
	}
	// A new version: the reply is built again and shows the change.
	b.add("node-3", "44444444-2222-3333-4444-555555555555", false)
	b.version.Add(1)
	if got := list(all); len(got) != 4 {
		t.Errorf("list after the version changed = %q", got)
	}
	if got := b.lists.Load(); got != 3 {
		t.Errorf("backend list calls = %d, want 3", got)
	}
}
