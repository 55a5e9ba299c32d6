package nodes_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"quintupleo/cloudsim"
	"quintupleo/internal/stacktest"
	"quintupleo/nodes"
)

func newInventory(t *testing.T, simOpts cloudsim.Options, cfg nodes.InventoryConfig) (*cloudsim.Sim, *nodes.Inventory, *nodes.Cloud) {
	t.Helper()
	sim, cloud := stacktest.Connect(t, simOpts)
	return sim, nodes.NewInventory(cloud, cfg), cloud
}

// newExecutor is an executor over a fresh inventory of a fresh cloud that
// only refreshes when told to.
func newExecutor(t *testing.T, simOpts cloudsim.Options, cfg nodes.ExecutorConfig) (*nodes.Inventory, *nodes.Executor, *nodes.Cloud) {
	t.Helper()
	_, inv, cloud := newInventory(t, simOpts, nodes.InventoryConfig{RefreshInterval: time.Hour})
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Millisecond
	}
	return inv, nodes.NewExecutor(inv, cfg), cloud
}

func TestInventoryReadsFromOneSharedList(t *testing.T) {
	sim, inv, _ := newInventory(t, cloudsim.Options{Nodes: 20}, nodes.InventoryConfig{RefreshInterval: time.Hour})
	sim.ResetCounters()

	// A hundred concurrent readers: one list call for all of them.
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns, _, err := inv.Nodes(t.Context())
			if err != nil || len(ns) != 20 {
				t.Errorf("Nodes = %d, %v", len(ns), err)
			}
		}()
	}
	wg.Wait()
	if got := sim.Count("servers/detail"); got != 1 {
		t.Errorf("100 readers made %d list calls, want 1", got)
	}
	ns, _, _ := inv.Nodes(t.Context())
	var n nodes.Node
	for _, c := range ns {
		if c.Name == "node-3" {
			n = c
		}
	}
	if n.Name != "node-3" || n.Status != "SHUTOFF" || n.Flavor.RAMMiB != 4096 || n.Flavor.VCPUs != 2 ||
		len(n.Ports) != 1 || n.Ports[0].MAC != "52:54:00:00:00:03" || n.Ports[0].Network != "provision" || n.InstanceNumber() <= 0 {
		t.Errorf("node-3 = %+v", n)
	}
}

func TestInventorySeesOutOfBandChangesWithChangesSince(t *testing.T) {
	sim, inv, cloud := newInventory(t, cloudsim.Options{Nodes: 3, TransitionDelay: 5 * time.Millisecond}, nodes.InventoryConfig{RefreshInterval: time.Hour})
	if err := inv.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	changes, unsubscribe := inv.Subscribe()
	defer unsubscribe()
	ns, _, _ := inv.Nodes(t.Context())
	id := ns[0].ID

	if err := servers.Start(t.Context(), cloud.Compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	sim.ResetCounters()
	// Refresh until the inventory shows the server ACTIVE; each refresh is
	// one changes-since list.
	for {
		if err := inv.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		n, err := inv.Node(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if n.Status == "ACTIVE" && n.TaskState == "" {
			break
		}
		select {
		case <-t.Context().Done():
			t.Fatal("never saw ACTIVE")
		case <-time.After(5 * time.Millisecond):
		}
	}
	for _, r := range sim.Requests() {
		if r.Method == "GET" && r.Endpoint != "" && r.Query != "" && !containsChangesSince(r.Query) {
			t.Errorf("refresh listed without changes-since: %s?%s", r.Path, r.Query)
		}
	}
	select {
	case c := <-changes:
		if c.After.ID != id {
			t.Errorf("change for %s, want %s", c.After.ID, id)
		}
	default:
		t.Error("no change published for an out-of-band start")
	}

	// A server deleted in the cloud disappears.
	if err := servers.Delete(t.Context(), cloud.Compute, ns[1].ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	for {
		if err := inv.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := inv.Node(t.Context(), ns[1].ID); errors.Is(err, nodes.ErrNotFound) {
			break
		}
		select {
		case <-t.Context().Done():
			t.Fatal("deleted server never disappeared")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func containsChangesSince(q string) bool {
	return strings.Contains(q, "changes-since=") || strings.Contains(q, "marker=")
}

func TestDoWaitsForTargetStateAndRidesOutConflicts(t *testing.T) {
	inv, x, cloud := newExecutor(t, cloudsim.Options{Nodes: 2, TransitionDelay: 50 * time.Millisecond}, nodes.ExecutorConfig{})
	ns, _, err := inv.Nodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	id := ns[0].ID

	n, err := x.Do(t.Context(), id, nodes.ActionStart)
	if err != nil || n.Status != "ACTIVE" || n.TaskState != "" {
		t.Fatalf("Do(start) = %s/%q, %v", n.Status, n.TaskState, err)
	}
	// The cache already has it (read-your-writes).
	if c, _ := inv.Node(t.Context(), id); c.Status != "ACTIVE" {
		t.Errorf("cache after start = %s", c.Status)
	}

	// Someone else starts a stop; our stop gets 409 (task powering-off),
	// waits, and then finds the server already SHUTOFF: done.
	if err := servers.Stop(t.Context(), cloud.Compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	n, err = x.Do(t.Context(), id, nodes.ActionStop)
	if err != nil || n.Status != "SHUTOFF" {
		t.Fatalf("Do(stop) racing another stop = %s, %v", n.Status, err)
	}

	// A conflict that waiting cannot fix is ErrConflict with Nova's message.
	_, err = x.Do(t.Context(), id, nodes.ActionRebootSoft)
	var ne *nodes.Error
	if !errors.Is(err, nodes.ErrConflict) || !errors.As(err, &ne) || ne.Reason == "" {
		t.Errorf("reboot of SHUTOFF server: %v, want ErrConflict with Nova's message", err)
	}

	// Unknown server.
	if _, err := x.Do(t.Context(), "00000000-0000-0000-0000-000000000000", nodes.ActionStart); !errors.Is(err, nodes.ErrNotFound) {
		t.Errorf("Do on unknown server: %v", err)
	}
}

func TestDoTimesOut(t *testing.T) {
	inv, x, _ := newExecutor(t, cloudsim.Options{Nodes: 1, TransitionDelay: 10 * time.Second},
		nodes.ExecutorConfig{ActionTimeout: 100 * time.Millisecond})
	ns, _, err := inv.Nodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Do(t.Context(), ns[0].ID, nodes.ActionStart); !errors.Is(err, nodes.ErrTimeout) {
		t.Errorf("Do past its timeout: %v, want ErrTimeout", err)
	}
}

func TestUnavailableCloud(t *testing.T) {
	sim, inv, _ := newInventory(t, cloudsim.Options{Nodes: 1}, nodes.InventoryConfig{RefreshInterval: time.Hour})
	if _, err := sim.SetFault(cloudsim.Fault{Endpoint: "servers/detail", ErrorRate: 1, Status: 503}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := inv.Nodes(t.Context()); !errors.Is(err, nodes.ErrUnavailable) {
		t.Errorf("Nodes with Nova answering 503: %v, want ErrUnavailable", err)
	}
}

// BenchmarkRefresh10000 is one full listing of 10,000 servers into the
// inventory (the cost of a full resync at that scale).
func BenchmarkRefresh10000(b *testing.B) {
	_, cloud := stacktest.Connect(b, cloudsim.Options{Nodes: 10000})
	for b.Loop() {
		inv := nodes.NewInventory(cloud, nodes.InventoryConfig{})
		if err := inv.Refresh(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// Without a cloud name, the OS_* variables are used, as the openstack CLI
// does.
func TestConnectFromEnvironment(t *testing.T) {
	sim := stacktest.StartSim(t, cloudsim.Options{Nodes: 2})
	t.Setenv("OS_CLOUD", "")
	t.Setenv("OS_AUTH_URL", sim.AuthURL())
	t.Setenv("OS_USERNAME", cloudsim.Username)
	t.Setenv("OS_PASSWORD", cloudsim.Password)
	t.Setenv("OS_PROJECT_NAME", cloudsim.ProjectName)
	t.Setenv("OS_USER_DOMAIN_NAME", cloudsim.UserDomainName)
	t.Setenv("OS_PROJECT_DOMAIN_NAME", cloudsim.ProjectDomainName)
	t.Setenv("OS_REGION_NAME", cloudsim.Region)
	cloud, err := nodes.Connect(t.Context(), nodes.CloudConfig{})
	if err != nil {
		t.Fatalf("Connect from OS_*: %v", err)
	}
	ns, _, err := nodes.NewInventory(cloud, nodes.InventoryConfig{}).Nodes(t.Context())
	if err != nil || len(ns) != 2 {
		t.Errorf("Nodes = %d, %v", len(ns), err)
	}

	t.Setenv("OS_PASSWORD", "wrong")
	if _, err := nodes.Connect(t.Context(), nodes.CloudConfig{}); err == nil {
		t.Error("Connect with a wrong password succeeded")
	}
}

// A reader that finds nothing loaded while another caller's first refresh
// is ending must use that refresh, not list the cloud again: the window
// TestInventoryReadsFromOneSharedList hits about once in 30 runs under
// load, made certain.
func TestInventoryReaderArrivingAsTheFirstLoadEndsDoesNotListAgain(t *testing.T) {
	sim, inv, _ := newInventory(t, cloudsim.Options{Nodes: 3}, nodes.InventoryConfig{RefreshInterval: time.Hour})
	sim.ResetCounters()
	nodes.SetBeforeFirstLoad(inv, func() {
		if err := inv.Refresh(t.Context()); err != nil {
			t.Error(err)
		}
	})
	if ns, _, err := inv.Nodes(t.Context()); err != nil || len(ns) != 3 {
		t.Fatalf("Nodes = %d, %v", len(ns), err)
	}
	if got := sim.Count("servers/detail"); got != 1 {
		t.Errorf("a reader in the window of a finishing refresh: %d list calls, want 1", got)
	}
}
