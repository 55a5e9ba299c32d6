package main

// -mode curves: the wall time of the real `virsh list --all` (one
// DOMAIN_GET_STATE round trip per domain) against quintupleo over cloudsim
// and against the reference libvirtd, for a range of N, drawn as a plot.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type curveConfig struct {
	ns   string
	runs int
	svg  string
}

func (cc *curveConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&cc.ns, "curve-n", "100,300,1000,3000,10000", "-mode curves: comma-separated domain counts N")
	fs.IntVar(&cc.runs, "curve-runs", 5, "-mode curves: virsh list --all runs per N and side (after one warm-up)")
	fs.StringVar(&cc.svg, "curve-svg", "", "-mode curves: write the plot of virsh list --all time against N to this SVG file")
}

func runCurves(cfg *config, cc *curveConfig) int {
	return runMode(cfg, "qbench-curves-", func(ctx context.Context, w io.Writer, p *procs, work string) error {
		return benchCurves(ctx, w, p, cfg, cc, work)
	})
}

// timeList is the distribution of runs `virsh list --all` against t after
// one warm-up, which also checks that t lists its n domains.
func timeList(ctx context.Context, t *target, runs int) (dist, error) {
	_, out, err := runVirsh(ctx, t.uri, "list", "--all", "--name")
	if err != nil {
		return dist{}, err
	}
	if got := len(strings.Fields(out)); got != t.n {
		return dist{}, fmt.Errorf("%s: %d domains listed, want %d", t.label, got, t.n)
	}
	var samples []time.Duration
	for i := 0; i <= runs; i++ {
		el, _, err := runVirsh(ctx, t.uri, "list", "--all")
		if err != nil {
			return dist{}, err
		}
		if i > 0 {
			samples = append(samples, el)
		}
	}
	return summarize(samples), nil
}

func benchCurves(ctx context.Context, w io.Writer, p *procs, cfg *config, cc *curveConfig, work string) error {
	ns, err := parseCounts("-curve-n", cc.ns)
	if err != nil {
		return err
	}
	if err := os.Chmod(work, 0o755); err != nil { // the reference libvirtd runs as nobody below it
		return err
	}
	fmt.Fprintf(w, "## `virsh list --all` wall time against N\n\n")
	fmt.Fprintf(w, "- %s; load average at start: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), loadavg())
	fmt.Fprintf(w, "- command: `go run ./bench/cmd/qbench %s`\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(w, "- median (min / max) of %d runs after one warm-up, ms; libvirtd: test driver, N defined, N/2 running; quintupleo: `sim --nodes N` (all shut off), `serve`\n\n", cc.runs)
	fmt.Fprintf(w, "| N | libvirtd | quintupleo | quintupleo / libvirtd |\n|---|---|---|---|\n")
	lv := series{label: "libvirtd 9.0 (test driver)"}
	qs := series{label: "quintupleo over cloudsim", color: 1}
	for _, n := range ns {
		dir := filepath.Join(work, "n"+strconv.Itoa(n))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		lt, err := setupLibvirtd(ctx, p, cfg, dir, n)
		if err != nil {
			return err
		}
		simURL, err := startSim(ctx, p, cfg, dir, "--nodes", strconv.Itoa(n))
		if err != nil {
			return err
		}
		qt, err := startServeOver(ctx, p, cfg, dir, simURL, "serve", n)
		if err != nil {
			return err
		}
		ld, err := timeList(ctx, lt, cc.runs)
		if err != nil {
			return err
		}
		qd, err := timeList(ctx, qt, cc.runs)
		if err != nil {
			return err
		}
		p.cleanup()
		fmt.Fprintf(w, "| %d | %s (%s / %s) | %s (%s / %s) | %.2f× |\n", n, ms(ld.p50), ms(ld.min), ms(ld.max),
			ms(qd.p50), ms(qd.min), ms(qd.max), float64(qd.p50)/float64(ld.p50))
		lv.pts = append(lv.pts, point{float64(n), float64(ld.p50) / float64(time.Millisecond)})
		qs.pts = append(qs.pts, point{float64(n), float64(qd.p50) / float64(time.Millisecond)})
	}
	fmt.Fprintln(w)
	return writePlot(cc.svg, plot{title: "virsh list --all: median wall time against N", xLabel: "domains N",
		yLabel: "ms", logX: true, logY: true, series: []series{lv, qs}})
}
