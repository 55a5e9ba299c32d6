package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"

	"quintupleo/ssh/budget"
	"quintupleo/ssh/coreutils"
	"quintupleo/ssh/virsh"
)

// shellConfig is what one session's shell needs.
type shellConfig struct {
	scratchParent string
	env           map[string]string // accepted client env (LANG, LC_*)
	user          string
	dialer        Dialer
	maxInput      int64
	budget        *budget.Budget // the session's memory budget
}

// shell interprets command lines for one session, confined: only the
// commands in the allow-list run (all in-process), and file access is limited
// to /dev/null and reading the session's scratch directory.
type shell struct {
	cfg  shellConfig
	dir  string   // scratch directory (absolute)
	root *os.Root // the only way anything touches files in dir
	mem  *shellMem
	pid  int // what $$ says: a number of the session's own, not the server's
}

func newShell(cfg shellConfig) (*shell, error) {
	dir, err := os.MkdirTemp(cfg.scratchParent, "quintupleo-ssh-")
	if err != nil {
		return nil, fmt.Errorf("ssh: scratch dir: %w", err)
	}
	dir, err = filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("ssh: scratch dir: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("ssh: scratch dir: %w", err)
	}
	// A PID-like number, so scripts that name files after $$ still work.
	pid := 1000 + rand.N(30000)
	for pid == os.Getpid() {
		pid = 1000 + rand.N(30000)
	}
	return &shell{cfg: cfg, dir: dir, root: root, mem: newShellMem(cfg.budget), pid: pid}, nil
}

// Close removes the scratch directory.
func (sh *shell) Close() error {
	sh.mem.close()
	err := sh.root.Close()
	if rerr := os.RemoveAll(sh.dir); err == nil {
		err = rerr
	}
	return err
}

// builtinsAllowed are the interpreter builtins a line may use; every other
// builtin (eval, exec, source, ., cd, read, set, export, trap, command, …) is
// refused like an unknown program.
var builtinsAllowed = map[string]bool{
	"echo": true, "printf": true, "test": true, "[": true,
	"true": true, "false": true, "exit": true, ":": true,
}

// forbiddenAssign are variables a line may not set: they would change how
// names are looked up or how words split, on a real host at least.
func forbiddenAssign(name string) bool {
	switch name {
	case "PATH", "IFS", "ENV", "BASH_ENV", "SHELL", "HOME", "CDPATH", "PS4", "SHELLOPTS", "BASHOPTS", "TMPDIR":
		return true
	}
	return strings.HasPrefix(name, "LD_")
}

// denied marks a call the CallHandler refused; it cannot appear in a shell
// word (no NUL bytes), so only the CallHandler produces it.
const denied = "\x00denied"

type nestKey struct{}

const maxNesting = 4

// maxPipes bounds the pipes and command substitutions of one line.
const maxPipes = 64

// runOpts adjusts one Run: editable is the scratch-relative name of the one
// file `sed -i` may rewrite (virsh edit's temp file).
type runOpts struct {
	editable string
}

// Run parses and runs one command line. It returns the exit status and
// whether the line ran `exit`.
func (sh *shell) Run(ctx context.Context, line string, stdin *os.File, stdout, stderr io.Writer) (uint8, bool) {
	return sh.run(ctx, line, stdin, stdout, stderr, runOpts{})
}

func (sh *shell) run(ctx context.Context, line string, stdin *os.File, stdout, stderr io.Writer, o runOpts) (uint8, bool) {
	file, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(line), "")
	if err != nil {
		fmt.Fprintf(stderr, "sh: 1: Syntax error: %s\n", syntaxMessage(err))
		return 2, false
	}
	r, err := sh.runner(stdin, stdout, stderr, o)
	if err != nil {
		fmt.Fprintln(stderr, "sh: internal error")
		return 126, false
	}
	return sh.runParsed(ctx, r, file, stderr)
}

// runParsed checks and runs an already parsed program on r (a fresh runner
// for exec, the session's persistent one for an interactive shell).
func (sh *shell) runParsed(ctx context.Context, r *interp.Runner, file *syntax.File, stderr io.Writer) (uint8, bool) {
	unescapeAssignments(file)
	hideProcessIDs(file)
	if err := checkPolicy(file); err != nil {
		fmt.Fprintf(stderr, "sh: 1: %v\n", err)
		return 126, false
	}
	// A line nested in this one (sh -c, virsh edit's editor) is stopped
	// with it.
	ls, nested := ctx.Value(lineStopKey{}).(*lineStop)
	if !nested {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		ls = &lineStop{cancel: cancel}
		ctx = context.WithValue(ctx, lineStopKey{}, ls)
	}
	defer sh.mem.guard(file)()
	err := r.Run(ctx, file)
	if cause := context.Cause(ctx); ctx.Err() != nil && budget.IsExceeded(cause) {
		if !nested && !ls.reported.Load() {
			fmt.Fprintf(stderr, "sh: %v; command line stopped\n", cause)
		}
		return 2, false
	}
	var status interp.ExitStatus
	if errors.As(err, &status) {
		return uint8(status), r.Exited()
	}
	if err != nil {
		if ctx.Err() != nil {
			return 130, true
		}
		fmt.Fprintf(stderr, "sh: %v\n", err)
		return 2, r.Exited()
	}
	return 0, r.Exited()
}

func syntaxMessage(err error) string {
	var pe syntax.ParseError
	if errors.As(err, &pe) {
		return pe.Text
	}
	return "cannot parse command line"
}

// checkPolicy refuses constructs no client needs and that would only widen
// the surface: background jobs, function definitions, process substitution,
// and assignments to lookup-changing variables.
func checkPolicy(file *syntax.File) error {
	var err error
	pipes, substs := 0, 0
	syntax.Walk(file, func(n syntax.Node) bool {
		if err != nil {
			return false
		}
		switch n := n.(type) {
		case *syntax.BinaryCmd:
			// every pipe is an OS pipe and a goroutine
			if n.Op == syntax.Pipe || n.Op == syntax.PipeAll {
				if pipes++; pipes > maxPipes {
					err = fmt.Errorf("more than %d pipes in one command line", maxPipes)
				}
			}
		case *syntax.CmdSubst:
			if substs++; substs > maxPipes {
				err = fmt.Errorf("more than %d command substitutions in one command line", maxPipes)
			}
		case *syntax.Stmt:
			if n.Background || n.Coprocess {
				err = errors.New("background jobs are not permitted")
			}
		case *syntax.FuncDecl:
			err = errors.New("function definitions are not permitted")
		case *syntax.ProcSubst:
			err = errors.New("process substitution is not permitted")
		case *syntax.Assign:
			if n.Name != nil && forbiddenAssign(n.Name.Value) {
				err = fmt.Errorf("%s: assignment not permitted", n.Name.Value)
			}
		case *syntax.ParamExp:
			// ${x=w} assigns in the middle of a word, after the word's
			// memory guard has measured it (shellmem.go)
			if n.Exp != nil && (n.Exp.Op == syntax.AssignUnset || n.Exp.Op == syntax.AssignUnsetOrNull) {
				err = errors.New("${name=word} assignments are not permitted")
			}
		case *syntax.Lit:
			if strings.ContainsRune(n.Value, 0) {
				err = errors.New("NUL bytes are not permitted")
			}
		}
		return err == nil
	})
	return err
}

// unescapeAssignments works around mvdan.cc/sh v3.14.1 keeping the
// backslash of an unquoted escape in an assignment value (X=a\'b gives
// "a\'b" instead of "a'b"; expand.Literal skips quote removal there): each
// \c in an unquoted literal of an assignment value becomes the
// single-quoted 'c', which every shell reads the same way.
func unescapeAssignments(file *syntax.File) {
	syntax.Walk(file, func(n syntax.Node) bool {
		as, ok := n.(*syntax.Assign)
		if !ok || as.Value == nil {
			return true
		}
		var parts []syntax.WordPart
		for _, wp := range as.Value.Parts {
			lit, ok := wp.(*syntax.Lit)
			if !ok || !strings.Contains(lit.Value, `\`) {
				parts = append(parts, wp)
				continue
			}
			v := lit.Value
			var cur strings.Builder
			flush := func() {
				if cur.Len() > 0 {
					parts = append(parts, &syntax.Lit{Value: cur.String()})
					cur.Reset()
				}
			}
			for i := 0; i < len(v); i++ {
				if v[i] == '\\' && i+1 < len(v) {
					flush()
					parts = append(parts, &syntax.SglQuoted{Value: v[i+1 : i+2]})
					i++
					continue
				}
				cur.WriteByte(v[i])
			}
			flush()
		}
		as.Value.Parts = parts
		return true
	})
}

func (sh *shell) environ() expand.Environ {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + sh.dir,
		"PWD=" + sh.dir,
		"SHELL=/bin/sh",
		// The interpreter opens files named like its own FIFOs in TMPDIR
		// directly, bypassing the open handler: keep that inside the
		// scratch dir.
		"TMPDIR=" + sh.dir,
		"USER=" + sh.cfg.user,
		"LOGNAME=" + sh.cfg.user,
	}
	keys := make([]string, 0, len(sh.cfg.env))
	for k := range sh.cfg.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+sh.cfg.env[k])
	}
	env = append(env, pidVar+"="+strconv.Itoa(sh.pid), ppidVar+"=1")
	return confinedEnv{Environ: expand.ListEnviron(env...), user: sh.cfg.user, home: sh.dir}
}

// The interpreter answers $$ and $PPID with the server's own process ids
// (os.Getpid) before it looks at the environment; hideProcessIDs renames
// them in the parsed line to variables no client can name (a space in the
// name), which environ sets to the session's own number and 1.
const (
	pidVar  = "quintupleo $"
	ppidVar = "quintupleo PPID"
)

func hideProcessIDs(file *syntax.File) {
	syntax.Walk(file, func(n syntax.Node) bool {
		if pe, ok := n.(*syntax.ParamExp); ok && pe.Param != nil {
			switch pe.Param.Value {
			case "$":
				pe.Param = &syntax.Lit{ValuePos: pe.Param.ValuePos, ValueEnd: pe.Param.ValueEnd, Value: pidVar}
			case "PPID":
				pe.Param = &syntax.Lit{ValuePos: pe.Param.ValuePos, ValueEnd: pe.Param.ValueEnd, Value: ppidVar}
			}
		}
		return true
	})
}

// confinedEnv answers the interpreter's "HOME name" lookups, which it makes
// for ~name and otherwise answers from the host's passwd database
// (os/user.Lookup): the session's user is at home in the scratch
// directory, and any other name is left as written, as a shell does for a
// user it does not know.
type confinedEnv struct {
	expand.Environ
	user, home string
}

func (e confinedEnv) Get(name string) expand.Variable {
	if who, ok := strings.CutPrefix(name, "HOME "); ok {
		v := "~" + who
		if who == e.user {
			v = e.home
		}
		return expand.Variable{Set: true, Kind: expand.String, Str: v}
	}
	return e.Environ.Get(name)
}

func (sh *shell) runner(stdin *os.File, stdout, stderr io.Writer, o runOpts) (*interp.Runner, error) {
	var in io.Reader
	if stdin != nil {
		in = stdin
	}
	return interp.New(
		interp.Env(sh.environ()),
		interp.Dir(sh.dir),
		interp.StdIO(in, stdout, stderr),
		// noglob: nothing outside the scratch dir matches, and a pattern
		// compiled from a large unquoted expansion is many times its size
		interp.Params("-f"),
		interp.CallHandler(sh.callPolicy),
		interp.ExecHandlers(
			sh.builtinHandler,
			sh.virshHandler,
			sh.coreutilsHandler(o),
			sh.shellHandler(o),
			denyRest,
		),
		interp.OpenHandler(sh.open),
		interp.StatHandler(sh.stat),
		interp.ReadDirHandler2(sh.readDir),
		interp.AccessHandler(sh.access),
	)
}

// callPolicy runs before every simple command, builtins included: a builtin
// outside builtinsAllowed is rewritten to the denied marker so that denyRest
// refuses it; echo and printf go to builtinHandler, which reserves their
// output; a memory guard (shellmem.go) reserves its word's expansion, and
// when it cannot, fails the word and stops the line.
func (sh *shell) callPolicy(ctx context.Context, args []string) ([]string, error) {
	switch args[0] {
	case guardName:
		if len(args) != 2 {
			return nil, errors.New("sh: internal error")
		}
		id, _ := strconv.Atoi(args[1])
		hc := interp.HandlerCtx(ctx)
		if err := sh.mem.expand(id, hc.Env, hc.Stdout); err != nil {
			stopLine(ctx, err, true)
			return nil, fmt.Errorf("sh: %w", err)
		}
		return []string{":"}, nil
	case "echo", "printf":
		return append([]string{builtinMark}, args...), nil
	}
	if interp.IsBuiltin(args[0]) && !builtinsAllowed[args[0]] {
		return append([]string{denied}, args...), nil
	}
	return args, nil
}

// denyRest ends the exec chain: it never calls next (which would run a host
// program), and answers like dash does for an unknown command.
func denyRest(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(ctx context.Context, args []string) error {
		hc := interp.HandlerCtx(ctx)
		if args[0] == denied {
			fmt.Fprintf(hc.Stderr, "sh: 1: %s: not permitted in this confined shell\n", args[1])
			return interp.ExitStatus(127)
		}
		fmt.Fprintf(hc.Stderr, "sh: 1: %s: not found\n", args[0])
		return interp.ExitStatus(127)
	}
}

// commandName strips the directories a client may spell a command with.
func commandName(arg string) (string, bool) {
	for _, dir := range []string{"/usr/bin/", "/bin/", "/usr/local/bin/"} {
		if rest, ok := strings.CutPrefix(arg, dir); ok {
			return rest, !strings.Contains(rest, "/")
		}
	}
	return arg, !strings.Contains(arg, "/")
}

func (sh *shell) virshHandler(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(ctx context.Context, args []string) error {
		if name, ok := commandName(args[0]); !ok || name != "virsh" {
			return next(ctx, args)
		}
		hc := interp.HandlerCtx(ctx)
		env := virsh.Env{
			Stdin:  hc.Stdin,
			Stdout: sh.output(ctx, hc.Stdout),
			Stderr: sh.output(ctx, hc.Stderr),
			Getenv: func(name string) string { return hc.Env.Get(name).String() },
		}
		if sh.cfg.dialer != nil {
			d := sh.cfg.dialer
			env.Dial = d
		}
		env.Scratch = sh.root
		env.RunEditor = func(ctx context.Context, editor, file string) int {
			depth, _ := ctx.Value(nestKey{}).(int)
			if depth >= maxNesting {
				fmt.Fprintln(hc.Stderr, "sh: too many nested editors")
				return 126
			}
			ctx = context.WithValue(ctx, nestKey{}, depth+1)
			line := editor + " " + file // as virsh: "%s %s", the temp name is shell-safe
			status, _ := sh.run(ctx, line, nil, env.Stdout, env.Stderr, runOpts{editable: file})
			return int(status)
		}
		if status := virsh.Run(ctx, env, args[1:]); status != 0 {
			return interp.ExitStatus(uint8(status))
		}
		return nil
	}
}

func (sh *shell) coreutilsHandler(o runOpts) func(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
		return func(ctx context.Context, args []string) error {
			name, ok := commandName(args[0])
			cmd := coreutils.Lookup(name)
			if !ok || cmd == nil {
				return next(ctx, args)
			}
			hc := interp.HandlerCtx(ctx)
			env := &coreutils.Env{
				Stdin:    hc.Stdin,
				Stdout:   sh.output(ctx, hc.Stdout),
				Stderr:   sh.output(ctx, hc.Stderr),
				Root:     sh.root,
				Editable: o.editable,
				MaxInput: sh.cfg.maxInput,
				Budget:   sh.cfg.budget,
			}
			if status := cmd(ctx, env, append([]string{name}, args[1:]...)); status != 0 {
				return interp.ExitStatus(uint8(status))
			}
			return nil
		}
	}
}

// knownCommand answers `which`: what a client may find on this "host".
func knownCommand(name string) bool {
	switch name {
	case "virsh", "virt-ssh-helper", "sh", "which":
		return true
	}
	return coreutils.Lookup(name) != nil
}

func allowedSummary() []string {
	names := append(coreutils.Names(), "echo", "printf", "test", "true", "false", "exit", "which", "sh -c")
	sort.Strings(names)
	return names
}

// shellHandler implements `which` and `sh -c LINE` (LINE re-parsed and run by
// this same confined shell).
func (sh *shell) shellHandler(o runOpts) func(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
		return func(ctx context.Context, args []string) error {
			name, ok := commandName(args[0])
			if !ok {
				return next(ctx, args)
			}
			hc := interp.HandlerCtx(ctx)
			stdout, stderr := sh.output(ctx, hc.Stdout), sh.output(ctx, hc.Stderr)
			switch name {
			case "which":
				status := uint8(0)
				for _, a := range args[1:] {
					if strings.HasPrefix(a, "-") {
						continue
					}
					if n, ok := commandName(a); ok && knownCommand(n) {
						fmt.Fprintf(stdout, "/usr/bin/%s\n", n)
					} else {
						status = 1
					}
				}
				if status != 0 {
					return interp.ExitStatus(status)
				}
				return nil
			case "sh":
				if len(args) < 3 || args[1] != "-c" {
					fmt.Fprintln(hc.Stderr, "sh: only `sh -c COMMAND` is permitted in this confined shell")
					return interp.ExitStatus(126)
				}
				depth, _ := ctx.Value(nestKey{}).(int)
				if depth >= maxNesting {
					fmt.Fprintln(hc.Stderr, "sh: too many nested shells")
					return interp.ExitStatus(126)
				}
				ctx = context.WithValue(ctx, nestKey{}, depth+1)
				in, _ := hc.Stdin.(*os.File)
				status, _ := sh.run(ctx, args[2], in, stdout, stderr, o)
				if status != 0 {
					return interp.ExitStatus(status)
				}
				return nil
			}
			return next(ctx, args)
		}
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// errConfined is the reason shown for every refused file access.
var errConfined = errors.New("Permission denied (confined shell: no file access outside the session)")

// rel maps path to a name inside the scratch dir, or reports it is outside.
func (sh *shell) rel(dir, path string) (string, bool) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	path = filepath.Clean(path)
	rel, err := filepath.Rel(sh.dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return rel, true
}

// open allows /dev/null (both ways) and reading files of the scratch dir;
// every other open, and every write to a file, is refused.
func (sh *shell) open(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	write := flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_APPEND|os.O_TRUNC) != 0
	if path == "/dev/null" {
		return devNull{}, nil
	}
	op := "cannot open"
	if write {
		op = "cannot create"
	}
	if rel, ok := sh.rel(interp.HandlerCtx(ctx).Dir, path); ok && !write {
		f, err := sh.root.Open(rel)
		if err != nil {
			return nil, &os.PathError{Op: "sh: 1: " + op, Path: path, Err: errors.New("No such file")}
		}
		return f, nil
	}
	return nil, &os.PathError{Op: "sh: 1: " + op, Path: path, Err: errConfined}
}

func (sh *shell) stat(ctx context.Context, path string, follow bool) (fs.FileInfo, error) {
	rel, ok := sh.rel(interp.HandlerCtx(ctx).Dir, path)
	if !ok {
		return nil, &os.PathError{Op: "stat", Path: path, Err: fs.ErrNotExist}
	}
	if follow {
		return sh.root.Stat(rel)
	}
	return sh.root.Lstat(rel)
}

func (sh *shell) access(ctx context.Context, path string, mode interp.AccessMode) error {
	if _, err := sh.stat(ctx, path, true); err != nil {
		return err
	}
	return nil
}

func (sh *shell) readDir(ctx context.Context, path string) ([]fs.DirEntry, error) {
	rel, ok := sh.rel(interp.HandlerCtx(ctx).Dir, path)
	if !ok {
		return nil, nil // outside the scratch dir nothing is listed: globs stay literal
	}
	f, err := sh.root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

type devNull struct{}

func (devNull) Read([]byte) (int, error)    { return 0, io.EOF }
func (devNull) Write(p []byte) (int, error) { return len(p), nil }
func (devNull) Close() error                { return nil }
func (devNull) String() string              { return "/dev/null" }
