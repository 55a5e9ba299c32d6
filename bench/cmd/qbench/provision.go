package main

// -mode provision: define + undefine of many new domains from several
// clients through quintupleo, against the same servers created and deleted
// straight through the cloud's API (what a client would do by hand for the
// same end state: a port with the MAC, a server on it, stopped once built;
// then the server deleted and the port). The difference is the shim's
// overhead: its libvirt RPC, XML parsing, the flavor/image/network look-ups
// and the name claim it makes for every define.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"quintupleo/nodes"
)

// provConfig is the provision mode's part of the configuration.
type provConfig struct {
	domains, clients int
	osCloud          string // "" = a cloudsim started by qbench
	cloudsYAML       string
	network, flavor  string
	image            string
}

func (pc *provConfig) register(fs *flag.FlagSet) {
	fs.IntVar(&pc.domains, "prov-domains", 100, "-mode provision: domains defined and undefined")
	fs.IntVar(&pc.clients, "prov-clients", 10, "-mode provision: concurrent clients (one go-libvirt connection each)")
	fs.StringVar(&pc.osCloud, "os-cloud", "", "-mode provision: clouds.yaml cloud to run against (default: a cloudsim qbench starts)")
	fs.StringVar(&pc.cloudsYAML, "clouds-yaml", "", "-mode provision: clouds.yaml for -os-cloud (default: OS_CLIENT_CONFIG_FILE and the standard search path)")
	fs.StringVar(&pc.network, "prov-network", "provision", "-mode provision: network of the ports (serve --define-network)")
	fs.StringVar(&pc.flavor, "prov-flavor", "baremetal", "-mode provision: flavor of the direct creates (the one quintupleo picks for 4096 MiB, 2 vCPUs)")
	fs.StringVar(&pc.image, "prov-image", "ipxe-boot", "-mode provision: image (serve --define-image)")
}

// provName and provMAC are the i-th benchmark domain's name and MAC; the
// direct phase uses another MAC range so leftovers of one cannot collide
// with the other.
func provName(prefix string, i int) string { return fmt.Sprintf("%s-%04d", prefix, i) }
func provMAC(phase byte, i int) string {
	return fmt.Sprintf("52:54:01:%02x:%02x:%02x", phase, i>>8&0xff, i&0xff)
}

func provXML(name, mac string) string {
	return `<domain type='kvm'><name>` + name + `</name><memory unit='KiB'>4194304</memory><vcpu>2</vcpu>` +
		`<os><type arch='x86_64'>hvm</type><boot dev='network'/></os><devices>` +
		`<interface type='network'><mac address='` + mac + `'/><source network='provision'/></interface>` +
		`</devices></domain>`
}

// phaseResult is one phase (create or delete) of one way.
type phaseResult struct {
	wall  time.Duration
	lat   dist
	calls map[string]int64 // cloud requests (cloudsim only)
}

func runProvision(cfg *config, pc *provConfig) int {
	return runMode(cfg, "qbench-prov-", func(ctx context.Context, w io.Writer, p *procs, work string) error {
		return benchProvision(ctx, w, p, cfg, pc, work)
	})
}

// runMode is the frame of a mode: a work directory, the timeout, the
// quintupleo binary (built unless -quintupleo), the report to stdout and
// -out, every child stopped at the end.
func runMode(cfg *config, prefix string, bench func(ctx context.Context, w io.Writer, p *procs, work string) error) int {
	p := &procs{}
	work, err := os.MkdirTemp("", prefix)
	if err != nil {
		log.Print(err)
		return 1
	}
	// Deferred in this order so that cleanup runs first: the reference
	// daemons' stop scripts read their PID files below work.
	defer os.RemoveAll(work)
	defer p.cleanup()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if cfg.quintupleo == "" {
		cfg.quintupleo = filepath.Join(work, "quintupleo")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", cfg.quintupleo, "quintupleo/cmd/quintupleo").CombinedOutput(); err != nil {
			log.Printf("go build: %v\n%s", err, out)
			return 1
		}
	}
	var report strings.Builder
	w := io.MultiWriter(os.Stdout, &report)
	if err := bench(ctx, w, p, work); err != nil {
		log.Print(err)
		return 1
	}
	return writeReport(cfg.out, report.String())
}

func benchProvision(ctx context.Context, w io.Writer, p *procs, cfg *config, pc *provConfig, work string) error {
	cc := nodes.CloudConfig{Cloud: pc.osCloud, CloudsYAML: pc.cloudsYAML}
	simURL := ""
	if pc.osCloud == "" {
		var err error
		if simURL, err = startSim(ctx, p, cfg, work); err != nil {
			return err
		}
		cc = nodes.CloudConfig{Cloud: "sim", CloudsYAML: filepath.Join(work, "clouds.yaml")}
	}
	t, err := startServe(ctx, p, cfg, cc, pc, work, simURL)
	if err != nil {
		return err
	}
	cloud, err := nodes.Connect(ctx, cc)
	if err != nil {
		return err
	}
	d, err := newDirect(ctx, cloud, pc, cfg.pollInterval)
	if err != nil {
		return err
	}
	where := "cloudsim (`sim --transition-delay " + cfg.transitionDelay.String() + "`)"
	if pc.osCloud != "" {
		where = "the clouds.yaml cloud `" + pc.osCloud + "`"
	}
	fmt.Fprintf(w, "## Provisioning: define + undefine of %d new domains from %d clients\n\n", pc.domains, pc.clients)
	fmt.Fprintf(w, "- %s, on %s; load average at start: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), where, loadavg())
	fmt.Fprintf(w, "- command: `go run ./bench/cmd/qbench %s`\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(w, "- quintupleo: `serve --poll-interval %v --refresh-interval %v --define-network %s`; the direct way polls the same way (first wait %v, doubling to 1 s)\n\n",
		cfg.pollInterval, cfg.refreshInterval, pc.network, cfg.pollInterval)

	shimDefine, err := phase(ctx, simURL, pc, func(i int) error { return t.define(provName("qb", i), provMAC(1, i)) })
	if err != nil {
		return fmt.Errorf("define through quintupleo: %w", err)
	}
	shimUndefine, err := phase(ctx, simURL, pc, func(i int) error { return t.undefine(provName("qb", i)) })
	if err != nil {
		return fmt.Errorf("undefine through quintupleo: %w", err)
	}
	ids := make([]created, pc.domains)
	directCreate, err := phase(ctx, simURL, pc, func(i int) (err error) {
		ids[i], err = d.create(ctx, provName("qd", i), provMAC(2, i))
		return err
	})
	if err != nil {
		d.cleanup(ids)
		return fmt.Errorf("create straight through the cloud: %w", err)
	}
	directDelete, err := phase(ctx, simURL, pc, func(i int) error { return d.delete(ctx, ids[i]) })
	if err != nil {
		return fmt.Errorf("delete straight through the cloud: %w", err)
	}

	fmt.Fprintf(w, "| phase | wall s | per domain p50 / p90 / max ms | domains/s | cloud requests per domain |\n|---|---|---|---|---|\n")
	row := func(label string, r phaseResult) {
		calls := "–"
		if r.calls != nil {
			calls = fmt.Sprintf("%.1f", float64(r.calls["total"])/float64(pc.domains))
		}
		fmt.Fprintf(w, "| %s | %.2f | %s / %s / %s | %.1f | %s |\n", label, r.wall.Seconds(), ms(r.lat.p50), ms(r.lat.p90), ms(r.lat.max),
			float64(pc.domains)/r.wall.Seconds(), calls)
	}
	row("`virsh define` equivalent (DomainDefineXML) through quintupleo", shimDefine)
	row("the same straight through the cloud (port, server, os-stop, SHUTOFF)", directCreate)
	row("`virsh undefine` equivalent (DomainUndefine) through quintupleo", shimUndefine)
	row("the same straight through the cloud (delete server, gone, delete port)", directDelete)
	fmt.Fprintf(w, "\nShim overhead per domain (p50): define %+.1f ms (%.2f×), undefine %+.1f ms (%.2f×).\n\n",
		float64(shimDefine.lat.p50-directCreate.lat.p50)/float64(time.Millisecond), float64(shimDefine.lat.p50)/float64(directCreate.lat.p50),
		float64(shimUndefine.lat.p50-directDelete.lat.p50)/float64(time.Millisecond), float64(shimUndefine.lat.p50)/float64(directDelete.lat.p50))
	return nil
}

// phase runs op for every domain index, from pc.clients workers, and
// measures each call and the whole.
func phase(ctx context.Context, simURL string, pc *provConfig, op func(i int) error) (phaseResult, error) {
	if simURL != "" {
		if err := simResetCounters(simURL); err != nil {
			return phaseResult{}, err
		}
	}
	idx := make(chan int)
	lats := make([]time.Duration, pc.domains)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range pc.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				t0 := time.Now()
				err := op(i)
				lats[i] = time.Since(t0)
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, fmt.Errorf("domain %d: %w", i, err))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range pc.domains {
		select {
		case idx <- i:
		case <-ctx.Done():
		}
	}
	close(idx)
	wg.Wait()
	r := phaseResult{wall: time.Since(start), lat: summarize(lats)}
	if firstErr != nil {
		return r, firstErr
	}
	if simURL != "" {
		var err error
		if r.calls, err = simCounters(simURL); err != nil {
			return r, err
		}
	}
	return r, ctx.Err()
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// startSim starts `quintupleo sim` with extra arguments (e.g. --nodes N).
func startSim(ctx context.Context, p *procs, cfg *config, work string, extra ...string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	clouds := filepath.Join(work, "clouds.yaml")
	args := append([]string{"sim", "--listen", addr, "--clouds-yaml", clouds,
		"--transition-delay", cfg.transitionDelay.String(), "--log-level", "warn"}, extra...)
	if _, err := p.start(ctx, filepath.Join(work, "sim.log"), cfg.quintupleo, args...); err != nil {
		return "", err
	}
	url := "http://" + addr
	hc := &http.Client{Timeout: 5 * time.Second}
	return url, waitFor(ctx, 60*time.Second, "cloudsim", func() error {
		resp, err := hc.Get(url + "/_sim/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if _, err := os.Stat(clouds); err != nil {
			return err
		}
		return nil
	})
}

// provTarget is quintupleo serve with one go-libvirt connection per
// client, handed out from a pool.
type provTarget struct {
	*target
	pool chan *libvirt.Libvirt
}

func startServe(ctx context.Context, p *procs, cfg *config, cc nodes.CloudConfig, pc *provConfig, work, simURL string) (*provTarget, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{"serve", "--os-cloud", cc.Cloud, "--listen-tcp", addr, "--refresh-interval", cfg.refreshInterval.String(),
		"--poll-interval", cfg.pollInterval.String(), "--define-network", pc.network, "--define-image", pc.image, "--log-level", "warn"}
	if cc.CloudsYAML != "" {
		args = append(args, "--clouds-yaml", cc.CloudsYAML)
	}
	if _, err := p.start(ctx, filepath.Join(work, "serve.log"), cfg.quintupleo, args...); err != nil {
		return nil, err
	}
	t := &provTarget{target: &target{label: "quintupleo", connURI: libvirt.QEMUSystem, host: "127.0.0.1", port: strconv.Itoa(port), simURL: simURL},
		pool: make(chan *libvirt.Libvirt, pc.clients)}
	if err := waitFor(ctx, 120*time.Second, "quintupleo serve", func() error {
		l, err := t.dial()
		if err != nil {
			return err
		}
		_, _, err = l.ConnectListAllDomains(1, 0)
		l.Disconnect()
		return err
	}); err != nil {
		return nil, err
	}
	for range pc.clients {
		l, err := t.dial()
		if err != nil {
			return nil, err
		}
		p.onCleanup(func() { _ = l.Disconnect() })
		t.pool <- l
	}
	return t, nil
}

func (t *provTarget) define(name, mac string) error {
	l := <-t.pool
	defer func() { t.pool <- l }()
	_, err := l.DomainDefineXML(provXML(name, mac))
	return err
}

func (t *provTarget) undefine(name string) error {
	l := <-t.pool
	defer func() { t.pool <- l }()
	d, err := l.DomainLookupByName(name)
	if err != nil {
		return err
	}
	return l.DomainUndefine(d)
}

// direct creates and deletes servers with gophercloud, as a client of the
// cloud would for the same result.
type direct struct {
	cloud                  *nodes.Cloud
	netID, flavorID, imgID string
	firstPoll, maxPoll     time.Duration
}

type created struct{ server, port string }

func newDirect(ctx context.Context, cloud *nodes.Cloud, pc *provConfig, poll time.Duration) (*direct, error) {
	d := &direct{cloud: cloud, firstPoll: poll, maxPoll: time.Second}
	np, err := networks.List(cloud.Network, networks.ListOpts{Name: pc.network}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	nets, err := networks.ExtractNetworks(np)
	if err != nil || len(nets) == 0 {
		return nil, fmt.Errorf("network %s: %v", pc.network, err)
	}
	fp, err := flavors.ListDetail(cloud.Compute, flavors.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	fls, err := flavors.ExtractFlavors(fp)
	if err != nil {
		return nil, err
	}
	for _, f := range fls {
		if f.Name == pc.flavor {
			d.flavorID = f.ID
		}
	}
	ip, err := images.List(cloud.Image, images.ListOpts{Name: pc.image}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	ims, err := images.ExtractImages(ip)
	if err != nil || len(ims) == 0 || d.flavorID == "" {
		return nil, fmt.Errorf("image %s (%d found, %v) or flavor %s (id %q) missing", pc.image, len(ims), err, pc.flavor, d.flavorID)
	}
	d.netID, d.imgID = nets[0].ID, ims[0].ID
	return d, nil
}

func (d *direct) create(ctx context.Context, name, mac string) (created, error) {
	var c created
	port, err := ports.Create(ctx, d.cloud.Network, ports.CreateOpts{NetworkID: d.netID, Name: name, MACAddress: mac}).Extract()
	if err != nil {
		return c, err
	}
	c.port = port.ID
	s, err := servers.Create(ctx, d.cloud.Compute, servers.CreateOpts{Name: name, FlavorRef: d.flavorID, ImageRef: d.imgID,
		Networks: []servers.Network{{Port: port.ID}}}, nil).Extract()
	if err != nil {
		return c, err
	}
	c.server = s.ID
	if _, err := d.wait(ctx, s.ID, func(s *servers.Server) bool { return s.Status != "BUILD" && s.TaskState == "" }); err != nil {
		return c, err
	}
	if err := servers.Stop(ctx, d.cloud.Compute, s.ID).ExtractErr(); err != nil {
		return c, err
	}
	_, err = d.wait(ctx, s.ID, func(s *servers.Server) bool { return s.Status == "SHUTOFF" && s.TaskState == "" })
	return c, err
}

func (d *direct) delete(ctx context.Context, c created) error {
	if err := servers.Delete(ctx, d.cloud.Compute, c.server).ExtractErr(); err != nil {
		return err
	}
	if _, err := d.wait(ctx, c.server, nil); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return fmt.Errorf("server %s not gone: %v", c.server, err)
	}
	return ports.Delete(ctx, d.cloud.Network, c.port).ExtractErr()
}

// cleanup removes what a failed direct phase left.
func (d *direct) cleanup(cs []created) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, c := range cs {
		if c.server != "" {
			_ = d.delete(ctx, c)
		} else if c.port != "" {
			_ = ports.Delete(ctx, d.cloud.Network, c.port).ExtractErr()
		}
	}
}

// wait polls the server (first wait firstPoll, doubling to maxPoll) until
// done; with done nil, until the cloud answers an error (404 once deleted).
func (d *direct) wait(ctx context.Context, id string, done func(*servers.Server) bool) (*servers.Server, error) {
	wait := d.firstPoll
	for {
		s, err := servers.Get(ctx, d.cloud.Compute, id).Extract()
		if err != nil {
			return nil, err
		}
		if s.Status == "ERROR" {
			return s, errors.New("server went to ERROR")
		}
		if done != nil && done(s) {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, d.maxPoll)
	}
}
