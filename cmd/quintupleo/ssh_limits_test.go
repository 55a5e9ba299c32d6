package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"quintupleo/internal/testtool"
)

// servedProcess is a real `quintupleo serve --demo` process with its SSH
// endpoint and libvirt TCP listener.
type servedProcess struct {
	sshPort string
	uri     string // qemu+tcp://…/system
	client  sshClient
	home    string        // HOME for virsh
	exited  chan struct{} // closed when the process has ended
	log     *testtool.LogBuffer
}

var listenerLine = regexp.MustCompile(`msg="(SSH endpoint|libvirt TCP listener)" addr=127\.0\.0\.1:(\d+)`)

// startCappedServe builds quintupleo and runs `serve --demo` under an
// address-space limit, so that a regression that lets a command line
// exhaust memory kills only this process, not the machine running the
// tests (prlimit --as, in bytes). It returns once both listeners are up.
func startCappedServe(t *testing.T, addressSpace int64, flags ...string) *servedProcess {
	t.Helper()
	prlimit := testtool.Require(t, "prlimit")
	bin := testtool.BuildQuintupleo(t)
	p := &servedProcess{home: t.TempDir(), exited: make(chan struct{}), log: &testtool.LogBuffer{}}
	dir, authKeys := newSSHClient(t, &p.client)
	args := append([]string{"--as=" + strconv.FormatInt(addressSpace, 10), "--", bin, "serve", "--demo",
		"--listen-tcp", "127.0.0.1:0", "--listen-ssh", "127.0.0.1:0",
		"--ssh-authorized-keys", authKeys, "--ssh-host-key", filepath.Join(dir, "ssh_host_keys")}, flags...)
	cmd := exec.Command(prlimit, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
	})
	ports := make(chan [2]string, 2)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(p.log, sc.Text())
			if m := listenerLine.FindStringSubmatch(sc.Text()); m != nil {
				ports <- [2]string{m[1], m[2]}
			}
		}
		_ = cmd.Wait()
		close(p.exited)
	}()
	deadline := time.After(60 * time.Second)
	for p.sshPort == "" || p.uri == "" {
		select {
		case l := <-ports:
			if l[0] == "SSH endpoint" {
				p.sshPort = l[1]
			} else {
				p.uri = "qemu+tcp://127.0.0.1:" + l[1] + "/system"
			}
		case <-p.exited:
			t.Fatalf("serve exited at start:\n%s", p.log)
		case <-deadline:
			t.Fatalf("serve did not start:\n%s", p.log)
		}
	}
	return p
}

func (p *servedProcess) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// ssh runs line with the real OpenSSH client (bounded by a timeout: a
// regression must fail the test, not hang it).
func (p *servedProcess) ssh(ctx context.Context, line string) (stdout, stderr string, status int, err error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return runClient(p.client.commandAt(ctx, "ssh", p.sshPort, line))
}

// virsh runs the real virsh over qemu+tcp.
func (p *servedProcess) virsh(ctx context.Context, args ...string) (stdout, stderr string, status int, err error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "virsh", append([]string{"-c", p.uri}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+p.home)
	return runClient(cmd)
}

// runClient is testtool.Run for goroutines other than the test's: the
// failure to run at all is returned, not reported with t.Fatal.
func runClient(cmd *exec.Cmd) (string, string, int, error) {
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok && ee.Exited() {
		return out.String(), errb.String(), ee.ExitCode(), nil
	}
	return out.String(), errb.String(), 0, err
}

// watcher keeps a client asking for `virsh list --all` until stopped and
// counts the answers that list the demo's nodes and the ones that did not.
type watcher struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	lastErr    string
	stop       chan struct{}
	done       chan struct{}
}

func watch(run func() (string, string, int, error)) *watcher {
	w := &watcher{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			out, errOut, status, err := run()
			if err == nil && status == 0 && strings.Contains(out, "node-0") {
				w.ok.Add(1)
				continue
			}
			w.failed.Add(1)
			w.mu.Lock()
			w.lastErr = fmt.Sprintf("status %d err %v stderr %q", status, err, errOut)
			w.mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return w
}

func (w *watcher) finish() (ok, failed int64, lastErr string) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ok.Load(), w.failed.Load(), w.lastErr
}

// The memory bombs of issue 9, run with the real OpenSSH client against a
// real serve process: each ends with the budget's message and a failure
// status, while other clients (virsh over ssh and over qemu+tcp) keep
// being answered, and the process lives on.
func TestSSHMemoryBombs(t *testing.T) {
	testtool.Require(t, "ssh")
	testtool.Require(t, "virsh")
	p := startCappedServe(t, 2<<30, "--ssh-session-memory", "8MiB", "--ssh-memory-total", "32MiB")
	ctx := t.Context()

	overSSH := watch(func() (string, string, int, error) { return p.ssh(ctx, "virsh list --all") })
	overTCP := watch(func() (string, string, int, error) { return p.virsh(ctx, "list", "--all") })

	const perSession = "memory budget of 8 MiB for this session exceeded"
	bombs := []struct{ name, line string }{
		{"sed hold space", `echo x | sed ':a;G;h;ba'`},
		{"sed s///g doubling", `echo x | sed ':a;s/x/xx/g;ba'`},
		{"shell variable doubling", `x=x; while :; do x=$x$x; done`},
		{"shell capture of an endless tool", `x=$(awk 'BEGIN { while (1) print "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }')`},
		{"awk gsub", `awk 'BEGIN { s = "x"; while (1) gsub(/x/, "xx", s) }'`},
		{"awk concatenation", `awk 'BEGIN { s = "x"; while (1) s = s s }'`},
		{"awk array of large strings", `awk 'BEGIN { s = "xxxxxxxxxx"; for (i = 0; i < 16; i++) s = s s; for (i = 0; ; i++) a[i] = s s }'`},
		{"virsh edit EDITOR", `EDITOR="sed -i -e ':a;G;h;ba'" virsh edit node-0`},
	}
	for _, b := range bombs {
		t.Run(b.name, func(t *testing.T) {
			start := time.Now()
			_, errOut, status, err := p.ssh(ctx, b.line)
			if err != nil {
				t.Fatalf("ssh: %v (serve alive: %v)\n%s", err, p.alive(), errOut)
			}
			if status == 0 || !strings.Contains(errOut, perSession) {
				t.Errorf("status %d, stderr %q; want non-zero and %q", status, errOut, perSession)
			}
			t.Logf("ended in %s: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(errOut))
			if !p.alive() {
				t.Fatalf("serve died:\n%s", tail(p.log.String()))
			}
		})
	}

	// Several at once: the server-wide budget refuses what sessions
	// together would hold; libvirt clients over TCP are not affected.
	t.Run("concurrent bombs", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		server := 0
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errOut, status, err := p.ssh(ctx, `awk 'BEGIN { s = "xxxxxxxxxx"; for (i = 0; i < 16; i++) s = s s; for (i = 0; ; i++) a[i] = s s }'`)
				mu.Lock()
				defer mu.Unlock()
				if err != nil || status == 0 || !strings.Contains(errOut, "exceeded") {
					t.Errorf("status %d err %v stderr %q; want a budget failure", status, err, errOut)
				}
				if strings.Contains(errOut, "memory budget of 32 MiB for all SSH sessions exceeded") {
					server++
				}
			}()
		}
		wg.Wait()
		t.Logf("%d of 6 stopped by the server-wide budget", server)
	})

	sshOK, sshFailed, sshErr := overSSH.finish()
	tcpOK, tcpFailed, tcpErr := overTCP.finish()
	t.Logf("during the bombs: virsh over ssh answered %d times (%d failures), over qemu+tcp %d times (%d failures)", sshOK, sshFailed, tcpOK, tcpFailed)
	if sshOK == 0 || tcpOK == 0 || tcpFailed > 0 {
		t.Errorf("other clients were not served: ssh %d ok / %d failed (%s); tcp %d ok / %d failed (%s)", sshOK, sshFailed, sshErr, tcpOK, tcpFailed, tcpErr)
	}
	if !p.alive() {
		t.Fatalf("serve died:\n%s", tail(p.log.String()))
	}
	for _, run := range []func() (string, string, int, error){
		func() (string, string, int, error) { return p.ssh(ctx, "virsh list --all") },
		func() (string, string, int, error) { return p.virsh(ctx, "list", "--all") },
	} {
		if out, errOut, status, err := run(); err != nil || status != 0 || !strings.Contains(out, "node-0") {
			t.Errorf("after the bombs: status %d err %v stdout %q stderr %q", status, err, out, errOut)
		}
	}
}

// The server-wide budget bounds what sessions hold together: with it below
// one session's, a bomb is stopped by it, and the next session is served.
func TestSSHMemoryTotal(t *testing.T) {
	testtool.Require(t, "ssh")
	p := startCappedServe(t, 2<<30, "--ssh-session-memory", "64MiB", "--ssh-memory-total", "4MiB")
	_, errOut, status, err := p.ssh(t.Context(), `echo x | sed ':a;G;h;ba'`)
	const want = "sed: memory budget of 4 MiB for all SSH sessions exceeded"
	if err != nil || status == 0 || !strings.Contains(errOut, want) {
		t.Errorf("status %d err %v stderr %q; want non-zero and %q", status, err, errOut, want)
	}
	if out, errOut, status, err := p.ssh(t.Context(), "virsh list --all"); err != nil || status != 0 || !strings.Contains(out, "node-0") {
		t.Errorf("next session: status %d err %v stdout %q stderr %q", status, err, out, errOut)
	}
	if !p.alive() {
		t.Fatalf("serve died:\n%s", tail(p.log.String()))
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
