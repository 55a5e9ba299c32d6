// Command qbench compares quintupleo serve (over cloudsim) with a real
// libvirtd (test driver) in one run: virsh wall times, go-libvirt call
// rates, a thousand polling clients against the cloud's request counters,
// and the server's memory. It prints Markdown; docs/benchmarks.md holds a
// run and the command that reproduces it.
//
//	go run ./bench/cmd/qbench -n 100,1000 -out /tmp/bench.md
//	go run ./bench/cmd/qbench -mode provision [-os-cloud NAME]   # define + undefine
//	go run ./bench/cmd/qbench -mode redfish -rf-nodes 1000       # Redfish polling and Reset On
//	go run ./bench/cmd/qbench -mode ssh                          # Ironic-style SSH polling
//	go run ./bench/cmd/qbench -mode replicas -rep-svg FILE       # cloud requests vs clients, 1 and 3 replicas
//	go run ./bench/cmd/qbench -mode curves -curve-svg FILE       # virsh list --all vs N
//	go run ./bench/cmd/qbench -mode rss                          # RSS at N = 10,000, 200 connections
//
// It needs root (or the packages already installed) for the team's
// reference libvirtd script (-libvirtd-script; by default
// ../shared/tools/libvirtd-ref.sh beside the checkout), and virsh on PATH. Every port is
// chosen free; every child is stopped on exit, error, SIGINT/SIGTERM or
// -timeout.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	ns              []int
	runs            int
	rpcDuration     time.Duration
	rpcMin          int
	pollClients     int
	pollDuration    time.Duration
	pollFullList    bool
	pollLibvirtd    bool
	idleWindow      bool
	refreshInterval time.Duration
	pollInterval    time.Duration
	transitionDelay time.Duration
	quintupleo      string
	libvirtdScript  string
	out             string
	keep            bool
	timeout         time.Duration
	skipLibvirtd    bool
}

func main() {
	log.SetFlags(log.Ltime)
	log.SetPrefix("qbench: ")
	cfg := &config{}
	nlist := flag.String("n", "100,1000", "comma-separated domain counts N (each: N domains, N/2 running)")
	flag.IntVar(&cfg.runs, "runs", 20, "virsh runs per command (after one warm-up)")
	flag.DurationVar(&cfg.rpcDuration, "rpc-duration", 2*time.Second, "go-libvirt loop duration per call")
	flag.IntVar(&cfg.rpcMin, "rpc-min", 5, "minimum go-libvirt calls per loop")
	flag.IntVar(&cfg.pollClients, "poll-clients", 1000, "concurrent polling clients")
	flag.DurationVar(&cfg.pollDuration, "poll-duration", 10*time.Second, "polling window")
	flag.BoolVar(&cfg.pollFullList, "poll-full-list", false, "polling clients also get the state of every listed domain (virsh list --all)")
	flag.BoolVar(&cfg.pollLibvirtd, "poll-libvirtd", true, "run the polling clients against libvirtd too")
	flag.BoolVar(&cfg.idleWindow, "idle-window", true, "also count cloud calls in an equal window with no clients")
	flag.DurationVar(&cfg.refreshInterval, "refresh-interval", 2*time.Second, "quintupleo serve --refresh-interval")
	flag.DurationVar(&cfg.pollInterval, "poll-interval", 10*time.Millisecond, "quintupleo serve --poll-interval")
	flag.DurationVar(&cfg.transitionDelay, "transition-delay", 5*time.Millisecond, "quintupleo sim --transition-delay")
	flag.StringVar(&cfg.quintupleo, "quintupleo", "", "quintupleo binary (default: go build ./cmd/quintupleo)")
	flag.StringVar(&cfg.libvirtdScript, "libvirtd-script", "../shared/tools/libvirtd-ref.sh", "reference libvirtd start/stop script (default: the team's shared tools beside this checkout)")
	flag.BoolVar(&cfg.skipLibvirtd, "skip-libvirtd", false, "measure quintupleo only")
	flag.StringVar(&cfg.out, "out", "", "also write the Markdown report to this file")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the work directory (logs)")
	flag.DurationVar(&cfg.timeout, "timeout", 60*time.Minute, "abort (and clean up) after this long")
	mode := flag.String("mode", "compare", "compare (quintupleo against libvirtd), provision (define + undefine of new domains; provision.go), redfish (power polling of many nodes over Redfish against the anchors' Nova GETs, and Reset On; redfish.go), "+
		"ssh (Ironic-style SSH polling against OpenSSH sshd + virsh + libvirtd; sshpoll.go), replicas (cloud requests against clients and replicas; replicas.go), curves (virsh list --all against N; curves.go) or rss (memory at large N with many connections; rss.go)")
	var pc provConfig
	pc.register(flag.CommandLine)
	var rc rfConfig
	rc.register(flag.CommandLine)
	var sc sshConfig
	sc.register(flag.CommandLine)
	var repc repConfig
	repc.register(flag.CommandLine)
	var cc curveConfig
	cc.register(flag.CommandLine)
	var rssc rssConfig
	rssc.register(flag.CommandLine)
	flag.Parse()
	switch *mode {
	case "replicas":
		os.Exit(runReplicas(cfg, &repc))
	case "curves":
		os.Exit(runCurves(cfg, &cc))
	case "rss":
		os.Exit(runRSS(cfg, &rssc))
	case "ssh":
		os.Exit(runSSH(cfg, &sc))
	case "provision":
		os.Exit(runProvision(cfg, &pc))
	case "redfish":
		os.Exit(runRedfish(cfg, &rc))
	}
	for _, f := range strings.Split(*nlist, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			log.Fatalf("-n: bad count %q", f)
		}
		cfg.ns = append(cfg.ns, n)
	}
	os.Exit(run(cfg))
}

func run(cfg *config) int {
	p := &procs{}
	work, err := os.MkdirTemp("", "qbench-")
	if err != nil {
		log.Print(err)
		return 1
	}
	_ = os.Chmod(work, 0o755) // the reference libvirtd runs as nobody below it
	removeWork := func() {
		if cfg.keep {
			log.Printf("work directory kept: %s", work)
		} else {
			os.RemoveAll(work)
		}
	}
	defer removeWork()
	defer p.cleanup()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigc
		log.Printf("%v: cleaning up", s)
		cancel()
		p.cleanup()
		removeWork()
		os.Exit(130)
	}()
	time.AfterFunc(cfg.timeout, func() {
		log.Printf("timeout %v: cleaning up", cfg.timeout)
		cancel()
		p.cleanup()
		removeWork()
		os.Exit(124)
	})

	if cfg.quintupleo == "" {
		cfg.quintupleo = filepath.Join(work, "quintupleo")
		log.Print("building quintupleo")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", cfg.quintupleo, "quintupleo/cmd/quintupleo")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			log.Printf("go build: %v (run qbench from inside the quintupleo module, or pass -quintupleo)", err)
			return 1
		}
	}

	var report strings.Builder
	w := io.MultiWriter(os.Stdout, &report)
	header(w, cfg)
	for _, n := range cfg.ns {
		if err := benchN(ctx, w, p, cfg, work, n); err != nil {
			log.Printf("N=%d: %v", n, err)
			return 1
		}
	}
	return writeReport(cfg.out, report.String())
}

// writeReport writes the Markdown report to path, if one was given, and is
// the exit status.
func writeReport(path, report string) int {
	if path == "" {
		return 0
	}
	if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
		log.Print(err)
		return 1
	}
	return 0
}

func header(w io.Writer, cfg *config) {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 1 {
			kb, _ := strconv.ParseFloat(f[1], 64)
			mem = fmt.Sprintf("%.1f GiB", kb/1024/1024)
		}
	}
	out := func(name string, args ...string) string {
		b, err := exec.Command(name, args...).Output()
		if err != nil {
			return "?"
		}
		return strings.TrimSpace(string(b))
	}
	fmt.Fprintf(w, "## Run of %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "- machine: %d CPUs (nproc %s), %s, %s RAM, kernel %s\n", runtime.NumCPU(), out("nproc"), cpu, mem, out("uname", "-r"))
	fmt.Fprintf(w, "- virsh %s, libvirtd %s (test driver), %s, quintupleo %s\n", out("virsh", "--version"),
		strings.TrimPrefix(out("/usr/sbin/libvirtd", "--version"), "/usr/sbin/libvirtd (libvirt) "), runtime.Version(),
		out("git", "describe", "--always", "--dirty"))
	fmt.Fprintf(w, "- load average at start: %s (other work on the machine shares these CPUs)\n", loadavg())
	fmt.Fprintf(w, "- command: `go run ./bench/cmd/qbench %s`\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(w, "- quintupleo: `serve --refresh-interval %v --poll-interval %v` over `sim --transition-delay %v`\n",
		cfg.refreshInterval, cfg.pollInterval, cfg.transitionDelay)
	fmt.Fprintf(w, "- virsh: median (min / max) of %d runs after 1 warm-up, wall time of the whole `virsh -c URI …` process, in ms\n\n", cfg.runs)
}

func benchN(ctx context.Context, w io.Writer, p *procs, cfg *config, work string, n int) error {
	dir := filepath.Join(work, fmt.Sprintf("n%d", n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(w, "### N = %d domains (%d running)\n\n", n, n/2)
	var targets []*target
	var setup []string
	if !cfg.skipLibvirtd {
		log.Printf("N=%d: starting libvirtd, defining %d domains", n, n)
		t0 := time.Now()
		lt, err := setupLibvirtd(ctx, p, cfg, dir, n)
		if err != nil {
			return err
		}
		setup = append(setup, fmt.Sprintf("libvirtd: start + define %d + start %d: %.1f s", n, n/2, time.Since(t0).Seconds()))
		targets = append(targets, lt)
	}
	log.Printf("N=%d: starting cloudsim + quintupleo serve, starting %d nodes", n, n/2)
	t0 := time.Now()
	qt, err := setupQuintupleo(ctx, p, cfg, dir, n)
	if err != nil {
		return err
	}
	setup = append(setup, fmt.Sprintf("quintupleo: sim + serve up + start %d nodes (16 clients): %.1f s", n/2, time.Since(t0).Seconds()))
	targets = append(targets, qt)
	fmt.Fprintf(w, "Setup: %s.\n\n", strings.Join(setup, "; "))
	idleRSS, _ := rss(qt.pid)

	// virsh
	vres := map[string]map[string]dist{}
	for _, t := range targets {
		log.Printf("N=%d: virsh against %s (%d runs x %d commands)", n, t.label, cfg.runs, len(virshCases))
		r, err := benchVirsh(ctx, t, cfg.runs)
		if err != nil {
			return err
		}
		vres[t.label] = r
	}
	fmt.Fprintf(w, "#### virsh wall time (ms; X = %s / %s running, Y = %s / %s shut off)\n\n",
		targetName(targets, "libvirtd", (*target).running), qt.running(), targetName(targets, "libvirtd", (*target).stopped), qt.stopped())
	fmt.Fprintf(w, "| command |")
	for _, t := range targets {
		fmt.Fprintf(w, " %s median (min / max) |", t.label)
	}
	if len(targets) == 2 {
		fmt.Fprintf(w, " quintupleo / libvirtd |")
	}
	fmt.Fprintf(w, "\n|---|")
	for range targets {
		fmt.Fprintf(w, "---|")
	}
	if len(targets) == 2 {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintln(w)
	for _, c := range virshCases {
		fmt.Fprintf(w, "| `%s` |", c.label)
		for _, t := range targets {
			d := vres[t.label][c.label]
			fmt.Fprintf(w, " %s (%s / %s) |", ms(d.p50), ms(d.min), ms(d.max))
		}
		if len(targets) == 2 {
			a, b := vres[targets[0].label][c.label].p50, vres[targets[1].label][c.label].p50
			fmt.Fprintf(w, " %.2f× |", float64(b)/float64(a))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)

	// go-libvirt loops
	rres := map[string]map[string]rpcResult{}
	for _, t := range targets {
		log.Printf("N=%d: go-libvirt loops against %s", n, t.label)
		r, err := benchRPC(t, cfg.rpcDuration, cfg.rpcMin)
		if err != nil {
			return err
		}
		rres[t.label] = r
	}
	fmt.Fprintf(w, "#### go-libvirt, one connection, in-process loop (the RPCs virsh sends, minus connect/teardown)\n\n")
	fmt.Fprintf(w, "| call | RPCs |")
	for _, t := range targets {
		fmt.Fprintf(w, " %s calls/s (p50 ms) |", t.label)
	}
	fmt.Fprintf(w, "\n|---|---|")
	for range targets {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintln(w)
	for _, c := range rpcCases {
		fmt.Fprintf(w, "| `%s` | %d |", c.label, c.rpcs(qt))
		for _, t := range targets {
			r := rres[t.label][c.label]
			fmt.Fprintf(w, " %.0f (%.3f) |", r.perSec(), float64(r.lat.p50)/float64(time.Millisecond))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)

	// cloud calls with no clients at all
	var idle map[string]int64
	if cfg.idleWindow {
		log.Printf("N=%d: counting cloud calls over %v with no clients", n, cfg.pollDuration)
		if err := simResetCounters(qt.simURL); err != nil {
			return err
		}
		time.Sleep(cfg.pollDuration)
		if idle, err = simCounters(qt.simURL); err != nil {
			return err
		}
	}

	// polling clients
	var polls []*pollResult
	pollTargets := []*target{qt}
	if cfg.pollLibvirtd && !cfg.skipLibvirtd {
		pollTargets = append(pollTargets, targets[0])
	}
	for _, t := range pollTargets {
		log.Printf("N=%d: %d polling clients against %s for %v", n, cfg.pollClients, t.label, cfg.pollDuration)
		r, err := benchPoll(ctx, []*target{t}, cfg.pollClients, cfg.pollDuration, cfg.pollFullList)
		if err != nil {
			return err
		}
		polls = append(polls, r)
	}
	what := "`ConnectListAllDomains(all)` + `DomainLookupByName(random)` + `DomainGetState`"
	if cfg.pollFullList {
		what = "`ConnectListAllDomains(all)` + `DomainGetState` per domain (virsh list --all) + `DomainLookupByName(random)` + `DomainGetState`"
	}
	fmt.Fprintf(w, "#### %d polling clients, %v window; one iteration = %s\n\n", cfg.pollClients, cfg.pollDuration, what)
	fmt.Fprintf(w, "| target | connected | iterations/s | iteration p50 / p99 / max ms | list p50 / p99 ms | lookup+state p50 / p99 ms | errors | server CPU s (qbench CPU s) | cloud requests in window |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|\n")
	for i, r := range polls {
		cloud := "n/a (no cloud)"
		if r.counters != nil {
			cloud = fmt.Sprintf("%d (servers/detail: %d)", r.counters["total"], countContaining(r.counters, "servers/detail"))
		}
		errs := strconv.FormatInt(r.errors, 10)
		if r.firstErr != "" {
			errs += fmt.Sprintf(" (first: %.80s)", r.firstErr)
		}
		fmt.Fprintf(w, "| %s | %d/%d | %.0f | %s / %s / %s | %s / %s | %s / %s | %s | %.1f (%.1f) | %s |\n", pollTargets[i].label,
			r.clients-r.connectFailed, r.clients, float64(r.iterations)/r.window.Seconds(),
			ms(r.iter.p50), ms(r.iter.p99), ms(r.iter.max), ms(r.list.p50), ms(r.list.p99), ms(r.state.p50), ms(r.state.p99),
			errs, r.serverCPU.Seconds(), r.clientCPU.Seconds(), cloud)
	}
	fmt.Fprintln(w)
	qp := polls[0]
	expect := float64(qp.window) / float64(cfg.refreshInterval)
	fmt.Fprintf(w, "Cloud (cloudsim) requests during the %.1f s polling window, per endpoint (refresh interval %v → ≈%.1f list cycles expected):\n\n",
		qp.window.Seconds(), cfg.refreshInterval, expect)
	fmt.Fprintf(w, "| endpoint | with %d clients | with no clients (%v) |\n|---|---|---|\n", cfg.pollClients, cfg.pollDuration)
	keys := map[string]bool{}
	for k := range qp.counters {
		keys[k] = true
	}
	for k := range idle {
		keys[k] = true
	}
	var ks []string
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		idleS := "–"
		if idle != nil {
			idleS = strconv.FormatInt(idle[k], 10)
		}
		fmt.Fprintf(w, "| `%s` | %d | %s |\n", k, qp.counters[k], idleS)
	}
	fmt.Fprintln(w)

	// memory
	fmt.Fprintf(w, "#### Memory\n\n| process | RSS after setup | RSS after polling | peak RSS (VmHWM) |\n|---|---|---|---|\n")
	fmt.Fprintf(w, "| quintupleo serve | %s | %s | %s |\n", mib(idleRSS), mib(qp.rssKiB), mib(qp.hwmKiB))
	if !cfg.skipLibvirtd {
		lt := targets[0]
		cur, peak := rss(lt.pid)
		after := "–"
		for i, t := range pollTargets {
			if t == lt {
				after = mib(polls[i].rssKiB)
			}
		}
		fmt.Fprintf(w, "| libvirtd (test driver) | – | %s | %s (now %s) |\n", after, mib(peak), mib(cur))
	}
	fmt.Fprintln(w)

	// stop this N's processes before the next one
	p.cleanup()
	return nil
}

func targetName(ts []*target, label string, f func(*target) string) string {
	for _, t := range ts {
		if t.label == label {
			return f(t)
		}
	}
	return "–"
}

func countContaining(m map[string]int64, s string) int64 {
	var n int64
	for k, v := range m {
		if k != "total" && strings.Contains(k, s) {
			n += v
		}
	}
	return n
}

func mib(kib int64) string {
	if kib < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}
