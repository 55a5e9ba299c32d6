package domain

import (
	"slices"
	"testing"

	"quintupleo/nodes"
)

func TestAssignNames(t *testing.T) {
	ns := []nodes.Node{
		{ID: "11111111-0000-0000-0000-000000000000", Name: "node-0"},
		{ID: "22222222-0000-0000-0000-000000000000", Name: "dup"},
		{ID: "33333333-0000-0000-0000-000000000000", Name: "dup"},
		{ID: "44444444-0000-0000-0000-000000000000", Name: "my server; rm -rf /"},
		{ID: "55555555-0000-0000-0000-000000000000", Name: "-rf"},
		{ID: "66666666-0000-0000-0000-000000000000", Name: ""},
		{ID: "77777777-0000-0000-0000-000000000000", Name: "a'b"},
		{ID: "88888888-0000-0000-0000-000000000000", Name: "a\"b"}, // sanitises to the same as a'b
		{ID: "99999999-0000-0000-0000-000000000000", Name: "ünïcode"},
	}
	want := []string{
		"node-0",
		"dup-22222222", "dup-33333333", // every holder of a shared name gets a suffix
		"my_server__rm_-rf__",
		"_rf", // no leading '-': virsh would read it as an option
		"server",
		"a_b-77777777", "a_b-88888888",
		"_n_code",
	}
	got := assignNames(ns)
	if !slices.Equal(got, want) {
		t.Errorf("assignNames:\n got %q\nwant %q", got, want)
	}
	// Deterministic whatever the listing order.
	rev := slices.Clone(ns)
	slices.Reverse(rev)
	gotRev := assignNames(rev)
	slices.Reverse(gotRev)
	if !slices.Equal(gotRev, want) {
		t.Errorf("assignNames depends on order: %q", gotRev)
	}
}

func TestRunningID(t *testing.T) {
	if id := runningID(nodes.Node{ID: "x", InstanceName: "instance-0000000b"}); id != 11 {
		t.Errorf("id from instance name = %d, want 11", id)
	}
	a := runningID(nodes.Node{ID: "f92eecf1-5d24-4fe3-8447-ad172a3851c1"})
	b := runningID(nodes.Node{ID: "f92eecf1-5d24-4fe3-8447-ad172a3851c1"})
	if a <= 0 || a != b {
		t.Errorf("id without instance name = %d then %d, want the same positive number", a, b)
	}
}
