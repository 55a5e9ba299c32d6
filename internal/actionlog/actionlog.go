// Package actionlog carries, in a context, what the one log line of a
// client action needs from layers that do not import each other: how many
// cloud requests the action cost (the front end that serves the action puts
// a Counter in its context, the cloud's HTTP transport in nodes adds to it)
// and who the client is when the connection cannot tell (the SSH side's
// virsh reaches rpc over an in-process pipe whose address says nothing; the
// SSH session names the key and the address it came from).
package actionlog

import (
	"context"
	"sync/atomic"
)

// Counter counts cloud requests; safe for concurrent use.
type Counter struct{ n atomic.Int64 }

// N is the count so far.
func (c *Counter) N() int64 { return c.n.Load() }

type (
	counterKey struct{}
	clientKey  struct{}
)

// WithCounter returns ctx carrying a new Counter, and the Counter.
func WithCounter(ctx context.Context) (context.Context, *Counter) {
	c := &Counter{}
	return context.WithValue(ctx, counterKey{}, c), c
}

// CountRequest counts one cloud request towards the Counter ctx carries,
// if any.
func CountRequest(ctx context.Context) {
	if c, ok := ctx.Value(counterKey{}).(*Counter); ok {
		c.n.Add(1)
	}
}

// WithClient returns ctx naming the client ("ssh key SHA256:… from
// 192.0.2.7:50122"), for connections made on its behalf.
func WithClient(ctx context.Context, who string) context.Context {
	return context.WithValue(ctx, clientKey{}, who)
}

// Client is the client ctx names, "" if none.
func Client(ctx context.Context) string {
	who, _ := ctx.Value(clientKey{}).(string)
	return who
}

// Carry returns to carrying from's Counter and client, for work an action
// goes on with after its request's context ends (an action answered once
// the cloud accepted it): its cloud requests still count towards the
// action, up to the moment its line is logged.
func Carry(from, to context.Context) context.Context {
	if c, ok := from.Value(counterKey{}).(*Counter); ok {
		to = context.WithValue(to, counterKey{}, c)
	}
	if who := Client(from); who != "" {
		to = WithClient(to, who)
	}
	return to
}
