package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"quintupleo/cloudsim"
)

// simConfig is the configuration of `quintupleo sim`.
type simConfig struct {
	listen          string
	nodes           int
	cloudsYAML      string
	cloudName       string
	transitionDelay time.Duration
	shutdownDelay   time.Duration
	tokenTTL        time.Duration
	faults          []string
	logLevel        logLevel
	requestLogSize  int
	role            string
	maxMicroversion string
	withoutCinder   bool
	computeQuota    string
	blockQuota      string
	importHosts     []string
	importPorts     []int
}

// Validate checks the flags that pflag cannot.
func (c *simConfig) Validate() error {
	switch {
	case c.listen == "":
		return errors.New("--listen is required")
	case c.nodes < 0:
		return fmt.Errorf("--nodes %d < 0", c.nodes)
	case c.cloudName == "":
		return errors.New("--cloud-name is empty")
	case c.tokenTTL < 0:
		return fmt.Errorf("--token-ttl %v < 0", c.tokenTTL)
	}
	_, err := c.options()
	return err
}

// options are the cloudsim options the flags ask for (faults and logger
// aside), refused as a usage error when cloudsim would refuse them.
func (c *simConfig) options() (cloudsim.Options, error) {
	opts := cloudsim.Options{
		Nodes:              c.nodes,
		TransitionDelay:    c.transitionDelay,
		ShutdownDelay:      c.shutdownDelay,
		TokenTTL:           c.tokenTTL,
		RequestLogSize:     c.requestLogSize,
		Role:               c.role,
		MaxMicroversion:    c.maxMicroversion,
		WithoutCinder:      c.withoutCinder,
		ComputeQuota:       cloudsim.DefaultComputeQuota,
		BlockQuota:         cloudsim.DefaultBlockQuota,
		ImportAllowedHosts: c.importHosts,
		ImportAllowedPorts: c.importPorts,
	}
	if c.transitionDelay == 0 {
		opts.TransitionDelay = -1 // the flag's 0 means "no delay", not "default"
	}
	q := &opts.ComputeQuota
	if err := parseQuota("--compute-quota", c.computeQuota, map[string]*int{
		"instances": &q.Instances, "cores": &q.Cores, "ram": &q.RAM}); err != nil {
		return opts, err
	}
	b := &opts.BlockQuota
	if err := parseQuota("--block-quota", c.blockQuota, map[string]*int{
		"volumes": &b.Volumes, "gigabytes": &b.Gigabytes, "snapshots": &b.Snapshots}); err != nil {
		return opts, err
	}
	for _, p := range c.importPorts {
		if p < 1 || p > 65535 {
			return opts, fmt.Errorf("--import-allowed-port %d: not a port", p)
		}
	}
	return opts, opts.Check()
}

// parseQuota sets the fields named in spec ("key=N,key=N"; -1 is
// unlimited, as in Nova and Cinder) and leaves the others as they are.
func parseQuota(flag, spec string, fields map[string]*int) error {
	if spec == "" {
		return nil
	}
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(kv, "=")
		field, known := fields[strings.TrimSpace(k)]
		if !ok || !known {
			return fmt.Errorf("%s %q: want %s=N,… (N ≥ -1)", flag, kv, strings.Join(slices.Sorted(maps.Keys(fields)), "|"))
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < -1 {
			return fmt.Errorf("%s %q: %q is not a quota (a number, -1 for unlimited)", flag, kv, v)
		}
		*field = n
	}
	return nil
}

// runSim runs cloudsim until ctx is cancelled.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg simConfig
	fs := pflag.NewFlagSet("sim", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:5000", "address to serve Keystone, Nova, Neutron, Glance and Cinder on")
	fs.IntVar(&cfg.nodes, "nodes", 0, "pre-create node-0..node-(N-1), SHUTOFF, as realcloud's nodes.sh N")
	fs.StringVar(&cfg.cloudsYAML, "clouds-yaml", "", "write a clouds.yaml for this sim to `FILE`")
	fs.StringVar(&cfg.cloudName, "cloud-name", "sim", "cloud name in the written clouds.yaml")
	fs.DurationVar(&cfg.transitionDelay, "transition-delay", cloudsim.DefaultTransitionDelay, "duration of one step of a Nova task (powering-on, rebooting, …)")
	fs.DurationVar(&cfg.shutdownDelay, "shutdown-delay", 0, "extra graceful-shutdown time modelled for os-stop")
	fs.DurationVar(&cfg.tokenTTL, "token-ttl", time.Hour, "Keystone token lifetime")
	fs.StringArrayVar(&cfg.faults, "fault", nil, "inject a fault: `SPEC` like 'endpoint=servers/detail,latency=200ms' (repeatable; see docs/cloudsim.md)")
	fs.Var(&cfg.logLevel, "log-level", "log level: debug (one line per request), info, warn, error")
	fs.IntVar(&cfg.requestLogSize, "request-log-size", cloudsim.DefaultRequestLogSize, "entries kept in the request log (GET /_sim/requests)")
	fs.StringVar(&cfg.role, "role", cloudsim.RoleAdmin, "the user's role in its project: admin, or member (Neutron's policy then applies, e.g. no chosen MACs on others' networks)")
	fs.StringVar(&cfg.maxMicroversion, "max-microversion", "2.93", "newest compute microversion served, as an older Nova's (newer requests get 406)")
	fs.BoolVar(&cfg.withoutCinder, "without-cinder", false, "leave Cinder out of the service catalog, as a cloud without block storage")
	fs.StringVar(&cfg.computeQuota, "compute-quota", "", "the project's Nova quota: `instances=N,cores=N,ram=MB` (any subset; -1 unlimited; default the realcloud's admin project's)")
	fs.StringVar(&cfg.blockQuota, "block-quota", "", "the project's Cinder quota: `volumes=N,gigabytes=N,snapshots=N` (any subset; -1 unlimited)")
	fs.StringArrayVar(&cfg.importHosts, "import-allowed-host", nil, "when given, the only `HOST`s Glance's web-download import fetches from, loopback ones then included (repeatable; Glance's allowed_hosts; default any host but loopback and link-local)")
	fs.IntSliceVar(&cfg.importPorts, "import-allowed-port", nil, "the only `PORT`s a web-download URL may name (repeatable; Glance's allowed_ports; default 80 and 443)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: quintupleo sim [flags]\n\nRun cloudsim, a simulated OpenStack (Keystone v3, Nova, Neutron, Glance, Cinder) until interrupted.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr, cfg.Validate); !ok {
		return code
	}
	opts, err := cfg.options()
	if err != nil { // Validate has refused it already
		fmt.Fprintf(stderr, "quintupleo sim: %v\n", err)
		return 2
	}
	opts.Logger = newLogger(stderr, cfg.logLevel, "text")
	for _, spec := range cfg.faults {
		f, err := cloudsim.ParseFault(spec)
		if err != nil {
			fmt.Fprintf(stderr, "quintupleo sim: --fault: %v\n", err)
			return 2
		}
		opts.Faults = append(opts.Faults, f)
	}
	sim, err := cloudsim.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "quintupleo sim: %v\n", err)
		return 1
	}
	if err := sim.Start(cfg.listen); err != nil {
		fmt.Fprintf(stderr, "quintupleo sim: %v\n", err)
		_ = sim.Close()
		return 1
	}
	if cfg.cloudsYAML != "" {
		if err := os.WriteFile(cfg.cloudsYAML, sim.CloudsYAML(cfg.cloudName), 0o600); err != nil {
			fmt.Fprintf(stderr, "quintupleo sim: %v\n", err)
			_ = sim.Close()
			return 1
		}
	}
	fmt.Fprintf(stdout, "cloudsim listening on %s (auth_url %s, user %s, password %s, project %s, %d nodes)\n",
		sim.URL(), sim.AuthURL(), cloudsim.Username, cloudsim.Password, cloudsim.ProjectName, cfg.nodes)
	if cfg.cloudsYAML != "" {
		fmt.Fprintf(stdout, "clouds.yaml written to %s (cloud %q)\n", cfg.cloudsYAML, cfg.cloudName)
	}
	<-ctx.Done()
	if err := sim.Close(); err != nil {
		fmt.Fprintf(stderr, "quintupleo sim: close: %v\n", err)
		return 1
	}
	return 0
}
