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
		simURL, err := startSim(ctx, p, cfg, work, "--nodes", strconv.Itoa(rc.nodes))
		if err != nil {
			return err
		}
		t, err := startServeOver(ctx, p, cfg, work, simURL, "serve", rc.nodes)
		if err != nil {
			return err
		}
		setup, _ := rss(t.pid)
		res := map[bool]*pollResult{}
		for _, full := range []bool{false, true} {
			if res[full], err = benchPoll(ctx, []*target{t}, rc.clients, rc.duration, full); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "## Memory: `serve` with N = %d and %d connections\n\n", rc.nodes, rc.clients)
		fmt.Fprintf(w, "- %s; load average at start: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), loadavg())
		fmt.Fprintf(w, "- command: `go run ./bench/cmd/qbench %s`\n\n", strings.Join(os.Args[1:], " "))
		fmt.Fprintf(w, "| window (%v each, %d go-libvirt connections) | iterations/s | errors | RSS after window | peak RSS so far (VmHWM) |\n|---|---|---|---|---|\n", rc.duration, rc.clients)
		fmt.Fprintf(w, "| none: after setup | – | – | %s | – |\n", mib(setup))
		for _, full := range []bool{false, true} {
			r := res[full]
			what := "list all (names) → look one up → state"
			if full {
				what = "the same + a state per listed domain (`virsh list --all`)"
			}
			fmt.Fprintf(w, "| %s | %.0f | %d | %s | %s |\n", what, float64(r.iterations)/r.window.Seconds(), r.errors+int64(r.connectFailed), mib(r.rssKiB), mib(r.hwmKiB))
		}
		fmt.Fprintln(w)
		return nil
	})
}
