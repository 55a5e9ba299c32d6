package virsh

import (
	"strings"
	"testing"

	"github.com/digitalocean/go-libvirt"
)

// TestListFlags pins what each `virsh list` option line asks the server
// for: a filter alone widens the listing to inactive domains too, unless
// --inactive or --all chose; active and inactive together are sent as
// neither (libvirt's "all").
func TestListFlags(t *testing.T) {
	const (
		active, inactive = libvirt.ConnectListDomainsActive, libvirt.ConnectListDomainsInactive
		running, shutoff = libvirt.ConnectListDomainsRunning, libvirt.ConnectListDomainsShutoff
		persistent       = libvirt.ConnectListDomainsPersistent
		autostart        = libvirt.ConnectListDomainsAutostart
	)
	tests := []struct {
		args string
		want libvirt.ConnectListAllDomainsFlags
	}{
		{"", active},
		{"--all", 0},
		{"--inactive", inactive},
		{"--state-running", running},
		{"--state-shutoff --state-running", running | shutoff},
		{"--inactive --state-shutoff", inactive | shutoff},
		{"--persistent", persistent},
		{"--autostart --all", autostart},
		{"--inactive --autostart", inactive | autostart},
	}
	for _, tt := range tests {
		c, err := commandTable["list"].parse(strings.Fields(tt.args))
		if err != nil {
			t.Fatalf("list %s: %v", tt.args, err)
		}
		if got := listFlags(c); got != tt.want {
			t.Errorf("list %s: flags %#x, want %#x", tt.args, got, tt.want)
		}
	}
}
