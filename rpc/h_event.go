package rpc

import (
	"context"
	"errors"
	"fmt"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/virt"
)

// domainEventIDLast is VIR_DOMAIN_EVENT_ID_LAST in libvirt 9.0: virsh
// event --all registers IDs 0..26. Every valid ID can be registered (as
// with libvirtd); only lifecycle and metadata-change events are ever
// delivered.
const domainEventIDLast = 27

const (
	eventIDLifecycle      = int32(libvirt.DomainEventIDLifecycle)
	eventIDMetadataChange = int32(libvirt.DomainEventIDMetadataChange)
)

func connectDomainEventCallbackRegisterAny(ctx context.Context, c *conn, a *libvirt.ConnectDomainEventCallbackRegisterAnyArgs) (*libvirt.ConnectDomainEventCallbackRegisterAnyRet, error) {
	if a.EventID < 0 || a.EventID >= domainEventIDLast {
		return nil, errUnsupportedEvent(a.EventID)
	}
	cb := eventCallback{eventID: a.EventID}
	if len(a.Dom) > 0 {
		u := virt.UUID(a.Dom[0].UUID)
		cb.dom = &u
	}
	id, err := c.addCallback(cb)
	if err != nil {
		return nil, err
	}
	return &libvirt.ConnectDomainEventCallbackRegisterAnyRet{CallbackID: id}, nil
}

func connectDomainEventCallbackDeregisterAny(ctx context.Context, c *conn, a *libvirt.ConnectDomainEventCallbackDeregisterAnyArgs) (*none, error) {
	if !c.removeCallback(a.CallbackID) {
		return nil, virt.Internal(virt.FromRPC, fmt.Sprintf("domain event callback %d not registered", a.CallbackID), nil)
	}
	return nil, nil
}

// The legacy registration (clients that do not support
// REMOTE_EVENT_CALLBACK): one registration per event ID and connection,
// events sent as DOMAIN_EVENT_LIFECYCLE without a callback ID.

func connectDomainEventRegisterAny(ctx context.Context, c *conn, a *libvirt.ConnectDomainEventRegisterAnyArgs) (*none, error) {
	if a.EventID < 0 || a.EventID >= domainEventIDLast {
		return nil, errUnsupportedEvent(a.EventID)
	}
	if !c.addLegacy(a.EventID) {
		return nil, virt.Internal(virt.FromRPC, fmt.Sprintf("domain event %d already registered", a.EventID), nil)
	}
	return nil, nil
}

func connectDomainEventDeregisterAny(ctx context.Context, c *conn, a *libvirt.ConnectDomainEventDeregisterAnyArgs) (*none, error) {
	if !c.removeLegacy(a.EventID) {
		return nil, virt.Internal(virt.FromRPC, fmt.Sprintf("domain event %d not registered", a.EventID), nil)
	}
	return nil, nil
}

// errTooManyCallbacks refuses a registration past WithMaxEventCallbacks,
// worded as libvirt words its other per-call bounds ("too many …: N > MAX").
func errTooManyCallbacks(limit int) error {
	return errRPC(fmt.Sprintf("too many event callbacks on this connection: %d > %d", limit+1, limit), errCallbackCap)
}

// errCallbackCap is the cause of errTooManyCallbacks (for the metrics).
var errCallbackCap = errors.New("event callback cap reached")

// errCallbackTracked is libvirt's answer to a registration of an event ID
// and object filter the connection already has (object_event.c).
func errCallbackTracked() error {
	return virt.InvalidArg(virt.FromNone, "event callback already tracked")
}

func errUnsupportedEvent(id int32) error {
	return virt.Internal(virt.FromRPC, fmt.Sprintf("unsupported event ID %d", id), nil)
}
