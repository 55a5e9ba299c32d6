package conformance_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"quintupleo/cloudsim"
	"quintupleo/nodes"
)

// The cloud under test comes from the environment:
//
//	QUINTUPLEO_CLOUD           unset or "sim": an embedded cloudsim with 5 nodes, compared
//	                           with testdata/realcloud/; otherwise a clouds.yaml cloud name
//	                           (OS_CLIENT_CONFIG_FILE or the standard search path), whose
//	                           behaviour is recorded into QUINTUPLEO_CONFORMANCE_OUT
//	                           (default testdata/<name>/).
//	QUINTUPLEO_CONFORMANCE_OUT where a run writes its record (set, even the sim's run
//	                           records instead of comparing). A real cloud recorded
//	                           elsewhere than testdata/<name>/ is also compared with
//	                           testdata/<name>/ when that exists (drift check).
const (
	envCloud = "QUINTUPLEO_CLOUD"
	envOut   = "QUINTUPLEO_CONFORMANCE_OUT"
	// referenceCloud is the record the sim is held to.
	referenceCloud = "realcloud"
	// simStep is the sim's transition step: long against the poll interval,
	// so every state of a transition is seen by polling.
	simStep = 150 * time.Millisecond
	// pollEvery is how often a transition is sampled (as samples.py does).
	pollEvery = 20 * time.Millisecond
	// transitionBound bounds one transition on a slow real cloud.
	transitionBound = 3 * time.Minute
)

func cloudName() string {
	if n := os.Getenv(envCloud); n != "" && n != "sim" {
		return n
	}
	return ""
}

// harness is one test's connection to the cloud under test and its record.
type harness struct {
	t     *testing.T
	rt    *recordingTransport
	cfg   nodes.CloudConfig
	cloud *nodes.Cloud
	sim   *cloudsim.Sim // nil on a real cloud
	rec   Record
}

// newHarness builds the cloud (sim) or its config (real) and, unless
// connectLater, authenticates without recording it.
func newHarness(t *testing.T, connectLater bool) *harness {
	t.Helper()
	h := &harness{t: t, rec: Record{Sequences: map[string][]string{}, Facts: map[string]any{}}}
	h.rt = &recordingTransport{next: http.DefaultTransport.(*http.Transport).Clone()}
	h.cfg = nodes.CloudConfig{HTTPClient: &http.Client{Transport: h.rt, Timeout: 2 * time.Minute}, UserAgent: "quintupleo-conformance"}
	if name := cloudName(); name != "" {
		h.cfg.Cloud = name
		h.cfg.CloudsYAML = os.Getenv("OS_CLIENT_CONFIG_FILE")
	} else {
		sim, err := cloudsim.New(cloudsim.Options{Nodes: 5, TransitionDelay: simStep})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sim.Close() })
		h.sim = sim
		h.cfg.Cloud, h.cfg.CloudsYAMLData = "sim", sim.CloudsYAML("sim")
	}
	t.Cleanup(h.finish)
	if !connectLater {
		h.connect()
	}
	return h
}

func (h *harness) connect() {
	h.t.Helper()
	c, err := nodes.Connect(h.t.Context(), h.cfg)
	if err != nil {
		h.t.Fatalf("connect to the cloud: %v", err)
	}
	h.cloud = c
}

// finish writes the record (real cloud) or compares it with the reference
// (sim).
func (h *harness) finish() {
	t := h.t
	name := t.Name()
	dir := os.Getenv(envOut)
	cloud := cloudName()
	if cloud != "" && dir == "" {
		dir = filepath.Join("testdata", cloud)
	}
	if dir != "" {
		if t.Failed() {
			t.Logf("not writing the record of a failed run")
			return
		}
		writeRecord(t, dir, name, &h.rec)
		// A real cloud recorded elsewhere is held to its committed record:
		// the cloud the sim copies has not drifted.
		ref := recordPath(cloud, name)
		if _, err := os.Stat(ref); cloud != "" && filepath.Clean(dir) != filepath.Dir(ref) && err == nil {
			compare(t, readRecord(t, ref), &h.rec, nil, true)
		}
		return
	}
	if t.Failed() {
		return
	}
	compare(t, readRecord(t, recordPath(referenceCloud, name)), &h.rec, divergences, false)
}

// step runs f and records the exchanges it made under label.
func (h *harness) step(label string, f func() error) error {
	h.t.Helper()
	m := h.rt.mark()
	err := f()
	xs := normalize(h.rt.since(m))
	if *verbose {
		for _, x := range xs {
			h.t.Logf("%s: %s → %d %s", label, x.Request, x.Status, x.Message)
		}
	}
	h.rec.Steps = append(h.rec.Steps, Step{Label: label, Exchanges: xs})
	return err
}

// must is step that fails the test on error.
func (h *harness) must(label string, f func() error) {
	h.t.Helper()
	if err := h.step(label, f); err != nil {
		h.t.Fatalf("%s: %v", label, err)
	}
}

// expect is step that wants an HTTP error with the given status.
func (h *harness) expect(label string, status int, f func() error) {
	h.t.Helper()
	err := h.step(label, f)
	if !gophercloud.ResponseCodeIs(err, status) {
		h.t.Errorf("%s: got %v, want HTTP %d", label, err, status)
	}
}

// fact records v as the record file will hold it (through JSON), so a
// fact compares the same whether it was just observed or read back: a nil
// map is null either way, not "map[]" against "<nil>".
func (h *harness) fact(k string, v any) {
	h.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		h.t.Fatalf("fact %q: %v", k, err)
	}
	var norm any
	if err := json.Unmarshal(b, &norm); err != nil {
		h.t.Fatalf("fact %q: %v", k, err)
	}
	h.rec.Facts[k] = norm
}

// tuple is the normalized state of a server.
func tuple(s *servers.Server) string {
	task := s.TaskState
	if task == "" {
		task = "None"
	}
	return fmt.Sprintf("%s/%s/%s/%d", s.Status, s.VmState, task, s.PowerState)
}

// settled: the server is in status want with no task running.
func settled(want string) func(*servers.Server) bool {
	return func(s *servers.Server) bool { return s.Status == want && s.TaskState == "" }
}

// sequence polls server id until done (or, with done nil, until it is gone)
// and records the distinct states it went through as label. The polls are
// not recorded as steps. It returns the last state read.
func (h *harness) sequence(label, id string, done func(*servers.Server) bool) *servers.Server {
	h.t.Helper()
	var last *servers.Server
	h.pollStates(label, "server "+id, done == nil, func(ctx context.Context) (string, bool, error) {
		s, err := servers.Get(ctx, h.cloud.Compute, id).Extract()
		if err != nil {
			return "", false, err
		}
		last = s
		switch {
		case done != nil && done(s):
			return tuple(s), true, nil
		case done != nil && s.Status == "ERROR":
			return tuple(s), false, fmt.Errorf("server went to ERROR: %s", s.Fault.Message)
		}
		return tuple(s), false, nil
	})
	if done == nil {
		return nil
	}
	return last
}

// pollStates calls read every pollEvery until it says the end state is
// reached (or, with gone, until what answers 404) and records the distinct
// states it saw as label; any other error, or no end within
// transitionBound, fails the test. The one poll loop of the suite's
// sequences (servers, volumes).
func (h *harness) pollStates(label, what string, gone bool, read func(context.Context) (state string, end bool, err error)) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.t.Context(), transitionBound)
	defer cancel()
	var seq []string
	add := func(s string) {
		if len(seq) == 0 || seq[len(seq)-1] != s {
			seq = append(seq, s)
		}
	}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		state, end, err := read(ctx)
		if state != "" {
			add(state)
		}
		switch {
		case err == nil && end:
			h.rec.Sequences[label] = seq
			return
		case err == nil:
		case gone && gophercloud.ResponseCodeIs(err, http.StatusNotFound):
			add("404")
			h.rec.Sequences[label] = seq
			return
		default:
			h.t.Fatalf("%s: polling %s: %v (states so far %q)", label, what, err, seq)
		}
		select {
		case <-ctx.Done():
			h.t.Fatalf("%s: no end state within %s; states %q", label, transitionBound, seq)
		case <-tick.C:
		}
	}
}

// fixture finds the node fixture's flavor, image and network.
type fixture struct{ flavor, image, network string }

func (h *harness) fixture() fixture {
	h.t.Helper()
	ctx := h.t.Context()
	var f fixture
	err := flavors.ListDetail(h.cloud.Compute, nil).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		fs, err := flavors.ExtractFlavors(p)
		for _, fl := range fs {
			if fl.Name == "baremetal" {
				f.flavor = fl.ID
			}
		}
		return true, err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	pages, err := images.List(h.cloud.Image, images.ListOpts{Name: "ipxe-boot"}).AllPages(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	ims, err := images.ExtractImages(pages)
	if err != nil || len(ims) != 1 {
		h.t.Fatalf("image ipxe-boot: %d found, %v", len(ims), err)
	}
	f.image = ims[0].ID
	pages, err = networks.List(h.cloud.Network, networks.ListOpts{Name: "provision"}).AllPages(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	nets, err := networks.ExtractNetworks(pages)
	if err != nil || len(nets) != 1 {
		h.t.Fatalf("network provision: %d found, %v", len(nets), err)
	}
	f.network = nets[0].ID
	if f.flavor == "" {
		h.t.Fatal("no flavor baremetal: create the node fixture first (nodes.sh 5)")
	}
	return f
}

// cleanup deletes servers and ports called name (left by an earlier run)
// now and when the test ends, unrecorded.
func (h *harness) cleanup(name string) {
	h.t.Helper()
	del := func(ctx context.Context) {
		pages, err := servers.List(h.cloud.Compute, servers.ListOpts{Name: "^" + name + "$"}).AllPages(ctx)
		if err == nil {
			ss, _ := servers.ExtractServers(pages)
			for _, s := range ss {
				servers.Delete(ctx, h.cloud.Compute, s.ID)
				h.waitGone(ctx, s.ID)
			}
		}
		pages, err = ports.List(h.cloud.Network, ports.ListOpts{Name: name + "-port"}).AllPages(ctx)
		if err == nil {
			ps, _ := ports.ExtractPorts(pages)
			for _, p := range ps {
				ports.Delete(ctx, h.cloud.Network, p.ID)
			}
		}
	}
	del(h.t.Context())
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(h.t.Context()), transitionBound)
		defer cancel()
		del(ctx)
	})
}

func (h *harness) waitGone(ctx context.Context, id string) {
	tick := time.NewTicker(pollEvery * 5)
	defer tick.Stop()
	for {
		err := servers.Get(ctx, h.cloud.Compute, id).Err
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) || errors.Is(err, context.Canceled) || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// uniqueMAC is a MAC no fixture uses (52:54:01 + 3 bytes from the clock).
func uniqueMAC() string {
	n := time.Now().UnixNano() / 1000
	return fmt.Sprintf("52:54:01:%02x:%02x:%02x", byte(n>>16), byte(n>>8), byte(n))
}

func lower(s string) string { return strings.ToLower(s) }
