package session

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/scanner"
	"go/token"
	"go/types"
	"path"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/traefik/yaegi/interp"

	"golab/kernel/internal/compiled"
)

// Functions marked //golab:compile (the line directly above the func, or
// any line of its doc comment) are built into a Go plugin with the
// toolchain and module that built the kernel (package compiled) and bound
// in place of their interpreted bodies: the session declares each as a
// function whose body calls the compiled one, so that other cells, and the
// redefinition rule, see an ordinary function of the session. A compiled
// function may use its parameters, its results and the packages the
// kernel binds; the marked functions of one cell share a plugin and may
// call each other.

// compileDirective marks a function for compilation.
const compileDirective = "//golab:compile"

// compiler returns the session's plugin builder, made on first use.
func (s *Session) compiler() *compiled.Builder {
	if s.opts.Compiler == nil {
		s.opts.Compiler = compiled.New(compiled.DefaultConfig(s.opts.Env))
	}
	return s.opts.Compiler
}

// compileMarked builds the cell's marked functions and rewrites their
// declarations in c.decls to call the compiled code; the hidden import of
// the plugin's bindings goes into c.compiledImports. Where plugins cannot
// be built, one line on stderr says why and the functions stay
// interpreted. Code a plugin cannot hold is an error either way.
func (s *Session) compileMarked(ctx context.Context, c *cellCode) error {
	marked, err := s.markedFuncs(c)
	if err != nil {
		return err
	}
	s.warnCompiledCallers(c)
	if len(marked) == 0 {
		return nil
	}
	names := map[string]bool{}
	for _, fd := range marked {
		names[fd.Name.Name] = true
	}
	unit := compiled.Unit{}
	imports := map[string]string{}
	calls := map[string][]string{}
	for _, fd := range marked {
		cs, err := s.checkCompilable(c, fd, names, imports)
		if err != nil {
			return err
		}
		calls[fd.Name.Name] = cs
		start, end := s.cellOffset(fd.Pos()), s.cellOffset(fd.End())
		pos := s.fset.Position(fd.Pos())
		_, line, _ := s.locate(pos.Line)
		unit.Funcs = append(unit.Funcs, compiled.Func{Name: fd.Name.Name, Source: c.src[start:end], Line: line, Col: pos.Column})
	}
	for n, p := range imports {
		unit.Imports = append(unit.Imports, compiled.Import{Name: n, Path: p})
	}
	list := funcList(marked)
	b := s.compiler()
	pl, err := b.Build(ctx, unit, s.stderr)
	var un *compiled.UnavailableError
	var se *compiled.SourceError
	switch {
	case errors.As(err, &un):
		verb := "runs"
		if len(marked) > 1 {
			verb = "run"
		}
		fmt.Fprintf(s.stderr, "golab: %s %s interpreted: %s\n", list, verb, un.Reason)
		return nil
	case errors.As(err, &se):
		return s.sourceError(se, c.src)
	case err != nil:
		if ctx.Err() != nil {
			return s.wrapErr(errInterrupted, c.src)
		}
		return s.newError("CompileError", "compiling "+list+": "+err.Error(), 0, 0, c.src)
	}
	if pl.Built {
		fmt.Fprintf(s.stderr, "golab: compiled %s in %.1f s\n", list, pl.Took.Seconds())
	}
	// The plugin's functions become a package of bindings, imported under
	// a hidden name; each marked declaration calls its function there.
	pkgPath := pl.PkgPath
	pkgName := "__golabc_" + pl.Key[:16]
	syms := map[string]reflect.Value{
		"Enter": reflect.ValueOf(s.Context),
		"Leave": reflect.ValueOf(leaveCompiled),
	}
	for n, v := range pl.Funcs {
		syms[exportedName(n)] = v
	}
	if err := s.in.Use(interp.Exports{pkgPath + "/" + pkgName: syms}); err != nil {
		return s.newError("CompileError", "binding the compiled "+list+": "+err.Error(), 0, 0, c.src)
	}
	s.mu.RLock()
	_, have := s.ranImports[pkgName]
	s.mu.RUnlock()
	if !have {
		if c.compiledImports == nil {
			c.compiledImports = map[string]string{}
		}
		c.compiledImports[pkgName] = pkgPath
	}
	for _, fd := range marked {
		callCompiled(fd, pkgName)
		if s.compiledCalls == nil {
			s.compiledCalls = map[string]compiledCaller{}
		}
		if len(calls[fd.Name.Name]) > 0 {
			s.compiledCalls[fd.Name.Name] = compiledCaller{cell: s.cell, calls: calls[fd.Name.Name]}
		}
	}
	return nil
}

// compiledCaller is a compiled function that calls others compiled with
// it: those calls stay inside its plugin.
type compiledCaller struct {
	cell  string
	calls []string
}

// warnCompiledCallers says on stderr when the cell declares anew a
// function that a compiled function of an earlier cell calls: that one
// keeps calling the version compiled with it until its cell runs again
// (interpreted callers see the new one, as always).
func (s *Session) warnCompiledCallers(c *cellCode) {
	var names []string
	for n := range s.compiledCalls {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, f := range names {
		if c.declares(f) {
			delete(s.compiledCalls, f)
			continue
		}
		cc := s.compiledCalls[f]
		if e := s.lookup(f); e == nil || e.cell != cc.cell {
			delete(s.compiledCalls, f) // its cell failed
			continue
		}
		for _, g := range cc.calls {
			if c.declares(g) {
				fmt.Fprintf(s.stderr, "golab: %s (compiled in %s) still calls the %s compiled with it; run %s again to compile it with the new %s\n", f, cc.cell, g, cc.cell, g)
			}
		}
	}
}

// exportedName is the name a compiled function is bound under: exported,
// as the interpreter reads only exported names of compiled packages.
func exportedName(name string) string { return "F" + name }

// funcList names functions for a message: "stats", "f, g".
func funcList(fds []*ast.FuncDecl) string {
	var names []string
	for _, fd := range fds {
		names = append(names, fd.Name.Name)
	}
	return strings.Join(names, ", ")
}

// errLeftInterrupted is the panic that ends what is left of an
// interrupted run when a compiled call returns into it.
var errLeftInterrupted = errors.New("the cell was interrupted")

// leaveCompiled is called when a compiled function returns, with the
// context of the run that called it. If that run was interrupted, yaegi
// has left it already but its goroutine would go on with the rest of the
// statement (`x = f()` would assign): the panic ends it there.
func leaveCompiled(ctx context.Context) {
	if ctx != nil && errors.Is(context.Cause(ctx), errInterrupted) {
		panic(errLeftInterrupted)
	}
}

// callCompiled replaces the body of fd by a call of its compiled version:
//
//	c := pkg.Enter()
//	r0, r1 := pkg.Fname(p0, p1, ...)
//	pkg.Leave(c)
//	return r0, r1
//
// Parameters get names of their own (they may be unnamed or _).
func callCompiled(fd *ast.FuncDecl, pkg string) {
	pos := fd.Body.Lbrace
	var args []ast.Expr
	variadic := false
	i := 0
	for _, f := range fd.Type.Params.List {
		n := len(f.Names)
		if n == 0 {
			n = 1
		}
		f.Names = nil
		for j := 0; j < n; j++ {
			name := "__golab_p" + strconv.Itoa(i)
			i++
			f.Names = append(f.Names, identAt(name, pos))
			args = append(args, identAt(name, pos))
		}
		if _, ok := f.Type.(*ast.Ellipsis); ok {
			variadic = true
		}
	}
	call := &ast.CallExpr{Fun: selAt(pkg, exportedName(fd.Name.Name), pos), Lparen: pos, Args: args, Rparen: pos}
	if variadic {
		call.Ellipsis = pos
	}
	ctx := identAt("__golab_ctx", pos)
	enter := &ast.AssignStmt{Lhs: []ast.Expr{ctx}, TokPos: pos, Tok: token.DEFINE,
		Rhs: []ast.Expr{&ast.CallExpr{Fun: selAt(pkg, "Enter", pos), Lparen: pos, Rparen: pos}}}
	leave := &ast.ExprStmt{X: &ast.CallExpr{Fun: selAt(pkg, "Leave", pos), Lparen: pos, Args: []ast.Expr{identAt(ctx.Name, pos)}, Rparen: pos}}
	var results []ast.Expr
	if fd.Type.Results != nil {
		for _, f := range fd.Type.Results.List {
			n := max(len(f.Names), 1)
			for j := 0; j < n; j++ {
				results = append(results, identAt("__golab_r"+strconv.Itoa(len(results)), pos))
			}
		}
	}
	list := []ast.Stmt{enter}
	if len(results) == 0 {
		list = append(list, &ast.ExprStmt{X: call}, leave)
	} else {
		list = append(list, &ast.AssignStmt{Lhs: results, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{call}}, leave,
			&ast.ReturnStmt{Return: pos, Results: results})
	}
	fd.Body = &ast.BlockStmt{Lbrace: pos, List: list, Rbrace: fd.Body.Rbrace}
}

// markedFuncs returns the cell's function declarations marked
// //golab:compile. A directive anywhere else, or an unknown //golab:
// directive, is an error.
func (s *Session) markedFuncs(c *cellCode) ([]*ast.FuncDecl, error) {
	if !strings.Contains(c.src, "//golab:") {
		return nil, nil
	}
	// Every //golab: comment of the cell, by offset.
	type directive struct {
		off       int
		line, col int
		text      string
	}
	var dirs []directive
	fs := token.NewFileSet()
	f := fs.AddFile("", fs.Base(), len(c.src))
	var sc scanner.Scanner
	sc.Init(f, []byte(c.src), nil, scanner.ScanComments)
	for {
		pos, tok, lit := sc.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.COMMENT && strings.HasPrefix(lit, "//golab:") {
			p := f.Position(pos)
			dirs = append(dirs, directive{f.Offset(pos), p.Line, p.Column, strings.TrimRight(lit, " \t\r")})
		}
	}
	for _, d := range dirs {
		if d.text != compileDirective {
			return nil, s.newError("CompileError", fmt.Sprintf("%d:%d: unknown directive %s: the kernel knows %s, on the line above a func declaration", d.line, d.col, d.text, compileDirective), d.line, d.col, c.src)
		}
	}
	used := map[int]bool{}
	var out []*ast.FuncDecl
	if c.decls != nil {
		for _, decl := range c.decls.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Doc == nil {
				continue
			}
			var mark *ast.Comment
			for _, cm := range fd.Doc.List {
				if strings.TrimRight(cm.Text, " \t\r") == compileDirective {
					mark = cm
					used[s.cellOffset(cm.Pos())] = true
				}
			}
			if mark == nil {
				continue
			}
			switch {
			case fd.Recv != nil:
				return nil, s.errorAt(mark.Pos(), "CompileError", fmt.Sprintf("%s marks functions, not methods: write %s as a function that takes the %s as a parameter, or leave it interpreted", compileDirective, fd.Name.Name, recvType(fd)), c.src)
			case fd.Type.TypeParams != nil:
				return nil, s.errorAt(mark.Pos(), "CompileError", fmt.Sprintf("%s cannot compile the generic function %s: a plugin holds only concrete functions; write it for the types you call it with", compileDirective, fd.Name.Name), c.src)
			}
			out = append(out, fd)
		}
	}
	for _, d := range dirs {
		if !used[d.off] {
			return nil, s.newError("CompileError", fmt.Sprintf("%d:%d: %s must stand on the line directly above a func declaration (or in its doc comment)", d.line, d.col, compileDirective), d.line, d.col, c.src)
		}
	}
	return out, nil
}

// cellOffset is the offset in the running cell's source of pos, a
// position in its declarations (parsed after "package main\n" and the line
// directive; see parseCell).
func (s *Session) cellOffset(pos token.Pos) int {
	return s.fset.File(pos).Offset(pos) - len("package main\n") - len(s.lineDirective())
}

// checkCompilable reports what in fd a plugin cannot hold: the session's
// variables, functions (other than the cell's marked ones), types and
// constants. It adds the packages fd uses to imports, and returns the
// other marked functions it calls.
func (s *Session) checkCompilable(c *cellCode, fd *ast.FuncDecl, marked map[string]bool, imports map[string]string) ([]string, error) {
	var bad *Error
	var calls []string
	ast.Inspect(fd, func(n ast.Node) bool {
		if bad != nil {
			return false
		}
		id, ok := n.(*ast.Ident)
		if !ok {
			return true
		}
		obj := c.info.Uses[id]
		if obj == nil || obj.Pkg() == nil {
			return true
		}
		if pn, ok := obj.(*types.PkgName); ok {
			imports[pn.Name()] = pn.Imported().Path()
			return true
		}
		if obj.Pkg().Path() != "main" || obj.Parent() != obj.Pkg().Scope() {
			return true
		}
		if _, isFunc := obj.(*types.Func); isFunc && marked[obj.Name()] {
			if obj.Name() != fd.Name.Name && !slices.Contains(calls, obj.Name()) {
				calls = append(calls, obj.Name())
			}
			return true
		}
		bad = s.errorAt(id.Pos(), "CompileError", s.notCompilable(c, fd.Name.Name, obj), c.src)
		return false
	})
	if bad != nil {
		return nil, bad
	}
	return calls, nil
}

// notCompilable says why a compiled function cannot use obj, a name of
// the session, and how to do without it.
func (s *Session) notCompilable(c *cellCode, fn string, obj types.Object) string {
	name := obj.Name()
	where := "declared in this cell"
	if !c.declares(name) {
		if e := s.lookup(name); e != nil {
			where = "from " + e.cell
		}
	}
	qual := func(p *types.Package) string {
		if p.Path() == "main" {
			return ""
		}
		return p.Name()
	}
	const sees = "a compiled function sees only its parameters and the packages it imports"
	switch o := obj.(type) {
	case *types.Var:
		return fmt.Sprintf("%s is marked %s and uses %s, a variable of the session (%s); %s: pass it in as a parameter, e.g. func %s(%s %s, ...)",
			fn, compileDirective, name, where, sees, fn, name, types.TypeString(o.Type(), qual))
	case *types.Func:
		if name == "Display" && where != "declared in this cell" {
			return fmt.Sprintf("%s is marked %s and calls Display, the session's function; call display.Display instead (import \"golab/kernel/display\")", fn, compileDirective)
		}
		return fmt.Sprintf("%s is marked %s and calls %s, a function of the session (%s); %s: mark %s %s in the same cell, or pass it in as a parameter of type %s",
			fn, compileDirective, name, where, sees, name, compileDirective, types.TypeString(o.Type(), qual))
	case *types.TypeName:
		return fmt.Sprintf("%s is marked %s and uses the type %s (%s); compiled code can use only the types of the packages the kernel binds (the standard library, lab, gonum, gorgonia): use such a type, or leave %s interpreted",
			fn, compileDirective, name, where, fn)
	case *types.Const:
		return fmt.Sprintf("%s is marked %s and uses the constant %s (%s); %s: declare the constant inside %s, or pass it in as a parameter",
			fn, compileDirective, name, where, sees, fn)
	}
	return fmt.Sprintf("%s is marked %s and uses %s (%s); %s", fn, compileDirective, name, where, sees)
}

// sourceError reports a build failure in the cell's code at the cell's
// line:col.
func (s *Session) sourceError(se *compiled.SourceError, src string) error {
	var list []located
	for _, m := range se.List {
		list = append(list, located{m.Line, m.Col, m.Msg})
	}
	return s.locatedErrors(list, src)
}

// compiledCellFrames names the frames of compiled cell functions
// ("golab.compiled/k….boom(...)  cell.go:3") by function, cell and line.
func (s *Session) compiledCellFrames(frames []string) []string {
	for i, f := range frames {
		// Go 1.27 writes the file of a //line directive as a full path.
		fields := strings.Fields(f)
		if len(fields) != 2 || !strings.HasPrefix(fields[0], compiled.PathPrefix) {
			continue
		}
		file, line, ok := cutLast(fields[1], ":")
		if !ok || path.Base(file) != compiled.CellFile {
			continue
		}
		fn := strings.TrimSuffix(fields[0][strings.LastIndex(fields[0], "/")+1:], "(...)")
		_, fn, _ = strings.Cut(fn, ".")   // the package's name
		top, _, _ := strings.Cut(fn, ".") // a function literal: boom.func1
		where := "line " + line
		if e := s.lookup(top); e != nil && e.cell != s.cell {
			where = e.cell + " line " + line
		}
		frames[i] = fmt.Sprintf("  %s  %s", fn, where)
	}
	return frames
}

// cutLast cuts s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}
