package main

// -mode redfish: Ironic-style power polling of many nodes over quintupleo's
// Redfish front (each round, one GET of every System, from Ironic's default
// 8 sync workers), against the anchors' model of the same polling — every
// query answered with Nova GETs of that server (sushy-tools' Nova driver: GET
// /servers/{id} and its /metadata; OVB's openstackbmc: GET /servers/{id}),
// sent here straight to the same cloudsim. Both are measured by cloudsim's
// request counters; then the latency of Reset On (answer, and PowerState
// reading On).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"golang.org/x/crypto/bcrypt"

	"quintupleo/nodes"
)

// rfConfig is the redfish mode's part of the configuration.
type rfConfig struct {
	nodes    int
	workers  int
	interval time.Duration
	rounds   int
	resets   int
}

func (rc *rfConfig) register(fs *flag.FlagSet) {
	fs.IntVar(&rc.nodes, "rf-nodes", 1000, "-mode redfish: nodes (quintupleo sim --nodes)")
	fs.IntVar(&rc.workers, "rf-workers", 8, "-mode redfish: concurrent pollers (Ironic's [conductor] sync_power_state_workers default)")
	fs.DurationVar(&rc.interval, "rf-interval", 10*time.Second, "-mode redfish: time between polling rounds (Ironic's sync_power_state_interval; its default is 60s)")
	fs.IntVar(&rc.rounds, "rf-rounds", 3, "-mode redfish: polling rounds per way")
	fs.IntVar(&rc.resets, "rf-resets", 50, "-mode redfish: nodes powered on with Reset On, one after another, for its latency")
}

const rfUser, rfPass = "bench", "bench-pw"

func runRedfish(cfg *config, rc *rfConfig) int {
	return runMode(cfg, "qbench-rf-", func(ctx context.Context, w io.Writer, p *procs, work string) error {
		return benchRedfish(ctx, w, p, cfg, rc, work)
	})
}

// rfTarget is serve's Redfish front.
type rfTarget struct {
	base string
	hc   *http.Client
}

func (t *rfTarget) do(ctx context.Context, method, path, body string) (int, map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(rfUser, rfPass)
	resp, err := t.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	var out map[string]any
	if err == nil && len(data) > 0 {
		err = json.Unmarshal(data, &out)
	}
	return resp.StatusCode, out, err
}

func startRedfishServe(ctx context.Context, p *procs, cfg *config, work string) (*rfTarget, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(rfPass), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	auth := filepath.Join(work, "htpasswd")
	if err := os.WriteFile(auth, []byte(rfUser+":"+string(hash)+"\n"), 0o600); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if _, err := p.start(ctx, filepath.Join(work, "serve.log"), cfg.quintupleo, "serve", "--os-cloud", "sim",
		"--clouds-yaml", filepath.Join(work, "clouds.yaml"), "--listen-tcp", "", "--listen-redfish", addr, "--redfish-http",
		"--redfish-auth-file", auth, "--refresh-interval", cfg.refreshInterval.String(),
		"--poll-interval", cfg.pollInterval.String(), "--log-level", "warn"); err != nil {
		return nil, err
	}
	t := &rfTarget{base: "http://" + addr, hc: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	return t, waitFor(ctx, 120*time.Second, "quintupleo serve --listen-redfish", func() error {
		code, _, err := t.do(ctx, http.MethodGet, "/redfish/v1/Systems", "")
		if err == nil && code != 200 {
			err = fmt.Errorf("GET Systems: %d", code)
		}
		return err
	})
}

// pollResultRF is one way's polling: how many queries, how long each, and
// what the cloud saw.
type pollResultRF struct {
	queries int
	wall    time.Duration
	lat     dist
	cloud   int64
}

// pollRounds runs rc.rounds rounds, rc.interval apart, each querying every
// id once from rc.workers workers, and counts cloudsim's requests over the
// whole window (rounds × interval).
func pollRounds(ctx context.Context, simURL string, rc *rfConfig, ids []string, query func(ctx context.Context, id string) error) (pollResultRF, error) {
	if err := simResetCounters(simURL); err != nil {
		return pollResultRF{}, err
	}
	var (
		mu       sync.Mutex
		lats     []time.Duration
		firstErr error
	)
	start := time.Now()
	for round := range rc.rounds {
		next := start.Add(time.Duration(round+1) * rc.interval)
		jobs := make(chan string)
		var wg sync.WaitGroup
		for range rc.workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for id := range jobs {
					t0 := time.Now()
					err := query(ctx, id)
					mu.Lock()
					lats = append(lats, time.Since(t0))
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
				}
			}()
		}
		for _, id := range ids {
			jobs <- id
		}
		close(jobs)
		wg.Wait()
		if firstErr != nil {
			return pollResultRF{}, firstErr
		}
		select {
		case <-time.After(time.Until(next)):
		case <-ctx.Done():
			return pollResultRF{}, ctx.Err()
		}
	}
	r := pollResultRF{queries: len(lats), wall: time.Since(start), lat: summarize(lats)}
	counts, err := simCounters(simURL)
	r.cloud = counts["total"]
	if os.Getenv("QBENCH_DEBUG") != "" {
		log.Printf("cloud requests: %v", counts)
	}
	return r, err
}

func benchRedfish(ctx context.Context, w io.Writer, p *procs, cfg *config, rc *rfConfig, work string) error {
	simURL, err := startSim(ctx, p, cfg, work, "--nodes", fmt.Sprint(rc.nodes))
	if err != nil {
		return err
	}
	t, err := startRedfishServe(ctx, p, cfg, work)
	if err != nil {
		return err
	}
	code, coll, err := t.do(ctx, http.MethodGet, "/redfish/v1/Systems", "")
	if err != nil || code != 200 {
		return fmt.Errorf("GET Systems: %d %v", code, err)
	}
	members, _ := coll["Members"].([]any)
	var paths, ids []string
	for _, m := range members {
		path, _ := m.(map[string]any)["@odata.id"].(string)
		paths = append(paths, path)
		ids = append(ids, path[strings.LastIndex(path, "/")+1:])
	}
	if len(paths) != rc.nodes {
		return fmt.Errorf("Systems has %d members, want %d (the inventory may still be listing)", len(paths), rc.nodes)
	}
	cloud, err := nodes.Connect(ctx, nodes.CloudConfig{Cloud: "sim", CloudsYAML: filepath.Join(work, "clouds.yaml")})
	if err != nil {
		return err
	}

	rfPoll, err := pollRounds(ctx, simURL, rc, paths, func(ctx context.Context, path string) error {
		code, sys, err := t.do(ctx, http.MethodGet, path, "")
		if err == nil && (code != 200 || sys["PowerState"] == nil) {
			err = fmt.Errorf("GET %s: %d %v", path, code, sys)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("Redfish polling: %w", err)
	}
	idle, err := pollRounds(ctx, simURL, rc, nil, nil)
	if err != nil {
		return err
	}
	// The anchors answer each query from Nova: the server, and (sushy-tools,
	// to render Boot) its metadata. Sent with the same client quintupleo
	// uses, to the same cloud.
	sushyTools, err := pollRounds(ctx, simURL, rc, ids, func(ctx context.Context, id string) error {
		if err := servers.Get(ctx, cloud.Compute, id).Err; err != nil {
			return err
		}
		_, err := cloud.Compute.Get(ctx, cloud.Compute.ServiceURL("servers", id, "metadata"), nil, &gophercloud.RequestOpts{OkCodes: []int{200}})
		return err
	})
	if err != nil {
		return fmt.Errorf("sushy-tools-style polling: %w", err)
	}
	ovb, err := pollRounds(ctx, simURL, rc, ids, func(ctx context.Context, id string) error {
		return servers.Get(ctx, cloud.Compute, id).Err
	})
	if err != nil {
		return fmt.Errorf("OVB-style polling: %w", err)
	}
	answer, on, resetCalls, err := benchResetOn(ctx, t, simURL, paths[:min(rc.resets, len(paths))])
	if err != nil {
		return err
	}

	window := time.Duration(rc.rounds) * rc.interval
	perMin := func(n int64) float64 { return float64(n) / window.Minutes() }
	fmt.Fprintf(w, "## Redfish: Ironic-style power polling of %d nodes, and Reset On\n\n", rc.nodes)
	fmt.Fprintf(w, "- %s, cloudsim `sim --nodes %d --transition-delay %v`; load average at start: %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), rc.nodes, cfg.transitionDelay, loadavg())
	fmt.Fprintf(w, "- command: `go run ./bench/cmd/qbench %s`\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(w, "- quintupleo: `serve --listen-redfish --redfish-http --refresh-interval %v --poll-interval %v`\n",
		cfg.refreshInterval, cfg.pollInterval)
	fmt.Fprintf(w, "- polling: %d rounds %v apart, each one query of every node from %d workers; cloud requests counted by cloudsim over the %v window\n\n",
		rc.rounds, rc.interval, rc.workers, window)
	fmt.Fprintf(w, "| way | queries | per query p50 / p90 / max ms | cloud requests | per minute | per query |\n|---|---|---|---|---|---|\n")
	row := func(label string, r pollResultRF) {
		per := "–"
		if r.queries > 0 {
			per = fmt.Sprintf("%.3f", float64(r.cloud)/float64(r.queries))
		}
		fmt.Fprintf(w, "| %s | %d | %s / %s / %s | %d | %.0f | %s |\n", label, r.queries, ms(r.lat.p50), ms(r.lat.p90), ms(r.lat.max),
			r.cloud, perMin(r.cloud), per)
	}
	row("quintupleo Redfish: `GET /redfish/v1/Systems/{id}`", rfPoll)
	row("quintupleo with no client at all (its own refreshes)", idle)
	row("sushy-tools' Nova driver: `GET /servers/{id}` + `/metadata` per query", sushyTools)
	row("OVB openstackbmc: `GET /servers/{id}` per query", ovb)
	fmt.Fprintf(w, "\nReset On of %d nodes (SHUTOFF), one after another: 204 after p50 %s / p90 %s / max %s ms; PowerState `On` after p50 %s / p90 %s / max %s ms; %d cloud requests (%.1f per reset, the inventory's refreshes included).\n\n",
		answer.n, ms(answer.p50), ms(answer.p90), ms(answer.max), ms(on.p50), ms(on.p90), ms(on.max), resetCalls, float64(resetCalls)/float64(max(answer.n, 1)))
	return nil
}

// benchResetOn powers each node on with Reset On and polls its System
// until PowerState reads On (every 5 ms), timing both.
func benchResetOn(ctx context.Context, t *rfTarget, simURL string, paths []string) (answer, on dist, calls int64, err error) {
	if err := simResetCounters(simURL); err != nil {
		return dist{}, dist{}, 0, err
	}
	var answers, ons []time.Duration
	for _, path := range paths {
		t0 := time.Now()
		code, body, err := t.do(ctx, http.MethodPost, path+"/Actions/ComputerSystem.Reset", `{"ResetType":"On"}`)
		if err != nil || code != http.StatusNoContent {
			return dist{}, dist{}, 0, fmt.Errorf("Reset On %s: %d %v %v", path, code, body, err)
		}
		answers = append(answers, time.Since(t0))
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, sys, err := t.do(ctx, http.MethodGet, path, "")
			if err != nil {
				return dist{}, dist{}, 0, err
			}
			if sys["PowerState"] == "On" {
				break
			}
			if time.Now().After(deadline) {
				return dist{}, dist{}, 0, errors.New("PowerState of " + path + " not On after 30 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		ons = append(ons, time.Since(t0))
	}
	counts, err := simCounters(simURL)
	return summarize(answers), summarize(ons), counts["total"], err
}
