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
	"sort"
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

// runDecls compiles the declarations of a cell, then applies the
// redefinition rule: redeclared variables keep their identity when their
// type is unchanged, and code declared earlier that refers to a redefined
// name is compiled again so that it sees the new definition.
func (s *Session) runDecls(ctx context.Context, file *ast.File, src string) error {
	var decls []ast.Decl
	changed := map[string]bool{}
	redefTypes := map[string]bool{}
	cellTypes := map[string]*ast.TypeSpec{}
	cellMethods := map[string][]*ast.FuncDecl{}
	var redefVars []*ast.ValueSpec

	for _, d := range file.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv != nil {
				t := recvType(d)
				cellMethods[t] = append(cellMethods[t], d)
				if _, ok := s.methods[t][d.Name.Name]; ok {
					redefTypes[t] = true
				}
				continue
			}
			if d.Name.Name == "init" || d.Name.Name == "main" {
				return s.errorAt(d.Pos(), "CompileError", "func "+d.Name.Name+" has no meaning in a notebook; write its body as statements in a cell", src)
			}
			if s.lookup(d.Name.Name) != nil {
				changed[d.Name.Name] = true
			}
			decls = append(decls, d)
		case *ast.GenDecl:
			switch d.Tok {
			case token.IMPORT:
			case token.TYPE:
				for _, sp := range d.Specs {
					ts := sp.(*ast.TypeSpec)
					cellTypes[ts.Name.Name] = ts
					if e := s.lookup(ts.Name.Name); e != nil {
						changed[ts.Name.Name] = true
						if e.kind == kindType {
							redefTypes[ts.Name.Name] = true
						}
					}
				}
			case token.CONST:
				for _, sp := range d.Specs {
					for _, n := range sp.(*ast.ValueSpec).Names {
						if s.lookup(n.Name) != nil {
							changed[n.Name] = true
						}
					}
				}
				decls = append(decls, d)
			case token.VAR:
				for _, sp := range d.Specs {
					vs := sp.(*ast.ValueSpec)
					existing := false
					for _, n := range vs.Names {
						if s.lookup(n.Name) != nil {
							existing = true
						}
					}
					if existing {
						redefVars = append(redefVars, vs)
					} else {
						decls = append(decls, &ast.GenDecl{Doc: d.Doc, TokPos: d.TokPos, Tok: token.VAR, Specs: []ast.Spec{vs}})
					}
				}
			}
		}
	}

	// Types: new ones and redefined ones, each with all its methods.
	var typeDecls []ast.Decl
	for name, ts := range cellTypes {
		typeDecls = append(typeDecls, &ast.GenDecl{Tok: token.TYPE, Specs: []ast.Spec{ts}})
		typeDecls = append(typeDecls, s.methodsFor(name, cellMethods[name], redefTypes[name])...)
		delete(cellMethods, name)
	}
	for name := range redefTypes {
		if _, done := cellTypes[name]; done {
			continue
		}
		e := s.lookup(name)
		if e == nil || e.kind != kindType {
			continue
		}
		typeDecls = append(typeDecls, e.decl)
		typeDecls = append(typeDecls, s.methodsFor(name, cellMethods[name], true)...)
		delete(cellMethods, name)
		changed[name] = true
	}
	// Methods added to existing types that are not redefined.
	for _, ms := range cellMethods {
		for _, m := range ms {
			typeDecls = append(typeDecls, m)
		}
	}
	if err := s.resetTypes(ctx, redefTypes); err != nil {
		return s.wrapErr(err, src)
	}
	all := append(typeDecls, decls...)
	if len(all) > 0 {
		f := &ast.File{Package: file.Package, Name: file.Name, Decls: all}
		if _, err := s.run(ctx, f); err != nil {
			return s.wrapErr(err, src)
		}
		s.record(all)
	}

	for _, vs := range redefVars {
		ch, err := s.redefine(ctx, file.Package, vs.Names, vs.Type, vs.Values, true)
		if err != nil {
			return s.wrapErr(err, src)
		}
		for n := range ch {
			changed[n] = true
		}
		s.record([]ast.Decl{&ast.GenDecl{Tok: token.VAR, Specs: []ast.Spec{vs}}})
	}
	return s.recompileDependents(ctx, file.Package, changed)
}

// methodsFor returns the methods to compile with type name: those of the
// cell and, when the type is compiled anew, the stored ones the cell does
// not replace.
func (s *Session) methodsFor(name string, cell []*ast.FuncDecl, withStored bool) []ast.Decl {
	var out []ast.Decl
	seen := map[string]bool{}
	for _, m := range cell {
		out = append(out, m)
		seen[m.Name.Name] = true
	}
	if withStored {
		s.mu.RLock()
		names := make([]string, 0, len(s.methods[name]))
		for n := range s.methods[name] {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if !seen[n] {
				out = append(out, s.methods[name][n])
			}
		}
		s.mu.RUnlock()
	}
	return out
}

// resetTypes makes yaegi forget types about to be compiled again: it
// keeps methods across a type's redeclaration, so the old ones would win.
// The type's symbol is deleted from the package scope; code compiled
// earlier keeps its own reference to the old type. Should that fail (another
// yaegi layout), declaring a function of the same name replaces the symbol
// (an alias would stick).
func (s *Session) resetTypes(ctx context.Context, types map[string]bool) error {
	var decls []ast.Decl
	for name := range types {
		if deleteSymbol(s.in, name) {
			continue
		}
		decls = append(decls, &ast.FuncDecl{Name: identAt(name, s.base),
			Type: &ast.FuncType{Func: s.base, Params: &ast.FieldList{Opening: s.base, Closing: s.base}},
			Body: &ast.BlockStmt{Lbrace: s.base, Rbrace: s.base}})
	}
	if len(decls) == 0 {
		return nil
	}
	f := &ast.File{Package: s.base, Name: identAt("main", s.base), Decls: decls}
	_, err := s.run(ctx, f)
	return err
}

// redefine gives existing names new values: names, typ and values are those
// of `var names typ = values` or `names := values`. A name whose new value
// has the type of the old one is assigned, so everything that uses it sees
// the new value; other names are declared anew and reported as changed.
func (s *Session) redefine(ctx context.Context, pos token.Pos, names []*ast.Ident, typ ast.Expr, values []ast.Expr, isVar bool) (map[string]bool, error) {
	tmps := make([]*ast.Ident, len(names))
	for i := range names {
		s.tmp++
		tmps[i] = identAt(fmt.Sprintf("__golab_tmp%d", s.tmp), pos)
	}
	// The temporaries are declared in a statement block: yaegi's file-level
	// declarations fail ("variable definition loop") on some initializers,
	// such as a method call on a variable a statement defined.
	if typ == nil && len(values) > 0 {
		if err := s.define(ctx, pos, tmps, values); err != nil {
			return nil, err
		}
	} else {
		decl := &ast.DeclStmt{Decl: &ast.GenDecl{TokPos: pos, Tok: token.VAR, Specs: []ast.Spec{&ast.ValueSpec{Names: tmps, Type: typ, Values: values}}}}
		if _, err := s.run(ctx, &ast.BlockStmt{Lbrace: s.base, List: []ast.Stmt{decl}, Rbrace: s.base}); err != nil {
			return nil, err
		}
	}
	changed := map[string]bool{}
	var assign []ast.Stmt
	var declare []ast.Spec
	for i, n := range names {
		if n.Name == "_" {
			continue
		}
		e := s.lookup(n.Name)
		if e != nil && e.kind == kindVar {
			oldT, ok1 := s.typeOf(ctx, n.Name)
			newT, ok2 := s.typeOf(ctx, tmps[i].Name)
			if ok1 && ok2 && oldT == newT {
				assign = append(assign, &ast.AssignStmt{Lhs: []ast.Expr{identAt(n.Name, pos)}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{identAt(tmps[i].Name, pos)}})
				continue
			}
		}
		if e != nil {
			changed[n.Name] = true
		}
		declare = append(declare, &ast.ValueSpec{Names: []*ast.Ident{identAt(n.Name, pos)}, Values: []ast.Expr{identAt(tmps[i].Name, pos)}})
	}
	if len(declare) > 0 {
		// A := in a statement block declares a global anew. The old symbol
		// is deleted first: yaegi looks at its type, which may be one left
		// broken by a failed compile.
		var lhs, rhs []ast.Expr
		for _, d := range declare {
			vs := d.(*ast.ValueSpec)
			lhs = append(lhs, vs.Names[0])
			rhs = append(rhs, vs.Values[0])
			deleteSymbol(s.in, vs.Names[0].Name)
		}
		def := &ast.AssignStmt{Lhs: lhs, TokPos: pos, Tok: token.DEFINE, Rhs: rhs}
		if _, err := s.run(ctx, &ast.BlockStmt{Lbrace: s.base, List: []ast.Stmt{def}, Rbrace: s.base}); err != nil {
			return nil, err
		}
	}
	if len(assign) > 0 {
		if _, err := s.run(ctx, &ast.BlockStmt{Lbrace: s.base, List: assign, Rbrace: s.base}); err != nil {
			return nil, err
		}
	}
	// Drop the temporaries' values so they do not pin memory; a failure
	// only leaves them pinned.
	var zero []ast.Stmt
	for _, t := range tmps {
		zero = append(zero, &ast.ExprStmt{X: &ast.CallExpr{Fun: selAt("__golabrt", "Zero", pos), Lparen: pos,
			Args: []ast.Expr{&ast.UnaryExpr{OpPos: pos, Op: token.AND, X: identAt(t.Name, pos)}}, Rparen: pos}})
	}
	_, _ = s.run(ctx, &ast.BlockStmt{Lbrace: s.base, List: zero, Rbrace: s.base})
	return changed, nil
}

// typeOf returns the static type of a global variable, through a pointer
// to it handed to compiled code: no copy of its value is kept.
func (s *Session) typeOf(ctx context.Context, name string) (reflect.Type, bool) {
	pos := s.base
	call := &ast.CallExpr{Fun: selAt("__golabrt", "EmitType", pos), Lparen: pos,
		Args: []ast.Expr{&ast.UnaryExpr{OpPos: pos, Op: token.AND, X: identAt(name, pos)}}, Rparen: pos}
	s.out.typ = nil
	if _, err := s.run(ctx, &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{&ast.ExprStmt{X: call}}, Rbrace: pos}); err != nil || s.out.typ == nil {
		return nil, false
	}
	return s.out.typ, true
}

// recompileDependents compiles again every stored function, type (with its
// methods) and constant group that refers, directly or not, to a changed
// name, so that code declared earlier sees the new definitions.
func (s *Session) recompileDependents(ctx context.Context, pos token.Pos, changed map[string]bool) error {
	if len(changed) == 0 {
		return nil
	}
	done := map[string]bool{}
	for n := range changed {
		done[n] = true
	}
	var types, consts, funcs []*entry
	s.mu.RLock()
	for grew := true; grew; {
		grew = false
		for _, e := range s.names {
			if done[e.name] || e.kind == kindVar {
				continue
			}
			refs := e.refs
			if e.kind == kindType {
				refs = s.typeRefs(e)
			}
			hit := false
			for r := range refs {
				if changed[r] {
					hit = true
					break
				}
			}
			if !hit {
				continue
			}
			grew = true
			done[e.name] = true
			changed[e.name] = true
			switch e.kind {
			case kindType:
				types = append(types, e)
			case kindConst:
				consts = append(consts, e)
			case kindFunc:
				funcs = append(funcs, e)
			}
		}
	}
	s.mu.RUnlock()
	if len(types)+len(consts)+len(funcs) == 0 {
		return nil
	}
	reset := map[string]bool{}
	var decls []ast.Decl
	for _, e := range types {
		reset[e.name] = true
		decls = append(decls, e.decl)
		decls = append(decls, s.methodsFor(e.name, nil, true)...)
	}
	seenGroup := map[ast.Decl]bool{}
	for _, e := range consts {
		if !seenGroup[e.decl] {
			seenGroup[e.decl] = true
			decls = append(decls, e.decl)
		}
	}
	for _, e := range funcs {
		decls = append(decls, e.decl)
	}
	if err := s.resetTypes(ctx, reset); err != nil {
		return err
	}
	f := &ast.File{Package: s.base, Name: identAt("main", s.base), Decls: decls}
	if _, err := s.run(ctx, f); err != nil {
		var names []string
		for _, e := range append(append(types, consts...), funcs...) {
			names = append(names, e.name)
		}
		sort.Strings(names)
		fmt.Fprintf(s.stderr, "golab: the redefinition left %s stale: compiling them again failed: %v\n", strings.Join(names, ", "), s.message(err))
	}
	return nil
}

// typeRefs is what a type and its methods refer to.
func (s *Session) typeRefs(e *entry) map[string]bool {
	ms := s.methods[e.name]
	if len(ms) == 0 {
		return e.refs
	}
	out := map[string]bool{}
	for r := range e.refs {
		out[r] = true
	}
	for _, m := range ms {
		for r := range refsOf(m) {
			out[r] = true
		}
	}
	delete(out, e.name)
	return out
}

// record adds compiled declarations to the model.
func (s *Session) record(decls []ast.Decl) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv != nil {
				t := recvType(d)
				if s.methods[t] == nil {
					s.methods[t] = map[string]*ast.FuncDecl{}
				}
				s.methods[t][d.Name.Name] = d
				continue
			}
			s.names[d.Name.Name] = &entry{name: d.Name.Name, kind: kindFunc, decl: d, refs: refsOf(d), cell: s.cell, doc: d.Doc.Text()}
		case *ast.GenDecl:
			for _, sp := range d.Specs {
				switch sp := sp.(type) {
				case *ast.TypeSpec:
					doc := sp.Doc.Text()
					if doc == "" {
						doc = d.Doc.Text()
					}
					s.names[sp.Name.Name] = &entry{name: sp.Name.Name, kind: kindType, decl: &ast.GenDecl{Tok: token.TYPE, Specs: []ast.Spec{sp}}, spec: sp, refs: refsOf(sp), cell: s.cell, doc: doc}
				case *ast.ValueSpec:
					k := kindVar
					if d.Tok == token.CONST {
						k = kindConst
					}
					doc := sp.Doc.Text()
					if doc == "" {
						doc = d.Doc.Text()
					}
					refs := refsOf(d)
					for _, n := range sp.Names {
						if n.Name == "_" {
							continue
						}
						s.names[n.Name] = &entry{name: n.Name, kind: k, decl: d, spec: sp, refs: refs, cell: s.cell, doc: doc}
					}
				}
			}
		}
	}
}

// recordVar adds variables defined by a statement to the model.
func (s *Session) recordVar(names []*ast.Ident, stmt ast.Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		if n.Name == "_" {
			continue
		}
		if e, ok := s.names[n.Name]; ok && e.kind == kindVar {
			continue
		}
		s.names[n.Name] = &entry{name: n.Name, kind: kindVar, refs: map[string]bool{}, cell: s.cell}
	}
}

func (s *Session) lookup(name string) *entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.names[name]
}

// runStmts runs the statements of a cell in order and renders the value of
// a final expression. A `:=` that redefines a global variable goes through
// the redefinition rule.
func (s *Session) runStmts(ctx context.Context, body *ast.BlockStmt, src string) (*Result, error) {
	list := body.List
	var last ast.Expr
	if n := len(list); n > 0 {
		if es, ok := list[n-1].(*ast.ExprStmt); ok && showable(es.X) {
			last = es.X
			list = list[:n-1]
		}
	}
	var seg []ast.Stmt
	flush := func() error {
		if len(seg) == 0 {
			return nil
		}
		for i, st := range seg {
			seg[i] = inFunc(st)
		}
		b := &ast.BlockStmt{Lbrace: body.Lbrace, List: seg, Rbrace: body.Rbrace}
		seg = nil
		if _, err := s.run(ctx, b); err != nil {
			return s.wrapErr(err, src)
		}
		for _, st := range b.List {
			if as, ok := st.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
				s.recordVar(identsOf(as.Lhs), as)
			}
			if ds, ok := st.(*ast.DeclStmt); ok {
				if g, ok := ds.Decl.(*ast.GenDecl); ok {
					s.record([]ast.Decl{g})
				}
			}
		}
		return nil
	}
	for _, st := range list {
		as, ok := st.(*ast.AssignStmt)
		if !ok || as.Tok != token.DEFINE {
			seg = append(seg, st)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		names := identsOf(as.Lhs)
		if !s.redefines(as.Lhs) {
			if err := s.define(ctx, as.TokPos, names, as.Rhs); err != nil {
				return nil, s.wrapErr(err, src)
			}
			s.recordVar(names, as)
			continue
		}
		changed, err := s.redefine(ctx, body.Lbrace, names, nil, as.Rhs, false)
		if err != nil {
			return nil, s.wrapErr(err, src)
		}
		s.recordVar(names, as)
		if err := s.recompileDependents(ctx, body.Lbrace, changed); err != nil {
			return nil, s.wrapErr(err, src)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if last == nil {
		return &Result{}, nil
	}
	return s.show(ctx, body, last, src)
}

// inFunc wraps a compound statement (a loop, if, switch, select or block)
// in a function literal called at once. Such a statement declares no
// top-level name, so this changes nothing for the cell, but yaegi compiles
// top-level code differently from function bodies: it skips a
// multi-value := in a block nested at top level (the names are then
// undefined), and keeps every top-level temporary in its global frame.
func inFunc(st ast.Stmt) ast.Stmt {
	switch st.(type) {
	case *ast.ForStmt, *ast.RangeStmt, *ast.IfStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt, *ast.BlockStmt, *ast.LabeledStmt:
	default:
		return st
	}
	pos := st.Pos()
	lit := &ast.FuncLit{
		Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}},
		Body: &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{st}, Rbrace: st.End()},
	}
	return &ast.ExprStmt{X: &ast.CallExpr{Fun: lit, Lparen: pos, Rparen: st.End()}}
}

// show evaluates the final expression of a cell and renders all its values.
// The expression is assigned to locals of a function literal, which keeps
// their static types: yaegi then lets compiled code call the methods of
// types declared in cells. The number of values is found by trying; an
// expression without a value (a call of a function with no results) runs
// as a plain statement.
func (s *Session) show(ctx context.Context, body *ast.BlockStmt, x ast.Expr, src string) (*Result, error) {
	var prog *interp.Program
	err := errors.New("no value")
	// yaegi accepts `v := f()` for a two-valued f (keeping one value) and
	// fails `v := g()` for a g without results only when it runs, so the
	// number of values is taken from declarations where possible, and
	// otherwise found by trying from the most.
	n, known := s.arity(x)
	tries := []int{n}
	if !known {
		tries = []int{4, 3, 2, 1}
	}
	for _, n := range tries {
		if n == 0 {
			break
		}
		// The values go through a function declared anew for each cell,
		// so that its tree is freed when the next cell replaces it.
		fn := &ast.File{Package: s.base, Name: identAt("main", s.base), Decls: []ast.Decl{showFunc(x, n)}}
		if _, err = s.run(ctx, fn); err == nil {
			prog, err = s.compile(&ast.BlockStmt{Lbrace: body.Lbrace, List: []ast.Stmt{&ast.ExprStmt{X: &ast.CallExpr{Fun: identAt("__golabCellValue", x.Pos()), Lparen: x.Pos(), Rparen: x.End()}}}, Rbrace: body.Rbrace})
		}
		if err == nil {
			break
		}
	}
	if err != nil {
		if _, err := s.run(ctx, &ast.BlockStmt{Lbrace: body.Lbrace, List: []ast.Stmt{&ast.ExprStmt{X: x}}, Rbrace: body.Rbrace}); err != nil {
			return nil, s.wrapErr(err, src)
		}
		return &Result{}, nil
	}
	s.out.values = nil
	_, err = s.execute(ctx, prog)
	var p interp.Panic
	if errors.As(err, &p) && !known && strings.HasPrefix(fmt.Sprint(p.Value), "reflect.Set: value of type *interface {} is not assignable to type func(") {
		// A call without results, which has run: nothing to show.
		s.trace.take()
		return &Result{}, nil
	}
	if err != nil {
		return nil, s.wrapErr(err, src)
	}
	res := &Result{}
	for _, d := range s.out.values {
		if len(d.Data) > 0 {
			res.Values = s.out.values
		}
	}
	s.out.values = nil
	return res, nil
}

// showFunc builds func __golabCellValue() { v1, ..., vn := x;
// __golabrt.Emit([]display.Data{show(v1), ...}) }. Assigning x to locals
// keeps the static types of its values, so yaegi lets compiled code call
// the methods of types declared in cells.
func showFunc(x ast.Expr, n int) *ast.FuncDecl {
	pos := x.Pos()
	var lhs []ast.Expr
	var elts []ast.Expr
	for i := 1; i <= n; i++ {
		v := identAt(fmt.Sprintf("__golab_v%d", i), pos)
		lhs = append(lhs, v)
		text := &ast.CallExpr{Fun: selAt("fmt", "Sprint", pos), Lparen: pos, Args: []ast.Expr{v}, Rparen: pos}
		raw := &ast.CallExpr{Fun: selAt("__golabrt", "Raw", pos), Lparen: pos, Args: []ast.Expr{v}, Rparen: pos}
		elts = append(elts, &ast.CallExpr{Fun: selAt("__golabrt", "Show", pos), Lparen: pos, Args: []ast.Expr{v, raw, text}, Rparen: pos})
	}
	dataSlice := &ast.ArrayType{Lbrack: pos, Elt: selAt("display", "Data", pos)}
	emit := &ast.CallExpr{Fun: selAt("__golabrt", "Emit", pos), Lparen: pos, Args: []ast.Expr{&ast.CompositeLit{Type: dataSlice, Lbrace: pos, Elts: elts, Rbrace: pos}}, Rparen: pos}
	return &ast.FuncDecl{
		Name: identAt("__golabCellValue", pos),
		Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}},
		Body: &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{
			&ast.AssignStmt{Lhs: lhs, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{x}},
			&ast.ExprStmt{X: emit},
		}, Rbrace: pos},
	}
}

// arity returns how many values x has, when its declaration tells.
func (s *Session) arity(x ast.Expr) (int, bool) {
	x = ast.Unparen(x)
	call, ok := x.(*ast.CallExpr)
	if !ok {
		return 1, true
	}
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		switch f.Name {
		case "panic", "print", "println", "close", "delete", "clear":
			return 0, true
		}
		if universe[f.Name] {
			return 1, true
		}
		if e := s.lookup(f.Name); e != nil {
			switch e.kind {
			case kindFunc:
				if fd, ok := e.decl.(*ast.FuncDecl); ok {
					return fieldCount(fd.Type.Results), true
				}
			case kindType:
				return 1, true
			}
		}
	case *ast.FuncLit:
		return fieldCount(f.Type.Results), true
	case *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.FuncType, *ast.InterfaceType, *ast.StructType, *ast.StarExpr:
		return 1, true
	case *ast.SelectorExpr:
		pkg, ok := f.X.(*ast.Ident)
		if !ok || s.lookup(pkg.Name) != nil {
			break
		}
		s.mu.RLock()
		p, imported := s.imports[pkg.Name]
		sym, found := s.symbols[p][f.Sel.Name]
		s.mu.RUnlock()
		if !imported || !found || !sym.IsValid() {
			break
		}
		if sym.Kind() == reflect.Func {
			return sym.Type().NumOut(), true
		}
		if sym.Kind() == reflect.Ptr && sym.IsNil() {
			return 1, true // a type: a conversion
		}
	}
	return 0, false
}

func fieldCount(l *ast.FieldList) int {
	if l == nil {
		return 0
	}
	n := 0
	for _, f := range l.List {
		if len(f.Names) == 0 {
			n++
		} else {
			n += len(f.Names)
		}
	}
	return n
}

// identAt and selAt build identifiers at pos: yaegi resolves package names
// through the file name of a node's position, so built nodes need one.
func identAt(name string, pos token.Pos) *ast.Ident { return &ast.Ident{NamePos: pos, Name: name} }

func selAt(pkg, name string, pos token.Pos) *ast.SelectorExpr {
	return &ast.SelectorExpr{X: identAt(pkg, pos), Sel: identAt(name, pos)}
}

// redefines reports whether a := assigns to a global variable that exists.
func (s *Session) redefines(lhs []ast.Expr) bool {
	for _, e := range lhs {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" && s.lookup(id.Name) != nil {
			return true
		}
	}
	return false
}

// showable reports whether the final expression of a cell should be shown:
// not a call of a print function, whose results are noise.
func showable(x ast.Expr) bool {
	call, ok := x.(*ast.CallExpr)
	if !ok {
		return true
	}
	switch f := call.Fun.(type) {
	case *ast.Ident:
		return f.Name != "print" && f.Name != "println" && f.Name != "panic"
	case *ast.SelectorExpr:
		if pkg, ok := f.X.(*ast.Ident); ok {
			n := f.Sel.Name
			switch pkg.Name {
			case "fmt":
				return !strings.HasPrefix(n, "Print") && !strings.HasPrefix(n, "Fprint")
			case "log":
				return !strings.HasPrefix(n, "Print")
			}
		}
	}
	return true
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
	s.trace.reset()
	v, err := s.in.ExecuteWithContext(ctx, prog)
	if ctx.Err() != nil && (err == nil || errors.Is(err, ctx.Err())) {
		s.remnant = true
		return reflect.Value{}, errInterrupted
	}
	return v, err
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
			fmt.Fprintln(s.stderr, "golab: waiting for the interrupted cell to leave compiled code; lab functions stop when they next check host.Context()")
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

func recvType(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return ""
	}
	t := d.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.ParenExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

func identsOf(exprs []ast.Expr) []*ast.Ident {
	var out []*ast.Ident
	for _, e := range exprs {
		if id, ok := e.(*ast.Ident); ok {
			out = append(out, id)
		}
	}
	return out
}

// refsOf collects the identifiers n mentions, except selected names
// (x.Sel), which belong to another scope.
func refsOf(n ast.Node) map[string]bool {
	refs := map[string]bool{}
	ast.Inspect(n, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SelectorExpr:
			ast.Inspect(x.X, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok {
					refs[id.Name] = true
				}
				return true
			})
			return false
		case *ast.Ident:
			refs[x.Name] = true
		}
		return true
	})
	return refs
}

// syntaxError reports a scanner error of the cell.
func (s *Session) syntaxError(line, col int, msg, src string) error {
	return s.newError("SyntaxError", fmt.Sprintf("%d:%d: %s", line, col, msg), line, col, src)
}
