package nodes

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
)

// Debris: what a define leaves in the cloud when its process dies in the
// middle (SIGKILL, a power cut) — ports made before the server create, or a
// server not yet stopped and released. Create's own undo cannot run then, so
// the next start sweeps (docs/reliability.md, "Crash (SIGKILL) and restart").
//
// Telling debris from a define that another replica (or this one, just
// started) still runs rests on two facts:
//   - a define in progress has a marker: its server carries the metadata item
//     MetaDefining from its create until the define has finished, and its
//     ports are unbound (no device) until a server takes them;
//   - a define in progress is young: Create bounds itself by
//     ProvisionConfig.Timeout (--action-timeout), so no live define still
//     needs a thing it made more than one timeout ago.
//
// A marked server or an unbound quintupleo port is debris once one timeout
// has passed since it was made (the cloud's created stamp against the
// cloud's Date header: no clock of ours is compared with the cloud's), or
// since this sweep first saw it (elapsed time on our clock alone: a live
// define had started before, so its timeout has run out since).

// MetaDefining marks a server whose define has not finished. Its value is
// the define's timeout in seconds, so a replica with a shorter
// --action-timeout still waits out a longer one's define.
const MetaDefining = "quintupleo:defining"

// debrisCandidate is a marked server or an unbound port of ours.
type debrisCandidate struct {
	server bool
	id     string
	name   string
	// bound is how long the define that made it may still run.
	bound time.Duration
	// ripe: made more than bound ago by the cloud's clock.
	ripe bool
}

// SweepDebris removes what defines killed in the middle left behind, logging
// each thing it removes. Candidates too young to judge are looked at again
// once their define's whole timeout has passed since they were first seen.
// A cloud that cannot be read is tried again later; SweepDebris returns when
// nothing is left to judge, or when ctx ends.
func (p *Provisioner) SweepDebris(ctx context.Context) error {
	// Started with the shim, perhaps while the cloud is down: the sweep
	// waits for the inventory's refreshes to connect it.
	select {
	case <-p.link.Up():
	case <-ctx.Done():
		return nil
	}
	if p.cloud().Network == nil {
		return nil // no ports of ours can exist, and defines are refused
	}
	young := map[string]time.Time{} // candidate → when a pass first saw it
	for {
		wait, err := p.sweepOnce(ctx, young)
		if err != nil {
			p.log.Warn("could not look for the debris of interrupted defines; trying again", "err", err)
			wait = min(p.cfg.Timeout, time.Minute)
		} else if len(young) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// sweepOnce removes every candidate that is ripe or was first seen (young)
// more than its bound ago, keeps young up to date with the rest, and
// returns how long until the first of those can be judged.
func (p *Provisioner) sweepOnce(ctx context.Context, young map[string]time.Time) (time.Duration, error) {
	found, err := p.findDebris(ctx)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	left := map[string]time.Time{}
	wait := time.Duration(0)
	for _, c := range found {
		seen, ok := young[c.id]
		if !ok {
			seen = now
		}
		if !c.ripe && now.Sub(seen) <= c.bound {
			left[c.id] = seen
			if due := seen.Add(c.bound).Sub(now) + time.Second; wait == 0 || due < wait {
				wait = due
			}
			continue
		}
		if err := p.removeDebris(ctx, c); err != nil {
			return 0, err
		}
	}
	clear(young)
	maps.Copy(young, left)
	p.log.Debug("looked for the debris of interrupted defines", "candidates", len(found), "left to judge", len(left))
	return wait, nil
}

// findDebris lists the candidates: marked servers first (deleting one
// deletes its bound ports too), then unbound ports of ours.
func (p *Provisioner) findDebris(ctx context.Context) ([]debrisCandidate, error) {
	ports, now, err := p.listOwnPorts(ctx)
	if err != nil {
		return nil, err
	}
	var out []debrisCandidate
	err = listServers(ctx, p.cloud().Compute, time.Time{}, func(n Node) {
		v, marked := n.Metadata[MetaDefining]
		if !marked || n.Deleted() {
			return
		}
		bound := p.cfg.Timeout
		if s, err := strconv.Atoi(v); err == nil && time.Duration(s)*time.Second > bound {
			bound = time.Duration(s) * time.Second
		}
		out = append(out, debrisCandidate{server: true, id: n.ID, name: n.Name, bound: bound, ripe: ripe(n.Created, now, bound)})
	})
	if err != nil {
		return nil, classify("list servers", err)
	}
	for _, pt := range ports {
		if pt.DeviceID == "" {
			out = append(out, debrisCandidate{id: pt.ID, name: pt.Name, bound: p.cfg.Timeout, ripe: ripe(pt.Created.Time, now, p.cfg.Timeout)})
		}
	}
	return out, nil
}

// ripe says a thing made at created is older than bound at the cloud's now;
// without both stamps it cannot say so.
func ripe(created, now time.Time, bound time.Duration) bool {
	return !created.IsZero() && !now.IsZero() && now.Sub(created) > bound
}

// ownPort is what the sweep reads of a port.
type ownPort struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	DeviceID string   `json:"device_id"`
	Created  novaTime `json:"created_at"` // Neutron's stamps read alike
}

// listOwnPorts lists the ports quintupleo made (by name), with the cloud's
// time of the answer (its Date header; zero when it has none).
func (p *Provisioner) listOwnPorts(ctx context.Context) ([]ownPort, time.Time, error) {
	var body struct {
		Ports []ownPort `json:"ports"`
	}
	resp, err := p.cloud().Network.Get(ctx, p.cloud().Network.ServiceURL("ports"), &body, &gophercloud.RequestOpts{OkCodes: []int{200}})
	if err != nil {
		return nil, time.Time{}, classify("list ports", err)
	}
	now, _ := http.ParseTime(resp.Header.Get("Date"))
	var ours []ownPort
	for _, pt := range body.Ports {
		if strings.HasPrefix(pt.Name, PortNamePrefix) {
			ours = append(ours, pt)
		}
	}
	return ours, now, nil
}

// removeDebris deletes one candidate and says so. A server goes with the
// ports of ours bound to it (Delete).
func (p *Provisioner) removeDebris(ctx context.Context, c debrisCandidate) error {
	if c.server {
		if err := p.Delete(ctx, c.id); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		p.log.Warn("removed the server of a define that did not finish (its process ended in the middle)", "name", c.name, "server", c.id)
		return nil
	}
	done := p.link.obs.ActionStarted(actDeletePort)
	err := p.deletePort(ctx, c.id)
	done(err)
	if err != nil {
		return err
	}
	p.log.Warn("removed a port of a define that did not finish (its process ended in the middle)", "port", c.id, "name", c.name)
	return nil
}

// unmark removes MetaDefining from the server of a finished define and
// returns n as it now is.
func (p *Provisioner) unmark(ctx context.Context, n Node) (Node, error) {
	err := servers.DeleteMetadatum(ctx, p.cloud().Compute, n.ID, MetaDefining).ExtractErr()
	if err != nil {
		return n, classify("delete metadata "+MetaDefining+" of "+n.ID, err)
	}
	md := make(map[string]string, len(n.Metadata))
	for k, v := range n.Metadata {
		if k != MetaDefining {
			md[k] = v
		}
	}
	n.Metadata = md
	return n, nil
}
