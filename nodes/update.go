package nodes

import (
	"context"
	"maps"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
)

// EditMetadata changes several metadata items of a server at once: edit gets
// a copy of the server's metadata as Nova has it now (read fresh, not from
// the cache) and returns the whole new set, which replaces the old one in
// one request (Nova's PUT /servers/{id}/metadata), so the change is all or
// nothing; a POST would merge and leave keys edit removed. When edit
// changes nothing, nothing is written. Nova has no conditional write: a key
// another client writes between the read and the PUT is lost, so edit
// should only change keys its caller owns. Nova's refusal for the quota of
// metadata items (403) is ErrConflict with Nova's message.
func (x *Executor) EditMetadata(ctx context.Context, id string, edit func(map[string]string) map[string]string) (_ Node, err error) {
	op := "replace metadata of " + id
	cur, err := x.inv.fetch(ctx, id)
	if err != nil {
		return Node{}, err
	}
	next := edit(maps.Clone(cur.Metadata))
	if maps.Equal(next, cur.Metadata) {
		return cur, nil
	}
	if next == nil {
		next = map[string]string{}
	}
	done := x.inv.link.obs.ActionStarted(actReplaceMetadata)
	defer func() { done(err) }()
	_, err = servers.ResetMetadata(ctx, x.inv.cloud().Compute, id, servers.MetadataOpts(next)).Extract()
	if gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		return Node{}, &Error{Op: op, Kind: ErrConflict, Reason: novaMessage(err), Err: err}
	}
	if err != nil {
		return Node{}, classify(op, err)
	}
	return x.inv.fetch(ctx, id)
}
