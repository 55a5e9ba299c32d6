package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/digitalocean/go-libvirt"
)

// startServeOver starts one `quintupleo serve` over the cloudsim whose
// clouds.yaml is in dir, with a libvirt TCP listener on a free port and the
// extra flags given, and waits until it lists n domains. name tells
// replicas' logs apart.
func startServeOver(ctx context.Context, p *procs, cfg *config, dir, simURL, name string, n int, extra ...string) (*target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := append([]string{"serve", "--os-cloud", "sim", "--clouds-yaml", filepath.Join(dir, "clouds.yaml"),
		"--listen-tcp", addr, "--refresh-interval", cfg.refreshInterval.String(),
		"--poll-interval", cfg.pollInterval.String(), "--log-level", "warn"}, extra...)
	logPath := filepath.Join(dir, name+".log")
	cmd, err := p.start(ctx, logPath, cfg.quintupleo, args...)
	if err != nil {
		return nil, err
	}
	t := &target{
		label:   name,
		uri:     fmt.Sprintf("qemu+tcp://%s/system", addr),
		connURI: libvirt.QEMUSystem,
		host:    "127.0.0.1", port: strconv.Itoa(port),
		name: func(i int) string { return "node-" + strconv.Itoa(i) },
		n:    n, pid: cmd.Process.Pid, simURL: simURL,
	}
	return t, waitFor(ctx, 120*time.Second, "quintupleo serve ("+name+")", func() error {
		if cmd.ProcessState != nil {
			b, _ := os.ReadFile(logPath)
			return errors.New("serve exited: " + string(b))
		}
		l, err := t.dial()
		if err != nil {
			return err
		}
		defer l.Disconnect()
		_, got, err := l.ConnectListAllDomains(1, allFlags)
		if err == nil && int(got) != n {
			err = fmt.Errorf("%d domains, want %d", got, n)
		}
		return err
	})
}

// cloudWindow counts cloudsim's requests over dur with no client at all.
func cloudWindow(ctx context.Context, simURL string, dur time.Duration) (map[string]int64, error) {
	if err := simResetCounters(simURL); err != nil {
		return nil, err
	}
	select {
	case <-time.After(dur):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return simCounters(simURL)
}

// perMinute scales a count over window to a rate per minute.
func perMinute(n int64, window time.Duration) float64 { return float64(n) / window.Minutes() }
