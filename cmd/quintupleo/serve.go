package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"quintupleo/cloudsim"
	"quintupleo/nodes"
	"quintupleo/rpc"
	qssh "quintupleo/ssh"
	"quintupleo/ssh/budget"
	"quintupleo/translate"
)

// serveConfig is everything `quintupleo serve` is told.
type serveConfig struct {
	osCloud        string
	cloudsYAML     string
	demo           bool
	demoNodes      int
	listenTCP      string
	listenUnix     string
	readOnlyUnix   string
	insecureAnyTCP bool
	hostname       string
	refresh        time.Duration
	actionTimeout  time.Duration
	pollInterval   time.Duration
	nameRegex      string
	nodeMetadata   string
	logLevel       string
	bootStrategy   string
	ipxeImage      string
	ipxeImageUEFI  string
	stateDir       string
	allowRebuild   bool
	listenSSH      string
	sshAuthKeys    string
	sshHostKey     string
	sshSessionMem  budget.Size
	sshMemoryTotal budget.Size

	httpClient *http.Client // not a flag: tests observe what is sent to the cloud
}

func (c *serveConfig) flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.osCloud, "os-cloud", "", "cloud name in clouds.yaml (default $OS_CLOUD; without one, the OS_* variables)")
	fs.StringVar(&c.cloudsYAML, "clouds-yaml", "", "explicit clouds.yaml path (default: $OS_CLIENT_CONFIG_FILE and the standard search path)")
	fs.BoolVar(&c.demo, "demo", false, "serve an embedded cloudsim instead of a real cloud (no cloud needed)")
	fs.IntVar(&c.demoNodes, "demo-nodes", 4, "nodes the embedded cloudsim starts with (with --demo)")
	fs.StringVar(&c.listenTCP, "listen-tcp", "127.0.0.1:16509", "libvirt plain-TCP listener (qemu+tcp://); empty to disable")
	fs.StringVar(&c.listenUnix, "listen-unix", "", "libvirt read-write unix socket path (qemu+unix:// with ?socket=)")
	fs.StringVar(&c.readOnlyUnix, "read-only-unix", "", "libvirt read-only unix socket path")
	fs.BoolVar(&c.insecureAnyTCP, "insecure-listen-any", false, "allow --listen-tcp on a non-loopback address (plain TCP has no authentication)")
	fs.StringVar(&c.hostname, "hostname", "", "host name reported to clients (default: this machine's)")
	fs.DurationVar(&c.refresh, "refresh-interval", 2*time.Second, "how often the shared cache lists the cloud's servers; out-of-band changes show within it")
	fs.DurationVar(&c.actionTimeout, "action-timeout", 5*time.Minute, "how long a power action may take to reach its target state in the cloud")
	fs.DurationVar(&c.pollInterval, "poll-interval", 100*time.Millisecond, "first wait between polls of a server during a power action (doubles up to 2s)")
	fs.StringVar(&c.nameRegex, "node-name-regex", "", "only servers whose name matches this regular expression are domains")
	fs.StringVar(&c.nodeMetadata, "node-metadata", "", "only servers with this metadata KEY or KEY=VALUE are domains")
	fs.StringVar(&c.bootStrategy, "boot-strategy", "metadata", "how virsh edit/define of <boot dev> reaches the cloud: "+
		"metadata (OVB's libvirt:pxe-first server metadata; for clouds with OVB's Nova patch), "+
		"rescue (network boot = Nova rescue with the iPXE image, disk kept; any Nova), "+
		"rebuild (network boot = rebuild with the iPXE image: DESTROYS the disk; needs --allow-destructive-rebuild)")
	fs.StringVar(&c.ipxeImage, "ipxe-image", "ipxe-boot", "Glance image (name or ID) that boots iPXE, for the rescue and rebuild strategies")
	fs.StringVar(&c.ipxeImageUEFI, "ipxe-image-uefi", "", "iPXE image for servers whose image has hw_firmware_type=uefi (default: --ipxe-image)")
	fs.StringVar(&c.stateDir, "state-dir", "", "directory for the small local state the rescue strategy keeps (boot devices chosen while a server is rescued)")
	fs.BoolVar(&c.allowRebuild, "allow-destructive-rebuild", false, "allow --boot-strategy rebuild, which wipes a server's disk at every network boot")
	fs.StringVar(&c.listenSSH, "listen-ssh", "", "SSH endpoint (host:port) running the virsh command lines clients send to a libvirt host, and qemu+ssh://")
	fs.StringVar(&c.sshAuthKeys, "ssh-authorized-keys", "", "OpenSSH authorized_keys file for --listen-ssh (any user name is accepted with a listed key)")
	fs.StringVar(&c.sshHostKey, "ssh-host-key", "", "SSH host key file, generated on first start (default: ssh_host_keys in --state-dir, else in the user's config directory)")
	c.sshSessionMem, c.sshMemoryTotal = 64<<20, 512<<20
	fs.Var(&c.sshSessionMem, "ssh-session-memory", "memory one SSH session's command lines may hold at once (tools' buffers, shell variables); beyond it the command fails")
	fs.Var(&c.sshMemoryTotal, "ssh-memory-total", "memory all SSH sessions together may hold at once")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
}

func (c *serveConfig) validate() error {
	if c.demo && (c.osCloud != "" || c.cloudsYAML != "") {
		return errors.New("--demo runs its own cloud; drop --os-cloud/--clouds-yaml")
	}
	if c.listenTCP == "" && c.listenUnix == "" && c.readOnlyUnix == "" && c.listenSSH == "" {
		return errors.New("no listener: give --listen-tcp, --listen-unix, --read-only-unix or --listen-ssh")
	}
	if c.nameRegex != "" {
		if _, err := regexp.Compile(c.nameRegex); err != nil {
			return fmt.Errorf("--node-name-regex: %w", err)
		}
	}
	if c.listenSSH != "" && c.sshAuthKeys == "" {
		return errors.New("--listen-ssh needs --ssh-authorized-keys (SSH is key-based)")
	}
	if c.refresh <= 0 || c.actionTimeout <= 0 {
		return errors.New("--refresh-interval and --action-timeout must be positive")
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
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stderr, "quintupleo serve: %v\n", err)
		return 2
	}
	log := newLogger(stderr, cfg.logLevel)
	if err := serve(ctx, cfg, log, stdout); err != nil {
		log.Error("serve failed", "err", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
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
	return st.run(ctx)
}

// stack is one running quintupleo: cloud → nodes → translate → rpc, plus
// the listeners. Tests build it the same way serve does.
type stack struct {
	log *slog.Logger
	sim *cloudsim.Sim // the embedded demo cloud, if any (owned)
	inv *nodes.Inventory
	hv  *translate.Hypervisor
	srv *rpc.Server

	tcp, unix, unixRO, sshLn net.Listener
	ssh                      *qssh.Server

	pipes sync.WaitGroup // in-process libvirt connections of the SSH side
}

// newStack connects to the cloud, loads the inventory once (so a wrong
// cloud fails at start, not at the first client) and opens the listeners.
func newStack(ctx context.Context, cfg serveConfig, log *slog.Logger) (st *stack, err error) {
	st = &stack{log: log}
	defer func() {
		if err != nil {
			st.closeListeners()
			if st.sim != nil {
				st.sim.Close()
			}
		}
	}()

	cloudCfg := nodes.CloudConfig{Cloud: cfg.osCloud, CloudsYAML: cfg.cloudsYAML, HTTPClient: cfg.httpClient, UserAgent: "quintupleo/" + version}
	if cfg.demo {
		sim, err := cloudsim.New(cloudsim.Options{Nodes: cfg.demoNodes, Logger: log.With("component", "cloudsim")})
		if err != nil {
			return st, fmt.Errorf("demo cloud: %w", err)
		}
		st.sim = sim
		if err := sim.Start("127.0.0.1:0"); err != nil {
			return st, fmt.Errorf("demo cloud: %w", err)
		}
		cloudCfg.Cloud = "sim"
		cloudCfg.CloudsYAMLData = sim.CloudsYAML("sim")
		log.Info("demo cloud running", "url", sim.URL(), "nodes", cfg.demoNodes)
	}

	cloud, err := nodes.Connect(ctx, cloudCfg)
	if err != nil {
		return st, err
	}
	invCfg := nodes.InventoryConfig{
		RefreshInterval: cfg.refresh,
		ActionTimeout:   cfg.actionTimeout,
		PollInterval:    cfg.pollInterval,
		Logger:          log.With("component", "nodes"),
	}
	if cfg.nameRegex != "" {
		invCfg.NameRegex = regexp.MustCompile(cfg.nameRegex)
	}
	if cfg.nodeMetadata != "" {
		invCfg.MetadataKey, invCfg.MetadataValue, _ = strings.Cut(cfg.nodeMetadata, "=")
	}
	invCfg.Boot, err = nodes.NewBootStrategy(cfg.bootStrategy, nodes.BootOptions{
		IPXEImage: cfg.ipxeImage, IPXEImageUEFI: cfg.ipxeImageUEFI, StateDir: cfg.stateDir, AllowRebuild: cfg.allowRebuild,
	})
	if err != nil {
		return st, err
	}
	st.inv = nodes.NewInventory(cloud, invCfg)
	if err := st.inv.Refresh(ctx); err != nil {
		return st, fmt.Errorf("first listing of the cloud's servers: %w", err)
	}
	st.hv = translate.New(st.inv, translate.Config{Hostname: cfg.hostname, Logger: log.With("component", "translate")})
	st.srv = rpc.NewServer(st.hv, rpc.WithLogger(log.With("component", "rpc")))

	if cfg.listenTCP != "" {
		if st.tcp, err = rpc.ListenTCP(cfg.listenTCP, cfg.insecureAnyTCP); err != nil {
			return st, err
		}
		log.Info("libvirt TCP listener", "addr", st.tcp.Addr().String())
	}
	if cfg.listenUnix != "" {
		if st.unix, err = rpc.ListenUnix(cfg.listenUnix, 0o660); err != nil {
			return st, err
		}
		log.Info("libvirt unix socket", "path", cfg.listenUnix)
	}
	if cfg.readOnlyUnix != "" {
		if st.unixRO, err = rpc.ListenUnix(cfg.readOnlyUnix, 0o666); err != nil {
			return st, err
		}
		log.Info("libvirt read-only unix socket", "path", cfg.readOnlyUnix)
	}
	if cfg.listenSSH != "" {
		hostKey := cfg.sshHostKey
		if hostKey == "" {
			if hostKey, err = defaultHostKeyPath(cfg.stateDir); err != nil {
				return st, err
			}
		}
		if err := os.MkdirAll(filepath.Dir(hostKey), 0o700); err != nil {
			return st, fmt.Errorf("ssh host key directory: %w", err)
		}
		st.ssh, err = qssh.NewServer(qssh.Config{
			HostKeyFile:        hostKey,
			AuthorizedKeysFile: cfg.sshAuthKeys,
			Dialer:             st.dialLibvirt,
			Hostname:           cfg.hostname,
			Logger:             log.With("component", "ssh"),
			SessionMemory:      int64(cfg.sshSessionMem),
			MemoryTotal:        int64(cfg.sshMemoryTotal),
		})
		if err != nil {
			return st, err
		}
		if st.sshLn, err = net.Listen("tcp", cfg.listenSSH); err != nil {
			return st, fmt.Errorf("ssh listener: %w", err)
		}
		log.Info("SSH endpoint", "addr", st.sshLn.Addr().String(), "host_key", hostKey)
	}
	return st, nil
}

// dialLibvirt gives the SSH side (its virsh and the qemu+ssh bridge) a
// libvirt connection: one end of an in-memory pipe whose other end this
// process serves like any client.
func (st *stack) dialLibvirt(ctx context.Context, readOnly bool) (net.Conn, error) {
	client, server := net.Pipe()
	st.pipes.Add(1)
	go func() {
		defer st.pipes.Done()
		serveConn := st.srv.ServeConn
		if readOnly {
			serveConn = st.srv.ServeConnReadOnly
		}
		if err := serveConn(ctx, server); err != nil && !errors.Is(err, rpc.ErrServerClosed) {
			st.log.Debug("in-process libvirt connection ended", "err", err)
		}
	}()
	return client, nil
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

func (st *stack) closeListeners() {
	for _, ln := range []net.Listener{st.tcp, st.unix, st.unixRO, st.sshLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

// run serves until ctx ends (or a listener fails), then shuts down in
// reverse order and waits for every goroutine it started.
func (st *stack) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if st.sim != nil {
		defer st.sim.Close()
	}

	var wg sync.WaitGroup
	errc := make(chan error, 8)
	goRun := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f()
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, rpc.ErrServerClosed) && !errors.Is(err, qssh.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	goRun("inventory", func() error { return st.inv.Run(ctx) })
	goRun("events", func() error { return st.hv.Run(ctx) })
	if st.tcp != nil {
		goRun("tcp", func() error { return st.srv.Serve(st.tcp) })
	}
	if st.unix != nil {
		goRun("unix", func() error { return st.srv.Serve(st.unix) })
	}
	if st.unixRO != nil {
		goRun("unix-ro", func() error { return st.srv.ServeReadOnly(st.unixRO) })
	}
	if st.ssh != nil {
		goRun("ssh", func() error { return st.ssh.Serve(st.sshLn) })
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	st.log.Info("shutting down")
	shutdownCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer done()
	if st.ssh != nil {
		if err := st.ssh.Shutdown(shutdownCtx); err != nil {
			st.log.Warn("ssh shutdown", "err", err)
		}
	}
	if err := st.srv.Shutdown(shutdownCtx); err != nil {
		st.log.Warn("rpc shutdown", "err", err)
	}
	st.pipes.Wait()
	st.closeListeners()
	cancel()
	wg.Wait()
	return runErr
}
