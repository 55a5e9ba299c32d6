package rpc

import (
	"fmt"
	"strings"
	"testing"

	"quintupleo/internal/limit"
	"quintupleo/virt"
)

// TestRefusingLimit: the answers a limit gave are told apart from other
// failures by their cause, however the driver wrapped them; the XML size
// bound among them, which no wire client reaches (the string cap comes
// first) but an in-process caller may.
func TestRefusingLimit(t *testing.T) {
	xml := func(s string) error { return virt.CheckXML(s, "(domain_definition)", virt.FromDom) }
	var dummy struct{ S string }
	long := append([]byte{0, 0x50, 0, 0}, make([]byte, 8)...) // a string claiming 5 MiB
	for _, c := range []struct {
		what string
		err  error
		want limit.Name
	}{
		{"size", xml(strings.Repeat(" ", virt.MaxXMLBytes+1)), limit.XMLSize},
		{"depth", xml(strings.Repeat("<a>", virt.MaxXMLDepth+2)), limit.XMLDepth},
		{"entity", fmt.Errorf("driver: %w", xml("<a>&lol;</a>")), limit.XMLEntities},
		{"string", errDecode(decode(long, &dummy)), limit.StringSize},
		{"callbacks", errTooManyCallbacks(2), limit.EventCallbacks},
		{"not well-formed", xml("<a>"), ""},
		{"short body", errDecode(decode([]byte{0, 0, 0, 9}, &dummy)), ""},
		{"no domain", virt.Internal(virt.FromDom, "x", nil), ""},
	} {
		got, ok := refusingLimit(c.err)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%s (%v): %q %v, want %q", c.what, c.err, got, ok, c.want)
		}
	}
}
