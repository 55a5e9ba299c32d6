package rpc

import (
	"errors"
	"time"
)

// errKeepaliveTimeout ends a connection whose peer stopped answering PINGs.
var errKeepaliveTimeout = errors.New("rpc: keepalive timeout: peer did not answer")

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

// runKeepalive sends a PING after each interval without a packet from the
// peer, and drops the peer after count PINGs in a row go unanswered. While
// calls are in flight the connection is busy, not dead, and is not counted.
func (c *conn) runKeepalive(interval time.Duration, count int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		idle := time.Since(time.Unix(0, c.lastRecv.Load()))
		if idle < interval {
			missed = 0
			continue
		}
		c.mu.Lock()
		busy := c.inflight > 0
		c.mu.Unlock()
		if busy {
			continue
		}
		if missed >= count {
			c.log.Warn("rpc: dropping unresponsive peer", "idle", idle, "pings", missed)
			c.close(errKeepaliveTimeout)
			return
		}
		missed++
		c.writeKeepalive(ProcKeepalivePing)
	}
}
