package main

// -mode rss: the memory of one `serve` at a large N with many busy
// connections: RSS after setup, during and after a polling window of C
// go-libvirt connections, and the peak (VmHWM).

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

type rssConfig struct {
	nodes, clients int
	duration       time.Duration
}

func (rc *rssConfig) register(fs *flag.FlagSet) {
	fs.IntVar(&rc.nodes, "rss-nodes", 10000, "-mode rss: nodes (quintupleo sim --nodes)")
	fs.IntVar(&rc.clients, "rss-clients", 200, "-mode rss: go-libvirt connections polling at once")
	fs.DurationVar(&rc.duration, "rss-duration", 20*time.Second, "-mode rss: polling window")
}

func runRSS(cfg *config, rc *rssConfig) int {
	return runMode(cfg, "qbench-rss-", func(ctx context.Context, w io.Writer, p *procs, work string) error {
		load0 := loadavg()
		simURL, err := startSim(ctx, p, cfg, work, "--nodes", strconv.Itoa(rc.nodes))
		if err != nil {
			return err
		}
		t, err := startServeOver(ctx, p, cfg, work, simURL, "serve", rc.nodes)
		if err != nil {
			return err
		}
		setup, _ := rss(t.pid)
		r, err := benchPoll(ctx, []*target{t}, rc.clients, rc.duration, false)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "## Memory: `serve` with N = %d and %d connections\n\n", rc.nodes, rc.clients)
		fmt.Fprintf(w, "- %s; load average at start: %s, at the end: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), load0, loadavg())
		fmt.Fprintf(w, "- command: `go run ./bench/cmd/qbench %s`\n", strings.Join(os.Args[1:], " "))
		fmt.Fprintf(w, "- %d go-libvirt connections, each looping list all (%d domains per reply) → look one up → state, for %v (%.1f s with the last iterations)\n\n",
			rc.clients, rc.nodes, rc.duration, r.window.Seconds())
		fmt.Fprintf(w, "| RSS after setup | RSS after the window | peak RSS (VmHWM) | iterations/s | errors |\n|---|---|---|---|---|\n")
		fmt.Fprintf(w, "| %s | %s | %s | %.0f | %d |\n", mib(setup), mib(r.rssKiB), mib(r.hwmKiB),
			float64(r.iterations)/r.window.Seconds(), r.errors+int64(r.connectFailed))
		fmt.Fprintln(w)
		return nil
	})
}
