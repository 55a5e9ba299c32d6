package rpc

import (
	"context"
	"sync"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/virt"
)

// ListVersioner is an optional Domains interface: a driver whose domain
// list (names, UUIDs, ids, and whatever the list flags test) changes only
// together with a version number. The server then encodes each distinct
// CONNECT_LIST_ALL_DOMAINS reply once per version and hands every polling
// client the same bytes: at 10,000 domains a reply is ≈320 KB, and
// encoding it per call for 1000 polling clients peaked at ~1 GiB
// (docs/benchmarks.md, finding 2).
type ListVersioner interface {
	// ListVersion is the version of the list List would return now;
	// it fails as List would (e.g. the cloud view is too stale).
	ListVersion(ctx context.Context) (uint64, error)
}

// rawBody is a reply body already in XDR; encode passes it through.
type rawBody []byte

type listKey struct {
	flags       virt.ListFlags
	needResults bool
}

// listCache holds the encoded list replies of one version.
type listCache struct {
	mu sync.Mutex
	// mu guards:
	version uint64
	replies map[listKey]rawBody
}

// maxCachedLists bounds the flag combinations cached per version (clients
// use a handful: virsh list, list --all, --inactive, …).
const maxCachedLists = 64

func (lc *listCache) get(version uint64, k listKey) (rawBody, bool) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.version != version {
		return nil, false
	}
	b, ok := lc.replies[k]
	return b, ok
}

func (lc *listCache) put(version uint64, k listKey, b rawBody) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.version != version || lc.replies == nil {
		lc.version, lc.replies = version, map[listKey]rawBody{}
	}
	if len(lc.replies) < maxCachedLists {
		lc.replies[k] = b
	}
}

// connectListAllDomains answers CONNECT_LIST_ALL_DOMAINS, from the encoded
// reply cache when the Domains driver is a ListVersioner.
func connectListAllDomains(ctx context.Context, c *conn, body []byte) (any, error) {
	var a libvirt.ConnectListAllDomainsArgs
	if err := decode(body, &a); err != nil {
		return nil, errDecode(err)
	}
	k := listKey{flags: virt.ListFlags(a.Flags), needResults: a.NeedResults != 0}
	lv, cacheable := c.srv.drivers.Domains.(ListVersioner)
	var version uint64
	if cacheable {
		v, err := lv.ListVersion(ctx)
		if err != nil {
			return nil, err
		}
		version = v
		if b, ok := c.srv.lists.get(version, k); ok {
			return b, nil
		}
	}
	doms, err := c.srv.drivers.Domains.List(ctx, k.flags)
	if err != nil {
		return nil, err
	}
	if len(doms) > remoteDomainListMax {
		return nil, errTooMany("domains", len(doms), remoteDomainListMax)
	}
	ret := &libvirt.ConnectListAllDomainsRet{Ret: uint32(len(doms))}
	if k.needResults {
		ret.Domains = make([]libvirt.Domain, len(doms))
		for i, d := range doms {
			ret.Domains[i] = wireDomain(d)
		}
	}
	if !cacheable {
		return ret, nil
	}
	b, err := encode(ret)
	if err != nil {
		return nil, err
	}
	// Cached under the version read before listing: if the list changed in
	// between, the next call sees a newer version and misses.
	c.srv.lists.put(version, k, b)
	return rawBody(b), nil
}
