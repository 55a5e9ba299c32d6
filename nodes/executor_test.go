package nodes_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"quintupleo/cloudsim"
	"quintupleo/nodes"
)

// Actions name themselves in logs and errors as Nova's API does.
func TestActionNames(t *testing.T) {
	for a, want := range map[nodes.Action]string{
		nodes.ActionStart: "os-start", nodes.ActionStop: "os-stop",
		nodes.ActionRebootSoft: "reboot SOFT", nodes.ActionRebootHard: "reboot HARD",
		nodes.ActionUnpause: "unpause", nodes.ActionResume: "resume",
		nodes.ActionUnshelve: "unshelve", nodes.ActionUnrescue: "unrescue",
		nodes.Action(200): "Action(200)",
	} {
		if got := a.String(); got != want {
			t.Errorf("Action %d: %q, want %q", a, got, want)
		}
	}
}

// Every strategy BootStrategyNames lists is built by NewBootStrategy under
// that name, and an unknown name lists them all.
func TestBootStrategyTable(t *testing.T) {
	opts := nodes.BootOptions{IPXEImage: "ipxe", AllowRebuild: true}
	names := nodes.BootStrategyNames()
	if !slices.Equal(names, []string{"metadata", "rebuild", "rescue"}) {
		t.Errorf("BootStrategyNames = %q", names)
	}
	for _, name := range names {
		s, err := nodes.NewBootStrategy(name, opts)
		if err != nil || s.Name() != name {
			t.Errorf("NewBootStrategy(%q) = %v, %v", name, s, err)
		}
	}
	if s, err := nodes.NewBootStrategy("", opts); err != nil || s.Name() != "metadata" {
		t.Errorf(`NewBootStrategy("") = %v, %v; want metadata`, s, err)
	}
	_, err := nodes.NewBootStrategy("pxe", opts)
	if err == nil || !strings.Contains(err.Error(), `unknown boot strategy "pxe" (have metadata, rebuild, rescue)`) {
		t.Errorf("unknown strategy: %v", err)
	}
}

// recordingActor is an Actor that only records what a strategy asks of it.
type recordingActor struct {
	calls  []string
	images map[string]nodes.Image // by ID
	named  map[string]nodes.Image // by name
}

func (r *recordingActor) Do(_ context.Context, id string, a nodes.Action) (nodes.Node, error) {
	r.calls = append(r.calls, fmt.Sprintf("%s %s", a, id))
	return nodes.Node{ID: id, Status: "ACTIVE"}, nil
}

func (r *recordingActor) Rescue(_ context.Context, id, image string) (nodes.Node, error) {
	r.calls = append(r.calls, "rescue "+id+" "+image)
	return nodes.Node{ID: id, Status: "RESCUE"}, nil
}

func (r *recordingActor) Rebuild(_ context.Context, id, image string) (nodes.Node, error) {
	r.calls = append(r.calls, "rebuild "+id+" "+image)
	return nodes.Node{ID: id, Status: "SHUTOFF"}, nil
}

func (r *recordingActor) SetMetadata(_ context.Context, id, key, value string) (nodes.Node, error) {
	r.calls = append(r.calls, fmt.Sprintf("metadata %s %s=%q", id, key, value))
	return nodes.Node{ID: id}, nil
}

func (r *recordingActor) SetDescription(_ context.Context, id string, desc *string) (nodes.Node, error) {
	if desc == nil {
		r.calls = append(r.calls, fmt.Sprintf("description %s null", id))
	} else {
		r.calls = append(r.calls, fmt.Sprintf("description %s %q", id, *desc))
	}
	return nodes.Node{ID: id, Description: desc}, nil
}

func (r *recordingActor) ImageByID(_ context.Context, id string) (nodes.Image, error) {
	r.calls = append(r.calls, "image "+id)
	if img, ok := r.images[id]; ok {
		return img, nil
	}
	return nodes.Image{}, &nodes.Error{Op: "get image " + id, Kind: nodes.ErrNotFound}
}

func (r *recordingActor) FindImage(_ context.Context, nameOrID string) (nodes.Image, error) {
	r.calls = append(r.calls, "find "+nameOrID)
	if img, ok := r.named[nameOrID]; ok {
		return img, nil
	}
	return nodes.Image{}, &nodes.Error{Op: "find image " + nameOrID, Kind: nodes.ErrNotFound}
}

// A strategy needs nothing but its Actor: the rebuild strategy's network
// boot of a UEFI server picks the UEFI iPXE image by name, rebuilds with it
// and starts; a disk boot only starts; setting the boot device writes
// OVB's metadata key.
func TestStrategiesActThroughTheirActor(t *testing.T) {
	s, err := nodes.NewBootStrategy("rebuild", nodes.BootOptions{IPXEImage: "ipxe", IPXEImageUEFI: "ipxe-uefi", AllowRebuild: true})
	if err != nil {
		t.Fatal(err)
	}
	a := &recordingActor{
		images: map[string]nodes.Image{"os-img": {ID: "os-img", Properties: map[string]string{"hw_firmware_type": "uefi"}}},
		named:  map[string]nodes.Image{"ipxe-uefi": {ID: "uefi-id", Name: "ipxe-uefi"}},
	}
	n := nodes.Node{ID: "n1", Status: "SHUTOFF", ImageID: "os-img", Metadata: map[string]string{nodes.MetaPXEFirst: "1"}}
	if _, err := s.PowerOn(t.Context(), a, n); err != nil {
		t.Fatal(err)
	}
	n.Metadata = map[string]string{}
	if _, err := s.PowerOn(t.Context(), a, n); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(t.Context(), a, n, nodes.BootNetwork); err != nil {
		t.Fatal(err)
	}
	want := []string{"image os-img", "find ipxe-uefi", "rebuild n1 uefi-id", "os-start n1",
		"os-start n1", `metadata n1 libvirt:pxe-first="1"`}
	if !slices.Equal(a.calls, want) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(a.calls, "\n"), strings.Join(want, "\n"))
	}
}

// A 409 for a task that ended before the Executor looked (the server is
// idle when it reads it) is sent again, not returned: Redfish clients send a
// shutdown right after a reset reads On.
func TestConflictFromAFinishedTaskIsRetried(t *testing.T) {
	sim, inv, _ := newInventory(t, cloudsim.Options{Nodes: 1}, nodes.InventoryConfig{RefreshInterval: time.Hour})
	x := nodes.NewExecutor(inv, nodes.ExecutorConfig{PollInterval: 5 * time.Millisecond})
	ns, _, err := inv.Nodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	id := ns[0].ID
	if _, err := x.PowerOn(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.SetFault(cloudsim.Fault{Endpoint: "os-stop", ErrorRate: 1, Status: 409, Count: 1}); err != nil {
		t.Fatal(err)
	}
	sim.ResetCounters()
	n, err := x.PowerOff(t.Context(), id)
	if err != nil || n.Status != "SHUTOFF" {
		t.Fatalf("PowerOff after a stale 409: %s, %v", n.Status, err)
	}
	if got := sim.Count("os-stop"); got != 2 {
		t.Errorf("%d os-stop, want 2 (the refused one and the retry)", got)
	}
}
