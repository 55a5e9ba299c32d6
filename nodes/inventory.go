package nodes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"

	"quintupleo/internal/pubsub"
)

// InventoryConfig tunes the shared cache.
type InventoryConfig struct {
	// RefreshInterval is how often Run lists servers (changes-since after the
	// first full list). Out-of-band changes appear within it. Default 2s.
	RefreshInterval time.Duration
	// FullResyncEvery makes every Nth refresh a full list, to catch anything
	// changes-since cannot show (purged rows, clock jumps). Default 60. A
	// changes-since listing that shows unknown servers is followed by a full
	// one at once (relistIfStrangers), so a replaced database is caught
	// sooner.
	FullResyncEvery int
	// RefreshTimeout bounds one whole refresh, every page of the listing
	// included (each request is bounded on its own by the cloud's
	// RequestTimeout). A refresh that runs past it is abandoned; the next
	// one starts afresh. Default 5m.
	RefreshTimeout time.Duration
	// MaxStale bounds how old the last successful refresh may be before reads
	// fail with ErrUnavailable instead of serving a view nobody can vouch for.
	// Default 10 × RefreshInterval, at least 30s.
	MaxStale time.Duration
	// NameRegex, when set, narrows the nodes to servers whose name matches.
	NameRegex *regexp.Regexp
	// MetadataKey/MetadataValue, when the key is set, narrow the nodes to
	// servers whose metadata has that key (with that value, if non-empty).
	MetadataKey, MetadataValue string
	// ChangeBuffer is the queue length of each Subscribe channel. A
	// subscriber further behind loses changes. Default 1024.
	ChangeBuffer int
	Logger       *slog.Logger
}

func (c *InventoryConfig) setDefaults() {
	orDefault(&c.RefreshInterval, 2*time.Second)
	orDefault(&c.FullResyncEvery, 60)
	orDefault(&c.RefreshTimeout, 5*time.Minute)
	orDefault(&c.MaxStale, max(10*c.RefreshInterval, 30*time.Second))
	orDefault(&c.ChangeBuffer, 1024)
	c.Logger = loggerOrDiscard(c.Logger)
}

// orDefault sets an unset (zero or negative) setting to its default.
func orDefault[T int | time.Duration](setting *T, def T) {
	if *setting <= 0 {
		*setting = def
	}
}

// loggerOrDiscard is log, or a logger that discards when there is none.
func loggerOrDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return log
}

// Change is one difference the inventory saw: a node appeared (Before is
// zero, Added), changed, or disappeared (After is zero, Removed).
type Change struct {
	Before, After Node
	Added         bool
	Removed       bool
}

// Inventory is the shared, cached view of the cloud's nodes, and only that:
// it reads, it never changes a node (the Executor does). One Inventory
// serves every client: reads come from memory; one paginated list call per
// refresh keeps it current; what the Executor reads while it acts updates it
// at once (apply, forget).
type Inventory struct {
	// link is the way to the cloud: connected at once (NewInventory), or
	// once the cloud can be reached (NewLinkedInventory).
	link *Link
	cfg  InventoryConfig
	log  *slog.Logger
	// changes fans every Change out to the subscribers.
	changes *pubsub.Hub[Change]

	// refreshing holds a token while a refresh runs: it serialises them and
	// lets a caller waiting for one give up when its context ends.
	refreshing chan struct{}
	// beforeFirstLoad, when set (tests only), runs when a reader has found
	// nothing loaded and is about to load.
	beforeFirstLoad func()

	mu sync.Mutex
	// mu guards:
	nodes     map[string]Node   // by server ID
	lastOK    time.Time         // end of the last successful refresh
	lastErr   error             // error of the last refresh, nil if it succeeded
	since     time.Time         // newest `updated` seen: the next changes-since
	refreshes int               // successful refreshes so far: the generation callers coalesce on
	gen       uint64            // bumped on every change to nodes
	writes    uint64            // counts apply() calls: our own fresh reads
	writtenAt map[string]uint64 // per node, the writes value of its last apply()
	sorted    []Node            // nodes sorted by name then ID, built lazily per gen
	sortedGen uint64
	sortedIdx map[string]int // server ID → index in sorted
	// Changes since sorted was built: the IDs whose values changed, and
	// whether any change moved the order (a node added, removed or renamed),
	// which needs a full rebuild. Without one, patching the changed entries
	// keeps a power action at 10,000 nodes from re-sorting them all.
	dirty     map[string]bool
	reordered bool
}

// NewInventory builds an inventory over cloud. Nothing runs until Run or a
// read triggers a refresh.
func NewInventory(cloud *Cloud, cfg InventoryConfig) *Inventory {
	return NewLinkedInventory(Linked(cloud), cfg)
}

// NewLinkedInventory builds an inventory over the cloud link leads to, which
// its refreshes connect when it is not yet: until then every read answers
// the link's error (ErrUnavailable) at once.
func NewLinkedInventory(link *Link, cfg InventoryConfig) *Inventory {
	cfg.setDefaults()
	log := cfg.Logger
	return &Inventory{
		link: link,
		cfg:  cfg,
		log:  log,
		changes: pubsub.New(cfg.ChangeBuffer, func(sub int, c Change) {
			link.obs.ChangeDropped()
			log.Warn("inventory subscriber is behind; change dropped", "subscriber", sub)
		}),
		refreshing: make(chan struct{}, 1),
		nodes:      map[string]Node{},
		writtenAt:  map[string]uint64{},
		dirty:      map[string]bool{},
	}
}

// Config returns the effective configuration (defaults applied).
func (inv *Inventory) Config() InventoryConfig { return inv.cfg }

// Run refreshes the inventory every RefreshInterval until ctx ends. The
// caller owns the goroutine it runs in.
func (inv *Inventory) Run(ctx context.Context) error {
	// A ticker keeps the schedule when a refresh is slow (a busy cloud, a
	// large listing): the next one starts at once instead of a whole
	// interval later, so the view is never much older than the interval.
	tick := time.NewTicker(inv.cfg.RefreshInterval)
	defer tick.Stop()
	for {
		if err := inv.Refresh(ctx); err != nil && ctx.Err() == nil {
			// While the cloud cannot be reached at all, the Link says so
			// when it comes back, and start-up said so when it went: a
			// warning every interval would only bury the rest.
			level := slog.LevelWarn
			if inv.link.current() == nil {
				level = slog.LevelDebug
			}
			inv.log.Log(ctx, level, "inventory refresh failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Refresh lists what changed since the last refresh (or everything) and
// updates the cache. Concurrent callers coalesce: a caller that waited for a
// refresh in progress returns when it ends, without listing again.
func (inv *Inventory) Refresh(ctx context.Context) error {
	inv.mu.Lock()
	started := inv.refreshes
	inv.mu.Unlock()
	return inv.refreshUnless(ctx, func() bool { return inv.refreshes > started })
}

// refreshUnless refreshes unless, once it holds the refresh token, done
// says another caller's refresh already did what this one would. done runs
// with inv.mu held and must decide from the refresh generation, never from
// anything read before the token was taken.
func (inv *Inventory) refreshUnless(ctx context.Context, done func() bool) error {
	select {
	case inv.refreshing <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("nodes: wait for the refresh in progress: %w", ctx.Err())
	}
	defer func() { <-inv.refreshing }()
	inv.mu.Lock()
	if done() {
		inv.mu.Unlock()
		return nil
	}
	full := inv.refreshes == 0 || inv.refreshes%inv.cfg.FullResyncEvery == 0
	since := inv.since
	// A node we read ourselves after this point is newer than what this
	// listing will say about it: the listing must not overwrite it.
	writesAtStart := inv.writes
	inv.mu.Unlock()

	var sinceArg time.Time
	if !full {
		// Nova's changes-since is inclusive (updated >= since) at one-second
		// resolution, so re-reading the newest second never misses a change.
		sinceArg = since
	}
	start := time.Now()
	listed, err := inv.list(ctx, sinceArg)
	if err == nil && !full {
		listed, full, err = inv.relistIfStrangers(ctx, listed, writesAtStart)
	}
	if err != nil {
		inv.mu.Lock()
		inv.lastErr = err
		inv.mu.Unlock()
		inv.link.obs.Refreshed(time.Since(start), err, nil)
		return err
	}

	inv.mu.Lock()
	var changes []Change
	if full {
		seen := make(map[string]bool, len(listed))
		for _, n := range listed {
			seen[n.ID] = true
		}
		for id, old := range inv.nodes {
			if !seen[id] && inv.writtenAt[id] <= writesAtStart {
				delete(inv.nodes, id)
				changes = append(changes, Change{Before: old, Removed: true})
			}
		}
	}
	for _, n := range listed {
		if n.Updated.After(inv.since) {
			inv.since = n.Updated
		}
		if inv.writtenAt[n.ID] > writesAtStart {
			continue
		}
		if c, ok := inv.storeLocked(n); ok {
			changes = append(changes, c)
		}
	}
	for id, w := range inv.writtenAt {
		if w <= writesAtStart {
			delete(inv.writtenAt, id) // every later listing is newer than that read
		}
	}
	inv.lastOK = time.Now()
	inv.lastErr = nil
	if inv.refreshes == 0 {
		// The first listing is the baseline, not a change: libvirtd sends
		// no DEFINED event for the domains it finds at start, and a client
		// that connected while the cloud was down lists them when it is up.
		inv.baselineLocked()
	} else {
		inv.publishLocked(changes)
	}
	inv.refreshes++
	byStatus := countStatuses(inv.nodes)
	inv.mu.Unlock()
	inv.link.obs.Refreshed(time.Since(start), nil, byStatus)
	return nil
}

// relistIfStrangers follows a changes-since listing that shows servers the
// cache did not know with a full listing, which drops every cached server
// the cloud no longer has. changes-since shows a deleted server only while
// Nova keeps its row (until `nova-manage db archive_deleted_rows`); a
// replaced database has none, so its old servers would linger until the
// next periodic full listing. New servers come with any replacement (nodes.sh
// recreating node-K), so they are the cue. Not cues: servers of defines in
// progress (marked MetaDefining, made by a replica), servers we wrote
// ourselves since the listing began, deleted or filtered-out ones.
func (inv *Inventory) relistIfStrangers(ctx context.Context, listed []Node, writesAtStart uint64) ([]Node, bool, error) {
	inv.mu.Lock()
	strangers := 0
	for _, n := range listed {
		_, known := inv.nodes[n.ID]
		_, defining := n.Metadata[MetaDefining]
		if !known && !defining && !n.Deleted() && inv.wanted(n) && inv.writtenAt[n.ID] <= writesAtStart {
			strangers++
		}
	}
	inv.mu.Unlock()
	if strangers == 0 {
		return listed, false, nil
	}
	inv.log.Info("servers the cache did not know appeared; listing every server to drop any the cloud no longer has", "new", strangers)
	all, err := inv.list(ctx, time.Time{})
	if err != nil {
		return nil, false, err
	}
	return all, true, nil
}

// list is one listing of the servers, bounded by RefreshTimeout as a whole.
func (inv *Inventory) list(ctx context.Context, since time.Time) ([]Node, error) {
	overdue := &Error{Op: "list servers", Kind: ErrUnavailable,
		Reason: fmt.Sprintf("the listing did not complete within the refresh deadline of %s", inv.cfg.RefreshTimeout)}
	ctx, cancel := context.WithTimeoutCause(ctx, inv.cfg.RefreshTimeout, overdue)
	defer cancel()
	cloud, err := inv.link.Cloud(ctx)
	if err != nil {
		return nil, err
	}
	var listed []Node
	err = listServers(ctx, cloud.Compute, since, func(n Node) { listed = append(listed, n) })
	if err != nil {
		if context.Cause(ctx) == error(overdue) {
			overdue.Err = err
			return nil, overdue
		}
		return nil, classify("list servers", err)
	}
	return listed, nil
}

// storeLocked puts n into the cache (or removes it when deleted or filtered
// out) and reports the change, if any. inv.mu must be held.
func (inv *Inventory) storeLocked(n Node) (Change, bool) {
	old, had := inv.nodes[n.ID]
	if n.Deleted() || !inv.wanted(n) {
		if !had {
			return Change{}, false
		}
		delete(inv.nodes, n.ID)
		return Change{Before: old, Removed: true}, true
	}
	inv.nodes[n.ID] = n
	if !had {
		return Change{After: n, Added: true}, true
	}
	if sameObservable(old, n) {
		return Change{}, false
	}
	return Change{Before: old, After: n}, true
}

// sameObservable reports whether two versions of a node look the same to
// clients (the `updated` stamp alone is not a change).
func sameObservable(a, b Node) bool {
	return a.Name == b.Name && a.Status == b.Status && a.VMState == b.VMState &&
		a.TaskState == b.TaskState && a.PowerState == b.PowerState && a.Fault == b.Fault &&
		a.Flavor == b.Flavor && a.ImageID == b.ImageID && equalPorts(a.Ports, b.Ports) &&
		slices.Equal(a.Volumes, b.Volumes) && equalMetadata(a.Metadata, b.Metadata) &&
		equalDescription(a.Description, b.Description)
}

// equalDescription compares two descriptions, nil (Nova's null) only equal
// to nil: the rescue strategy's mark lives there (rescuemark.go).
func equalDescription(a, b *string) bool {
	return a == b || a != nil && b != nil && *a == *b
}

func equalPorts(a, b []Port) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].MAC != b[i].MAC || a[i].Network != b[i].Network || !slices.Equal(a[i].FixedIPs, b[i].FixedIPs) {
			return false
		}
	}
	return true
}

func equalMetadata(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// wanted: the filters that decide it are shared with `quintupleo check`,
// which says why a server is not a node (InventoryConfig.Excludes).
func (inv *Inventory) wanted(n Node) bool { return inv.cfg.Excludes(n) == Included }

// ready waits for the first load and checks the view is fresh enough to serve.
func (inv *Inventory) ready(ctx context.Context) error {
	inv.mu.Lock()
	loaded := inv.refreshes > 0
	inv.mu.Unlock()
	if !loaded {
		if err := inv.link.failed(); err != nil {
			// The cloud could not be reached at the last try: say so at
			// once rather than hold the caller for another one (the
			// refresh loop tries again, within its back-off).
			return err
		}
		if inv.beforeFirstLoad != nil {
			inv.beforeFirstLoad()
		}
		// Nobody has loaded yet: do it now rather than wait for Run. A
		// refresh that ended since the check above is as good as ours: done
		// looks at the generation under the token, so it is never missed.
		if err := inv.refreshUnless(ctx, func() bool { return inv.refreshes > 0 }); err != nil {
			return err
		}
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if age := time.Since(inv.lastOK); age > inv.cfg.MaxStale {
		return &Error{Op: "read inventory", Kind: ErrUnavailable,
			Reason: fmt.Sprintf("no successful refresh for %s", age.Round(time.Second)), Err: inv.lastErr}
	}
	return nil
}

// Nodes returns every node, sorted by name then ID, and the generation of
// the view: it changes whenever any node does, so callers can cache what they
// derive from the slice. The slice is shared: do not modify it.
func (inv *Inventory) Nodes(ctx context.Context) ([]Node, uint64, error) {
	if err := inv.ready(ctx); err != nil {
		return nil, 0, err
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	switch {
	case inv.sorted != nil && inv.sortedGen == inv.gen:
	case inv.sorted != nil && !inv.reordered:
		// Same nodes in the same order: copy (callers may still hold the
		// old slice) and patch what changed.
		out := slices.Clone(inv.sorted)
		for id := range inv.dirty {
			out[inv.sortedIdx[id]] = inv.nodes[id]
		}
		inv.sorted, inv.sortedGen = out, inv.gen
	default:
		out := make([]Node, 0, len(inv.nodes))
		for _, n := range inv.nodes {
			out = append(out, n)
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].Name != out[j].Name {
				return out[i].Name < out[j].Name
			}
			return out[i].ID < out[j].ID
		})
		idx := make(map[string]int, len(out))
		for i, n := range out {
			idx[n.ID] = i
		}
		inv.sorted, inv.sortedGen, inv.sortedIdx = out, inv.gen, idx
	}
	clear(inv.dirty)
	inv.reordered = false
	return inv.sorted, inv.gen, nil
}

// Node returns the cached node with the given server ID.
func (inv *Inventory) Node(ctx context.Context, id string) (Node, error) {
	if err := inv.ready(ctx); err != nil {
		return Node{}, err
	}
	inv.mu.Lock()
	n, ok := inv.nodes[id]
	inv.mu.Unlock()
	if !ok {
		return Node{}, &Error{Op: "find " + id, Kind: ErrNotFound}
	}
	return n, nil
}

// fetch reads one server from Nova (not the cache) and stores it.
func (inv *Inventory) fetch(ctx context.Context, id string) (Node, error) {
	cloud, err := inv.connected()
	if err != nil {
		return Node{}, err
	}
	n, err := getServer(ctx, cloud.Compute, id)
	if err != nil {
		err = classify("get server "+id, err)
		if errors.Is(err, ErrNotFound) {
			inv.forget(id)
		}
		return Node{}, err
	}
	inv.apply(n)
	return n, nil
}

// apply stores a node we just read ourselves (read-your-writes) and tells
// subscribers if it changed.
func (inv *Inventory) apply(n Node) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.writes++
	inv.writtenAt[n.ID] = inv.writes
	if c, ok := inv.storeLocked(n); ok {
		inv.publishLocked([]Change{c})
	}
}

func (inv *Inventory) forget(id string) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.writes++
	inv.writtenAt[id] = inv.writes
	if old, ok := inv.nodes[id]; ok {
		delete(inv.nodes, id)
		inv.publishLocked([]Change{{Before: old, Removed: true}})
	}
}

// Subscribe delivers every Change until unsubscribe is called, which closes
// the channel and may be called more than once. The channel holds
// ChangeBuffer changes; a subscriber that falls further behind loses changes
// (logged) rather than stalling the inventory.
func (inv *Inventory) Subscribe() (<-chan Change, func()) { return inv.changes.Subscribe() }

// baselineLocked takes the first listing's nodes without publishing them.
func (inv *Inventory) baselineLocked() {
	inv.gen++
	inv.reordered = true
}

// cloud is the connected cloud, nil before the link has connected. It is
// never nil for a caller that has read a node from the inventory (the link
// never disconnects); one that has not uses connected.
func (inv *Inventory) cloud() *Cloud { return inv.link.current() }

// Unreachable is nil once the inventory's link has connected to the cloud,
// and until then why not (ErrUnavailable): the front ends built before
// then (internal/stack) answer it.
func (inv *Inventory) Unreachable() error {
	_, err := inv.connected()
	return err
}

// Link is the inventory's way to the cloud.
func (inv *Inventory) Link() *Link { return inv.link }

// connected is the cloud, or the link's error while it is not connected.
func (inv *Inventory) connected() (*Cloud, error) {
	if c := inv.link.current(); c != nil {
		return c, nil
	}
	if err := inv.link.failed(); err != nil {
		return nil, err
	}
	return nil, &Error{Op: "reach the cloud", Kind: ErrUnavailable, Reason: "not connected to the cloud yet"}
}

func (inv *Inventory) publishLocked(changes []Change) {
	if len(changes) > 0 {
		inv.gen++
	}
	for _, c := range changes {
		if c.Added || c.Removed || c.Before.Name != c.After.Name {
			inv.reordered = true
		} else {
			inv.dirty[c.After.ID] = true
		}
	}
	// Published under inv.mu, so subscribers see changes in the order the
	// cache took them.
	for _, c := range changes {
		inv.changes.Publish(c)
	}
}
