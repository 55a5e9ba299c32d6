// Command quintupleo makes an OpenStack cloud look like a libvirt host.
//
// Sub-commands:
//
//	check    check that a cloud can do what serve needs
//	serve    the libvirt remote-protocol server and the SSH endpoint over a cloud
//	sim      cloudsim, a simulated OpenStack for laptops and tests
//	version  print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
)

// version is overridden at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one sub-command: it parses its own flags and runs until ctx ends.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands returns the sub-command table. It is a function, not a package
// variable, so that nothing mutable lives at package level.
func commands() map[string]command {
	return map[string]command{
		"check":   {summary: "check that a cloud can do what serve needs, each problem with its fix", run: runCheck},
		"serve":   {summary: "serve the libvirt remote protocol over an OpenStack cloud", run: runServe},
		"sim":     {summary: "run cloudsim, a simulated OpenStack cloud", run: runSim},
		"version": {summary: "print the version", run: runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "quintupleo: unknown command %q\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: quintupleo <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'quintupleo <command> --help' for the flags of a command.")
}

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "quintupleo %s\n", version)
	return 0
}

// parseFlags parses a sub-command's arguments, fills the flags they left
// unset from the environment and --config (config.go), and checks them with
// validate.
// Every sub-command treats mistakes alike: a flag pflag cannot parse, an
// argument no flag takes and a value validate refuses are all usage errors,
// exit status 2; --help is status 0. ok is true when the command may run.
func parseFlags(fs *pflag.FlagSet, args []string, stderr io.Writer, validate func() error) (code int, ok bool) {
	configFile := registerConfig(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0, false
		}
		// pflag prints nothing itself under ContinueOnError.
		fmt.Fprintf(stderr, "quintupleo %s: %v\nRun 'quintupleo %s --help' for the flags.\n", fs.Name(), err, fs.Name())
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "quintupleo %s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return 2, false
	}
	if err := applyConfig(fs, *configFile, os.LookupEnv); err != nil {
		fmt.Fprintf(stderr, "quintupleo %s: %v\n", fs.Name(), err)
		return 2, false
	}
	if err := validate(); err != nil {
		fmt.Fprintf(stderr, "quintupleo %s: %v\n", fs.Name(), err)
		return 2, false
	}
	return 0, true
}

// logLevel is a --log-level flag: pflag refuses a level slog does not know
// when it parses the flag, like any other malformed flag value.
type logLevel struct{ slog.Level }

func (l *logLevel) Set(s string) error { return l.UnmarshalText([]byte(s)) }
func (l *logLevel) String() string     { return strings.ToLower(l.Level.String()) }
func (l *logLevel) Type() string       { return "level" }

// newLogger is the logger of a sub-command: slog's text handler, or its
// JSON handler for log collectors that parse lines (--log-format json).
func newLogger(w io.Writer, level logLevel, format logFormat) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level.Level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
