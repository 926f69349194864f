// Package session runs notebook cells of Go on the yaegi interpreter and
// keeps their state. It covers what yaegi lacks for notebooks: cells that
// mix imports, declarations and statements; every value of a multi-value
// last expression; errors at the cell's own line:col; redefinitions that
// reach code defined earlier; rich display of values of types declared in
// cells; missing builtins; interrupts that leave state intact.
package session

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
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
	"github.com/traefik/yaegi/stdlib"

	"golab/kernel/display"
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

	mu      sync.RWMutex // guards the model below
	names   map[string]*entry
	methods map[string]map[string]*ast.FuncDecl // type name -> method name -> decl
	imports map[string]string                   // package name in cells -> import path
	bound   map[string]string                   // bound import path -> package name
	symbols map[string]map[string]reflect.Value // bound import path -> symbols

	base      token.Pos      // see basePos
	out       outbox         // values handed over by interpreted code
	tmp       int            // counter for temporary names
	cellID    int            // number of the running cell, see lineStride
	cellNames map[int]string // cell number -> name
	remnant   bool           // an interrupted run may still be inside compiled code
	cell      string

	runMu  sync.Mutex
	runCtx context.Context // what compiled code sees while a run goes on; see execute
}

// entry is one top-level name declared by a cell.
type entry struct {
	name string
	kind kind
	decl ast.Decl        // *ast.FuncDecl or *ast.GenDecl
	spec ast.Spec        // the TypeSpec or ValueSpec, when decl is a GenDecl
	refs map[string]bool // identifiers the declaration mentions
	cell string          // the cell that declared it
	doc  string
}

type kind int

const (
	kindVar kind = iota
	kindConst
	kindType
	kindFunc
)

func (k kind) String() string {
	return [...]string{"var", "const", "type", "func"}[k]
}

// New starts a session: an interpreter with the standard library, the given
// bindings and the prelude.
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
		opts:      opts,
		stderr:    opts.Stderr,
		names:     map[string]*entry{},
		methods:   map[string]map[string]*ast.FuncDecl{},
		imports:   map[string]string{},
		bound:     map[string]string{},
		symbols:   map[string]map[string]reflect.Value{},
		cellNames: map[int]string{},
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

	exports := []interp.Exports{stdlibExports(opts.CellContext), runtimeExports(&s.out)}
	exports = append(exports, opts.Exports...)
	for _, e := range exports {
		if err := s.in.Use(e); err != nil {
			return nil, fmt.Errorf("session: loading bindings: %w", err)
		}
		for key, syms := range e {
			if key == "." {
				continue
			}
			p, name := path.Dir(key), path.Base(key)
			s.bound[p] = name
			s.symbols[p] = syms
		}
	}
	for _, src := range []string{slicesOverlay, mapsOverlay} {
		if _, err := s.compileSource(src); err != nil {
			return nil, fmt.Errorf("session: overlay: %w", err)
		}
	}
	if err := s.loadPrelude(); err != nil {
		return nil, fmt.Errorf("session: prelude: %w", err)
	}
	return s, nil
}

// stdlibExports returns yaegi's standard library with time.Sleep made
// interruptible. The shared stdlib maps are copied, not changed.
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
		s.imports[name] = p
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "Display" {
			s.names["Display"] = &entry{name: "Display", kind: kindFunc, decl: fd, refs: refsOf(fd), cell: "prelude", doc: fd.Doc.Text()}
		}
	}
	return nil
}

// compileSource compiles the source of a whole package into the
// interpreter.
func (s *Session) compileSource(src string) (prog *interp.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return s.in.Compile(src)
}

// Result is what a cell produced for display: the rendered values of its
// last expression (none when it has no value, is a print call, or all its
// values are nil).
type Result struct {
	Values []display.Data
}

// Execute runs one cell. name identifies the cell in positions ("In[3]").
// Execute returns an *Error for compile errors, panics and interrupts; the
// session stays usable after any of them.
func (s *Session) Execute(ctx context.Context, name, src string) (*Result, error) {
	defer dropRoots(s.in)
	defer dropScopes(s.in)
	s.cell = name
	s.cellID++
	s.cellNames[s.cellID] = name
	if err := s.waitRemnant(ctx); err != nil {
		return nil, err
	}
	sp := split(src)
	if sp.err != nil {
		return nil, s.syntaxError(sp.err.Pos.Line, sp.err.Pos.Column, sp.err.Msg, src)
	}
	if len(sp.units) == 0 {
		return &Result{}, nil
	}
	hasDecl, hasStmt := false, false
	for _, u := range sp.units {
		if u.kind == unitStmt {
			hasStmt = true
		} else {
			hasDecl = true
		}
	}

	var file *ast.File
	var body *ast.BlockStmt
	var err error
	if hasDecl {
		text := blank(src, sp.units, func(k unitKind) bool { return k != unitStmt })
		file, err = parser.ParseFile(s.fset, wrapName, "package main\n"+s.lineDirective()+text, parser.ParseComments)
		if err != nil {
			return nil, s.compileError(err, src)
		}
	}
	if hasStmt {
		text := blank(src, sp.units, func(k unitKind) bool { return k == unitStmt })
		f, err := parser.ParseFile(s.fset, wrapName, "package main\nfunc main() {\n"+s.lineDirective()+text+"\n}", parser.ParseComments)
		if err != nil {
			return nil, s.compileError(err, src)
		}
		body = f.Decls[0].(*ast.FuncDecl).Body
	}

	// Rewrite what yaegi lacks: declarations first, statements once the
	// declarations they may use are known.
	if file != nil {
		s.rewrite(file)
		if err := s.runImports(ctx, file, src); err != nil {
			return nil, err
		}
		if err := s.runDecls(ctx, file, src); err != nil {
			return nil, err
		}
	}
	if body == nil {
		return &Result{}, nil
	}
	s.rewrite(body)
	return s.runStmts(ctx, body, src)
}

// runImports imports the packages of a cell that are not imported yet.
func (s *Session) runImports(ctx context.Context, file *ast.File, src string) error {
	var specs []ast.Spec
	type added struct{ name, path string }
	var adds []added
	for _, imp := range file.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			return s.errorAt(imp.Pos(), "ImportError", "bad import path "+imp.Path.Value, src)
		}
		pkgName, ok := s.bound[p]
		if !ok {
			return s.errorAt(imp.Pos(), "ImportError", fmt.Sprintf("cannot import %q: the golab kernel has no binding for it. "+
				"Bind it by adding %q to kernel/internal/bindings/gen (the fixed list), then rebuild the kernel with `make kernel` and restart it", p, p), src)
		}
		name := pkgName
		if imp.Name != nil {
			name = imp.Name.Name
		}
		if name == "_" {
			continue
		}
		s.mu.RLock()
		have, dup := s.imports[name]
		s.mu.RUnlock()
		if dup && have == p {
			continue // already imported: re-running an import cell is fine
		}
		if dup {
			return s.errorAt(imp.Pos(), "ImportError", fmt.Sprintf("%s is already imported as %q in this session; import %q under another name, e.g. import %s2 %q", name, have, p, name, p), src)
		}
		if e := s.lookup(name); e != nil {
			return s.errorAt(imp.Pos(), "ImportError", fmt.Sprintf("cannot import %q as %s: %s is a %s declared in %s", p, name, name, e.kind, e.cell), src)
		}
		specs = append(specs, imp)
		adds = append(adds, added{name, p})
	}
	if len(specs) == 0 {
		return nil
	}
	f := &ast.File{Package: file.Package, Name: file.Name, Decls: []ast.Decl{&ast.GenDecl{TokPos: file.Package, Tok: token.IMPORT, Specs: specs}}}
	if _, err := s.run(ctx, f); err != nil {
		return s.wrapErr(err, src)
	}
	s.mu.Lock()
	for _, a := range adds {
		s.imports[a.name] = a.path
	}
	s.mu.Unlock()
	return nil
}

func (s *Session) lookup(name string) *entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.names[name]
}

// identAt and selAt build identifiers at pos: yaegi resolves package names
// through the file name of a node's position, so built nodes need one.
func identAt(name string, pos token.Pos) *ast.Ident { return &ast.Ident{NamePos: pos, Name: name} }

func selAt(pkg, name string, pos token.Pos) *ast.SelectorExpr {
	return &ast.SelectorExpr{X: identAt(pkg, pos), Sel: identAt(name, pos)}
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
	codeCtx, stopCode := context.WithCancel(context.WithoutCancel(ctx))
	s.runMu.Lock()
	s.runCtx = codeCtx
	s.runMu.Unlock()
	v, err := s.in.ExecuteWithContext(runCtx, prog)
	stopCode()
	s.runMu.Lock()
	s.runCtx = nil
	s.runMu.Unlock()
	// A nil error means the run went to its end before the interrupt took
	// hold: the cell did all it says, and reporting it as interrupted would
	// hide a change of state.
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
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
