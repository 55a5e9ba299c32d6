package stack

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// TestShutdownLeavesEveryPartTime: a part that waits for a client that
// never leaves (an idle SSH shell) takes only its share of the shutdown
// timeout; the parts stopped after it still get a live deadline. Before,
// the first part used the whole timeout and the libvirt part after it
// got an expired context ("rpc shutdown: context deadline exceeded").
func TestShutdownLeavesEveryPartTime(t *testing.T) {
	st := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	st.shutdownTimeout, st.partReserve = 600*time.Millisecond, 150*time.Millisecond
	left := map[string]time.Duration{}
	record := func(name string) func(context.Context) error {
		return func(ctx context.Context) error {
			d, _ := ctx.Deadline()
			left[name] = time.Until(d)
			return ctx.Err()
		}
	}
	st.OnShutdown("rpc", record("rpc"))
	st.OnShutdown("redfish", record("redfish"))
	st.OnShutdown("ssh", func(ctx context.Context) error { // stops first
		<-ctx.Done()
		return ctx.Err()
	})
	if err := st.Bind(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := st.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > st.shutdownTimeout+100*time.Millisecond {
		t.Errorf("shutdown took %v, past its %v", took, st.shutdownTimeout)
	}
	for _, name := range []string{"redfish", "rpc"} {
		if got, ok := left[name]; !ok || got < 100*time.Millisecond {
			t.Errorf("%s shutdown began with %v left (called: %v), want about its reserve", name, got, ok)
		}
	}
}
