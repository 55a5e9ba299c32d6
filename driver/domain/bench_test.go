package domain_test

import (
	"net"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"quintupleo/cloudsim"
	"quintupleo/driver/domain"
	"quintupleo/internal/stacktest"
	"quintupleo/nodes"
	"quintupleo/rpc"
)

// BenchmarkPowerCycle10000 is a start+destroy of one domain among 10,000,
// each followed by a lookup, as virsh does: the cost of keeping the domain
// index current when one node changes in a large inventory.
func BenchmarkPowerCycle10000(b *testing.B) {
	_, cloud := stacktest.Connect(b, cloudsim.Options{Nodes: 10000, TransitionDelay: -1})
	inv := nodes.NewInventory(cloud, nodes.InventoryConfig{RefreshInterval: time.Hour})
	hv := domain.New(inv, nodes.NewExecutor(inv, nodes.ExecutorConfig{PollInterval: time.Millisecond}), domain.Config{})
	d, err := hv.LookupByName(b.Context(), "node-4242")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := hv.Start(b.Context(), d.UUID); err != nil {
			b.Fatal(err)
		}
		if _, err := hv.LookupByName(b.Context(), "node-4242"); err != nil {
			b.Fatal(err)
		}
		if err := hv.Destroy(b.Context(), d.UUID); err != nil {
			b.Fatal(err)
		}
		if _, err := hv.LookupByName(b.Context(), "node-4242"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListAllDomains10000 is one go-libvirt ConnectListAllDomains of
// 10,000 domains through the RPC server, as every polling `virsh list`
// makes: with the encoded-reply cache (the domain Driver is an
// rpc.ListVersioner) and without it (the same Driver behind a plain
// rpc.Domains).
func BenchmarkListAllDomains10000(b *testing.B) {
	_, cloud := stacktest.Connect(b, cloudsim.Options{Nodes: 10000})
	inv := nodes.NewInventory(cloud, nodes.InventoryConfig{RefreshInterval: time.Hour})
	hv := domain.New(inv, nodes.NewExecutor(inv, nodes.ExecutorConfig{}), domain.Config{})
	if _, err := hv.List(b.Context(), 0); err != nil { // load the inventory outside the timings
		b.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		domains rpc.Domains
	}{{"cached", hv}, {"uncached", struct{ rpc.Domains }{hv}}} {
		b.Run(c.name, func(b *testing.B) {
			srv := rpc.NewServer(rpc.Drivers{Domains: c.domains})
			defer srv.Close()
			client, server := net.Pipe()
			go srv.ServeConn(b.Context(), server, rpc.Policy{})
			l := libvirt.NewWithDialer(dialers.NewAlreadyConnected(client))
			if err := l.ConnectToURI(libvirt.QEMUSystem); err != nil {
				b.Fatal(err)
			}
			defer l.Disconnect()
			b.ReportAllocs()
			for b.Loop() {
				if _, n, err := l.ConnectListAllDomains(1, libvirt.ConnectListDomainsActive|libvirt.ConnectListDomainsInactive); err != nil || n != 10000 {
					b.Fatalf("list: %d, %v", n, err)
				}
			}
		})
	}
}
