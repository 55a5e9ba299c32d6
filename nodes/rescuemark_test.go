package nodes_test

import (
	"slices"
	"strings"
	"testing"

	"quintupleo/nodes"
)

func ptr(s string) *string { return &s }

// The rescue strategy keeps a boot device chosen while a node is rescued at
// the end of the server's description, and gives the operator's text back
// exactly (null stays null, "" stays "") once the device reaches metadata.
func TestRescueStrategyMarksTheDescriptionWhileRescued(t *testing.T) {
	s, err := nodes.NewBootStrategy("rescue", nodes.BootOptions{IPXEImage: "ipxe"})
	if err != nil {
		t.Fatal(err)
	}
	net := map[string]string{nodes.MetaPXEFirst: "1"}
	for _, c := range []struct {
		name       string
		desc       *string
		marked     string
		restoreArg string
	}{
		{"operator text", ptr("rack 4, slot 2"), `"rack 4, slot 2 [quintupleo:boot=disk]"`, `"rack 4, slot 2"`},
		{"empty text", ptr(""), `" [quintupleo:boot=disk]"`, `""`},
		{"no description", nil, `"[quintupleo:boot=disk]"`, "null"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := &recordingActor{}
			n := nodes.Node{ID: "n1", Status: "RESCUE", VMState: "rescued", Metadata: net, Description: c.desc}
			if err := s.Set(t.Context(), a, n, nodes.BootDisk); err != nil {
				t.Fatal(err)
			}
			want := []string{"description n1 " + c.marked}
			if !slices.Equal(a.calls, want) {
				t.Fatalf("calls %q, want %q", a.calls, want)
			}
			marked := strings.Trim(c.marked, `"`)
			n.Description = &marked
			if got := s.Get(n); got != nodes.BootDisk {
				t.Errorf("Get of the marked node = %s, want disk", got)
			}
			// Back to what the metadata says, still rescued: the mark goes.
			a.calls = nil
			if err := s.Set(t.Context(), a, n, nodes.BootNetwork); err != nil {
				t.Fatal(err)
			}
			if want := []string{"description n1 " + c.restoreArg}; !slices.Equal(a.calls, want) {
				t.Errorf("calls %q, want %q", a.calls, want)
			}
			// Powered off with the mark: metadata first, then the text back.
			a.calls = nil
			n.Status, n.VMState = "SHUTOFF", "stopped"
			if _, err := s.PowerOn(t.Context(), a, n); err != nil {
				t.Fatal(err)
			}
			want = []string{`metadata n1 libvirt:pxe-first=""`, "description n1 " + c.restoreArg, "os-start n1"}
			if !slices.Equal(a.calls, want) {
				t.Errorf("power-on of a marked node: calls %q, want %q", a.calls, want)
			}
		})
	}
}

// A description with no room for the mark is refused with the reason and
// the fix, and nothing is written.
func TestRescueStrategyRefusesAMarkThatDoesNotFit(t *testing.T) {
	s, err := nodes.NewBootStrategy("rescue", nodes.BootOptions{IPXEImage: "ipxe"})
	if err != nil {
		t.Fatal(err)
	}
	a := &recordingActor{}
	n := nodes.Node{ID: "n1", Status: "RESCUE", VMState: "rescued", Metadata: map[string]string{nodes.MetaPXEFirst: "1"},
		Description: ptr(strings.Repeat("é", 240))}
	err = s.Set(t.Context(), a, n, nodes.BootDisk)
	if err == nil || !strings.Contains(err.Error(), "description (240 characters) leaves no room for the 23 of the boot-device mark within Nova's 255") {
		t.Errorf("Set with a long description: %v", err)
	}
	if len(a.calls) != 0 {
		t.Errorf("calls %q, want none", a.calls)
	}
	// 232 characters leave exactly room for it.
	n.Description = ptr(strings.Repeat("é", 232))
	if err := s.Set(t.Context(), a, n, nodes.BootDisk); err != nil {
		t.Errorf("Set with a 232-character description: %v", err)
	}
}
