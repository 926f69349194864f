// Package session runs notebook cells of Go on the yaegi interpreter and
// keeps their state, with the rules of a notebook: cells mix imports,
// declarations and statements; a cell is type-checked whole (go/types)
// before any of it runs, and a cell that fails changes nothing; the last
// expression's values are shown, richly when they can be; redefinitions
// reach code defined earlier; errors and panics name the cell's own
// line:col; interrupts leave the state intact. What the interpreter itself
// lacks is covered by package polyfill.
package session

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"path"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/traefik/yaegi/interp"

	"golab/kernel/display"
	"golab/kernel/internal/compiled"
	"golab/kernel/internal/importer"
	"golab/kernel/internal/polyfill"
	"golab/kernel/internal/stdlib"
)

// wrapName is the file name of every parsed cell. yaegi keys imports by
// the file name of positions, so all cells must share one name to see each
// other's imports. A //line directive numbers the lines of cell k from
// k*lineStride+1, so that a position still tells its cell and line.
const (
	wrapName   = "golab.go"
	lineStride = 100000
)

// Options configure a Session.
type Options struct {
	Stdout io.Writer // interpreted output; default os.Stdout
	Stderr io.Writer // default os.Stderr
	Stdin  io.Reader // default os.Stdin
	Env    []string  // environment seen by cells; default os.Environ()
	// Exports are the bindings of compiled packages cells may import,
	// besides yaegi's standard library.
	Exports []interp.Exports
	// CellContext returns the running cell's context; interrupted sleeps
	// return early. Nil means context.Background.
	CellContext func() context.Context
	// Compiler builds the functions cells mark //golab:compile; nil: one
	// for the running kernel (compiled.DefaultConfig), made on first use.
	Compiler *compiled.Builder
}

// Session is one interpreter and the model of what its cells declared.
// Its methods must not be called concurrently, except Complete and
// Inspect, which only read the model.
type Session struct {
	in     *interp.Interpreter
	opts   Options
	trace  *traceWriter
	fset   *token.FileSet
	stderr io.Writer
	imp    *importer.Importer

	mu         sync.RWMutex // guards the model below
	names      map[string]*entry
	methods    map[string]map[string]*method // type name -> method name -> method
	imports    map[string]string             // package name in cells -> import path
	ranImports map[string]string             // name -> path, as imported into the interpreter
	bound      map[string]string             // importable path -> package name
	symbols    map[string]map[string]reflect.Value
	// checkPkg is the package of the last check: cells without
	// declarations are checked into it. checkDirty says it lacks a
	// redefinition (a name it cannot hold twice), so that the next cell
	// is checked into a fresh one.
	checkPkg   *types.Package
	checkDirty bool

	base      token.Pos      // see basePos
	out       outbox         // values handed over by interpreted code
	tmp       int            // counter for hidden names
	cellID    int            // number of the running cell, see lineStride
	cellNames map[int]string // cell number -> name
	remnant   bool           // an interrupted run may still be inside compiled code
	pending   func()         // records an interrupted cell once its run has left compiled code
	cell      string

	runMu  sync.Mutex
	runCtx context.Context // what compiled code sees while a run goes on; see execute

	// compiledCalls: compiled functions that call others of their plugin.
	compiledCalls map[string]compiledCaller
}

// New starts a session: an interpreter with the standard library of the Go
// that built the kernel, the given bindings, the interpreted generic
// packages and the prelude.
func New(opts Options) (*Session, error) {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	s := &Session{
		opts:       opts,
		stderr:     opts.Stderr,
		names:      map[string]*entry{},
		methods:    map[string]map[string]*method{},
		imports:    map[string]string{},
		ranImports: map[string]string{},
		bound:      map[string]string{},
		symbols:    map[string]map[string]reflect.Value{},
		cellNames:  map[int]string{},
	}
	s.trace = &traceWriter{out: opts.Stderr}
	s.in = interp.New(interp.Options{
		Stdout: opts.Stdout,
		Stderr: s.trace,
		Stdin:  opts.Stdin,
		Env:    opts.Env,
		// No GOPATH: every import must be bound (checked before compiling).
		GoPath: os.DevNull,
	})
	s.fset = s.in.FileSet()

	exports := []interp.Exports{stdlibExports(opts.CellContext), runtimeExports(&s.out), polyfill.Exports()}
	exports = append(exports, opts.Exports...)
	all := map[string]map[string]reflect.Value{}
	for _, e := range exports {
		if err := s.in.Use(e); err != nil {
			return nil, fmt.Errorf("session: loading bindings: %w", err)
		}
		for key, syms := range e {
			if key == "." {
				continue
			}
			p, name := path.Dir(key), path.Base(key)
			all[key] = syms
			if internalPackage(p) {
				continue // the kernel's own helpers: not for cells
			}
			s.bound[p] = name
			s.symbols[p] = syms
		}
	}
	sources := polyfill.Sources()
	for _, p := range polyfill.Packages {
		s.bound[p] = p
	}
	s.imp = importer.New(s.fset, all, sources)
	if err := polyfill.Load(s.in); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	if err := s.loadPrelude(); err != nil {
		return nil, fmt.Errorf("session: prelude: %w", err)
	}
	return s, nil
}

// internalPackage reports whether a bound package is the kernel's own
// helper, which cells cannot import: the runtime of the prelude and
// rewrites, and the compiled parts of the interpreted packages.
func internalPackage(p string) bool {
	return p == "golab/kernel/runtime" || strings.HasPrefix(p, "golab/kernel/internal/polyfill/")
}

// stdlibExports returns the standard library bindings with time.Sleep made
// interruptible. The shared maps are copied, not changed.
func stdlibExports(cellCtx func() context.Context) interp.Exports {
	out := interp.Exports{}
	for k, v := range stdlib.Symbols {
		out[k] = v
	}
	t := map[string]reflect.Value{}
	for k, v := range stdlib.Symbols["time/time"] {
		t[k] = v
	}
	t["Sleep"] = reflect.ValueOf(sleeper(cellCtx))
	out["time/time"] = t
	return out
}

func (s *Session) loadPrelude() error {
	s.cellID = 0
	s.cellNames[0] = "prelude"
	f, err := parser.ParseFile(s.fset, wrapName, "package main\n"+s.lineDirective()+prelude, parser.ParseComments)
	if err != nil {
		return err
	}
	s.base = f.Package
	if _, err := s.run(context.Background(), f); err != nil {
		return err
	}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := s.bound[p]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		s.ranImports[name] = p
		if !strings.HasPrefix(name, "__golab") {
			s.imports[name] = p
		}
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "Display" {
			s.names["Display"] = &entry{name: "Display", kind: kindFunc, src: fd, run: fd, refs: refsOf(fd), cell: "prelude", doc: fd.Doc.Text()}
		}
	}
	// The objects later cells are checked against.
	c := &cellCode{declared: map[string]bool{}, methods: map[string]map[string]bool{}}
	if err := s.checkCell(c); err != nil {
		return err
	}
	s.updateScope(c, true, 0)
	return nil
}

// Result is what a cell produced for display: the rendered values of its
// last expression (none when it has no value, is a print call, or all its
// values are nil).
type Result struct {
	Values []display.Data
}

// Execute runs one cell. name identifies the cell in positions ("In[3]").
// The cell is checked whole first (see checkCell): if it does not
// compile, nothing of it runs and the session is unchanged. Execute
// returns an *Error for compile errors, panics and interrupts; the session
// stays usable after any of them.
func (s *Session) Execute(ctx context.Context, name, src string) (*Result, error) {
	defer polyfill.DropRoots(s.in)
	defer polyfill.DropScopes(s.in)
	s.cell = name
	s.cellID++
	s.cellNames[s.cellID] = name
	if err := s.waitRemnant(ctx); err != nil {
		return nil, err
	}
	if f := s.pending; f != nil {
		s.pending = nil
		f()
	}
	c, err := s.parseCell(src)
	if err != nil {
		return nil, err
	}
	if c.empty() {
		return &Result{}, nil
	}
	if err := s.checkCell(c); err != nil {
		return nil, err
	}
	if err := s.compileMarked(ctx, c); err != nil {
		return nil, err
	}
	p, err := s.build(c)
	if err != nil {
		return nil, err
	}
	if err := s.compileProgram(ctx, c, p); err != nil {
		return nil, err
	}
	return s.runProgram(ctx, c, p)
}

// run compiles and executes n.
func (s *Session) run(ctx context.Context, n ast.Node) (reflect.Value, error) {
	prog, err := s.compile(n)
	if err != nil {
		return reflect.Value{}, err
	}
	return s.execute(ctx, prog)
}

// compile compiles n, turning an interpreter panic into an error.
func (s *Session) compile(n ast.Node) (prog *interp.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &unsupportedError{fmt.Sprint(r)}
			// GOLAB_DEBUG=1 prints where the interpreter crashed.
			if os.Getenv("GOLAB_DEBUG") != "" {
				fmt.Fprintln(os.Stderr, string(debug.Stack()))
			}
		}
	}()
	return s.in.CompileAST(n)
}

// unsupportedError is an interpreter crash while compiling.
type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string { return e.msg }

// errInterrupted is returned when the cell's context is cancelled.
var errInterrupted = errors.New("interrupted")

// execute runs prog until it ends or ctx is cancelled.
func (s *Session) execute(ctx context.Context, prog *interp.Program) (reflect.Value, error) {
	if err := s.waitRemnant(ctx); err != nil {
		return reflect.Value{}, err
	}
	if ctx.Err() != nil { // interrupted while the cell compiled
		return reflect.Value{}, errInterrupted
	}
	s.trace.reset()
	runCtx, release := startedContext(ctx)
	defer release()
	// Compiled code learns of an interrupt only once yaegi has stopped the
	// run, which ExecuteWithContext has done when it returns. Told sooner,
	// a lab call returns first and the rest of the cell runs on.
	// Its cause says whether the run was interrupted (see leaveCompiled).
	codeCtx, stopCode := context.WithCancelCause(context.WithoutCancel(ctx))
	s.runMu.Lock()
	s.runCtx = codeCtx
	s.runMu.Unlock()
	v, err := s.in.ExecuteWithContext(runCtx, prog)
	// A nil error means the run went to its end before the interrupt took
	// hold: the cell did all it says, and reporting it as interrupted would
	// hide a change of state.
	interrupted := ctx.Err() != nil && errors.Is(err, ctx.Err())
	if interrupted {
		stopCode(errInterrupted)
	} else {
		stopCode(nil)
	}
	s.runMu.Lock()
	s.runCtx = nil
	s.runMu.Unlock()
	if interrupted {
		s.remnant = true
		return reflect.Value{}, errInterrupted
	}
	return v, err
}

// Context returns the context of the running cell as compiled code should
// see it (frontend.Context), or nil when no cell runs. It ends once an
// interrupted run has stopped; see execute.
func (s *Session) Context() context.Context {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	return s.runCtx
}

// startGrace is how long a run's cancellation is held back after it starts:
// long enough for yaegi's goroutine to be scheduled on a loaded machine (5 ms
// missed about 1 in 150 tries with two cores busy; 20 ms none in 500), short
// beside the 200 ms an interrupt may take.
const startGrace = 20 * time.Millisecond

// startedContext returns a context that ends when ctx does, but no sooner
// than startGrace from now, and its release function. yaegi's
// ExecuteWithContext starts the run in a goroutine that takes its stop mark
// on its first step; a cancel that comes before that step is missed, and
// the whole cell then runs to the end.
func startedContext(ctx context.Context) (context.Context, func()) {
	held, cancel := context.WithCancel(context.WithoutCancel(ctx))
	start := time.Now()
	stop := context.AfterFunc(ctx, func() {
		time.Sleep(time.Until(start.Add(startGrace)))
		cancel()
	})
	return held, func() { stop(); cancel() }
}

// waitRemnant waits until an interrupted run has left compiled code. yaegi
// returns from an interrupted run at once, but a call into compiled code
// finishes on its own time; the next run must not start before, or the
// interrupted cell would resume (they share the global frame).
func (s *Session) waitRemnant(ctx context.Context) error {
	if !s.remnant {
		return nil
	}
	start := time.Now()
	warned := false
	for {
		if !yaegiRunning() {
			s.remnant = false
			return nil
		}
		if !warned && time.Since(start) > 2*time.Second {
			warned = true
			fmt.Fprintln(s.stderr, "golab: waiting for the interrupted cell to leave compiled code; lab functions stop when they next check frontend.Context()")
		}
		select {
		case <-ctx.Done():
			return &Error{Name: "Interrupted", Value: "the previously interrupted cell is still running inside compiled code; interrupt again later, or restart the kernel"}
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// yaegiRunning reports whether a goroutine is inside an interpreter run
// started by ExecuteWithContext.
func yaegiRunning() bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return strings.Contains(string(buf), "interp.(*Interpreter).ExecuteWithContext.func")
}

// lineDirective starts the lines of the running cell; see lineStride.
func (s *Session) lineDirective() string {
	return fmt.Sprintf("//line %s:%d:1\n", wrapName, s.cellID*lineStride+1)
}

// locate maps a line of the wrapper file to a cell and a line in it.
func (s *Session) locate(line int) (cell string, l int, current bool) {
	id := line / lineStride
	s.mu.RLock()
	cell = s.cellNames[id]
	s.mu.RUnlock()
	return cell, line % lineStride, id == s.cellID && id > 0
}

// syntaxError reports a scanner error of the cell.
func (s *Session) syntaxError(line, col int, msg, src string) error {
	return s.newError("SyntaxError", fmt.Sprintf("%d:%d: %s", line, col, msg), line, col, src)
}
