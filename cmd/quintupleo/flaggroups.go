package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"quintupleo/nodes"
)

// The flag groups serve and check share: which cloud, which of its servers
// are nodes, and how a boot device reaches the cloud. check must judge the
// configuration serve would run with, so both read the same flags.

// cloudFlags say which cloud to use.
type cloudFlags struct {
	osCloud      string
	cloudsYAML   string
	demo         bool
	demoNodes    int
	cloudTimeout time.Duration
}

func (c *cloudFlags) register(fs *pflag.FlagSet, demoWhat string) {
	fs.StringVar(&c.osCloud, "os-cloud", "", "cloud name in clouds.yaml (default $OS_CLOUD; without one, the OS_* variables)")
	fs.StringVar(&c.cloudsYAML, "clouds-yaml", "", "explicit clouds.yaml path (default: $OS_CLIENT_CONFIG_FILE and the standard search path)")
	fs.BoolVar(&c.demo, "demo", false, demoWhat+" an embedded cloudsim instead of a real cloud (no cloud needed)")
	fs.IntVar(&c.demoNodes, "demo-nodes", 4, "nodes the embedded cloudsim starts with (with --demo)")
	fs.DurationVar(&c.cloudTimeout, "cloud-timeout", nodes.DefaultRequestTimeout, "deadline of one request to the cloud, reading its answer included (docs/limits.md)")
}

func (c *cloudFlags) validate() error {
	if c.demo && (c.osCloud != "" || c.cloudsYAML != "") {
		return errors.New("--demo runs its own cloud; drop --os-cloud/--clouds-yaml")
	}
	return nil
}

// cloudConfig is the cloud the flags name (before --demo replaces it).
func (c *cloudFlags) cloudConfig(httpClient *http.Client) nodes.CloudConfig {
	return nodes.CloudConfig{Cloud: c.osCloud, CloudsYAML: c.cloudsYAML, HTTPClient: httpClient, UserAgent: "quintupleo/" + version,
		RequestTimeout: c.cloudTimeout}
}

// nodeFlags say which servers are nodes.
type nodeFlags struct {
	nameRegex    string
	nodeMetadata string
}

func (c *nodeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.nameRegex, "node-name-regex", "", "only servers whose name matches this regular expression are domains")
	fs.StringVar(&c.nodeMetadata, "node-metadata", "", "only servers with this metadata KEY or KEY=VALUE are domains")
}

func (c *nodeFlags) validate() error {
	if c.nameRegex != "" {
		if _, err := regexp.Compile(c.nameRegex); err != nil {
			return fmt.Errorf("--node-name-regex: %w", err)
		}
	}
	return nil
}

// filter puts the node filter into cfg (validate has checked the regex).
func (c *nodeFlags) filter(cfg *nodes.InventoryConfig) {
	if c.nameRegex != "" {
		cfg.NameRegex = regexp.MustCompile(c.nameRegex)
	}
	if c.nodeMetadata != "" {
		cfg.MetadataKey, cfg.MetadataValue, _ = strings.Cut(c.nodeMetadata, "=")
	}
}

// bootFlags say how a boot device chosen by a client reaches the cloud
// (docs/boot-device.md), and when a power-off returns (docs/semantics.md).
type bootFlags struct {
	bootStrategy  string
	ipxeImage     string
	ipxeImageUEFI string
	stateDir      string
	allowRebuild  bool
	powerOff      string
}

// The values of --power-off-returns.
const (
	powerOffAtShutoff  = "shutoff"
	powerOffAtAccepted = "accepted"
)

func (c *bootFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.bootStrategy, "boot-strategy", "metadata", "how virsh edit/define of <boot dev> reaches the cloud: "+
		"metadata (OVB's libvirt:pxe-first server metadata; for clouds with OVB's Nova patch), "+
		"rescue (network boot = Nova rescue with the iPXE image, disk kept; any Nova), "+
		"rebuild (network boot = rebuild with the iPXE image: DESTROYS the disk; needs --allow-destructive-rebuild)")
	fs.StringVar(&c.ipxeImage, "ipxe-image", "ipxe-boot", "Glance image (name or ID) that boots iPXE, for the rescue and rebuild strategies")
	fs.StringVar(&c.ipxeImageUEFI, "ipxe-image-uefi", "", "iPXE image for servers whose image has hw_firmware_type=uefi (default: --ipxe-image)")
	fs.StringVar(&c.stateDir, "state-dir", "", "directory for local state: the SSH host key (see --ssh-host-key); a boot-devices.json an earlier rescue strategy left there is moved into the cloud at start and removed")
	fs.BoolVar(&c.allowRebuild, "allow-destructive-rebuild", false, "allow --boot-strategy rebuild, which wipes a server's disk at every network boot")
	fs.StringVar(&c.powerOff, "power-off-returns", powerOffAtShutoff, "when virsh destroy/shutdown return: shutoff (once Nova reports SHUTOFF) or "+
		"accepted (once Nova accepted os-stop; the domain reads 'in shutdown' until SHUTOFF), for BMC clients that wait less than Nova's graceful stop")
}

func (c *bootFlags) validate() error {
	if c.powerOff != powerOffAtShutoff && c.powerOff != powerOffAtAccepted {
		return fmt.Errorf("--power-off-returns %q: want %s or %s", c.powerOff, powerOffAtShutoff, powerOffAtAccepted)
	}
	return nil
}

func (c *bootFlags) options() nodes.BootOptions {
	return nodes.BootOptions{IPXEImage: c.ipxeImage, IPXEImageUEFI: c.ipxeImageUEFI, AllowRebuild: c.allowRebuild}
}

// helpGroups is the order and the members of serve's --help groups (and of
// docs/configuration.md's sections): a flag in none of them is listed under
// "other", which TestServeHelpGroupsEveryFlag refuses.
func helpGroups() []struct {
	title string
	flags []string
} {
	return []struct {
		title string
		flags []string
	}{
		{"listeners", []string{"listen-tcp", "listen-tls", "listen-unix", "read-only-unix", "listen-ssh", "listen-redfish", "listen-metrics", "hostname"}},
		{"cloud", []string{"os-cloud", "clouds-yaml", "cloud-timeout", "demo", "demo-nodes", "refresh-interval", "refresh-timeout", "action-timeout", "poll-interval"}},
		{"nodes", []string{"node-name-regex", "node-metadata"}},
		{"boot device", []string{"boot-strategy", "ipxe-image", "ipxe-image-uefi", "state-dir", "allow-destructive-rebuild", "power-off-returns"}},
		{"provisioning, networks and storage", []string{"define-flavor", "define-image", "define-network", "network-map", "network-name-regex",
			"network-allow-foreign", "no-networks", "storage-pool", "storage-pool-path"}},
		{"security", []string{"insecure-listen-any", "insecure-metrics-any", "tls-cert", "tls-key", "tls-ca", "tls-crl", "tls-allowed-dn", "tls-read-only-dn",
			"ssh-authorized-keys", "ssh-host-key", "redfish-auth-file", "redfish-read-only-auth-file", "redfish-http", "redfish-insecure-http-any",
			"redfish-session-timeout"}},
		{"limits", []string{"max-clients", "max-anonymous-clients", "open-timeout", "ssh-session-memory", "ssh-memory-total",
			"keepalive-interval", "keepalive-count", "max-client-requests", "max-event-callbacks",
			"ssh-max-conns", "ssh-max-startups", "ssh-max-auth-tries", "ssh-login-grace-time", "ssh-auth-fail-penalty",
			"ssh-noauth-penalty", "ssh-grace-penalty",
			"tls-handshake-timeout", "redfish-max-conns", "redfish-idle-timeout", "redfish-read-timeout", "redfish-max-sessions",
			"redfish-max-sessions-per-account", "redfish-auth-fail-penalty"}},
		{"observability", []string{"log-level", "log-format"}},
		{"configuration", []string{"config"}},
	}
}

// printGroupedFlags prints fs's flags under the titles of helpGroups, then
// any flag no group names under "other".
func printGroupedFlags(w io.Writer, fs *pflag.FlagSet) {
	listed := map[string]bool{}
	section := func(title string, names []string) {
		sub := pflag.NewFlagSet(title, pflag.ContinueOnError)
		for _, n := range names {
			if f := fs.Lookup(n); f != nil {
				sub.AddFlag(f)
				listed[n] = true
			}
		}
		if sub.HasFlags() {
			sub.SortFlags = false
			fmt.Fprintf(w, "\n%s:\n%s", title, sub.FlagUsages())
		}
	}
	for _, g := range helpGroups() {
		section(g.title, g.flags)
	}
	var rest []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !listed[f.Name] {
			rest = append(rest, f.Name)
		}
	})
	section("other", rest)
}
