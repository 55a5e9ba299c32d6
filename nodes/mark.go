package nodes

import (
	"context"
	"errors"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
)

// Marks: facts about a node that Nova cannot tell (why it stopped, say) and
// a front end must nevertheless answer the same on every replica. They are
// server metadata items, written before the action they describe, so that
// every replica that sees the action's effect in a listing sees the mark in
// the same listing.

// PowerOffMarked is PowerOff that first sets the metadata item key=value on
// the server, once Nova accepts metadata writes (after the unrescue of a
// rescued server). A mark Nova refuses (the quota of metadata items is
// full) does not stop the power-off: it is logged, and the node reads as
// Nova alone describes it.
func (x *Executor) PowerOffMarked(ctx context.Context, id, key, value string) (Node, error) {
	return x.powerOff(ctx, id, func(ctx context.Context) error {
		n, err := x.inv.Node(ctx, id)
		if err == nil && n.Metadata[key] == value {
			return nil
		}
		if _, err := x.SetMetadata(ctx, id, key, value); err != nil {
			if errors.Is(err, ErrConflict) {
				x.log.Warn("the cloud refused a mark before a power-off; powering off without it", "server", id, "key", key, "err", err)
				return nil
			}
			return err
		}
		return nil
	})
}

// DeleteMetadatum removes one metadata item from a server, when it has it,
// and updates the cache. It is one DELETE of that key alone, so it cannot
// undo another client's concurrent write of another key (as a whole-set
// replacement could).
func (x *Executor) DeleteMetadatum(ctx context.Context, id, key string) (_ Node, err error) {
	n, err := x.inv.Node(ctx, id)
	if err != nil {
		return Node{}, err
	}
	if _, has := n.Metadata[key]; !has {
		return n, nil
	}
	done := x.inv.link.obs.ActionStarted(actDeleteMetadata)
	defer func() { done(err) }()
	err = servers.DeleteMetadatum(ctx, x.inv.cloud().Compute, id, key).ExtractErr()
	if err != nil {
		if err = classify(fmt.Sprintf("delete metadata %s of %s", key, id), err); !errors.Is(err, ErrNotFound) {
			return Node{}, err
		}
		// Another replica removed it first, or the server is gone: the
		// fresh read below tells which.
	}
	return x.inv.fetch(ctx, id)
}
