package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"quintupleo/cloudsim"
	"quintupleo/driver/domain"
	"quintupleo/driver/storage"
	"quintupleo/internal/stack"
	"quintupleo/internal/stack/sshstack"
	"quintupleo/nodes"
	"quintupleo/rpc"
	qssh "quintupleo/ssh"
	"quintupleo/ssh/budget"
)

// serveConfig is everything `quintupleo serve` is told.
type serveConfig struct {
	cloudFlags
	nodeFlags
	bootFlags
	networkFlags
	listenTCP      string
	listenUnix     string
	readOnlyUnix   string
	insecureAnyTCP bool
	hostname       string
	refresh        time.Duration
	actionTimeout  time.Duration
	pollInterval   time.Duration
	refreshTimeout time.Duration
	obs            obsFlags // --listen-metrics, --log-* (observability.go)
	listenSSH      string
	sshAuthKeys    string
	sshHostKey     string
	// libvirt connection limits (docs/limits.md)
	maxClients, maxAnonClients int
	openTimeout                time.Duration
	rpcLimits                  rpcLimitFlags // --keepalive-*, --max-client-requests, --max-event-callbacks
	sshSessionMem              budget.Size
	sshLimits                  sshLimitFlags // --ssh-max-*, --ssh-login-grace-time, --ssh-auth-fail-penalty
	sshMemoryTotal             budget.Size
	// define of new domains (docs/semantics.md, "Provisioning")
	defineFlavor, defineImage, defineNetwork string
	networkMap                               map[string]string
	storagePool, storagePoolPath             string       // docs/semantics.md, "Storage"
	tls                                      tlsFlags     // --listen-tls, --tls-* (tls.go)
	redfish                                  redfishFlags // --listen-redfish, --redfish-* (redfish.go)

	httpClient *http.Client // not a flag: tests observe what is sent to the cloud
}

func (c *serveConfig) flags(fs *pflag.FlagSet) {
	c.cloudFlags.register(fs, "serve")
	c.nodeFlags.register(fs)
	c.bootFlags.register(fs)
	c.networkFlags.register(fs)
	fs.StringVar(&c.listenTCP, "listen-tcp", "127.0.0.1:16509", "libvirt plain-TCP listener (qemu+tcp://); empty to disable")
	fs.StringVar(&c.listenUnix, "listen-unix", "", "libvirt read-write unix socket path (qemu+unix:// with ?socket=)")
	fs.StringVar(&c.readOnlyUnix, "read-only-unix", "", "libvirt read-only unix socket path")
	fs.BoolVar(&c.insecureAnyTCP, "insecure-listen-any", false, "allow --listen-tcp on a non-loopback address (plain TCP has no authentication)")
	fs.StringVar(&c.hostname, "hostname", "", "host name reported to clients (default: this machine's)")
	fs.DurationVar(&c.refresh, "refresh-interval", 2*time.Second, "how often the shared cache lists the cloud's servers; out-of-band changes show within it")
	fs.DurationVar(&c.actionTimeout, "action-timeout", 5*time.Minute, "how long a power action may take to reach its target state in the cloud")
	fs.DurationVar(&c.refreshTimeout, "refresh-timeout", 5*time.Minute, "deadline of one whole listing of the cloud's servers, every page included (docs/limits.md)")
	fs.DurationVar(&c.pollInterval, "poll-interval", 100*time.Millisecond, "first wait between polls of a server during a power action (doubles up to 2s)")
	fs.StringVar(&c.listenSSH, "listen-ssh", "", "SSH endpoint (host:port) running the virsh command lines clients send to a libvirt host, and qemu+ssh://")
	fs.StringVar(&c.sshAuthKeys, "ssh-authorized-keys", "", "OpenSSH authorized_keys file for --listen-ssh (any user name is accepted with a listed key)")
	fs.StringVar(&c.sshHostKey, "ssh-host-key", "", "SSH host key file, generated on first start (default: ssh_host_keys in --state-dir, else in the user's config directory)")
	c.sshSessionMem, c.sshMemoryTotal = 64<<20, 512<<20
	fs.Var(&c.sshSessionMem, "ssh-session-memory", "memory one SSH session's command lines may hold at once (tools' buffers, shell variables); beyond it the command fails")
	fs.Var(&c.sshMemoryTotal, "ssh-memory-total", "memory all SSH sessions together may hold at once")
	c.obs.register(fs)
	fs.IntVar(&c.maxClients, "max-clients", 0, "libvirt connections (TCP and unix) served at once; 0: libvirtd's 5000, "+
		"or less if the open-file limit would not keep a quarter (at least 64) free for SSH and the cloud")
	fs.IntVar(&c.maxAnonClients, "max-anonymous-clients", rpc.DefaultMaxAnonymousClients, "libvirt connections that have not "+
		"completed CONNECT_OPEN; when full, the oldest of them is closed to admit a new one")
	fs.DurationVar(&c.openTimeout, "open-timeout", rpc.DefaultOpenTimeout, "close a libvirt connection that has not completed CONNECT_OPEN within this; 0 disables")
	fs.StringVar(&c.storagePool, "storage-pool", "default", "name of the storage pool whose volumes are the project's Cinder volumes")
	fs.StringVar(&c.storagePoolPath, "storage-pool-path", "/var/lib/libvirt/images", "target directory of the storage pool: a volume's path is this/NAME (no file exists there)")
	c.tls.flags(fs)
	c.redfish.flags(fs)
	c.rpcLimits.register(fs)
	c.sshLimits.register(fs)
	c.provisionFlags(fs)
}

// provisionFlags are the flags of define of a new domain (docs/semantics.md,
// Provisioning).
func (c *serveConfig) provisionFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.defineFlavor, "define-flavor", "", "flavor of every server a define creates (default: the smallest that fits the XML's memory and vCPUs)")
	fs.StringVar(&c.defineImage, "define-image", "ipxe-boot", "boot image of the servers a define creates")
	fs.StringVar(&c.defineNetwork, "define-network", "provision", "network of a new domain's interfaces whose <source> network or bridge the cloud does not have")
	fs.StringToStringVar(&c.networkMap, "network-map", nil, "XML network/bridge name=cloud network name (repeatable or comma-separated)")
}

// Validate checks what pflag cannot: flags that conflict or need another.
func (c *serveConfig) Validate() error {
	if err := c.cloudFlags.validate(); err != nil {
		return err
	}
	if err := c.nodeFlags.validate(); err != nil {
		return err
	}
	if err := c.bootFlags.validate(); err != nil {
		return err
	}
	if err := c.networkFlags.validate(); err != nil {
		return err
	}
	if c.listenTCP == "" && c.listenUnix == "" && c.readOnlyUnix == "" && c.listenSSH == "" && c.tls.listen == "" && c.redfish.listen == "" {
		return errors.New("no listener: give --listen-tcp, --listen-tls, --listen-unix, --read-only-unix, --listen-ssh or --listen-redfish")
	}
	if err := c.redfish.validate(); err != nil {
		return err
	}
	if err := c.rpcLimits.validate(); err != nil {
		return err
	}
	if err := c.sshLimits.validate(); err != nil {
		return err
	}
	if c.listenSSH != "" && c.sshAuthKeys == "" {
		return errors.New("--listen-ssh needs --ssh-authorized-keys (SSH is key-based)")
	}
	if c.maxClients < 0 || c.maxAnonClients < 0 || c.openTimeout < 0 {
		return errors.New("--max-clients, --max-anonymous-clients and --open-timeout must not be negative")
	}
	if c.refresh <= 0 || c.actionTimeout <= 0 || c.cloudTimeout <= 0 || c.refreshTimeout <= 0 {
		return errors.New("--refresh-interval, --action-timeout, --cloud-timeout and --refresh-timeout must be positive")
	}
	return nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg serveConfig
	cfg.flags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: quintupleo serve [--demo | --os-cloud NAME] [flags]")
		fmt.Fprintln(stderr, "\nServes the libvirt remote protocol; every domain is a server of the cloud.")
		printGroupedFlags(stderr, fs)
	}
	if code, ok := parseFlags(fs, args, stderr, cfg.Validate); !ok {
		return code
	}
	log := cfg.obs.logger(stderr)
	if err := serve(ctx, cfg, log, stdout); err != nil {
		log.Error("serve failed", "err", err)
		return 1
	}
	return 0
}

// serve builds the stack and runs it until ctx ends.
func serve(ctx context.Context, cfg serveConfig, log *slog.Logger, stdout io.Writer) error {
	st, err := newStack(ctx, cfg, log)
	if err != nil {
		return err
	}
	if st.tcp != nil {
		fmt.Fprintf(stdout, "quintupleo: serving qemu+tcp://%s/system\n", st.tcp.Addr())
	}
	return st.Run(ctx)
}

// serveStack is one quintupleo as serve wires it (cloud → nodes →
// driver/{host,domain} → rpc, and the front ends), with the parts its tests
// reach into.
type serveStack struct {
	*stack.Stack
	inv   *nodes.Inventory
	act   *nodes.Executor
	dom   *domain.Driver
	tcp   *stack.Listener // nil without --listen-tcp
	sshLn *stack.Listener // nil without --listen-ssh
	// redfish is nil without --listen-redfish
	redfish *stack.Listener
	metrics *stack.Listener // nil without --listen-metrics
}

// newStack builds every part cfg asks for, then binds every listener (see
// package stack). ctx bounds the building only.
func newStack(ctx context.Context, cfg serveConfig, log *slog.Logger) (st *serveStack, err error) {
	st = &serveStack{Stack: stack.New(log)}
	var obs observers
	defer func() {
		if err != nil {
			st.Close()
		}
	}()

	m, metricsLn := cfg.obs.addMetrics(st.Stack)
	st.metrics, obs = metricsLn, observersOf(m)
	cloudCfg := cfg.cloudConfig(cfg.httpClient)
	cloudCfg.Observer = obs.nodes
	if cfg.demo {
		if cloudCfg, err = startDemo(st.Stack, cfg.cloudFlags, cloudCfg, log); err != nil {
			return st, err
		}
	}
	invCfg, actCfg, err := nodesConfig(cfg, log)
	if err != nil {
		return st, err
	}
	if st.inv, err = stack.AddInventory(ctx, st.Stack, cloudCfg, invCfg); err != nil {
		return st, slowCloudHint(err)
	}
	st.act = nodes.NewExecutor(st.inv, actCfg)
	// An earlier version's rescue strategy kept boot devices in a local file;
	// they belong in the cloud now, where every replica reads them.
	if _, err := st.act.MigrateBootState(ctx, cfg.stateDir); err != nil {
		return st, err
	}
	var drivers rpc.Drivers
	drivers, st.dom = stack.AddDrivers(st.Stack, st.inv, st.act, stack.DriverConfig{Hostname: cfg.hostname, Logger: log.With("component", "domain"),
		Provision: &nodes.ProvisionConfig{Flavor: cfg.defineFlavor, Image: cfg.defineImage, DefaultNetwork: cfg.defineNetwork,
			NetworkMap: cfg.networkMap, Timeout: cfg.actionTimeout, PollInterval: cfg.pollInterval},
		Networks:              cfg.networkFlags.config(cfg.refresh, cfg.actionTimeout, log.With("component", "network")),
		Storage:               storage.Config{PoolName: cfg.storagePool, PoolPath: cfg.storagePoolPath, CacheFor: cfg.refresh},
		OnEventDropped:        obs.eventDropped,
		StopReturnsAtAccepted: cfg.powerOff == powerOffAtAccepted})
	lv := stack.AddLibvirt(st.Stack, drivers, stack.LibvirtConfig{
		TCP: cfg.listenTCP, InsecureAnyTCP: cfg.insecureAnyTCP, Unix: cfg.listenUnix, ReadOnlyUnix: cfg.readOnlyUnix,
		Options: append([]rpc.Option{rpc.WithLogger(log.With("component", "rpc")),
			rpc.WithMaxClients(cfg.maxClients), rpc.WithMaxAnonymousClients(cfg.maxAnonClients), rpc.WithOpenTimeout(cfg.openTimeout)},
			append(cfg.rpcLimits.options(), obs.rpc...)...),
	})
	st.tcp = lv.TCP
	if _, err := cfg.tls.add(st.Stack, lv); err != nil {
		return st, err
	}
	cfg.redfish.observe, cfg.redfish.limits = obs.redfish, obs.redfishLimit
	if st.redfish, err = cfg.redfish.add(st.Stack, st.inv, st.act, cfg.tls, log.With("component", "redfish")); err != nil {
		return st, err
	}
	if cfg.listenSSH != "" {
		hostKey := cfg.sshHostKey
		if hostKey == "" {
			if hostKey, err = defaultHostKeyPath(cfg.stateDir); err != nil {
				return st, err
			}
		}
		sshCfg := qssh.Config{
			HostKeyFile:        hostKey,
			AuthorizedKeysFile: cfg.sshAuthKeys,
			Dialer:             lv.Dial,
			Hostname:           cfg.hostname,
			Logger:             log.With("component", "ssh"),
			SessionMemory:      int64(cfg.sshSessionMem),
			MemoryTotal:        int64(cfg.sshMemoryTotal),
			Observer:           obs.ssh,
		}
		cfg.sshLimits.apply(&sshCfg)
		ep, err := sshstack.Add(st.Stack, cfg.listenSSH, sshCfg)
		if err != nil {
			return st, err
		}
		st.sshLn = ep.Listener
	}
	return st, st.Bind()
}

// startDemo starts the embedded cloudsim of --demo, owned by st, and returns
// cloudCfg pointed at it.
func startDemo(st *stack.Stack, cfg cloudFlags, cloudCfg nodes.CloudConfig, log *slog.Logger) (nodes.CloudConfig, error) {
	sim, err := cloudsim.New(cloudsim.Options{Nodes: cfg.demoNodes, Logger: log.With("component", "cloudsim")})
	if err != nil {
		return cloudCfg, fmt.Errorf("demo cloud: %w", err)
	}
	st.OnClose(sim.Close)
	if err := sim.Start("127.0.0.1:0"); err != nil {
		return cloudCfg, fmt.Errorf("demo cloud: %w", err)
	}
	cloudCfg.Cloud = "sim"
	cloudCfg.CloudsYAMLData = sim.CloudsYAML("sim")
	log.Info("demo cloud running", "url", sim.URL(), "nodes", cfg.demoNodes)
	return cloudCfg, nil
}

// nodesConfig is the inventory and the executor the flags describe.
func nodesConfig(cfg serveConfig, log *slog.Logger) (nodes.InventoryConfig, nodes.ExecutorConfig, error) {
	invCfg := nodes.InventoryConfig{
		RefreshInterval: cfg.refresh,
		RefreshTimeout:  cfg.refreshTimeout,
		Logger:          log.With("component", "nodes"),
	}
	actCfg := nodes.ExecutorConfig{ActionTimeout: cfg.actionTimeout, PollInterval: cfg.pollInterval, Logger: invCfg.Logger}
	cfg.filter(&invCfg)
	var err error
	actCfg.Boot, err = nodes.NewBootStrategy(cfg.bootStrategy, cfg.bootFlags.options())
	return invCfg, actCfg, err
}

// slowCloudHint tells the operator which knob to turn when the cloud did not
// answer in time at start-up: it may be dead, or merely slower than the
// deadline allows (a large first page on a busy cloud).
func slowCloudHint(err error) error {
	var noAnswer *nodes.RequestTimeoutError
	if errors.As(err, &noAnswer) {
		return fmt.Errorf("%w (is the cloud up? if it is merely slow, raise --cloud-timeout)", err)
	}
	return err
}

// defaultHostKeyPath keeps the SSH host key with the other state, so it
// survives restarts and clients keep trusting it.
func defaultHostKeyPath(stateDir string) (string, error) {
	if stateDir != "" {
		return filepath.Join(stateDir, "ssh_host_keys"), nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no --ssh-host-key and no config directory: %w", err)
	}
	return filepath.Join(dir, "quintupleo", "ssh_host_keys"), nil
}
