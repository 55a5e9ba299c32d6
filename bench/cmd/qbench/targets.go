package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// target is one system under test: something that speaks the libvirt
// remote protocol on a loopback TCP port.
type target struct {
	label   string
	uri     string             // virsh -c URI
	connURI libvirt.ConnectURI // what go-libvirt opens
	host    string
	port    string
	name    func(i int) string // domain name of index i
	n       int
	pid     int    // server process, for RSS
	simURL  string // cloudsim base URL ("" for libvirtd)
}

// running is the domain the read-only probes use (running, the last of the
// started half); stopped is the one the start/destroy pair toggles.
func (t *target) running() string { return t.name(max(t.n/2-1, 0)) }
func (t *target) stopped() string { return t.name(t.n - 1) }

func (t *target) dial() (*libvirt.Libvirt, error) {
	l := libvirt.NewWithDialer(dialers.NewRemote(t.host, dialers.UsePort(t.port), dialers.WithRemoteTimeout(10*time.Second)))
	if err := l.ConnectToURI(t.connURI); err != nil {
		return nil, err
	}
	return l, nil
}

// --- real libvirtd (test driver) via libvirtd-ref.sh ---

func setupLibvirtd(ctx context.Context, p *procs, cfg *config, dir string, n int) (*target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	lvdir := filepath.Join(dir, "lvref")
	env := append(os.Environ(), "LVREF_DIR="+lvdir, "LVREF_PORT="+strconv.Itoa(port), "LVREF_CAPS="+filepath.Join(dir, "lvref-caps"))
	script := scriptRunner(cfg.libvirtdScript, env)
	p.onCleanup(func() { _, _ = script("stop") })
	if out, err := script("start"); err != nil {
		return nil, fmt.Errorf("%s start: %v\n%s", cfg.libvirtdScript, err, out)
	}
	pidb, err := os.ReadFile(filepath.Join(lvdir, "libvirtd.pid"))
	if err != nil {
		return nil, err
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(pidb)))
	width := len(strconv.Itoa(n - 1))
	width = max(width, 4)
	t := &target{
		label:   "libvirtd",
		uri:     fmt.Sprintf("test+tcp://127.0.0.1:%d/default", port),
		connURI: libvirt.TestDefault,
		host:    "127.0.0.1", port: strconv.Itoa(port),
		name: func(i int) string { return fmt.Sprintf("vm%0*d", width, i) },
		n:    n, pid: pid,
	}
	l, err := t.dial()
	if err != nil {
		return nil, fmt.Errorf("libvirtd: %w", err)
	}
	// This connection stays open until cleanup: the test driver resets its
	// state when its last connection closes, and the script's holder may not
	// be connected yet.
	p.onCleanup(func() { _ = l.Disconnect() })
	// Exactly n domains: drop the driver's built-in "test".
	if d, err := l.DomainLookupByName("test"); err == nil {
		_ = l.DomainDestroy(d)
		if err := l.DomainUndefine(d); err != nil {
			return nil, fmt.Errorf("undefine test: %w", err)
		}
	}
	for i := 0; i < n; i++ {
		xml := fmt.Sprintf(`<domain type='test'><name>%s</name><memory unit='KiB'>1048576</memory>`+
			`<vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os></domain>`, t.name(i))
		d, err := l.DomainDefineXML(xml)
		if err != nil {
			return nil, fmt.Errorf("define %s: %w", t.name(i), err)
		}
		if i < n/2 {
			if err := l.DomainCreate(d); err != nil {
				return nil, fmt.Errorf("start %s: %w", t.name(i), err)
			}
		}
	}
	return t, nil
}

// --- quintupleo serve over cloudsim ---

func setupQuintupleo(ctx context.Context, p *procs, cfg *config, dir string, n int) (*target, error) {
	simPort, err := freePort()
	if err != nil {
		return nil, err
	}
	lvPort, err := freePort()
	if err != nil {
		return nil, err
	}
	clouds := filepath.Join(dir, "clouds.yaml")
	simAddr := fmt.Sprintf("127.0.0.1:%d", simPort)
	simCmd, err := p.start(ctx, filepath.Join(dir, "sim.log"), cfg.quintupleo, "sim",
		"--listen", simAddr, "--nodes", strconv.Itoa(n), "--clouds-yaml", clouds,
		"--transition-delay", cfg.transitionDelay.String(), "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	simURL := "http://" + simAddr
	hc := &http.Client{Timeout: 5 * time.Second}
	if err := waitFor(ctx, 60*time.Second, "cloudsim", func() error {
		if simCmd.ProcessState != nil {
			return errors.New("cloudsim exited; see " + filepath.Join(dir, "sim.log"))
		}
		resp, err := hc.Get(simURL + "/_sim/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("health: %s", resp.Status)
		}
		if _, err := os.Stat(clouds); err != nil {
			return err
		}
		return nil
	}); err != nil {
		return nil, err
	}
	lvAddr := fmt.Sprintf("127.0.0.1:%d", lvPort)
	serveCmd, err := p.start(ctx, filepath.Join(dir, "serve.log"), cfg.quintupleo, "serve",
		"--os-cloud", "sim", "--clouds-yaml", clouds, "--listen-tcp", lvAddr,
		"--refresh-interval", cfg.refreshInterval.String(), "--poll-interval", cfg.pollInterval.String(),
		"--log-level", "warn")
	if err != nil {
		return nil, err
	}
	t := &target{
		label:   "quintupleo",
		uri:     fmt.Sprintf("qemu+tcp://%s/system", lvAddr),
		connURI: libvirt.QEMUSystem,
		host:    "127.0.0.1", port: strconv.Itoa(lvPort),
		name: func(i int) string { return "node-" + strconv.Itoa(i) },
		n:    n, pid: serveCmd.Process.Pid, simURL: simURL,
	}
	if err := waitFor(ctx, 120*time.Second, "quintupleo serve", func() error {
		if serveCmd.ProcessState != nil {
			return errors.New("serve exited; see " + filepath.Join(dir, "serve.log"))
		}
		c, err := net.DialTimeout("tcp", lvAddr, time.Second)
		if err != nil {
			return err
		}
		c.Close()
		l, err := t.dial()
		if err != nil {
			return err
		}
		defer l.Disconnect()
		_, got, err := l.ConnectListAllDomains(1, libvirt.ConnectListDomainsActive|libvirt.ConnectListDomainsInactive)
		if err != nil {
			return err
		}
		if int(got) != n {
			return fmt.Errorf("%d domains, want %d", got, n)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// Start the first half, from a few connections in parallel (each call
	// waits for the cloud to report ACTIVE).
	const workers = 16
	idx := make(chan int)
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := t.dial()
			if err != nil {
				errc <- err
				for range idx {
				}
				return
			}
			defer l.Disconnect()
			for i := range idx {
				d, err := l.DomainLookupByName(t.name(i))
				if err == nil {
					err = l.DomainCreate(d)
				}
				if err != nil {
					select {
					case errc <- fmt.Errorf("start %s: %w", t.name(i), err):
					default:
					}
				}
			}
		}()
	}
	for i := 0; i < n/2; i++ {
		idx <- i
	}
	close(idx)
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	return t, nil
}

// simCounters reads cloudsim's per-endpoint request counters.
func simCounters(base string) (map[string]int64, error) {
	resp, err := http.Get(base + "/_sim/counters")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := map[string]int64{}
	return m, decodeJSON(resp, &m)
}

func simResetCounters(base string) error {
	req, _ := http.NewRequest(http.MethodDelete, base+"/_sim/counters", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		return fmt.Errorf("reset counters: %s", resp.Status)
	}
	return nil
}
