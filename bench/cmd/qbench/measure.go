package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digitalocean/go-libvirt"
)

// dist summarises a sample of durations.
type dist struct {
	n                             int
	min, p50, p90, p99, max, mean time.Duration
}

func summarize(d []time.Duration) dist {
	if len(d) == 0 {
		return dist{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return dist{n: len(s), min: s[0], p50: med, p90: q(0.90), p99: q(0.99), max: s[len(s)-1], mean: sum / time.Duration(len(s))}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

// --- virsh wall time ---

type virshCase struct {
	label string
	args  func(t *target) [][]string // commands run (and timed) in one sample
}

var virshCases = []virshCase{
	{"list --all", one("list", "--all")},
	{"list --all --name", one("list", "--all", "--name")},
	{"list --name", one("list", "--name")},
	{"dominfo X", func(t *target) [][]string { return [][]string{{"dominfo", t.running()}} }},
	{"domstate X", func(t *target) [][]string { return [][]string{{"domstate", t.running()}} }},
	{"dumpxml X", func(t *target) [][]string { return [][]string{{"dumpxml", t.running()}} }},
	{"start Y + destroy Y", func(t *target) [][]string {
		return [][]string{{"start", t.stopped()}, {"destroy", t.stopped()}}
	}},
}

func one(args ...string) func(*target) [][]string {
	return func(*target) [][]string { return [][]string{args} }
}

func runVirsh(ctx context.Context, uri string, args ...string) (time.Duration, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "virsh", append([]string{"-q", "-c", uri}, args...)...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	el := time.Since(start)
	if err != nil {
		return el, out.String(), fmt.Errorf("virsh %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return el, out.String(), nil
}

// benchVirsh times each case runs times (after one warm-up); a sample of a
// multi-command case is the sum of its commands.
func benchVirsh(ctx context.Context, t *target, runs int) (map[string]dist, error) {
	// sanity: the names listed are the n domains
	_, out, err := runVirsh(ctx, t.uri, "list", "--all", "--name")
	if err != nil {
		return nil, err
	}
	if got := len(strings.Fields(out)); got != t.n {
		return nil, fmt.Errorf("%s: virsh list --all --name shows %d domains, want %d", t.label, got, t.n)
	}
	res := map[string]dist{}
	for _, c := range virshCases {
		var samples []time.Duration
		for i := 0; i < runs+1; i++ {
			var total time.Duration
			for _, a := range c.args(t) {
				el, _, err := runVirsh(ctx, t.uri, a...)
				if err != nil {
					return nil, err
				}
				total += el
			}
			if i > 0 {
				samples = append(samples, total)
			}
		}
		res[c.label] = summarize(samples)
	}
	return res, nil
}

// --- go-libvirt in-process loops: the RPC sequences virsh sends ---

type rpcCase struct {
	label string
	rpcs  func(t *target) int // RPCs per call
	fn    func(l *libvirt.Libvirt, t *target) error
}

const allFlags = libvirt.ConnectListDomainsActive | libvirt.ConnectListDomainsInactive

var rpcCases = []rpcCase{
	{"list --all", func(t *target) int { return 1 + t.n }, func(l *libvirt.Libvirt, t *target) error {
		doms, _, err := l.ConnectListAllDomains(1, allFlags)
		if err != nil {
			return err
		}
		for _, d := range doms {
			if _, _, err := l.DomainGetState(d, 0); err != nil {
				return err
			}
		}
		return nil
	}},
	{"list --all --name", func(*target) int { return 1 }, func(l *libvirt.Libvirt, t *target) error {
		_, _, err := l.ConnectListAllDomains(1, allFlags)
		return err
	}},
	{"list --name", func(*target) int { return 1 }, func(l *libvirt.Libvirt, t *target) error {
		_, _, err := l.ConnectListAllDomains(1, libvirt.ConnectListDomainsActive)
		return err
	}},
	{"dominfo X", func(*target) int { return 9 }, func(l *libvirt.Libvirt, t *target) error {
		d, err := l.DomainLookupByName(t.running())
		if err != nil {
			return err
		}
		if _, err := l.DomainGetOsType(d); err != nil {
			return err
		}
		if _, _, _, _, _, err := l.DomainGetInfo(d); err != nil {
			return err
		}
		if _, err := l.DomainIsPersistent(d); err != nil {
			return err
		}
		if _, err := l.DomainGetAutostart(d); err != nil {
			return err
		}
		if _, err := l.DomainHasManagedSaveImage(d, 0); err != nil {
			return err
		}
		if _, _, err := l.NodeGetSecurityModel(); err != nil {
			return err
		}
		if _, _, err := l.DomainGetSecurityLabel(d); err != nil {
			return err
		}
		_, _ = l.DomainGetMessages(d, 0) // virsh ignores failure here too
		return nil
	}},
	{"domstate X", func(*target) int { return 2 }, func(l *libvirt.Libvirt, t *target) error {
		d, err := l.DomainLookupByName(t.running())
		if err != nil {
			return err
		}
		_, _, err = l.DomainGetState(d, 0)
		return err
	}},
	{"dumpxml X", func(*target) int { return 2 }, func(l *libvirt.Libvirt, t *target) error {
		d, err := l.DomainLookupByName(t.running())
		if err != nil {
			return err
		}
		_, err = l.DomainGetXMLDesc(d, 0)
		return err
	}},
	{"start Y + destroy Y", func(*target) int { return 4 }, func(l *libvirt.Libvirt, t *target) error {
		d, err := l.DomainLookupByName(t.stopped())
		if err != nil {
			return err
		}
		if err := l.DomainCreate(d); err != nil {
			return err
		}
		d, err = l.DomainLookupByName(t.stopped())
		if err != nil {
			return err
		}
		return l.DomainDestroy(d)
	}},
}

type rpcResult struct {
	calls   int
	elapsed time.Duration
	rpcs    int
	lat     dist
}

func (r rpcResult) perSec() float64 { return float64(r.calls) / r.elapsed.Seconds() }

// benchRPC runs each case on one connection for at least dur and at least
// minCalls calls.
func benchRPC(t *target, dur time.Duration, minCalls int) (map[string]rpcResult, error) {
	l, err := t.dial()
	if err != nil {
		return nil, err
	}
	defer l.Disconnect()
	res := map[string]rpcResult{}
	for _, c := range rpcCases {
		if err := c.fn(l, t); err != nil { // warm-up
			return nil, fmt.Errorf("%s go-libvirt %s: %w", t.label, c.label, err)
		}
		var lat []time.Duration
		start := time.Now()
		for time.Since(start) < dur || len(lat) < minCalls {
			s := time.Now()
			if err := c.fn(l, t); err != nil {
				return nil, fmt.Errorf("%s go-libvirt %s: %w", t.label, c.label, err)
			}
			lat = append(lat, time.Since(s))
		}
		res[c.label] = rpcResult{calls: len(lat), elapsed: time.Since(start), rpcs: c.rpcs(t), lat: summarize(lat)}
	}
	return res, nil
}

// --- many polling clients ---

type pollResult struct {
	clients, connectFailed int
	window                 time.Duration
	iterations             int64
	errors                 int64
	firstErr               string
	iter, list, state      dist
	counters               map[string]int64 // cloudsim requests in the window (quintupleo only)
	rssKiB, hwmKiB         int64
	serverCPU, clientCPU   time.Duration // CPU time used in the window by the server and by qbench
}

// benchPoll connects clients go-libvirt clients, then lets each loop
// {list all domains; look one up by name; get its state} (or, with
// fullList, a state per listed domain as virsh list --all does) for dur.
// Client i talks to ts[i % len(ts)] (replicas over one cloud); CPU and RSS
// are those of ts[0], the cloud counters those of ts[0]'s cloudsim.
func benchPoll(ctx context.Context, ts []*target, clients int, dur time.Duration, fullList bool) (*pollResult, error) {
	t := ts[0]
	res := &pollResult{clients: clients}
	conns := make([]*libvirt.Libvirt, clients)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	var failed atomic.Int64
	var firstErr atomic.Value
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			l, err := ts[i%len(ts)].dial()
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, "connect: "+err.Error())
				return
			}
			conns[i] = l
		}()
	}
	wg.Wait()
	defer func() {
		for _, l := range conns {
			if l != nil {
				_ = l.Disconnect()
			}
		}
	}()
	res.connectFailed = int(failed.Load())
	if res.connectFailed == clients {
		return nil, fmt.Errorf("%s: no polling client connected: %v", t.label, firstErr.Load())
	}
	if t.simURL != "" {
		if err := simResetCounters(t.simURL); err != nil {
			return nil, err
		}
	}
	type sample struct{ iter, list, state []time.Duration }
	samples := make([]sample, clients)
	var iters, errs atomic.Int64
	cpu0, self0 := cpuTime(t.pid), cpuTime(os.Getpid())
	start := time.Now()
	deadline := start.Add(dur)
	for i, l := range conns {
		if l == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			s := &samples[i]
			t := ts[i%len(ts)]
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				doms, _, err := l.ConnectListAllDomains(1, allFlags)
				t1 := time.Now()
				if err == nil && fullList {
					for _, d := range doms {
						if _, _, err = l.DomainGetState(d, 0); err != nil {
							break
						}
					}
				}
				var t2 time.Time
				if err == nil {
					var d libvirt.Domain
					t2 = time.Now()
					if d, err = l.DomainLookupByName(t.name(rng.IntN(t.n))); err == nil {
						_, _, err = l.DomainGetState(d, 0)
					}
				}
				t3 := time.Now()
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					time.Sleep(10 * time.Millisecond)
					continue
				}
				iters.Add(1)
				s.iter = append(s.iter, t3.Sub(t0))
				s.list = append(s.list, t1.Sub(t0))
				s.state = append(s.state, t3.Sub(t2))
			}
		}()
	}
	wg.Wait()
	res.window = time.Since(start)
	res.serverCPU, res.clientCPU = cpuTime(t.pid)-cpu0, cpuTime(os.Getpid())-self0
	if t.simURL != "" {
		c, err := simCounters(t.simURL)
		if err != nil {
			return nil, err
		}
		res.counters = c
	}
	res.rssKiB, res.hwmKiB = rss(t.pid)
	var all sample
	for _, s := range samples {
		all.iter = append(all.iter, s.iter...)
		all.list = append(all.list, s.list...)
		all.state = append(all.state, s.state...)
	}
	res.iterations, res.errors = iters.Load(), errs.Load()
	if v := firstErr.Load(); v != nil {
		res.firstErr = v.(string)
	}
	res.iter, res.list, res.state = summarize(all.iter), summarize(all.list), summarize(all.state)
	return res, nil
}

func decodeJSON(resp *http.Response, v any) error {
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", resp.Request.URL, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
