package rpc

import (
	"github.com/digitalocean/go-libvirt"

	"quintupleo/driver/domain"
	"quintupleo/virt"
)

// eventSerial is the serial libvirtd puts on event MESSAGEs (observed: 1).
const eventSerial = 1

// eventCallback is one CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY.
type eventCallback struct {
	id      int32
	eventID int32
	dom     *virt.UUID // nil: every domain
}

// subscription is a connection's feed of Domains driver lifecycle events. The
// Domains driver's channel is the bounded queue: a connection that cannot keep up
// loses events there (the Domains driver logs them) and never blocks others.
type subscription struct {
	stop  chan struct{}
	unsub func()
}

// addCallback numbers cb and registers it, returning its ID, unless the connection already
// has one for its event ID and domain (libvirtd refuses those too) or holds
// as many callbacks as it may.
func (c *conn) addCallback(cb eventCallback) (int32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, old := range c.callbacks {
		if old.eventID == cb.eventID && (old.dom == nil) == (cb.dom == nil) && (old.dom == nil || *old.dom == *cb.dom) {
			return 0, errCallbackTracked()
		}
	}
	if c.eventCallbacks() >= c.srv.maxCallbacks {
		return 0, errTooManyCallbacks(c.srv.maxCallbacks)
	}
	cb.id = c.srv.nextCallbackID.Add(1) - 1
	c.callbacks[cb.id] = cb
	c.ensureSubscribedLocked()
	return cb.id, nil
}

// eventCallbacks is how many event registrations the connection holds, of
// every kind; c.mu is held.
func (c *conn) eventCallbacks() int {
	c.netEvents.mu.Lock()
	defer c.netEvents.mu.Unlock()
	return len(c.callbacks) + len(c.legacy) + len(c.netEvents.cbs)
}

func (c *conn) removeCallback(id int32) bool {
	c.mu.Lock()
	_, ok := c.callbacks[id]
	delete(c.callbacks, id)
	sub := c.releaseIfUnusedLocked()
	c.mu.Unlock()
	sub.end()
	return ok
}

func (c *conn) addLegacy(eventID int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.legacy[eventID] {
		return false
	}
	c.legacy[eventID] = true
	c.ensureSubscribedLocked()
	return true
}

func (c *conn) removeLegacy(eventID int32) bool {
	c.mu.Lock()
	ok := c.legacy[eventID]
	delete(c.legacy, eventID)
	sub := c.releaseIfUnusedLocked()
	c.mu.Unlock()
	sub.end()
	return ok
}

// ensureSubscribedLocked subscribes on the first registration of an event
// the Domains driver delivers.
func (c *conn) ensureSubscribedLocked() {
	if c.sub != nil || !c.wantsEventsLocked() {
		return
	}
	if c.ctx.Err() != nil {
		return
	}
	events, unsub := c.srv.drivers.Domains.Subscribe()
	sub := &subscription{stop: make(chan struct{}), unsub: unsub}
	c.sub = sub
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.pumpEvents(events, sub.stop)
	}()
}

// wantsEventsLocked: a registration for lifecycle or metadata-change events,
// the ones the Domains driver delivers. (A legacy registration of
// metadata-change gets nothing, as from libvirtd: events newer than
// callback IDs go to callbacks only.)
func (c *conn) wantsEventsLocked() bool {
	if c.legacy[eventIDLifecycle] {
		return true
	}
	for _, cb := range c.callbacks {
		if cb.eventID == eventIDLifecycle || cb.eventID == eventIDMetadataChange {
			return true
		}
	}
	return false
}

// releaseIfUnusedLocked detaches the subscription once no registration it
// serves remains; the caller ends it after unlocking.
func (c *conn) releaseIfUnusedLocked() *subscription {
	if c.sub == nil || c.wantsEventsLocked() {
		return nil
	}
	sub := c.sub
	c.sub = nil
	return sub
}

// stopEvents drops every registration (CONNECT_CLOSE, disconnect).
func (c *conn) stopEvents() {
	c.mu.Lock()
	clear(c.callbacks)
	clear(c.legacy)
	sub := c.sub
	c.sub = nil
	c.mu.Unlock()
	sub.end()
	c.netEvents.end()
}

func (s *subscription) end() {
	if s == nil {
		return
	}
	close(s.stop)
	s.unsub()
}

// pumpEvents turns Domains driver events into MESSAGE packets until stopped.
func (c *conn) pumpEvents(events <-chan domain.Event, stop <-chan struct{}) {
	pump(c, events, stop, c.deliver)
}

// pump hands each event of a driver subscription to deliver until stop
// closes, the connection ends or the driver closes the channel.
func pump[T any](c *conn, events <-chan T, stop <-chan struct{}, deliver func(T)) {
	for {
		select {
		case <-stop:
			return
		case <-c.ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			deliver(ev)
		}
	}
}

func (c *conn) deliver(ev domain.Event) {
	if ev.Metadata != nil {
		c.deliverMetadataChange(ev)
		return
	}
	msg := libvirt.DomainEventLifecycleMsg{Dom: wireDomain(ev.Domain), Event: int32(ev.Type), Detail: ev.Detail}
	ids := c.callbacksFor(eventIDLifecycle, ev.Domain.UUID)
	c.mu.Lock()
	legacy := c.legacy[eventIDLifecycle]
	c.mu.Unlock()

	for _, id := range ids {
		c.sendEvent(ProcDomainEventCallbackLifecycle, &libvirt.DomainEventCallbackLifecycleMsg{CallbackID: id, Msg: msg})
	}
	if legacy {
		c.sendEvent(ProcDomainEventLifecycle, &msg)
	}
}

// deliverMetadataChange sends a METADATA_CHANGE event to the callbacks
// registered for it; nsuri is null for the title and the description.
func (c *conn) deliverMetadataChange(ev domain.Event) {
	var uri libvirt.OptString
	if ev.Metadata.URI != "" {
		uri = libvirt.OptString{ev.Metadata.URI}
	}
	for _, id := range c.callbacksFor(eventIDMetadataChange, ev.Domain.UUID) {
		c.sendEvent(ProcDomainEventCallbackMetadataChange, &libvirt.DomainEventCallbackMetadataChangeMsg{
			CallbackID: id, Dom: wireDomain(ev.Domain), Type: ev.Metadata.Type, Nsuri: uri})
	}
}

// callbacksFor are the IDs of the callbacks registered for eventID of
// domain u (or of every domain).
func (c *conn) callbacksFor(eventID int32, u virt.UUID) []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []int32
	for _, cb := range c.callbacks {
		if cb.eventID == eventID && (cb.dom == nil || *cb.dom == u) {
			ids = append(ids, cb.id)
		}
	}
	return ids
}

func (c *conn) sendEvent(proc uint32, v any) {
	body, err := encode(v)
	if err != nil {
		c.log.Error("rpc: encoding an event", "err", err)
		return
	}
	c.write(Header{Program: RemoteProgram, Version: RemoteVersion, Procedure: proc, Type: TypeMessage, Serial: eventSerial, Status: StatusOK}, body)
}
