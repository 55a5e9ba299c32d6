package rpc

import (
	"errors"
	"time"

	"quintupleo/internal/limit"
)

// ErrKeepaliveTimeout ends a connection whose peer stopped answering PINGs.
var ErrKeepaliveTimeout = errors.New("rpc: keepalive timeout: peer did not answer")

// startKeepalive begins PINGing the peer (after SUPPORTS_FEATURE(10), as
// libvirtd does). Idempotent.
func (c *conn) startKeepalive() {
	interval, count := c.srv.kaInterval, c.srv.kaCount
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keepalive || interval <= 0 || c.ctx.Err() != nil {
		return
	}
	c.keepalive = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.runKeepalive(interval, count)
	}()
}

// runKeepalive sends a PING once the peer has been silent for interval,
// then one every interval while it stays silent, and drops the peer when
// count PINGs in a row went unanswered. Any packet from the peer counts as
// an answer. While calls are in flight the connection is busy, not dead,
// and nothing is counted.
func (c *conn) runKeepalive(interval time.Duration, count int) {
	t := time.NewTimer(interval)
	defer t.Stop()
	missed := 0
	last := c.lastRecv.Load()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		if lr := c.lastRecv.Load(); lr != last {
			last, missed = lr, 0
		}
		idle := time.Since(time.Unix(0, last))
		if missed == 0 && idle < interval {
			t.Reset(interval - idle)
			continue
		}
		c.mu.Lock()
		busy := c.inflight > 0
		c.mu.Unlock()
		if busy {
			t.Reset(interval)
			continue
		}
		if missed >= count {
			c.log.Warn("rpc: dropping unresponsive peer", "idle", idle, "pings", missed)
			c.srv.obs.Limited(limit.Keepalive, limit.Closed)
			c.close(ErrKeepaliveTimeout)
			return
		}
		missed++
		c.writeKeepalive(ProcKeepalivePing)
		t.Reset(interval)
	}
}
