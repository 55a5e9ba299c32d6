package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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
	return nil
}

// runSim runs cloudsim until ctx is cancelled.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg simConfig
	fs := pflag.NewFlagSet("sim", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:5000", "address to serve Keystone, Nova, Neutron and Glance on")
	fs.IntVar(&cfg.nodes, "nodes", 0, "pre-create node-0..node-(N-1), SHUTOFF, as realcloud's nodes.sh N")
	fs.StringVar(&cfg.cloudsYAML, "clouds-yaml", "", "write a clouds.yaml for this sim to `FILE`")
	fs.StringVar(&cfg.cloudName, "cloud-name", "sim", "cloud name in the written clouds.yaml")
	fs.DurationVar(&cfg.transitionDelay, "transition-delay", cloudsim.DefaultTransitionDelay, "duration of one step of a Nova task (powering-on, rebooting, …)")
	fs.DurationVar(&cfg.shutdownDelay, "shutdown-delay", 0, "extra graceful-shutdown time modelled for os-stop")
	fs.DurationVar(&cfg.tokenTTL, "token-ttl", time.Hour, "Keystone token lifetime")
	fs.StringArrayVar(&cfg.faults, "fault", nil, "inject a fault: `SPEC` like 'endpoint=servers/detail,latency=200ms' (repeatable; see docs/cloudsim.md)")
	fs.Var(&cfg.logLevel, "log-level", "log level: debug (one line per request), info, warn, error")
	fs.IntVar(&cfg.requestLogSize, "request-log-size", cloudsim.DefaultRequestLogSize, "entries kept in the request log (GET /_sim/requests)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: quintupleo sim [flags]\n\nRun cloudsim, a simulated OpenStack (Keystone v3, Nova, Neutron, Glance) until interrupted.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr, cfg.Validate); !ok {
		return code
	}
	opts := cloudsim.Options{
		Nodes:           cfg.nodes,
		TransitionDelay: cfg.transitionDelay,
		ShutdownDelay:   cfg.shutdownDelay,
		TokenTTL:        cfg.tokenTTL,
		RequestLogSize:  cfg.requestLogSize,
		Logger:          newLogger(stderr, cfg.logLevel, "text"),
	}
	if cfg.transitionDelay == 0 {
		opts.TransitionDelay = -1 // the flag's 0 means "no delay", not "default"
	}
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
