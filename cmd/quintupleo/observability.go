package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"quintupleo/internal/metrics"
	"quintupleo/internal/stack"
	"quintupleo/nodes"
	"quintupleo/redfish"
	"quintupleo/rpc"
	qssh "quintupleo/ssh"
)

// obsFlags are the observability flags: where metrics and health are
// served, and how the logs look (docs/metrics.md, docs/configuration.md).
type obsFlags struct {
	listenMetrics string
	metricsAny    bool
	logLevel      logLevel
	logFormat     logFormat
	output        io.Writer // not a flag: where a test's stack logs (runStack)
}

func (o *obsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.listenMetrics, "listen-metrics", "", "Prometheus /metrics, /healthz and /readyz over plain HTTP (host:port, loopback unless --insecure-metrics-any); empty to disable")
	fs.BoolVar(&o.metricsAny, "insecure-metrics-any", false, "allow --listen-metrics on a non-loopback address (metrics name nodes and carry no authentication)")
	fs.Var(&o.logLevel, "log-level", "debug, info, warn or error")
	o.logFormat = "text"
	fs.Var(&o.logFormat, "log-format", "text (logfmt-like key=value) or json (one JSON object per line)")
}

// logger is the logger the flags describe, writing to w.
func (o *obsFlags) logger(w io.Writer) *slog.Logger {
	return newLogger(w, o.logLevel, o.logFormat)
}

// addMetrics builds the metrics and their listener when --listen-metrics is
// given; nil without it (every observer stays unset). Its listener shuts
// down last of the parts registered after it, so /healthz answers while
// the front ends drain.
func (o *obsFlags) addMetrics(st *stack.Stack) (*metrics.Metrics, *stack.Listener) {
	if o.listenMetrics == "" {
		return nil, nil
	}
	m := metrics.New()
	m.KnownActions(nodes.ObservedActions())
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second}
	l := st.Listen(stack.ListenSpec{What: "metrics listener", Key: "metrics",
		Listen: func() (net.Listener, error) {
			ln, err := rpc.ListenTCP(o.listenMetrics, o.metricsAny)
			if err != nil {
				return nil, fmt.Errorf("--listen-metrics: %w", err)
			}
			return ln, nil
		},
		Serve: func(ln net.Listener) error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}})
	st.OnShutdown("metrics", srv.Shutdown)
	return m, l
}

// observers are the hooks of every part, each nil without metrics (a nil
// *metrics.Metrics must not become a non-nil interface).
type observers struct {
	nodes        nodes.Observer
	ssh          qssh.Observer
	rpc          []rpc.Option
	redfish      func(http.Handler) http.Handler
	redfishLimit redfish.Observer
	eventDropped func()
}

func observersOf(m *metrics.Metrics) observers {
	if m == nil {
		return observers{}
	}
	return observers{nodes: m, ssh: m, rpc: []rpc.Option{rpc.WithObserver(m)}, redfish: m.Redfish, redfishLimit: m, eventDropped: m.LifecycleEventDropped}
}

// logFormat is a --log-format flag.
type logFormat string

func (f *logFormat) Set(s string) error {
	switch s {
	case "text", "json":
		*f = logFormat(s)
		return nil
	}
	return fmt.Errorf("%q is neither text nor json", s)
}
func (f *logFormat) String() string { return string(*f) }
func (f *logFormat) Type() string   { return "format" }
