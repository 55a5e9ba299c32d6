package main

import (
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/spf13/pflag"

	"quintupleo/driver/network"
)

// networkFlags say which Neutron networks are libvirt networks and what
// virsh may change (docs/semantics.md, "Networks").
type networkFlags struct {
	noNetworks   bool
	netNameRegex string
	allowForeign bool
}

func (c *networkFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&c.noNetworks, "no-networks", false, "serve no network driver: virsh net-* get libvirt's 'not supported' (the cloud's networks stay unseen)")
	fs.StringVar(&c.netNameRegex, "network-name-regex", "", "only Neutron networks whose name matches this regular expression are libvirt networks (default: every network the credentials see)")
	fs.BoolVar(&c.allowForeign, "network-allow-foreign", false, "let net-start, net-destroy and net-undefine change networks quintupleo did not create")
}

func (c *networkFlags) validate() error {
	if c.netNameRegex != "" {
		if _, err := regexp.Compile(c.netNameRegex); err != nil {
			return fmt.Errorf("--network-name-regex: %w", err)
		}
	}
	return nil
}

// config is the network driver's configuration, nil with --no-networks.
// The listing TTL and the event poll follow --refresh-interval, as the
// domain cache does; the clean-up of a failed define gets --action-timeout.
func (c *networkFlags) config(refresh, timeout time.Duration, log *slog.Logger) *network.Config {
	if c.noNetworks {
		return nil
	}
	cfg := &network.Config{Logger: log, TTL: refresh, PollInterval: refresh, AllowForeign: c.allowForeign, Timeout: timeout}
	if c.netNameRegex != "" {
		cfg.NameRegex = regexp.MustCompile(c.netNameRegex)
	}
	return cfg
}
