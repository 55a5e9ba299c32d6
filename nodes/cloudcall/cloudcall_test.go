package cloudcall

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"
)

type serviceA struct{}

func (serviceA) Prefix() string { return "a" }

type serviceB struct{}

func (serviceB) Prefix() string { return "b" }

// TestClassifySharedRules: what the service's own part leaves without a
// Kind, and how every Error reads.
func TestClassifySharedRules(t *testing.T) {
	none := func(*Error[serviceA]) {}
	if err := Classify("op", nil, none); err != nil {
		t.Errorf("Classify(nil) = %v", err)
	}
	var e *Error[serviceA]
	if err := Classify("op", fmt.Errorf("get: %w", context.Canceled), none); errors.As(err, &e) ||
		!errors.Is(err, context.Canceled) || err.Error() != "a: op: get: context canceled" {
		t.Errorf("cancelled: %v (%T), want context.Canceled wrapped, no *Error", err, err)
	}
	for _, c := range []struct {
		in   error
		kind error
		text string
	}{
		{fmt.Errorf("get: %w", context.DeadlineExceeded), ErrTimeout, "a: op: timed out waiting for the cloud: get: context deadline exceeded"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, ErrUnavailable, "a: op: cloud unavailable: cannot reach the cloud"},
		{errors.New("odd"), ErrUnavailable, "a: op: cloud unavailable: odd"},
		{&Error[serviceA]{Op: "inner", Kind: ErrNotFound}, ErrNotFound, "a: inner: not found"},
		{&Error[serviceA]{Op: "inner", Kind: ErrNotFound, Reason: "gone", Err: errors.New("404")}, ErrNotFound, "a: inner: not found: gone"},
	} {
		if err := Classify("op", c.in, none); !errors.As(err, &e) || !errors.Is(err, c.kind) || err.Error() != c.text {
			t.Errorf("Classify(%v) = %v (%T), want kind %v, text %q", c.in, err, err, c.kind, c.text)
		}
	}
}

// TestErrorTypesStayApart: two services' errors are types of their own, so
// a caller's errors.As finds only its service's.
func TestErrorTypesStayApart(t *testing.T) {
	err := Classify("op", errors.New("x"), func(*Error[serviceA]) {})
	var b *Error[serviceB]
	if errors.As(err, &b) {
		t.Fatalf("service b's errors.As took service a's error %v", err)
	}
	if got := Classify("op2", err, func(*Error[serviceB]) {}); errors.As(got, &b) == false || b.Op != "op2" {
		t.Fatalf("service b did not classify service a's error as its own: %v", got)
	}
}

// TestPollerUntil: transient errors are ridden out, the first other error
// ends the poll, and an ended context is worded by Stopped.
func TestPollerUntil(t *testing.T) {
	transient := errors.New("transient")
	reads := 0
	p := Poller[int]{
		Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond,
		Get: func(context.Context) (int, error) {
			reads++
			if reads < 3 {
				return 0, transient
			}
			return reads, nil
		},
		Transient: func(err error) bool { return errors.Is(err, transient) },
	}
	v, err := p.Until(t.Context(), func(v int) (bool, error) { return v >= 4, nil })
	if err != nil || v != 4 {
		t.Fatalf("Until = %d, %v; want 4 after riding out two transient errors", v, err)
	}

	final := errors.New("final")
	p.Get = func(context.Context) (int, error) { return 7, final }
	if v, err := p.Until(t.Context(), func(int) (bool, error) { return false, nil }); !errors.Is(err, final) || v != 0 {
		t.Fatalf("Until = %d, %v; want 0, %v", v, err, final)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p.Get = func(context.Context) (int, error) { return 0, transient } // a read may still come first
	p.Stopped = func(err error) error { return errors.Join(errors.New("stopped"), err) }
	if _, err := p.Until(ctx, func(int) (bool, error) { return false, nil }); !errors.Is(err, context.Canceled) || err.Error() != "stopped\ncontext canceled" {
		t.Fatalf("Until after cancel = %v", err)
	}
}
