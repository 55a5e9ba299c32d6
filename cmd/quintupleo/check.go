package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"quintupleo/internal/stack"
	"quintupleo/nodes"
)

// `quintupleo check` connects to the cloud serve would use, with serve's
// own cloud, node and boot-device flags, and says in plain words what will
// work and what will not, each line with the fix (docs/check.md).

// checkConfig is everything `quintupleo check` is told.
type checkConfig struct {
	cloudFlags
	nodeFlags
	bootFlags
	provisionNetwork string
	probeWrites      bool
	logLevel         logLevel

	httpClient *http.Client // not a flag: tests observe what is sent to the cloud
}

func (c *checkConfig) flags(fs *pflag.FlagSet) {
	c.cloudFlags.register(fs, "check")
	c.nodeFlags.register(fs)
	c.bootFlags.register(fs)
	fs.StringVar(&c.provisionNetwork, "provision-network", "", "the network the nodes PXE-boot on (default: the network of most of the nodes' ports)")
	fs.BoolVar(&c.probeWrites, "probe-writes", false, "verify by writing: set and remove a metadata key on one node, create and delete a port with a chosen MAC")
	c.logLevel.Level = slog.LevelWarn
	fs.Var(&c.logLevel, "log-level", "debug, info, warn or error (the report itself goes to stdout)")
}

func (c *checkConfig) validate() error {
	if err := c.cloudFlags.validate(); err != nil {
		return err
	}
	if c.cloudTimeout <= 0 {
		return errors.New("--cloud-timeout must be positive")
	}
	if err := c.bootFlags.validate(); err != nil {
		return err
	}
	return c.nodeFlags.validate()
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("check", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg checkConfig
	cfg.flags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: quintupleo check [--demo | --os-cloud NAME] [flags]")
		fmt.Fprintln(stderr, "\nChecks that the cloud can do what serve needs; one line per check: OK, WARN or FAIL, with the fix.")
		fmt.Fprintln(stderr, "Exit status 0 without FAIL, 1 with one, 2 on usage errors.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr, cfg.validate); !ok {
		return code
	}
	r := runChecks(ctx, cfg, newLogger(stderr, cfg.logLevel, "text"))
	r.write(stdout)
	if r.failed() {
		return 1
	}
	return 0
}

// verdict is the outcome of one check.
type verdict string

const (
	vOK   verdict = "OK"
	vWarn verdict = "WARN"
	vFail verdict = "FAIL"
)

// finding is one line of the report.
type finding struct {
	verdict verdict
	topic   string
	what    string
	fix     string // "" when there is nothing to do
}

type report struct{ findings []finding }

func (r *report) add(v verdict, topic, fix, format string, args ...any) {
	r.findings = append(r.findings, finding{verdict: v, topic: topic, what: fmt.Sprintf(format, args...), fix: fix})
}

func (r *report) failed() bool {
	for _, f := range r.findings {
		if f.verdict == vFail {
			return true
		}
	}
	return false
}

func (r *report) write(w io.Writer) {
	count := map[verdict]int{}
	for _, f := range r.findings {
		count[f.verdict]++
		line := fmt.Sprintf("%-4s %s: %s", f.verdict, f.topic, f.what)
		if f.fix != "" {
			line += "; fix: " + f.fix
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "quintupleo check: %d OK, %d WARN, %d FAIL\n", count[vOK], count[vWarn], count[vFail])
}

// checker runs the checks in order; later ones use what earlier ones found.
type checker struct {
	cfg   checkConfig
	log   *slog.Logger
	r     report
	cloud *nodes.Cloud
	id    nodes.Identity
	mv    nodes.Microversions
	nodes []nodes.Node // the servers the filters make nodes
}

func runChecks(ctx context.Context, cfg checkConfig, log *slog.Logger) *report {
	st := stack.New(log) // owns the --demo cloud
	defer st.Close()
	c := &checker{cfg: cfg, log: log}
	if !c.connect(ctx, st) {
		return &c.r
	}
	c.roles()
	c.storage()
	if !c.microversions(ctx) {
		return &c.r
	}
	if !c.listNodes(ctx) {
		return &c.r
	}
	c.bootStrategy(ctx)
	c.metadata(ctx)
	c.network(ctx)
	c.shutdownTimeouts(ctx)
	return &c.r
}

// connect authenticates and reads the token's scope.
func (c *checker) connect(ctx context.Context, st *stack.Stack) bool {
	cloudCfg := c.cfg.cloudConfig(c.cfg.httpClient)
	if c.cfg.demo {
		var err error
		if cloudCfg, err = startDemo(st, c.cfg.cloudFlags, cloudCfg, c.log); err != nil {
			c.r.add(vFail, "auth", "", "%v", err)
			return false
		}
	}
	cloud, err := nodes.Connect(ctx, cloudCfg)
	if err != nil {
		c.r.add(vFail, "auth", authFix(err), "%v", err)
		return false
	}
	c.cloud = cloud
	if c.id, err = cloud.Identity(); err != nil {
		c.r.add(vFail, "auth", "use Keystone v3 credentials (clouds.yaml identity_api_version: 3)", "%v", err)
		return false
	}
	if c.id.Project == "" {
		c.r.add(vFail, "auth", "name a project (project_name and project_domain_name in clouds.yaml, or OS_PROJECT_NAME)",
			"user %s (domain %s) has a token without a project: servers live in a project", c.id.User, c.id.UserDomain)
		return false
	}
	c.r.add(vOK, "auth", "", "user %s (domain %s), token scoped to project %s (domain %s)",
		c.id.User, c.id.UserDomain, c.id.Project, c.id.ProjectDomain)
	return true
}

// authFix says what to do about a failed authentication.
func authFix(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "401"):
		return "Keystone refused the credentials: check the user, password (or application credential), user and project domain " +
			"of the cloud in clouds.yaml or OS_*; `openstack token issue` with the same settings must work"
	case strings.Contains(msg, "no cloud"), strings.Contains(msg, "clouds.yaml"):
		return "source the project's openrc file, or write its clouds.yaml entry and give --os-cloud NAME"
	case strings.Contains(msg, "endpoint"):
		return "the catalog lacks a service quintupleo needs (compute, network, image): ask the operator, or check region_name"
	}
	return "check auth_url and that the cloud is reachable from here; if it is merely slow, raise --cloud-timeout"
}

// roles judges the token's roles against the default policies of Nova and
// Neutron (they cannot be read through the API).
func (c *checker) roles() {
	roles := strings.Join(c.id.Roles, ", ")
	switch {
	case c.id.HasRole("admin"):
		c.r.add(vOK, "roles", "", "%s: admin may do everything quintupleo asks of Nova and Neutron under their default policies", roles)
	case c.id.HasRole("member"):
		c.r.add(vOK, "roles", "", "%s: member may power, rescue, rebuild and tag the project's servers under Nova's default policy; "+
			"admin-only details (instance names) are not shown to it", roles)
	default:
		c.r.add(vFail, "roles", fmt.Sprintf("openstack role add --user %s --project %s member", c.id.User, c.id.Project),
			"%s: without member, Nova's default policy refuses starting, stopping, rescuing and writing metadata", orNone(roles))
	}
}

// storage: libvirt's storage pools and volumes are Cinder's.
func (c *checker) storage() {
	for _, t := range []string{"block-storage", "volumev3", "volumev2", "volume"} {
		if slices.Contains(c.id.Services, t) {
			c.r.add(vOK, "storage", "", "Cinder is in the catalog (%s)", t)
			return
		}
	}
	c.r.add(vWarn, "storage", "deploy Cinder (block-storage) in this cloud, or leave it if no client uses libvirt storage",
		"no Cinder (block-storage or volumev3) in the catalog: storage pools and volumes have nothing behind them, "+
			"and servers cannot boot from volumes")
}

// microversions checks the compute API's range against what quintupleo and
// the chosen strategy need. Volume-backed servers are judged once the
// nodes are known (bootStrategy).
func (c *checker) microversions(ctx context.Context) bool {
	mv, err := c.cloud.ComputeMicroversions(ctx)
	if err != nil {
		c.r.add(vFail, "compute", "check that the compute endpoint of the catalog is Nova's v2.1 API", "%v", err)
		return false
	}
	c.mv = mv
	need := minorOf(nodes.ComputeMicroversion)
	if !mv.Supports(need) {
		c.r.add(vFail, "compute", "upgrade Nova to Train (2.79) or newer",
			"Nova serves microversions 2.%d to 2.%d; quintupleo speaks %s (flavor in the server, Train) and cannot work with this Nova; nothing more checked",
			mv.Min, mv.Max, nodes.ComputeMicroversion)
		return false
	}
	var have, lack []string
	for _, f := range []struct {
		minor int
		what  string
	}{{17, "trigger_crash_dump 2.17"}, {87, "rescue of volume-backed servers 2.87"}, {93, "rebuild of volume-backed servers with another image 2.93"}} {
		if mv.Supports(f.minor) {
			have = append(have, f.what)
		} else {
			lack = append(lack, f.what)
		}
	}
	if len(lack) == 0 {
		c.r.add(vOK, "compute", "", "Nova serves microversions 2.%d to 2.%d: quintupleo's %s, %s", mv.Min, mv.Max, nodes.ComputeMicroversion, strings.Join(have, ", "))
	} else {
		c.r.add(vWarn, "compute", "upgrade Nova (2.87 is Ussuri, 2.93 Zed) if you need them",
			"Nova serves microversions 2.%d to 2.%d: quintupleo's %s works; missing: %s", mv.Min, mv.Max, nodes.ComputeMicroversion, strings.Join(lack, ", "))
	}
	return true
}

func minorOf(v string) int {
	var major, minor int
	fmt.Sscanf(v, "%d.%d", &major, &minor)
	return minor
}

// listNodes says which servers are nodes under the filters, and why the
// others are not.
func (c *checker) listNodes(ctx context.Context) bool {
	all, err := c.cloud.Servers(ctx)
	if err != nil {
		c.r.add(vFail, "nodes", "check the compute endpoint and the user's roles", "%v", err)
		return false
	}
	var invCfg nodes.InventoryConfig
	c.cfg.filter(&invCfg)
	excluded := map[nodes.Exclusion][]string{}
	for _, n := range all {
		if why := invCfg.Excludes(n); why != nodes.Included {
			excluded[why] = append(excluded[why], n.Name)
		} else {
			c.nodes = append(c.nodes, n)
		}
	}
	sort.Slice(c.nodes, func(i, j int) bool { return c.nodes[i].Name < c.nodes[j].Name })
	var why []string
	if names := excluded[nodes.ExcludedByName]; len(names) > 0 {
		why = append(why, fmt.Sprintf("%d by --node-name-regex %q (%s)", len(names), c.cfg.nameRegex, sample(names)))
	}
	if names := excluded[nodes.ExcludedByMetadata]; len(names) > 0 {
		why = append(why, fmt.Sprintf("%d by --node-metadata %q (%s)", len(names), c.cfg.nodeMetadata, sample(names)))
	}
	names := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		names[i] = n.Name
	}
	switch {
	case len(all) == 0:
		c.r.add(vFail, "nodes", "create the node servers in this project, or point --os-cloud at the project that has them",
			"project %s has no servers", c.id.Project)
		return false
	case len(c.nodes) == 0:
		c.r.add(vFail, "nodes", "loosen --node-name-regex/--node-metadata (or tag the nodes: openstack server set --property KEY=VALUE SERVER)",
			"0 of %d servers are nodes; excluded: %s", len(all), strings.Join(why, "; "))
		return false
	case len(why) == 0:
		c.r.add(vOK, "nodes", "", "%d of %d servers are nodes (%s); no filter", len(c.nodes), len(all), sample(names))
	default:
		c.r.add(vOK, "nodes", "", "%d of %d servers are nodes (%s); excluded: %s", len(c.nodes), len(all), sample(names), strings.Join(why, "; "))
	}
	return true
}

// sample is a few names, and how many more.
func sample(names []string) string {
	const few = 3
	s := append([]string{}, names...)
	sort.Strings(s)
	if len(s) <= few {
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(s[:few], ", "), len(s)-few)
}

func orNone(s string) string {
	if s == "" {
		return "no roles"
	}
	return s
}
