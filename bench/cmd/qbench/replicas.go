package main

// -mode replicas: what clients and replicas cost the cloud. One cloudsim
// with N nodes; first one `serve`, then -replicas of them over the same
// cloud; for each number of polling clients K (spread round-robin over the
// replicas running) cloudsim counts every request in a window. The target
// is that the count depends on neither K nor anything but one list round
// per replica per --refresh-interval.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

type repConfig struct {
	nodes    int
	replicas int
	clients  string
	window   time.Duration
	svg      string
}

func (rc *repConfig) register(fs *flag.FlagSet) {
	fs.IntVar(&rc.nodes, "rep-nodes", 1000, "-mode replicas: nodes (quintupleo sim --nodes)")
	fs.IntVar(&rc.replicas, "replicas", 3, "-mode replicas: replicas compared with one")
	fs.StringVar(&rc.clients, "rep-clients", "0,1,10,100,1000", "-mode replicas: comma-separated numbers of polling go-libvirt clients, spread over the replicas")
	fs.DurationVar(&rc.window, "rep-window", 15*time.Second, "-mode replicas: counting window per point")
	fs.StringVar(&rc.svg, "rep-svg", "", "-mode replicas: write the plot of cloud requests per minute against clients to this SVG file")
}

func runReplicas(cfg *config, rc *repConfig) int {
	return runMode(cfg, "qbench-rep-", func(ctx context.Context, w io.Writer, p *procs, work string) error {
		return benchReplicas(ctx, w, p, cfg, rc, work)
	})
}

// repPoint is one window: replicas running, clients, what the cloud saw.
type repPoint struct {
	replicas, clients int
	iterations        int64
	counts            map[string]int64
	window            time.Duration
}

func benchReplicas(ctx context.Context, w io.Writer, p *procs, cfg *config, rc *repConfig, work string) error {
	load0 := loadavg()
	ks, err := parseCounts("-rep-clients", rc.clients)
	if err != nil {
		return err
	}
	simURL, err := startSim(ctx, p, cfg, work, "--nodes", strconv.Itoa(rc.nodes))
	if err != nil {
		return err
	}
	var ts []*target
	var points []repPoint
	for _, reps := range []int{1, rc.replicas} {
		for len(ts) < reps {
			t, err := startServeOver(ctx, p, cfg, work, simURL, fmt.Sprintf("replica-%d", len(ts)+1), rc.nodes)
			if err != nil {
				return err
			}
			ts = append(ts, t)
		}
		for _, k := range ks {
			pt, err := repWindow(ctx, ts, k, rc.window, simURL)
			if err != nil {
				return fmt.Errorf("%d replicas, %d clients: %w", reps, k, err)
			}
			points = append(points, pt)
		}
	}
	reportReplicas(w, cfg, rc, points, load0)
	return writePlot(rc.svg, replicasPlot(cfg, rc, points))
}

func repWindow(ctx context.Context, ts []*target, k int, window time.Duration, simURL string) (repPoint, error) {
	pt := repPoint{replicas: len(ts), clients: k}
	if k == 0 {
		c, err := cloudWindow(ctx, simURL, window)
		pt.counts, pt.window = c, window
		return pt, err
	}
	r, err := benchPoll(ctx, ts, k, window, false)
	if err != nil {
		return pt, err
	}
	if r.errors > 0 || r.connectFailed > 0 {
		return pt, fmt.Errorf("%d errors, %d not connected (first: %s)", r.errors, r.connectFailed, r.firstErr)
	}
	pt.counts, pt.window, pt.iterations = r.counters, r.window, r.iterations
	return pt, nil
}

func reportReplicas(w io.Writer, cfg *config, rc *repConfig, points []repPoint, load0 string) {
	bound := 60 / cfg.refreshInterval.Seconds()
	fmt.Fprintf(w, "## Replicas and clients: cloud requests per minute, N = %d\n\n", rc.nodes)
	fmt.Fprintf(w, "- %s; load average at start: %s, at the end: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), load0, loadavg())
	fmt.Fprintf(w, "- command: `go run ./bench/cmd/qbench %s`\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(w, "- one cloudsim `sim --nodes %d`; `serve --refresh-interval %v` replicas, each its own process and cache; "+
		"clients: go-libvirt connections spread round-robin over the replicas, each looping list all → look one up → state; %v window per row\n",
		rc.nodes, cfg.refreshInterval, rc.window)
	fmt.Fprintf(w, "- bound: one list round per replica per refresh interval = %.0f `servers/detail` per replica per minute\n\n", bound)
	fmt.Fprintf(w, "| replicas | clients | client iterations/s | cloud requests per minute | `servers/detail` per minute | per replica | other requests in the window |\n|---|---|---|---|---|---|---|\n")
	for _, pt := range points {
		list := countContaining(pt.counts, "servers/detail")
		fmt.Fprintf(w, "| %d | %d | %.0f | %.1f | %.1f | %.1f | %s |\n", pt.replicas, pt.clients,
			float64(pt.iterations)/pt.window.Seconds(), perMinute(pt.counts["total"], pt.window), perMinute(list, pt.window),
			perMinute(list, pt.window)/float64(pt.replicas), otherRequests(pt.counts))
	}
	fmt.Fprintln(w)
}

// otherRequests lists the endpoints other than the server listing, with
// their counts, or "none".
func otherRequests(c map[string]int64) string {
	var parts []string
	for k, v := range c {
		if k != "total" && !strings.Contains(k, "servers/detail") {
			parts = append(parts, fmt.Sprintf("`%s` %d", k, v))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// replicasPlot draws requests per minute against clients (the idle point
// is in the table: a log axis has no 0) with each replica count's bound.
func replicasPlot(cfg *config, rc *repConfig, points []repPoint) plot {
	pl := plot{title: fmt.Sprintf("Cloud requests per minute vs polling clients (N = %d)", rc.nodes),
		xLabel: "polling clients", yLabel: "cloud requests per minute", logX: true}
	byReps := map[int]*series{}
	var order []int
	lo, hi := math.Inf(1), 0.0
	for _, pt := range points {
		if pt.clients == 0 {
			continue
		}
		s := byReps[pt.replicas]
		if s == nil {
			s = &series{label: fmt.Sprintf("%d replica(s), measured", pt.replicas), color: len(order)}
			byReps[pt.replicas] = s
			order = append(order, pt.replicas)
		}
		x := float64(pt.clients)
		lo, hi = math.Min(lo, x), math.Max(hi, x)
		s.pts = append(s.pts, point{x, perMinute(pt.counts["total"], pt.window)})
	}
	for _, r := range order {
		pl.series = append(pl.series, *byReps[r])
	}
	for i, r := range order {
		b := float64(r) * 60 / cfg.refreshInterval.Seconds()
		pl.series = append(pl.series, series{label: fmt.Sprintf("bound for %d: one list per replica per %v", r, cfg.refreshInterval),
			pts: []point{{lo, b}, {hi, b}}, color: i, dash: true})
	}
	return pl
}
