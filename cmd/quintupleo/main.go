// Command quintupleo makes an OpenStack cloud look like a libvirt host.
//
// Sub-commands:
//
//	serve    the libvirt remote-protocol server (and later SSH) over a cloud
//	sim      cloudsim, a simulated OpenStack for laptops and tests
//	version  print the version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
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
