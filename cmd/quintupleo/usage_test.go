package main

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestUsageErrorsAgree gives serve and sim the same mistakes — a log level
// that does not exist, an argument no flag takes, a flag that does not
// exist: both refuse each with exit status 2 and say why in the same words.
// serve used to log at info and ignore the argument, and neither said
// anything about a flag pflag could not parse.
func TestUsageErrorsAgree(t *testing.T) {
	// Cancelled: a command that accepted its flags would stop at once
	// instead of serving (and not exit 2).
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	valid := map[string][]string{
		"serve": {"serve", "--demo", "--listen-tcp", "127.0.0.1:0"},
		"sim":   {"sim", "--listen", "127.0.0.1:0"},
	}
	for name, args := range valid {
		for _, c := range []struct {
			extra []string
			want  string
		}{
			{[]string{"--log-level", "loud"}, `invalid argument "loud" for "--log-level" flag`},
			{[]string{"extra"}, "quintupleo " + name + `: unexpected arguments ["extra"]`},
			{[]string{"--bogus"}, "quintupleo " + name + ": unknown flag: --bogus"},
		} {
			var out, errb strings.Builder
			full := append(append([]string{}, args...), c.extra...)
			if code := run(ctx, full, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
				t.Errorf("%q: exit %d, stderr %q; want 2 and %q", full, code, errb.String(), c.want)
			}
		}
	}
}

// TestServeProvisionFlags: the define flags docs/semantics.md documents
// exist, with the documented defaults (they were documented, wired into the
// Provisioner, and never registered).
func TestServeProvisionFlags(t *testing.T) {
	parse := func(args ...string) serveConfig {
		t.Helper()
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		var cfg serveConfig
		cfg.flags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	def := parse()
	if def.defineFlavor != "" || def.defineImage != "ipxe-boot" || def.defineNetwork != "provision" || len(def.networkMap) != 0 {
		t.Errorf("defaults: flavor %q image %q network %q map %v", def.defineFlavor, def.defineImage, def.defineNetwork, def.networkMap)
	}
	cfg := parse("--define-flavor", "bm", "--define-image", "pxe", "--define-network", "prov", "--network-map", "brbm=prov,default=ext", "--network-map", "br1=x")
	want := map[string]string{"brbm": "prov", "default": "ext", "br1": "x"}
	if cfg.defineFlavor != "bm" || cfg.defineImage != "pxe" || cfg.defineNetwork != "prov" || !maps.Equal(cfg.networkMap, want) {
		t.Errorf("parsed: flavor %q image %q network %q map %v", cfg.defineFlavor, cfg.defineImage, cfg.defineNetwork, cfg.networkMap)
	}
}

// TestPowerOffReturnsFlag: --power-off-returns defaults to shutoff, takes
// accepted, and refuses anything else with usage's exit 2, in serve and in
// check (which judges the configuration serve would run with).
func TestPowerOffReturnsFlag(t *testing.T) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	var cfg serveConfig
	cfg.flags(fs)
	if err := fs.Parse(nil); err != nil || cfg.powerOff != powerOffAtShutoff {
		t.Errorf("default %q (%v), want %s", cfg.powerOff, err, powerOffAtShutoff)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, args := range [][]string{
		{"serve", "--demo", "--listen-tcp", "127.0.0.1:0", "--power-off-returns", "later"},
		{"check", "--demo", "--power-off-returns", "later"},
	} {
		var out, errb strings.Builder
		if code := run(ctx, args, &out, &errb); code != 2 || !strings.Contains(errb.String(), `--power-off-returns "later": want shutoff or accepted`) {
			t.Errorf("%q: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
