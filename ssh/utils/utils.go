// Package utils holds the confined text utilities a session's command lines
// may use (awk, sed, tr, head, tail, grep, cut, sort, wc, cat), implemented
// in-process in Go: no program is started, no PATH is consulted, and no file
// is read or written except, for `sed -i`, the one file the caller names as
// editable inside the session's scratch root. Each tool implements the subset
// of its GNU/POSIX behaviour that the clients in shared/reference use, and
// refuses the rest with a message and a non-zero status.
package utils

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"
)

// Env is one invocation's I/O and confinement.
type Env struct {
	Stdin          io.Reader // may be nil (empty input)
	Stdout, Stderr io.Writer
	// Root is the session scratch dir; only sed -i uses it, and only for
	// Editable.
	Root *os.Root
	// Editable is the scratch-relative name of the one file `sed -i` may
	// rewrite ("" = none).
	Editable string
	// MaxInput bounds what a tool buffers from stdin (default 64 MiB).
	MaxInput int64
}

// Command runs one utility; args[0] is its name. It returns the exit status.
type Command func(ctx context.Context, env *Env, args []string) int

// Lookup returns the utility called name, or nil.
func Lookup(name string) Command {
	switch name {
	case "awk", "mawk", "gawk":
		return Awk
	case "sed":
		return Sed
	case "tr":
		return Tr
	case "head":
		return Head
	case "tail":
		return Tail
	case "grep", "egrep", "fgrep":
		return Grep
	case "cut":
		return Cut
	case "sort":
		return Sort
	case "wc":
		return Wc
	case "cat":
		return Cat
	}
	return nil
}

// Names lists the utilities, sorted.
func Names() []string {
	n := []string{"awk", "sed", "tr", "head", "tail", "grep", "cut", "sort", "wc", "cat"}
	sort.Strings(n)
	return n
}

var errInputTooLarge = errors.New("input too large")

// input returns a reader of stdin whose reads stop when ctx is done.
func (e *Env) input(ctx context.Context) (io.Reader, func()) {
	if e.Stdin == nil {
		return eofReader{}, func() {}
	}
	if f, ok := e.Stdin.(*os.File); ok {
		stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
		return f, func() { stop() }
	}
	return e.Stdin, func() {}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// readAll reads stdin up to MaxInput bytes.
func (e *Env) readAll(ctx context.Context) ([]byte, error) {
	r, stop := e.input(ctx)
	defer stop()
	max := e.MaxInput
	if max <= 0 {
		max = 64 << 20
	}
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, errInputTooLarge
	}
	return data, nil
}

// lines streams stdin line by line (newline kept) to fn until fn returns
// false.
func (e *Env) lines(ctx context.Context, fn func(line []byte) bool) error {
	r, stop := e.input(ctx)
	defer stop()
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && !fn(line) {
			return nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// noFiles refuses file operands ("-" is stdin). It reports whether all
// operands are acceptable.
func noFiles(e *Env, tool string, operands []string) bool {
	for _, f := range operands {
		if f != "-" {
			fmt.Fprintf(e.Stderr, "%s: %s: reading files is not permitted in this confined shell\n", tool, f)
			return false
		}
	}
	return true
}

func errorf(e *Env, tool, format string, a ...any) {
	fmt.Fprintf(e.Stderr, tool+": "+format+"\n", a...)
}

func maxInput(e *Env) int {
	if e.MaxInput <= 0 {
		return 64 << 20
	}
	return int(e.MaxInput)
}
