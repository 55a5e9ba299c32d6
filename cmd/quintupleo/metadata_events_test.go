package main

import (
	"strings"
	"testing"
	"time"
)

// TestMetadataChangeEventsFromAnyReplica: virsh desc and virsh metadata
// through one quintupleo deliver libvirt's METADATA_CHANGE events — one per
// change, type and namespace as libvirtd's test driver sends them — to a
// `virsh event --event metadata-change` client of another quintupleo over the
// same cloud (derived from the Nova metadata change), and to one of the
// same quintupleo; a lifecycle-only client gets none of them.
func TestMetadataChangeEventsFromAnyReplica(t *testing.T) {
	e := startEnv(t)
	other := e.restart(t)
	remote := other.eventStreamOf(t, "--event", "metadata-change")
	local := e.eventStreamOf(t, "--event", "metadata-change")
	lifecycle := e.eventStreamOf(t, "--event", "lifecycle")

	title := "event 'metadata-change' for domain 'node-1': type title, uri <null>"
	element := "event 'metadata-change' for domain 'node-1': type element, uri http://example.org/bmc"
	for _, step := range []struct {
		args []string
		want string // "" = no change, no event
	}{
		{[]string{"desc", "node-1", "--title", "rack 4"}, title},
		{[]string{"desc", "node-1", "two words"}, "event 'metadata-change' for domain 'node-1': type description, uri <null>"},
		{[]string{"metadata", "node-1", "http://example.org/bmc", "--key", "bmc", "--set", "<bios mode='uefi'/>"}, element},
		{[]string{"metadata", "node-1", "http://example.org/bmc", "--key", "bmc", "--set", "<bios mode='uefi'/>"}, ""},
		{[]string{"metadata", "node-1", "http://example.org/bmc", "--remove"}, element},
		{[]string{"desc", "node-1", "--title", ""}, title},
	} {
		e.mustVirsh(t, step.args...)
		if step.want == "" {
			continue // the next step's event shows none came in between
		}
		// The other quintupleo sees the cloud at each refresh: one change
		// at a time, each waited for (changes within one refresh coalesce).
		for name, stream := range map[string]<-chan string{"another quintupleo": remote, "the same quintupleo": local} {
			if got := nextLine(t, stream); got != step.want {
				t.Errorf("%s after virsh %s: event %q, want %q", name, strings.Join(step.args, " "), got, step.want)
			}
		}
	}
	e.mustVirsh(t, "start", "node-1") // a lifecycle event, to show the lifecycle client saw only that
	if got := nextLine(t, lifecycle); got != "event 'lifecycle' for domain 'node-1': Started Booted" {
		t.Errorf("lifecycle client's first event: %q", got)
	}
}

// nextLine is the next non-empty line of an event stream, bounded as
// waitLine is.
func nextLine(t *testing.T, lines <-chan string) string {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("event stream ended")
			}
			if l = strings.TrimSpace(l); l != "" {
				return l
			}
		case <-deadline.C:
			t.Fatal("no event within 30s")
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		}
	}
}
