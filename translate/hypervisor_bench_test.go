package translate_test

import (
	"testing"
	"time"

	"quintupleo/cloudsim"
	"quintupleo/nodes"
	"quintupleo/translate"
)

// BenchmarkPowerCycle10000 is a start+destroy of one domain among 10,000,
// each followed by a lookup, as virsh does: the cost of keeping the domain
// index current when one node changes in a large inventory.
func BenchmarkPowerCycle10000(b *testing.B) {
	sim, err := cloudsim.New(cloudsim.Options{Nodes: 10000, TransitionDelay: -1})
	if err != nil {
		b.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	cloud, err := nodes.Connect(b.Context(), nodes.CloudConfig{Cloud: "sim", CloudsYAMLData: sim.CloudsYAML("sim")})
	if err != nil {
		b.Fatal(err)
	}
	inv := nodes.NewInventory(cloud, nodes.InventoryConfig{RefreshInterval: time.Hour, PollInterval: time.Millisecond})
	hv := translate.New(inv, translate.Config{})
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
