package nodes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// Guest-facing calls beyond power: the NMI (Nova's trigger_crash_dump) and
// the prefix lengths of a node's fixed IPs (Neutron's subnets), for
// libvirt's inject-NMI and interface addresses.

// crashDumpMicroversion is the compute API version trigger_crash_dump
// appeared in.
const crashDumpMicroversion = "2.17"

// TriggerCrashDump sends Nova's trigger_crash_dump (an NMI to the guest) to
// server id. Nova answers 202 and changes no state, so nothing is waited
// for. A cloud that refuses the call whatever the server's state — an API
// older than 2.17 (404 or 406), a hypervisor without NMI (400), a policy
// that forbids it (403) — is ErrUnsupported with Nova's message; a server
// in a state Nova does not accept is ErrConflict.
func (x *Executor) TriggerCrashDump(ctx context.Context, id string) error {
	op := "trigger_crash_dump " + id
	c := *x.inv.cloud.Compute // a copy: the microversion is this request's
	c.Microversion = crashDumpMicroversion
	resp, err := c.Post(ctx, c.ServiceURL("servers", id, "action"), map[string]any{"trigger_crash_dump": nil}, nil,
		&gophercloud.RequestOpts{OkCodes: []int{202}})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err == nil {
		return nil
	}
	for _, code := range []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusNotAcceptable} {
		if !gophercloud.ResponseCodeIs(err, code) {
			continue
		}
		if code == http.StatusNotFound {
			// A missing server is also a 404; ask which it is.
			if _, gerr := x.inv.fetch(ctx, id); errors.Is(gerr, ErrNotFound) {
				return gerr
			}
		}
		reason := novaMessage(err)
		if reason == "" {
			reason = fmt.Sprintf("HTTP %d", code)
		}
		return &Error{Op: op, Kind: ErrUnsupported,
			Reason: fmt.Sprintf("Nova's trigger_crash_dump (compute API %s): %s", crashDumpMicroversion, reason), Err: err}
	}
	return classify(op, err)
}

// PrefixLengths maps each of addrs to the prefix length of the Neutron
// subnet that holds it (Nova's addresses carry none). Addresses no visible
// subnet holds are left out, and so is everything on a cloud without
// Neutron: the caller then knows no prefix.
func (inv *Inventory) PrefixLengths(ctx context.Context, addrs []string) (map[string]int, error) {
	out := map[string]int{}
	if inv.cloud.Network == nil || len(addrs) == 0 {
		return out, nil
	}
	pages, err := subnets.List(inv.cloud.Network, subnets.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, classify("list subnets", err)
	}
	sns, err := subnets.ExtractSubnets(pages)
	if err != nil {
		return nil, classify("list subnets", err)
	}
	for _, a := range addrs {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			continue
		}
		for _, sn := range sns {
			if p, err := netip.ParsePrefix(sn.CIDR); err == nil && p.Contains(ip) {
				out[a] = p.Bits()
				break
			}
		}
	}
	return out, nil
}
