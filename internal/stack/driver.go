package stack

import (
	"quintupleo/nodes"
	"quintupleo/translate"
)

// AddDriver builds the libvirt driver over inv: what the RPC server serves.
// Its event loop runs with the stack.
func AddDriver(st *Stack, inv *nodes.Inventory, cfg translate.Config) *translate.Hypervisor {
	hv := translate.New(inv, cfg)
	st.Go("events", hv.Run)
	return hv
}
