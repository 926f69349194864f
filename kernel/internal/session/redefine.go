package session

import (
	"context"
	"fmt"
	"go/ast"
	"go/token"
	"reflect"
	"sort"
	"strings"
)

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
		ch, err := s.redefine(ctx, file.Package, vs.Names, vs.Type, vs.Values)
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
func (s *Session) redefine(ctx context.Context, pos token.Pos, names []*ast.Ident, typ ast.Expr, values []ast.Expr) (map[string]bool, error) {
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
func (s *Session) recordVar(names []*ast.Ident) {
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

// redefines reports whether a := assigns to a global variable that exists.
func (s *Session) redefines(lhs []ast.Expr) bool {
	for _, e := range lhs {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" && s.lookup(id.Name) != nil {
			return true
		}
	}
	return false
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
