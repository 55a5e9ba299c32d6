package domain

import (
	"context"
	"maps"
	"slices"
	"sync"

	"quintupleo/driver/domain/domxml"
	"quintupleo/nodes"
	"quintupleo/virt"
)

// Subscribe answers the event-callback registrations: lifecycle events of
// all domains, from any cause, until unsubscribe, which closes the channel
// and may be called more than once. A subscriber that falls behind loses
// events (they are logged); it never blocks others.
func (h *Driver) Subscribe() (<-chan Event, func()) { return h.events.Subscribe() }

// Subscribers is how many event subscriptions are open (clients listening
// for lifecycle events).
func (h *Driver) Subscribers() int { return h.events.Len() }

// Run turns inventory changes into lifecycle events until ctx ends. The
// caller owns the goroutine.
//
// It also deletes the transient servers it sees stopped (transient.go),
// each in a goroutine of its own that Run waits for before it returns.
func (h *Driver) Run(ctx context.Context) error {
	changes, unsubscribe := h.inv.Subscribe()
	defer unsubscribe()
	h.mu.Lock()
	h.runCtx = ctx
	h.mu.Unlock()
	defer h.stops.Wait()
	defer func() {
		h.mu.Lock()
		h.runCtx = nil
		h.mu.Unlock()
	}()
	var reapers sync.WaitGroup
	defer reapers.Wait()
	reapLater := func(n nodes.Node) {
		reapers.Add(1)
		go func() {
			defer reapers.Done()
			if _, err := h.reap(ctx, n); err != nil && ctx.Err() == nil {
				h.log.Warn("could not delete a stopped transient domain's server; retried at its next change", "server", n.ID, "err", err)
			}
		}()
	}
	// Transient servers that stopped while no replica ran.
	if v, err := h.current(ctx); err == nil {
		for _, n := range v.nodes {
			if stoppedTransient(n) {
				reapLater(n)
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c, ok := <-changes:
			if !ok {
				return nil
			}
			for _, ev := range h.eventsOf(ctx, c) {
				h.events.Publish(ev)
			}
			if !c.Removed && stoppedTransient(c.After) {
				reapLater(c.After)
			}
		}
	}
}

// eventsOf maps one inventory change onto libvirt lifecycle events.
func (h *Driver) eventsOf(ctx context.Context, c nodes.Change) []Event {
	// named is n as a domain. gone says n has left the cloud (its UNDEFINED
	// event): the name it had is then forgotten.
	named := func(n nodes.Node, gone bool) (Domain, bool) {
		u, ok := domainUUID(n)
		if !ok {
			return Domain{}, false
		}
		// The name is the one the view gives (or gave) the domain: bringing
		// the view up to date first records the names of departed domains.
		name := sanitizeName(n.Name)
		if v, err := h.current(ctx); err == nil {
			if i, ok := v.byUUID[u]; ok {
				name = v.doms[i].Name
			} else if old, ok := h.departedName(u, gone); ok {
				name = old
			}
		}
		return domainOf(n, name, u), true
	}
	switch {
	case c.Added:
		d, ok := named(c.After, false)
		if !ok {
			return nil
		}
		return []Event{{Domain: d, Type: virt.EventDefined, Detail: virt.DefinedAdded}}
	case c.Removed:
		d, ok := named(c.Before, true)
		if !ok || isTransient(c.Before) {
			return nil // a transient domain's end is its STOPPED event, as in libvirt
		}
		d.ID = -1
		return []Event{{Domain: d, Type: virt.EventUndefined, Detail: virt.UndefinedRemoved}}
	}
	before, ok := named(c.Before, false)
	if !ok {
		return nil
	}
	after, _ := named(c.After, false)
	return append(h.transition(before, after), metadataEvents(after, c.Before.Metadata, c.After.Metadata)...)
}

// metadataEvents are the METADATA_CHANGE events of d whose kept title,
// description or <metadata> elements (keep.go) differ between the server
// metadata before and after: one per changed item, as libvirt sends one per
// virDomainSetMetadata. Derived from what Nova shows, so every replica
// reports a change made through any of them.
func metadataEvents(d Domain, before, after map[string]string) []Event {
	was, _ := keptOf(before)
	is, _ := keptOf(after)
	var out []Event
	changed := func(typ int32, uri string) {
		out = append(out, Event{Domain: d, Metadata: &MetadataChange{Type: typ, URI: uri}})
	}
	if was.Title != is.Title {
		changed(virt.MetadataTitle, "")
	}
	if was.Description != is.Description {
		changed(virt.MetadataDescription, "")
	}
	if was.Metadata == is.Metadata {
		return out
	}
	old, cur := domxml.MetadataElements(was.Metadata), domxml.MetadataElements(is.Metadata)
	uris := slices.Collect(maps.Keys(old))
	for u := range cur {
		if _, ok := old[u]; !ok {
			uris = append(uris, u)
		}
	}
	slices.Sort(uris)
	for _, u := range uris {
		if e, ok := cur[u]; !ok || e != old[u] {
			changed(virt.MetadataElement, u)
		}
	}
	return out
}

// transition is the event of a domain going from before's state to after's.
func (h *Driver) transition(before, after Domain) []Event {
	was, is := before.State, after.State
	ev := func(t virt.EventType, detail int32) []Event {
		return []Event{{Domain: after, Type: t, Detail: detail}}
	}
	switch {
	case was == is:
		return nil
	case !was.Active() && is.Active():
		return ev(virt.EventStarted, virt.StartedBooted)
	case was.Active() && !is.Active():
		if is == virt.StateCrashed {
			return ev(virt.EventCrashed, virt.CrashedPanickedDetail)
		}
		return ev(virt.EventStopped, stoppedDetail(after))
	case is == virt.StatePaused:
		return ev(virt.EventSuspended, virt.SuspendedPaused)
	case was == virt.StatePaused && is == virt.StateRunning:
		return ev(virt.EventResumed, virt.ResumedUnpaused)
	case is == virt.StateShutdown:
		return ev(virt.EventShutdown, virt.ShutdownFinished)
	case is == virt.StatePMSuspended:
		return ev(virt.EventPMSuspended, virt.PMSuspendedMemory)
	}
	return nil
}
