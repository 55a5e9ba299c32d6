package nodes

import (
	"context"
	"sync"
)

// acceptedKey carries the callback of WithAccepted.
type acceptedKey struct{}

// WithAccepted returns a ctx under which the Executor calls accepted once,
// as soon as the cloud has accepted the first action it sends for the
// operation (Nova answered 202), or found it needless (the server already
// where the action would take it). A front end whose protocol answers on
// acceptance and lets the client poll (Redfish's Reset) answers then, while
// the operation goes on to its target state.
func WithAccepted(ctx context.Context, accepted func()) context.Context {
	var once sync.Once
	return context.WithValue(ctx, acceptedKey{}, func() { once.Do(accepted) })
}

// notifyAccepted calls the WithAccepted callback of ctx, if any.
func notifyAccepted(ctx context.Context) {
	if f, ok := ctx.Value(acceptedKey{}).(func()); ok {
		f()
	}
}
