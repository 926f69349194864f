package session

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"sort"
	"strconv"
	"strings"
)

// A cell is type-checked whole before any of it runs, as the Go compiler
// checks a file: a package is made of the session's declarations (their
// bodies left out: they were checked when their cell ran), its variables
// with their types, its imports, and the cell, whose statements form the
// body of a function. Nothing of the cell runs, and nothing in the session
// changes, unless this check passes.
//
// A cell with no declarations is checked against the objects of the last
// check instead, which is cheaper and gives the same result.

// cellFunc names the function that holds a cell's statements.
const cellFunc = "__golabCell"

// checkCell type-checks the cell. It returns a *Error for the first error
// in the cell, in source order.
func (s *Session) checkCell(c *cellCode) error {
	pos := s.base
	file := &ast.File{Package: pos, Name: identAt("main", pos), FileStart: 1, FileEnd: token.Pos(s.fset.Base())}
	if err := s.checkImports(c); err != nil {
		return err
	}
	file.Decls = append(file.Decls, s.importDecl(c, pos))
	s.mu.RLock()
	pkg := s.checkPkg
	full := c.decls != nil || pkg == nil || s.checkDirty
	s.mu.RUnlock()
	var aliases *aliasSet
	if full {
		// A fresh package, of the session's declarations and the cell's.
		pkg = types.NewPackage("main", "main")
		aliases = &aliasSet{pkg: pkg, pos: pos}
		file.Decls = append(file.Decls, s.sessionDecls(c, aliases)...)
		if c.decls != nil {
			file.Decls = append(file.Decls, c.decls.Decls...)
		}
	}
	// The statements' function has a name of its own in each check: a
	// cell without declarations is checked into the package of the last
	// check, where earlier cells' functions are.
	if c.body != nil {
		c.body.Name.Name = fmt.Sprintf("%s%d", cellFunc, s.cellID)
		defer func() { c.body.Name.Name = cellFunc }()
		file.Decls = append(file.Decls, c.body)
	}
	if aliases != nil {
		for _, obj := range aliases.objs {
			pkg.Scope().Insert(obj)
		}
	}

	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Instances:  map[*ast.Ident]types.Instance{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	var errs []types.Error
	conf := types.Config{
		Importer: s.imp,
		Error: func(err error) {
			if te, ok := err.(types.Error); ok {
				errs = append(errs, te)
			}
		},
	}
	checker := types.NewChecker(&conf, s.fset, pkg, info)
	if err := s.safeCheck(checker, file); err != nil {
		return s.newError("CompileError", "the type checker failed on this cell ("+err.Error()+"); report it", 0, 0, c.src)
	}
	c.info, c.pkg, c.fullCheck = info, pkg, full
	c.collect()
	if e := s.checkErrors(c, errs); e != nil {
		return e
	}
	return nil
}

// safeCheck runs the checker, turning a panic of go/types into an error.
func (s *Session) safeCheck(checker *types.Checker, file *ast.File) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	_ = checker.Files([]*ast.File{file})
	return nil
}

// checkImports validates the cell's imports against the session: each
// must be bound, and its name free.
func (s *Session) checkImports(c *cellCode) error {
	if c.imports == nil {
		return nil
	}
	for _, imp := range c.imports.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			return s.errorAt(imp.Pos(), "ImportError", "bad import path "+imp.Path.Value, c.src)
		}
		if !s.imp.Has(p) || internalPackage(p) {
			return s.errorAt(imp.Pos(), "ImportError", fmt.Sprintf("cannot import %q: the golab kernel has no binding for it. "+
				"Bind it by adding %q to kernel/internal/bindings/gen (the fixed list), then rebuild the kernel with `make kernel` and restart it", p, p), c.src)
		}
		name := s.imp.Name(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		if name == "_" || name == "." {
			if name == "." {
				return s.errorAt(imp.Pos(), "ImportError", fmt.Sprintf("dot imports are not supported in the golab kernel; import %q by name", p), c.src)
			}
			continue
		}
		s.mu.RLock()
		have, dup := s.imports[name]
		s.mu.RUnlock()
		if dup && have != p {
			return s.errorAt(imp.Pos(), "ImportError", fmt.Sprintf("%s is already imported as %q in this session; import %q under another name, e.g. import %s2 %q", name, have, p, name, p), c.src)
		}
		if e := s.lookup(name); e != nil && !c.declares(name) {
			return s.errorAt(imp.Pos(), "ImportError", fmt.Sprintf("cannot import %q as %s: %s is a %s declared in %s", p, name, name, e.kind, e.cell), c.src)
		}
	}
	return nil
}

// importDecl is the import declaration of the checked file: the session's
// imports and the cell's, each under its name.
func (s *Session) importDecl(c *cellCode, pos token.Pos) *ast.GenDecl {
	d := &ast.GenDecl{TokPos: pos, Tok: token.IMPORT, Lparen: pos, Rparen: pos}
	seen := map[string]bool{}
	if c.imports != nil {
		for _, imp := range c.imports.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			name := s.imp.Name(p)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			if name == "_" || seen[name] {
				continue
			}
			seen[name] = true
			d.Specs = append(d.Specs, imp)
		}
	}
	s.mu.RLock()
	names := make([]string, 0, len(s.imports))
	for n := range s.imports {
		names = append(names, n)
	}
	s.mu.RUnlock()
	sort.Strings(names)
	for _, n := range names {
		if seen[n] || c.declares(n) {
			continue
		}
		seen[n] = true
		s.mu.RLock()
		p := s.imports[n]
		s.mu.RUnlock()
		d.Specs = append(d.Specs, &ast.ImportSpec{Name: identAt(n, pos), Path: &ast.BasicLit{ValuePos: pos, Kind: token.STRING, Value: strconv.Quote(p)}})
	}
	return d
}

// sessionDecls are the session's declarations as the checked file holds
// them: types, methods and function signatures as written, constants,
// variables typed. A name the cell declares again is left out (in a
// constant group it becomes _, so that iota keeps its values).
func (s *Session) sessionDecls(c *cellCode, aliases *aliasSet) []ast.Decl {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []ast.Decl
	types_ := map[string]bool{}
	groups := map[ast.Decl]bool{}
	for _, e := range s.sortedEntries() {
		if c.declares(e.name) {
			continue
		}
		switch e.kind {
		case kindType:
			types_[e.name] = true
			out = append(out, &ast.GenDecl{TokPos: s.base, Tok: token.TYPE, Specs: []ast.Spec{e.spec}})
		case kindFunc:
			if fd, ok := e.src.(*ast.FuncDecl); ok {
				out = append(out, stripBody(fd))
			}
		case kindConst:
			if groups[e.src] {
				continue
			}
			groups[e.src] = true
			out = append(out, blankRedeclared(e.src.(*ast.GenDecl), c))
		case kindVar:
			if e.typ == nil {
				continue
			}
			t, err := typeSyntax(e.typ, s.base, aliases.namer)
			if err != nil {
				continue
			}
			out = append(out, &ast.GenDecl{TokPos: s.base, Tok: token.VAR, Specs: []ast.Spec{
				&ast.ValueSpec{Names: []*ast.Ident{identAt(e.name, s.base)}, Type: t}}})
		}
	}
	for _, t := range c.typeNames() {
		types_[t] = true
	}
	var tnames []string
	for t := range s.methods {
		tnames = append(tnames, t)
	}
	sort.Strings(tnames)
	for _, t := range tnames {
		if !types_[t] {
			continue
		}
		var mnames []string
		for m := range s.methods[t] {
			mnames = append(mnames, m)
		}
		sort.Strings(mnames)
		for _, m := range mnames {
			if c.declaresMethod(t, m) {
				continue
			}
			out = append(out, stripBody(s.methods[t][m].src))
		}
	}
	return out
}

// blankRedeclared returns a const group with the names the cell declares
// again replaced by _.
func blankRedeclared(d *ast.GenDecl, c *cellCode) *ast.GenDecl {
	hit := false
	for _, sp := range d.Specs {
		for _, n := range sp.(*ast.ValueSpec).Names {
			if c.declares(n.Name) {
				hit = true
			}
		}
	}
	if !hit {
		return d
	}
	cp := *d
	cp.Specs = nil
	for _, sp := range d.Specs {
		vs := *sp.(*ast.ValueSpec)
		names := make([]*ast.Ident, len(vs.Names))
		for i, n := range vs.Names {
			names[i] = n
			if c.declares(n.Name) {
				names[i] = identAt("_", n.Pos())
			}
		}
		vs.Names = names
		cp.Specs = append(cp.Specs, &vs)
	}
	return &cp
}

// aliasSet names, in the checked file, types that have no name there: a
// type of a compiled package that is not imported, or not exported. Each
// gets an alias declared in the package scope.
type aliasSet struct {
	pkg  *types.Package
	pos  token.Pos
	objs []*types.TypeName
	by   map[string]*types.TypeName
}

func (a *aliasSet) namer(obj *types.TypeName, t types.Type) (ast.Expr, bool, error) {
	if obj != nil && isMainType(obj) {
		return identAt(obj.Name(), a.pos), false, nil
	}
	if obj != nil && obj.Pkg() == nil {
		return identAt(obj.Name(), a.pos), false, nil
	}
	key := types.TypeString(t, nil)
	if a.by == nil {
		a.by = map[string]*types.TypeName{}
	}
	tn, ok := a.by[key]
	if !ok {
		name := fmt.Sprintf("__golabT%d", len(a.objs))
		tn = types.NewTypeName(token.NoPos, a.pkg, name, nil)
		types.NewAlias(tn, t)
		a.objs = append(a.objs, tn)
		a.by[key] = tn
	}
	return identAt(tn.Name(), a.pos), true, nil
}

// checkErrors picks the errors that count: those in the current cell,
// except what a notebook allows (an import or a top-level variable not
// used in this cell, the final expression shown), and reports the first.
func (s *Session) checkErrors(c *cellCode, errs []types.Error) *Error {
	var keep []located
	for _, e := range errs {
		p := s.fset.Position(e.Pos)
		_, line, cur := s.locate(p.Line)
		if !cur {
			continue // in a declaration of an earlier cell
		}
		msg := e.Msg
		switch {
		case strings.HasSuffix(msg, " and not used") && strings.Contains(msg, "\" imported"):
			// `"fmt" imported and not used`, `"math/rand/v2" imported
			// as rand and not used`: a later cell may use it.
			continue
		case strings.HasPrefix(msg, "declared and not used: ") && c.isTopDef(e.Pos):
			continue
		case c.last != nil && strings.HasSuffix(msg, " is not used") && e.Pos == c.last.X.Pos():
			continue
		case strings.HasPrefix(msg, "undefined: "):
			msg += s.importHint(strings.TrimPrefix(msg, "undefined: "))
		}
		keep = append(keep, located{line, p.Column, msg})
	}
	if len(keep) == 0 {
		return nil
	}
	return s.locatedErrors(keep, c.src)
}

// located is a compile error at a line:col of the cell.
type located struct {
	line, col int
	msg       string
}

// locatedErrors reports compile errors of the cell: the first, in source
// order, with the others in the traceback.
func (s *Session) locatedErrors(keep []located, src string) *Error {
	sort.SliceStable(keep, func(i, j int) bool {
		if keep[i].line != keep[j].line {
			return keep[i].line < keep[j].line
		}
		return keep[i].col < keep[j].col
	})
	first := keep[0]
	msg := fmt.Sprintf("%d:%d: %s", first.line, first.col, first.msg)
	if n := len(keep) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more error%s)", n, map[bool]string{true: "s"}[n > 1])
	}
	e := s.newError("CompileError", msg, first.line, first.col, src)
	for _, k := range keep[1:] {
		if len(e.Traceback) > 12 {
			break
		}
		e.Traceback = append(e.Traceback, fmt.Sprintf("%d:%d: %s", k.line, k.col, k.msg))
	}
	return e
}

// importHint says which import makes an undefined name a package.
func (s *Session) importHint(name string) string {
	if strings.Contains(name, ".") {
		return ""
	}
	var paths []string
	for p, n := range s.bound {
		if n == name {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return ""
	}
	sort.Slice(paths, func(i, j int) bool {
		// The standard library first, then the shortest path.
		si, sj := !strings.Contains(paths[i], "."), !strings.Contains(paths[j], ".")
		if si != sj {
			return si
		}
		if len(paths[i]) != len(paths[j]) {
			return len(paths[i]) < len(paths[j])
		}
		return paths[i] < paths[j]
	})
	return fmt.Sprintf(" (missing import: add import %q to this cell or an earlier one)", paths[0])
}
