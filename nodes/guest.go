package nodes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
)

// Guest-facing calls beyond power: the NMI (Nova's trigger_crash_dump) and
// the Neutron facts of a node's ports (IDs, prefix lengths), for libvirt's
// inject-NMI and interface addresses.

// crashDumpMicroversion is the compute API version trigger_crash_dump
// appeared in.
const crashDumpMicroversion = "2.17"

// TriggerCrashDump sends Nova's trigger_crash_dump (an NMI to the guest) to
// server id. Nova answers 202 and changes no state, so nothing is waited
// for. A cloud that refuses the call whatever the server's state — an API
// older than 2.17 (404 or 406), a hypervisor without NMI (400), a policy
// that forbids it (403) — is ErrUnsupported with Nova's message; a server
// in a state Nova does not accept is ErrConflict.
func (x *Executor) TriggerCrashDump(ctx context.Context, id string) (err error) {
	op := "trigger_crash_dump " + id
	cloud, err := x.inv.connected()
	if err != nil {
		return err
	}
	done := x.inv.link.obs.ActionStarted(actCrashDump)
	defer func() { done(err) }()
	c := *cloud.Compute // a copy: the microversion is this request's
	c.Microversion = crashDumpMicroversion
	resp, err := c.Post(ctx, c.ServiceURL("servers", id, "action"), map[string]any{"trigger_crash_dump": nil}, nil,
		&gophercloud.RequestOpts{OkCodes: []int{202}})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err == nil {
		return nil
	}
	if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		// A missing server is also a 404; ask which it is.
		if _, gerr := x.inv.fetch(ctx, id); errors.Is(gerr, ErrNotFound) {
			return gerr
		}
	}
	return refusedOr(op, "trigger_crash_dump", crashDumpMicroversion, err,
		http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusNotAcceptable)
}

// refusedOr is err classified, except that an answer with one of codes —
// the cloud refusing the call whatever the server's state — is
// ErrUnsupported naming Nova's call, its microversion and Nova's message.
func refusedOr(op, call, microversion string, err error, codes ...int) error {
	for _, code := range codes {
		if !gophercloud.ResponseCodeIs(err, code) {
			continue
		}
		reason := novaMessage(err)
		if reason == "" {
			reason = fmt.Sprintf("HTTP %d", code)
		}
		return &Error{Op: op, Kind: ErrUnsupported,
			Reason: fmt.Sprintf("Nova's %s (compute API %s): %s", call, microversion, reason), Err: err}
	}
	return classify(op, err)
}

// PortFacts is what Neutron adds to a port Nova lists in addresses.
type PortFacts struct {
	ID       string         // the Neutron port ID
	Prefixes map[string]int // fixed IP → prefix length of its subnet
}

// PortFacts returns, by MAC, the Neutron facts of server id's ports: their
// IDs and the prefix lengths of their fixed IPs (Nova's addresses carry
// neither). Two list calls (the server's ports, the networks with their
// subnets). On a cloud without Neutron the map is empty: the caller then
// knows neither. A failing Neutron is ErrUnavailable.
func (inv *Inventory) PortFacts(ctx context.Context, id string) (map[string]PortFacts, error) {
	out := map[string]PortFacts{}
	nc := inv.Neutron()
	if nc == nil {
		return out, nil
	}
	ps, err := nc.DevicePorts(ctx, id)
	if err != nil {
		return nil, neutronUnavailable("list ports of "+id, err)
	}
	nets, err := nc.List(ctx)
	if err != nil {
		return nil, neutronUnavailable("list networks", err)
	}
	cidrs := map[string]netip.Prefix{}
	for _, n := range nets {
		for _, sn := range n.Subnets {
			if p, err := netip.ParsePrefix(sn.CIDR); err == nil {
				cidrs[sn.ID] = p
			}
		}
	}
	for _, p := range ps {
		f := PortFacts{ID: p.ID, Prefixes: map[string]int{}}
		for _, ip := range p.FixedIPs {
			if c, ok := cidrs[ip.SubnetID]; ok {
				f.Prefixes[ip.IP] = c.Bits()
			}
		}
		out[strings.ToLower(p.MAC)] = f
	}
	return out, nil
}

// neutronUnavailable is a Neutron failure while reading facts: the answer
// cannot be given, whatever Neutron's reason.
func neutronUnavailable(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return &Error{Op: op, Kind: ErrUnavailable, Reason: err.Error(), Err: err}
}
