package cloudcall

import (
	"context"
	"time"
)

// Poller reads a resource with exponential back-off until a condition
// holds: the first read at once, then after Interval, doubling up to
// MaxInterval.
type Poller[T any] struct {
	Interval, MaxInterval time.Duration
	// Get reads the resource.
	Get func(context.Context) (T, error)
	// Transient reports the errors of Get that are ridden out (the cloud
	// did not answer usefully this time); any other ends the poll.
	Transient func(error) bool
	// Stopped is the error when the context ends, given ctx.Err(); nil
	// returns ctx.Err() as it is.
	Stopped func(error) error
}

// Until polls until done reports true or an error; the context bounds it.
func (p Poller[T]) Until(ctx context.Context, done func(T) (bool, error)) (T, error) {
	var zero T
	wait := p.Interval
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			if p.Stopped != nil {
				return zero, p.Stopped(ctx.Err())
			}
			return zero, ctx.Err()
		case <-timer.C:
		}
		v, err := p.Get(ctx)
		switch {
		case err == nil:
			if ok, derr := done(v); ok || derr != nil {
				return v, derr
			}
		case !p.Transient(err):
			return zero, err
		}
		timer.Reset(wait)
		wait = min(2*wait, p.MaxInterval)
	}
}
