package session

import (
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"sort"
	"strconv"
	"strings"

	"github.com/traefik/yaegi/interp"

	"golab/kernel/internal/polyfill"
)

// program is a checked cell made ready for the interpreter: one file of
// declarations and, when the cell has statements or variable
// initializers, the function that runs them. Compiling it runs nothing;
// calling the function runs the cell.
type program struct {
	imports  []*ast.ImportSpec // compiled first: the cell's and hidden ones
	hidden   map[string]string // hidden import name -> path
	file     *ast.File         // the cell's declarations, hidden variables
	deps     *ast.File         // stored code that mentions redefined names
	fn       *interp.Program   // the cell's statements, compiled: a call of a function literal
	hasFunc  bool
	depNames []string        // names deps declares
	declared []string        // top-level names the file declares
	deleted  []string        // names deleted before compiling
	changed  map[string]bool // names whose definition changed
	types    []string        // types compiled anew (with all their methods)
	vars     map[string]types.Type
	decls    []ast.Decl // the cell's declarations as compiled
	origs    []ast.Decl // and as written
}

// build turns a checked cell into a program.
func (s *Session) build(c *cellCode) (*program, error) {
	p := &program{hidden: map[string]string{}, changed: map[string]bool{}, vars: map[string]types.Type{}}
	for n, pth := range c.compiledImports {
		p.hidden[n] = pth
	}
	pos := s.base
	name := s.runNamer(c, p)
	typeOf := func(t types.Type, at token.Pos) (ast.Expr, error) { return typeSyntax(t, at, name) }

	// The cell's imports, then hidden ones added below.
	if c.imports != nil {
		for _, imp := range c.imports.Imports {
			pth, n := s.importName(imp)
			if n == "_" {
				continue
			}
			s.mu.RLock()
			have, ok := s.ranImports[n]
			s.mu.RUnlock()
			if ok && have == pth {
				continue
			}
			p.imports = append(p.imports, &ast.ImportSpec{Name: identAt(n, imp.Pos()), Path: imp.Path})
		}
	}

	// Variables defined at the top of the cell: an existing variable of the
	// same type is assigned (code compiled earlier sees the new value);
	// others live under a hidden name until the cell is done, so that the
	// statements before the := still see the old variable.
	for _, d := range c.defs {
		e := s.lookup(d.name)
		if e != nil && e.kind == kindVar && s.sameType(c, e.typ, d.obj.Type()) && !c.declares(d.name) {
			d.global, d.reuse = d.name, true
			continue
		}
		d.global = s.hiddenName("v")
		t, err := typeOf(d.obj.Type(), d.id.Pos())
		if err != nil {
			return nil, s.errorAt(d.id.Pos(), "CompileError", fmt.Sprintf("%s := ... has type %s, which the notebook cannot name (%v); define %s inside a function, or convert the value to a type it can name", d.name, d.obj.Type(), err, d.name), c.src)
		}
		p.file = appendDecl(p.file, pos, &ast.GenDecl{TokPos: pos, Tok: token.VAR, Specs: []ast.Spec{
			&ast.ValueSpec{Names: []*ast.Ident{identAt(d.global, d.id.Pos())}, Type: t}}})
		p.declared = append(p.declared, d.global)
	}
	if c.body != nil {
		renameDefs(c)
	}

	// Declarations.
	var body []ast.Stmt
	var cellDecls []ast.Decl
	if c.decls != nil {
		inits, err := s.buildDecls(c, p, typeOf, &cellDecls)
		if err != nil {
			return nil, err
		}
		body = append(body, inits...)
	}

	// The cell function.
	if c.body != nil {
		list := c.body.Body.List
		for i := range list {
			// The index of the top-level statement running, for the
			// variables defined before a panic.
			mark := &ast.AssignStmt{Lhs: []ast.Expr{identAt("__golabTop", pos)}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{intLit(i, pos)}}
			body = append(body, mark)
			if es, ok := list[i].(*ast.ExprStmt); ok && es == c.last && len(c.shown) > 0 {
				body = append(body, s.showStmt(c, es.X))
				continue
			}
			body = append(body, list[i])
		}
	}
	if len(body) > 0 {
		c.body = ensureBody(c.body, pos)
		c.body.Body.List = body
		p.hasFunc = true
	}

	// gophernotes' global Display: call the display package directly,
	// where yaegi wraps values of cell types for compiled code (the
	// prelude's function would see them as bare interface values).
	if e := s.lookup("Display"); e != nil && e.cell == "prelude" {
		var nodes []ast.Node
		for _, d := range cellDecls {
			nodes = append(nodes, d)
		}
		if c.body != nil {
			nodes = append(nodes, c.body)
		}
		for _, n := range nodes {
			ast.Inspect(n, func(m ast.Node) bool {
				if call, ok := m.(*ast.CallExpr); ok && len(call.Args) == 1 {
					if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "Display" {
						if f, ok := c.info.Uses[id].(*types.Func); ok && f.Parent() == f.Pkg().Scope() {
							call.Fun = selAt("__golabdisplay", "Display", id.Pos())
						}
					}
				}
				return true
			})
		}
	}

	// errors.As with a target of a type declared in a cell; fmt's
	// arguments of such types.
	for _, n := range cellNodes(cellDecls, c) {
		if err := s.errorsRewrite(n, c, typeOf); err != nil {
			return nil, err
		}
		ifaceAssign(n, c, typeOf)
		s.fmtArgs(n, c, p, typeOf)
		s.wrapVariadic(n, c, typeOf)
		wrapRecover(n, c.info)
	}

	// Rewrite what yaegi lacks, in the cell's code only: code of earlier
	// cells was rewritten when it ran.
	rw := &polyfill.Rewriter{Info: c.info, Type: typeOf, Min: "__golabMin", Max: "__golabMax", ClearPkg: "__golabrt", ClearFunc: "Clear"}
	for _, d := range cellDecls {
		if err := rw.Rewrite(d); err != nil {
			return nil, s.rewriteError(err, c.src)
		}
	}
	if p.hasFunc {
		if err := rw.Rewrite(c.body); err != nil {
			return nil, s.rewriteError(err, c.src)
		}
	}
	var funcs []ast.Node
	for _, d := range cellDecls {
		funcs = append(funcs, d)
	}
	if p.hasFunc {
		funcs = append(funcs, c.body)
	}
	for _, n := range funcs {
		s.guardGo(n)
		deferInterpreted(n, c.info, s.hiddenName)
		markStatements(n, c.info)
	}

	p.decls = cellDecls
	for _, d := range cellDecls {
		p.file = appendDecl(p.file, pos, d)
	}
	s.addDependents(c, p)

	for n, pth := range p.hidden {
		p.imports = append(p.imports, &ast.ImportSpec{Name: identAt(n, pos), Path: &ast.BasicLit{ValuePos: pos, Kind: token.STRING, Value: strconv.Quote(pth)}})
	}
	return p, nil
}

func appendDecl(f *ast.File, pos token.Pos, d ast.Decl) *ast.File {
	if f == nil {
		f = &ast.File{Package: pos, Name: identAt("main", pos)}
	}
	f.Decls = append(f.Decls, d)
	return f
}

func ensureBody(fd *ast.FuncDecl, pos token.Pos) *ast.FuncDecl {
	if fd != nil {
		return fd
	}
	return &ast.FuncDecl{Name: identAt(cellFunc, pos), Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}},
		Body: &ast.BlockStmt{Lbrace: pos, Rbrace: pos}}
}

// renameDefs points every use of a top-level variable of the cell at its
// global, and turns the := that define them into assignments.
func renameDefs(c *cellCode) {
	byObj := map[types.Object]*topDef{}
	for _, d := range c.defs {
		byObj[d.obj] = d
	}
	ast.Inspect(c.body.Body, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok {
			return true
		}
		obj := c.info.Defs[id]
		if obj == nil {
			obj = c.info.Uses[id]
		}
		if d, ok := byObj[obj]; ok {
			id.Name = d.global
		}
		return true
	})
	for _, st := range c.body.Body.List {
		if as, ok := st.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
			as.Tok = token.ASSIGN
		}
	}
}

// sameType reports whether a variable of type old may hold a value of
// type new in the interpreter: the same type, and none of the notebook's
// types it mentions is declared again by the cell.
func (s *Session) sameType(c *cellCode, old, new types.Type) bool {
	if old == nil || new == nil {
		return false
	}
	q := func(p *types.Package) string { return p.Path() }
	if !types.Identical(old, new) && types.TypeString(old, q) != types.TypeString(new, q) {
		return false
	}
	return !anyNamed(new, func(n *types.Named) bool { return isMainType(n.Obj()) && c.declares(n.Obj().Name()) })
}

// hiddenName returns a fresh name no cell can write.
func (s *Session) hiddenName(prefix string) string {
	s.tmp++
	return fmt.Sprintf("__golab_%s%d", prefix, s.tmp)
}

// runNamer names types for the interpreter: the notebook's own types by
// name, types of compiled packages through the package's name in the
// session, or a hidden import of it.
func (s *Session) runNamer(c *cellCode, p *program) namer {
	return func(obj *types.TypeName, t types.Type) (ast.Expr, bool, error) {
		pos := s.base
		if obj == nil {
			return nil, false, errors.New("unsafe.Pointer")
		}
		if obj.Pkg() == nil {
			return identAt(obj.Name(), pos), false, nil
		}
		path := obj.Pkg().Path()
		if path == "main" {
			if !isMainType(obj) {
				return nil, false, fmt.Errorf("the type %s is declared inside a function", obj.Name())
			}
			return identAt(obj.Name(), pos), false, nil
		}
		if !obj.Exported() {
			return nil, false, fmt.Errorf("the unexported type %s.%s", obj.Pkg().Name(), obj.Name())
		}
		return selAt(s.packageName(c, p, path), obj.Name(), pos), false, nil
	}
}

// packageName returns a name under which the interpreter knows the
// package at path: one the session imported it as, or a hidden one.
func (s *Session) packageName(c *cellCode, p *program, path string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for n, pth := range s.ranImports {
		if pth == path && strings.HasPrefix(n, "__golabpkg_") {
			return n
		}
	}
	n := "__golabpkg_" + strings.NewReplacer("/", "_", ".", "_", "-", "_", "~", "_").Replace(path)
	p.hidden[n] = path
	return n
}

// buildDecls adds the cell's declarations to the program and returns the
// statements that initialize its variables, in Go's order.
func (s *Session) buildDecls(c *cellCode, p *program, typeOf func(types.Type, token.Pos) (ast.Expr, error), out *[]ast.Decl) ([]ast.Stmt, error) {
	pos := s.base
	redefTypes := map[string]bool{}
	cellTypes := map[string]*ast.TypeSpec{}
	cellMethods := map[string][]*ast.FuncDecl{}
	var funcs, consts []ast.Decl
	var inits []ast.Stmt
	// Variables: each declared with its type (from the check); the
	// initializers become statements of the cell function.
	values := map[*types.Var]ast.Expr{}      // variable -> its initializer (one value)
	multi := map[*types.Var]*ast.ValueSpec{} // variable -> spec of a multi-value initializer
	for i, d := range c.decls.Decls {
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
			if s.lookup(d.Name.Name) != nil {
				p.changed[d.Name.Name] = true
			}
			funcs = append(funcs, d)
			p.origs = append(p.origs, c.orig.Decls[i])
		case *ast.GenDecl:
			switch d.Tok {
			case token.TYPE:
				for _, sp := range d.Specs {
					ts := sp.(*ast.TypeSpec)
					cellTypes[ts.Name.Name] = ts
					if e := s.lookup(ts.Name.Name); e != nil {
						p.changed[ts.Name.Name] = true
						if e.kind == kindType {
							redefTypes[ts.Name.Name] = true
						}
					}
				}
			case token.CONST:
				for _, sp := range d.Specs {
					for _, n := range sp.(*ast.ValueSpec).Names {
						if s.lookup(n.Name) != nil {
							p.changed[n.Name] = true
						}
					}
				}
				consts = append(consts, d)
			case token.VAR:
				for _, sp := range d.Specs {
					vs := sp.(*ast.ValueSpec)
					for j, n := range vs.Names {
						v, _ := c.info.Defs[n].(*types.Var)
						if v == nil {
							continue
						}
						if len(vs.Values) == len(vs.Names) {
							values[v] = vs.Values[j]
						} else if len(vs.Values) == 1 {
							multi[v] = vs
						}
						if n.Name == "_" {
							continue
						}
						p.vars[n.Name] = v.Type()
						e := s.lookup(n.Name)
						if e != nil && e.kind == kindVar && s.sameType(c, e.typ, v.Type()) {
							if len(vs.Values) == 0 {
								// var x T again: x is zero again.
								inits = append(inits, &ast.ExprStmt{X: &ast.CallExpr{Fun: selAt("__golabrt", "Zero", n.Pos()), Lparen: n.Pos(),
									Args: []ast.Expr{&ast.UnaryExpr{OpPos: n.Pos(), Op: token.AND, X: identAt(n.Name, n.Pos())}}, Rparen: n.Pos()}})
							}
							continue
						}
						if e != nil {
							p.changed[n.Name] = true
							p.deleted = append(p.deleted, n.Name)
						}
						t, err := typeOf(v.Type(), n.Pos())
						if err != nil {
							return nil, s.errorAt(n.Pos(), "CompileError", fmt.Sprintf("var %s has type %s, which the notebook cannot name (%v)", n.Name, v.Type(), err), c.src)
						}
						*out = append(*out, &ast.GenDecl{TokPos: vs.Pos(), Tok: token.VAR, Specs: []ast.Spec{
							&ast.ValueSpec{Names: []*ast.Ident{identAt(n.Name, n.Pos())}, Type: t}}})
						p.declared = append(p.declared, n.Name)
					}
				}
			}
		}
	}
	// Initializers in the order Go runs them.
	done := map[*ast.ValueSpec]bool{}
	for _, in := range c.info.InitOrder {
		if len(in.Lhs) == 0 {
			continue
		}
		var lhs []ast.Expr
		for _, v := range in.Lhs {
			lhs = append(lhs, identAt(v.Name(), v.Pos()))
		}
		var rhs ast.Expr
		if vs, ok := multi[in.Lhs[0]]; ok {
			if done[vs] {
				continue
			}
			done[vs] = true
			rhs = vs.Values[0]
		} else if x, ok := values[in.Lhs[0]]; ok {
			rhs = x
		} else {
			continue
		}
		if len(in.Lhs) == 1 {
			rhs = ifaceValue(in.Lhs[0].Type(), rhs, c.info.TypeOf(rhs), typeOf)
		}
		inits = append(inits, &ast.AssignStmt{Lhs: lhs, TokPos: in.Lhs[0].Pos(), Tok: token.ASSIGN, Rhs: []ast.Expr{rhs}})
	}

	// Types, new and redefined, each with all its methods.
	var typeNames []string
	for n := range cellTypes {
		typeNames = append(typeNames, n)
	}
	sort.Strings(typeNames)
	// compileType adds a type compiled anew: its declaration, the cell's
	// methods of it and the stored ones the cell does not replace.
	compileType := func(n string, decl ast.Decl, stored bool) {
		if decl != nil {
			*out = append(*out, decl)
		}
		for _, m := range cellMethods[n] {
			*out = append(*out, m)
		}
		p.declared = append(p.declared, n)
		p.types = append(p.types, n)
		s.addStoredMethods(p, n, cellMethods[n], stored)
		delete(cellMethods, n)
	}
	for _, n := range typeNames {
		compileType(n, &ast.GenDecl{TokPos: cellTypes[n].Pos(), Tok: token.TYPE, Specs: []ast.Spec{cellTypes[n]}}, redefTypes[n])
	}
	var redef []string
	for n := range redefTypes {
		if _, done := cellTypes[n]; !done {
			redef = append(redef, n)
		}
	}
	sort.Strings(redef)
	for _, n := range redef {
		e := s.lookup(n)
		if e == nil || e.kind != kindType {
			continue
		}
		p.file = appendDecl(p.file, pos, e.run) // as stored: not rewritten again
		compileType(n, nil, true)
		p.changed[n] = true
	}
	// Methods added to types that are not compiled anew.
	var rest []string
	for n := range cellMethods {
		rest = append(rest, n)
	}
	sort.Strings(rest)
	for _, n := range rest {
		for _, m := range cellMethods[n] {
			*out = append(*out, m)
		}
	}
	for _, d := range consts {
		*out = append(*out, d)
		for _, sp := range d.(*ast.GenDecl).Specs {
			for _, n := range sp.(*ast.ValueSpec).Names {
				p.declared = append(p.declared, n.Name)
			}
		}
	}
	for _, d := range funcs {
		*out = append(*out, d)
		p.declared = append(p.declared, d.(*ast.FuncDecl).Name.Name)
	}
	return inits, nil
}

// addStoredMethods adds to the program the stored methods of a type
// compiled anew that the cell does not replace.
func (s *Session) addStoredMethods(p *program, typeName string, cell []*ast.FuncDecl, withStored bool) {
	if !withStored {
		return
	}
	seen := map[string]bool{}
	for _, m := range cell {
		seen[m.Name.Name] = true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var names []string
	for n := range s.methods[typeName] {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !seen[n] {
			p.file = appendDecl(p.file, s.base, s.methods[typeName][n].run)
		}
	}
}

// addDependents adds the stored functions, types (with their methods) and
// constant groups that mention a changed name, directly or through
// others: compiled again, they see the new definitions.
func (s *Session) addDependents(c *cellCode, p *program) {
	if len(p.changed) == 0 {
		return
	}
	types_, consts, funcs := s.dependents(p.changed, c.declares)
	s.dependentsFile(p, types_, consts, funcs)
}

// dependentsFile puts stored declarations into p.deps.
func (s *Session) dependentsFile(p *program, types_, consts, funcs []*entry) {
	for _, e := range types_ {
		p.deps = appendDecl(p.deps, s.base, e.run)
		p.depNames = append(p.depNames, e.name)
		p.types = append(p.types, e.name)
		s.mu.RLock()
		for _, m := range s.methods[e.name] {
			p.deps = appendDecl(p.deps, s.base, m.run)
		}
		s.mu.RUnlock()
	}
	seen := map[ast.Decl]bool{}
	for _, e := range consts {
		if !seen[e.run] {
			seen[e.run] = true
			p.deps = appendDecl(p.deps, s.base, e.run)
		}
		p.depNames = append(p.depNames, e.name)
	}
	for _, e := range funcs {
		p.deps = appendDecl(p.deps, s.base, e.run)
		p.depNames = append(p.depNames, e.name)
	}
}

// dependents returns the stored types, constants and functions that refer,
// directly or not, to a changed name, leaving out names skip says the
// cell declares itself. changed grows by what it finds.
func (s *Session) dependents(changed map[string]bool, skip func(string) bool) (types_, consts, funcs []*entry) {
	done := map[string]bool{}
	for n := range changed {
		done[n] = true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for grew := true; grew; {
		grew = false
		for _, e := range s.sortedEntries() {
			if done[e.name] || e.kind == kindVar || e.run == nil || skip(e.name) {
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
				types_ = append(types_, e)
			case kindConst:
				consts = append(consts, e)
			case kindFunc:
				funcs = append(funcs, e)
			}
		}
	}
	return types_, consts, funcs
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
		for r := range refsOf(m.src) {
			out[r] = true
		}
	}
	delete(out, e.name)
	return out
}

// showStmt renders the values of x: `{ r1, ..., rn := x;
// __golabrt.Emit([]display.Data{show(r1), ...}) }`. Assigning x to locals
// keeps the static types of its values, so yaegi lets compiled code call
// the methods of types declared in cells. A value held in an interface is
// first asserted to each cell type that renders itself (yaegi hides its
// methods behind the interface).
func (s *Session) showStmt(c *cellCode, x ast.Expr) ast.Stmt {
	pos := x.Pos()
	show := func(v ast.Expr) ast.Expr {
		text := &ast.CallExpr{Fun: selAt("__golabfmt", "Sprint", pos), Lparen: pos, Args: []ast.Expr{v}, Rparen: pos}
		raw := &ast.CallExpr{Fun: selAt("__golabrt", "Raw", pos), Lparen: pos, Args: []ast.Expr{v}, Rparen: pos}
		return &ast.CallExpr{Fun: selAt("__golabrt", "Show", pos), Lparen: pos, Args: []ast.Expr{v, raw, text}, Rparen: pos}
	}
	var lhs, elts []ast.Expr
	var list []ast.Stmt
	for i := range c.shown {
		lhs = append(lhs, identAt(fmt.Sprintf("__golab_r%d", i+1), pos))
	}
	list = append(list, &ast.AssignStmt{Lhs: lhs, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{x}})
	for i, t := range c.shown {
		r := identAt(fmt.Sprintf("__golab_r%d", i+1), pos)
		if !mentionsMain(t) && !isInterface(t) {
			// A value no cell declared the type of: compiled code sees all
			// of it.
			elts = append(elts, &ast.CallExpr{Fun: selAt("__golabrt", "ShowCompiled", pos), Lparen: pos, Args: []ast.Expr{r}, Rparen: pos})
			continue
		}
		iface, isIface := t.Underlying().(*types.Interface)
		cands := s.renderingTypes(c, iface)
		if !isIface || len(cands) == 0 {
			elts = append(elts, show(r))
			continue
		}
		d := identAt(fmt.Sprintf("__golab_d%d", i+1), pos)
		list = append(list, &ast.DeclStmt{Decl: &ast.GenDecl{TokPos: pos, Tok: token.VAR, Specs: []ast.Spec{
			&ast.ValueSpec{Names: []*ast.Ident{d}, Type: selAt("__golabdisplay", "Data", pos)}}}})
		var chain ast.Stmt = &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{
			&ast.AssignStmt{Lhs: []ast.Expr{identAt(d.Name, pos)}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{show(r)}}}, Rbrace: pos}
		for j := len(cands) - 1; j >= 0; j-- {
			y := identAt("__golab_y", pos)
			chain = &ast.IfStmt{If: pos,
				Init: &ast.AssignStmt{Lhs: []ast.Expr{y, identAt("__golab_ok", pos)}, TokPos: pos, Tok: token.DEFINE,
					Rhs: []ast.Expr{&ast.TypeAssertExpr{X: r, Lparen: pos, Type: cands[j], Rparen: pos}}},
				Cond: identAt("__golab_ok", pos),
				Body: &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{
					&ast.AssignStmt{Lhs: []ast.Expr{identAt(d.Name, pos)}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{show(identAt(y.Name, pos))}}}, Rbrace: pos},
				Else: chain}
		}
		list = append(list, chain)
		elts = append(elts, identAt(d.Name, pos))
	}
	dataSlice := &ast.ArrayType{Lbrack: pos, Elt: selAt("__golabdisplay", "Data", pos)}
	emit := &ast.CallExpr{Fun: selAt("__golabrt", "Emit", pos), Lparen: pos, Args: []ast.Expr{&ast.CompositeLit{Type: dataSlice, Lbrace: pos, Elts: elts, Rbrace: pos}}, Rparen: pos}
	list = append(list, &ast.ExprStmt{X: emit})
	return &ast.BlockStmt{Lbrace: pos, List: list, Rbrace: pos}
}

func isInterface(t types.Type) bool {
	_, ok := t.Underlying().(*types.Interface)
	return ok
}

// renderingTypes lists, as syntax, the notebook's types (T or *T) that
// implement iface and have a method by which a value renders itself.
func (s *Session) renderingTypes(c *cellCode, iface *types.Interface) []ast.Expr {
	if iface == nil || c.pkg == nil {
		return nil
	}
	methods := renderMethods()
	var out []ast.Expr
	for _, named := range checkTypes(c) {
		for _, t := range []types.Type{named, types.NewPointer(named)} {
			if !types.AssertableTo(iface, t) || !types.Implements(t, iface) {
				continue
			}
			ms := types.NewMethodSet(t)
			renders := false
			for i := 0; i < ms.Len(); i++ {
				if methods[ms.At(i).Obj().Name()] {
					renders = true
				}
			}
			if !renders {
				continue
			}
			var x ast.Expr = identAt(named.Obj().Name(), s.base)
			if _, ptr := t.(*types.Pointer); ptr {
				x = &ast.StarExpr{Star: s.base, X: x}
			}
			out = append(out, x)
		}
	}
	return out
}

// wrapRecover turns recover() into __golabrt.Recovered(recover()), so that
// a recovered runtime error reads as Go's (see recovered).
func wrapRecover(n ast.Node, info *types.Info) {
	ast.Inspect(n, func(m ast.Node) bool {
		call, ok := m.(*ast.CallExpr)
		if !ok {
			return true
		}
		for i, a := range call.Args {
			if isRecoverCall(a, info) {
				call.Args[i] = recoveredCall(a)
			}
		}
		return true
	})
	ast.Inspect(n, func(m ast.Node) bool {
		switch x := m.(type) {
		case *ast.AssignStmt:
			for i, r := range x.Rhs {
				if isRecoverCall(r, info) {
					x.Rhs[i] = recoveredCall(r)
				}
			}
		case *ast.ValueSpec:
			for i, r := range x.Values {
				if isRecoverCall(r, info) {
					x.Values[i] = recoveredCall(r)
				}
			}
		case *ast.ExprStmt:
			if isRecoverCall(x.X, info) {
				x.X = recoveredCall(x.X)
			}
		case *ast.ReturnStmt:
			for i, r := range x.Results {
				if isRecoverCall(r, info) {
					x.Results[i] = recoveredCall(r)
				}
			}
		}
		return true
	})
}

func isRecoverCall(x ast.Expr, info *types.Info) bool {
	call, ok := x.(*ast.CallExpr)
	if !ok || len(call.Args) != 0 {
		return false
	}
	id, ok := call.Fun.(*ast.Ident)
	if !ok {
		return false
	}
	b, ok := info.Uses[id].(*types.Builtin)
	return ok && b.Name() == "recover"
}

func recoveredCall(x ast.Expr) ast.Expr {
	return &ast.CallExpr{Fun: selAt("__golabrt", "Recovered", x.Pos()), Lparen: x.Pos(), Args: []ast.Expr{x}, Rparen: x.End()}
}

// cellNodes are the cell's own declarations and its function.
func cellNodes(decls []ast.Decl, c *cellCode) []ast.Node {
	var out []ast.Node
	for _, d := range decls {
		out = append(out, d)
	}
	if c.body != nil {
		out = append(out, c.body)
	}
	return out
}

// rewriteError reports a construct the interpreter cannot run.
func (s *Session) rewriteError(err error, src string) error {
	var pe *polyfill.Error
	if errors.As(err, &pe) {
		return s.errorAt(pe.Pos, "CompileError", pe.Msg, src)
	}
	return s.newError("CompileError", err.Error(), 0, 0, src)
}
