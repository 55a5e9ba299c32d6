package main

// -mode ssh: Ironic-style SSH polling. The Ironic ssh power driver opened a
// new SSH connection for every command and began every power query with
// `virsh list --all --name`; here K parallel clients do the same with the
// real OpenSSH client against quintupleo's --listen-ssh (over cloudsim with
// N nodes) and against OpenSSH's sshd running the real virsh against a real
// libvirtd (test driver) with the same N domains. Each endpoint is also
// timed with `ssh host exit`: the cost of the client's connection alone,
// the floor any command over that endpoint pays.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type sshConfig struct {
	nodes      int
	clients    string
	duration   time.Duration
	sshdScript string
	kex        string
}

func (sc *sshConfig) register(fs *flag.FlagSet) {
	fs.IntVar(&sc.nodes, "ssh-nodes", 1000, "-mode ssh: domains on both sides (cloudsim nodes; libvirtd test-driver domains)")
	fs.StringVar(&sc.clients, "ssh-clients", "1,8", "-mode ssh: comma-separated numbers K of parallel clients, each one ssh process per command")
	fs.DurationVar(&sc.duration, "ssh-duration", 10*time.Second, "-mode ssh: window per endpoint, command and K")
	fs.StringVar(&sc.kex, "ssh-kex", "", "-mode ssh: force this key exchange (ssh -o KexAlgorithms=) on both endpoints; default: what the client negotiates")
	fs.StringVar(&sc.sshdScript, "sshd-script", "../shared/tools/sshd-ref.sh", "-mode ssh: reference OpenSSH sshd start/stop script (default: the team's shared tools beside this checkout)")
}

// Ironic's base command (ironic_ssh_virsh_cmds.txt: base_cmd + list_all).
const ironicListAll = "LC_ALL=C /usr/bin/virsh --connect %s list --all --name"

// sshEndpoint is one SSH server and the command line that lists its domains.
type sshEndpoint struct {
	label   string
	sshArgs []string // everything before the remote command
	listCmd string
	n       int
	pid     int // the server process whose CPU is counted
}

func sshClientArgs(sc *sshConfig, port int, key, user string) []string {
	var kex []string
	if sc.kex != "" {
		kex = []string{"-o", "KexAlgorithms=" + sc.kex}
	}
	return append(kex, "-F", "/dev/null", "-p", strconv.Itoa(port), "-i", key,
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ControlMaster=no", "-o", "ControlPath=none",
		"-o", "ConnectTimeout=30", user+"@127.0.0.1")
}

// sshRun is one window of one command from K clients.
type sshRun struct {
	calls, errors int64
	firstErr      string
	wall          time.Duration
	lats          []time.Duration
	lat           dist
	// CPU used in the window by the ssh client processes, and by the
	// server process (quintupleo serve, or libvirtd for the reference)
	clientCPU, serverCPU time.Duration
}

// cpuPerCall is d spread over the window's calls and failures, in ms.
func (r sshRun) cpuPerCall(d time.Duration) string {
	if n := r.calls + r.errors; n > 0 {
		return ms(d / time.Duration(n))
	}
	return "–"
}

// merge adds the calls of another window of the same command.
func (r sshRun) merge(o sshRun) sshRun {
	r.calls, r.errors, r.wall = r.calls+o.calls, r.errors+o.errors, r.wall+o.wall
	r.clientCPU, r.serverCPU = r.clientCPU+o.clientCPU, r.serverCPU+o.serverCPU
	if r.firstErr == "" {
		r.firstErr = o.firstErr
	}
	r.lats = append(r.lats, o.lats...)
	r.lat = summarize(r.lats)
	return r
}

func (r sshRun) perSec() float64 { return float64(r.calls) / r.wall.Seconds() }

// sshLoad runs cmd over ep from k clients, each starting a new ssh process
// as soon as its last one ended, for dur; a call counts only if it exited 0
// and, for the list, printed exactly the ep.n names.
func sshLoad(ctx context.Context, ep *sshEndpoint, cmd string, k int, dur time.Duration) sshRun {
	var (
		mu       sync.Mutex
		lats     []time.Duration
		calls    atomic.Int64
		errs     atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
		// CPU of the ssh clients, and of the server process (pid > 0)
		clientCPU atomic.Int64
		server0   = cpuTime(ep.pid)
	)
	start := time.Now()
	deadline := start.Add(dur)
	for range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				cpu, err := sshOnce(ctx, ep, cmd)
				el := time.Since(t0)
				clientCPU.Add(int64(cpu))
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				calls.Add(1)
				mu.Lock()
				lats = append(lats, el)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r := sshRun{calls: calls.Load(), errors: errs.Load(), wall: time.Since(start), lats: lats, lat: summarize(lats),
		clientCPU: time.Duration(clientCPU.Load()), serverCPU: cpuTime(ep.pid) - server0}
	if v := firstErr.Load(); v != nil {
		r.firstErr = v.(string)
	}
	return r
}

// sshOnce runs cmd in one new ssh process and returns the CPU time that
// client process used.
func sshOnce(ctx context.Context, ep *sshEndpoint, cmd string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "ssh", append(append([]string{}, ep.sshArgs...), cmd)...)
	var out, stderr strings.Builder
	c.Stdout, c.Stderr = &out, &stderr
	if err := c.Run(); err != nil {
		return 0, fmt.Errorf("ssh %s: %v: %.200s", cmd, err, strings.TrimSpace(stderr.String()))
	}
	cpu := c.ProcessState.UserTime() + c.ProcessState.SystemTime()
	if cmd == "exit" {
		return cpu, nil
	}
	if got := len(strings.Fields(out.String())); got != ep.n {
		return cpu, fmt.Errorf("%s: %d names, want %d", cmd, got, ep.n)
	}
	return cpu, nil
}

func runSSH(cfg *config, sc *sshConfig) int {
	return runMode(cfg, "qbench-ssh-", func(ctx context.Context, w io.Writer, p *procs, work string) error {
		return benchSSH(ctx, w, p, cfg, sc, work)
	})
}

func parseCounts(flagName, list string) ([]int, error) {
	var ks []int
	for _, f := range strings.Split(list, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 0 {
			return nil, fmt.Errorf("%s: bad count %q", flagName, f)
		}
		ks = append(ks, k)
	}
	return ks, nil
}

func benchSSH(ctx context.Context, w io.Writer, p *procs, cfg *config, sc *sshConfig, work string) error {
	load0 := loadavg()
	ks, err := parseCounts("-ssh-clients", sc.clients)
	if err != nil {
		return err
	}
	// The reference sshd's user and the libvirtd (nobody) read below work.
	if err := os.Chmod(work, 0o755); err != nil {
		return err
	}
	key := filepath.Join(work, "client_key")
	if out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		return fmt.Errorf("ssh-keygen: %v: %s", err, out)
	}
	q, err := startSSHQuintupleo(ctx, p, cfg, sc, work, key)
	if err != nil {
		return err
	}
	ref, err := startSSHReference(ctx, p, cfg, sc, work)
	if err != nil {
		return err
	}
	type row struct {
		ep        *sshEndpoint
		k         int
		exit, lst sshRun
	}
	var rows []row
	for _, k := range ks {
		for _, ep := range []*sshEndpoint{q, ref} {
			r := row{ep: ep, k: k}
			// The floor is measured half before and half after the list, so
			// that a change of the machine's load meanwhile weighs on both.
			r.exit = sshLoad(ctx, ep, "exit", k, sc.duration/2)
			r.lst = sshLoad(ctx, ep, ep.listCmd, k, sc.duration)
			r.exit = r.exit.merge(sshLoad(ctx, ep, "exit", k, sc.duration/2))
			if r.lst.calls == 0 || r.exit.calls == 0 {
				return fmt.Errorf("%s, K=%d: no call succeeded: %s%s", ep.label, k, r.exit.firstErr, r.lst.firstErr)
			}
			rows = append(rows, r)
		}
	}

	fmt.Fprintf(w, "## SSH: Ironic-style polling, a new SSH connection per command, N = %d\n\n", sc.nodes)
	fmt.Fprintf(w, "- %s; load average at start: %s, at the end: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), load0, loadavg())
	fmt.Fprintf(w, "- command: `go run ./bench/cmd/qbench %s`\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(w, "- client: OpenSSH `ssh` (%s), ed25519 key, one process per command; K clients, each running its next command as soon as the last ended: `exit` for %v, the list for %v, `exit` again for %[2]v\n", sshVersion(), sc.duration/2, sc.duration)
	fmt.Fprintf(w, "- quintupleo: `serve --listen-ssh` over `sim --nodes %d`, command `%s`\n", sc.nodes, q.listCmd)
	fmt.Fprintf(w, "- reference: OpenSSH sshd (sshd-ref.sh) → bash → `/usr/bin/virsh` → libvirtd 9.0 test driver with %d domains, command `%s`\n", sc.nodes, ref.listCmd)
	fmt.Fprintf(w, "- key exchange negotiated: quintupleo `%s`, sshd `%s`\n\n", kexOf(ctx, q), kexOf(ctx, ref))
	fmt.Fprintf(w, "| endpoint | K | `ssh host exit` p50 / p99 ms (/s) | `virsh list --all --name` p50 / p99 ms | list/s | list p50 ÷ exit p50 | CPU ms per exit / list: ssh client; server process | errors |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		errs := strconv.FormatInt(r.exit.errors+r.lst.errors, 10)
		if fe := r.exit.firstErr + r.lst.firstErr; fe != "" {
			errs += fmt.Sprintf(" (first: %.80s)", fe)
		}
		fmt.Fprintf(w, "| %s | %d | %s / %s (%.1f) | %s / %s | %.1f | %.2f× | %s / %s; %s / %s | %s |\n", r.ep.label, r.k,
			ms(r.exit.lat.p50), ms(r.exit.lat.p99), r.exit.perSec(), ms(r.lst.lat.p50), ms(r.lst.lat.p99),
			r.lst.perSec(), float64(r.lst.lat.p50)/float64(r.exit.lat.p50),
			r.exit.cpuPerCall(r.exit.clientCPU), r.lst.cpuPerCall(r.lst.clientCPU),
			r.exit.cpuPerCall(r.exit.serverCPU), r.lst.cpuPerCall(r.lst.serverCPU), errs)
	}
	fmt.Fprintln(w)
	for i := 0; i+1 < len(rows); i += 2 {
		a, b := rows[i], rows[i+1]
		fmt.Fprintf(w, "K=%d: quintupleo lists %.2f× as many per second as sshd + virsh + libvirtd; list p99 %s ms against %s ms.\n",
			a.k, a.lst.perSec()/b.lst.perSec(), ms(a.lst.lat.p99), ms(b.lst.lat.p99))
	}
	fmt.Fprintln(w)
	return nil
}

func sshVersion() string {
	out, _ := exec.Command("ssh", "-V").CombinedOutput()
	return strings.TrimSpace(string(out))
}

func startSSHQuintupleo(ctx context.Context, p *procs, cfg *config, sc *sshConfig, work, key string) (*sshEndpoint, error) {
	dir := filepath.Join(work, "q")
	if err := os.MkdirAll(filepath.Join(dir, "state"), 0o700); err != nil {
		return nil, err
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return nil, err
	}
	auth := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(auth, pub, 0o600); err != nil {
		return nil, err
	}
	simURL, err := startSim(ctx, p, cfg, dir, "--nodes", strconv.Itoa(sc.nodes))
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	t, err := startServeOver(ctx, p, cfg, dir, simURL, "serve", sc.nodes, "--listen-ssh", fmt.Sprintf("127.0.0.1:%d", port),
		"--ssh-authorized-keys", auth, "--state-dir", filepath.Join(dir, "state"))
	if err != nil {
		return nil, err
	}
	ep := &sshEndpoint{label: "quintupleo", sshArgs: sshClientArgs(sc, port, key, "ironic"),
		listCmd: fmt.Sprintf(ironicListAll, "qemu:///system"), n: sc.nodes, pid: t.pid}
	return ep, waitFor(ctx, 30*time.Second, "quintupleo SSH", func() error { _, err := sshOnce(ctx, ep, ep.listCmd); return err })
}

// startSSHReference starts the reference libvirtd with N domains and the
// reference sshd (its own directory and port), using the sshd's client key.
func startSSHReference(ctx context.Context, p *procs, cfg *config, sc *sshConfig, work string) (*sshEndpoint, error) {
	dir := filepath.Join(work, "ref")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lt, err := setupLibvirtd(ctx, p, cfg, dir, sc.nodes)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	sdir := filepath.Join(dir, "sshref")
	env := append(os.Environ(), "SSHREF_DIR="+sdir, "SSHREF_PORT="+strconv.Itoa(port))
	script := scriptRunner(sc.sshdScript, env)
	p.onCleanup(func() { _, _ = script("stop") })
	out, err := script("start")
	if err != nil {
		return nil, fmt.Errorf("%s start: %v\n%s", sc.sshdScript, err, out)
	}
	user := "sshref"
	if os.Getuid() != 0 {
		user = os.Getenv("USER")
	}
	if i := strings.Index(string(out), "; user "); i >= 0 {
		user = strings.TrimSpace(string(out)[i+len("; user "):])
	}
	if err := ensureHome(ctx, user); err != nil {
		return nil, err
	}
	ep := &sshEndpoint{label: "OpenSSH sshd + virsh + libvirtd", sshArgs: sshClientArgs(sc, port, filepath.Join(sdir, "client_key"), user),
		listCmd: fmt.Sprintf(ironicListAll, lt.uri), n: sc.nodes, pid: lt.pid}
	return ep, waitFor(ctx, 30*time.Second, "reference sshd", func() error { _, err := sshOnce(ctx, ep, ep.listCmd); return err })
}

// ensureHome creates the reference user's home directory when it is
// missing: sshd-ref.sh sets it only when it creates the user, so it can
// point into a directory a previous run removed, and every login would then
// pay for bash's failed chdir and start-up file reads.
func ensureHome(ctx context.Context, user string) error {
	out, err := exec.CommandContext(ctx, "getent", "passwd", user).Output()
	if err != nil {
		return fmt.Errorf("getent passwd %s: %w", user, err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), ":")
	if len(f) < 6 || f[5] == "" {
		return fmt.Errorf("no home directory for %s: %q", user, out)
	}
	if _, err := os.Stat(f[5]); err == nil {
		return nil
	}
	if err := os.MkdirAll(f[5], 0o755); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "chown", user, f[5]).CombinedOutput(); err != nil {
		return fmt.Errorf("chown %s: %v: %s", f[5], err, out)
	}
	return nil
}

// kexOf is the key exchange the OpenSSH client negotiates with ep.
func kexOf(ctx context.Context, ep *sshEndpoint) string {
	args := append([]string{"-v"}, ep.sshArgs...)
	out, _ := exec.CommandContext(ctx, "ssh", append(args, "exit")...).CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, "kex: algorithm: "); i >= 0 {
			return strings.TrimSpace(l[i+len("kex: algorithm: "):])
		}
	}
	return "?"
}
