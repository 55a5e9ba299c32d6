package nodes

import (
	"context"
	"sync"

	"quintupleo/internal/actionlog"
)

// acceptedKey carries the callback of WithAccepted.
type acceptedKey struct{}

// WithAccepted returns a ctx under which the Executor calls accepted once,
// as soon as the cloud has accepted the first action it sends for the
// operation (Nova answered 202), or found it needless (the server already
// where the action would take it). A front end whose protocol answers on
// acceptance and lets the client poll (Redfish's Reset) answers then, while
// the operation goes on to its target state. By then the inventory holds
// the server as Nova shows it after the 202 (its task state set), so a
// client reading right after the answer sees the operation under way.
func WithAccepted(ctx context.Context, accepted func()) context.Context {
	var once sync.Once
	return context.WithValue(ctx, acceptedKey{}, func() { once.Do(accepted) })
}

// wantsAccepted reports whether ctx carries a WithAccepted callback.
func wantsAccepted(ctx context.Context) bool {
	_, ok := ctx.Value(acceptedKey{}).(func())
	return ok
}

// notifyAccepted calls the WithAccepted callback of ctx, if any.
func notifyAccepted(ctx context.Context) {
	if f, ok := ctx.Value(acceptedKey{}).(func()); ok {
		f()
	}
}

// UntilAccepted runs op in a goroutine under bg (which outlives the caller's
// request; wg counts the goroutine) and returns once the cloud accepted op's
// first action, or with op's error if it failed before that, or with ctx's
// error if the caller gave up first. The operation goes on to its end
// either way; failed is called with its error if it fails after the caller
// answered.
func UntilAccepted(ctx, bg context.Context, wg *sync.WaitGroup, op func(context.Context) error, failed func(error)) error {
	accepted := make(chan struct{})
	done := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := op(WithAccepted(actionlog.Carry(ctx, bg), func() { close(accepted) }))
		if err != nil && (isClosed(accepted) || ctx.Err() != nil) {
			failed(err) // the caller has answered already
		}
		done <- err
	}()
	select {
	case <-accepted:
		return nil
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
