package session

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"reflect"
	"strconv"
	"strings"
)

// yaegi types a top-level `x := e` before compiling it ("global type
// analysis"), and that analysis fails on some expressions whose type comes
// from compiled packages: indexing a slice of a compiled struct type
// (`e := history.Epochs[0]`) reports a "constant definition loop", a field
// of such an element crashes it. Inside a function the same expression
// compiles. So when a top-level := fails that way, the session evaluates
// the values inside a function, learns their types by reflection, declares
// the globals with those types written out, and moves the values in.

// gtaFailure reports whether err is one of the ways yaegi's global type
// analysis fails on an expression it would compile inside a function.
func gtaFailure(err error) bool {
	var u *unsupportedError
	if errors.As(err, &u) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "constant definition loop") || strings.Contains(msg, "undefined type") ||
		strings.Contains(msg, "variable definition loop")
}

// define runs `names := values` at top level, with the typed fallback.
func (s *Session) define(ctx context.Context, pos token.Pos, names []*ast.Ident, values []ast.Expr) error {
	var lhs []ast.Expr
	for _, n := range names {
		lhs = append(lhs, n)
	}
	def := &ast.AssignStmt{Lhs: lhs, TokPos: pos, Tok: token.DEFINE, Rhs: values}
	_, err := s.run(ctx, &ast.BlockStmt{Lbrace: s.base, List: []ast.Stmt{def}, Rbrace: s.base})
	if err == nil || !gtaFailure(err) {
		return err
	}
	if ferr := s.defineTyped(ctx, pos, names, values); ferr != nil {
		return err // the original error says more about the cell
	}
	return nil
}

// defineTyped evaluates values in a function, then declares each name with
// the value's type and sets it.
func (s *Session) defineTyped(ctx context.Context, pos token.Pos, names []*ast.Ident, values []ast.Expr) error {
	// func __golabDefine() { p0, p1 := values; __golabrt.Keep(&p0, &p1) }
	var lhs, ptrs []ast.Expr
	for i := range names {
		p := identAt(fmt.Sprintf("__golab_d%d", i), pos)
		lhs = append(lhs, p)
		ptrs = append(ptrs, &ast.UnaryExpr{OpPos: pos, Op: token.AND, X: identAt(p.Name, pos)})
	}
	fd := &ast.FuncDecl{
		Name: identAt("__golabDefine", pos),
		Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}},
		Body: &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{
			&ast.AssignStmt{Lhs: lhs, TokPos: pos, Tok: token.DEFINE, Rhs: values},
			&ast.ExprStmt{X: &ast.CallExpr{Fun: selAt("__golabrt", "Keep", pos), Lparen: pos, Args: ptrs, Rparen: pos}},
		}, Rbrace: pos},
	}
	if _, err := s.run(ctx, &ast.File{Package: s.base, Name: identAt("main", s.base), Decls: []ast.Decl{fd}}); err != nil {
		return err
	}
	// The types are known at compile time; check them before running.
	s.out.kept = nil
	if _, err := s.run(ctx, &ast.BlockStmt{Lbrace: s.base, List: []ast.Stmt{&ast.ExprStmt{X: &ast.CallExpr{Fun: identAt("__golabDefine", pos), Lparen: pos, Rparen: pos}}}, Rbrace: s.base}); err != nil {
		return err
	}
	kept := s.out.kept
	s.out.kept = nil
	if len(kept) != len(names) {
		return errors.New("values not handed over")
	}
	var specs []ast.Spec
	var loads []ast.Stmt
	for i, n := range names {
		if n.Name == "_" {
			continue
		}
		te, err := s.typeExpr(ctx, kept[i].Type().Elem(), pos)
		if err != nil {
			return err
		}
		deleteSymbol(s.in, n.Name)
		specs = append(specs, &ast.ValueSpec{Names: []*ast.Ident{identAt(n.Name, pos)}, Type: te})
		loads = append(loads, &ast.ExprStmt{X: &ast.CallExpr{Fun: selAt("__golabrt", "Load", pos), Lparen: pos,
			Args: []ast.Expr{&ast.UnaryExpr{OpPos: pos, Op: token.AND, X: identAt(n.Name, pos)}, &ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: strconv.Itoa(i)}}, Rparen: pos}})
	}
	if len(specs) > 0 {
		f := &ast.File{Package: s.base, Name: identAt("main", s.base), Decls: []ast.Decl{&ast.GenDecl{TokPos: pos, Tok: token.VAR, Specs: specs}}}
		if _, err := s.run(ctx, f); err != nil {
			return err
		}
	}
	s.out.kept = kept
	defer func() { s.out.kept = nil }()
	_, err := s.run(ctx, &ast.BlockStmt{Lbrace: s.base, List: loads, Rbrace: s.base})
	return err
}

// typeExpr writes a reflect type as Go syntax that names it in the
// session: predeclared types, composite types, and named types of bound
// packages (imported under a hidden name when the session has not).
// Types declared in cells have no such name and are refused.
func (s *Session) typeExpr(ctx context.Context, t reflect.Type, pos token.Pos) (ast.Expr, error) {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return identAt(t.Name(), pos), nil
		}
		if strings.ContainsAny(t.Name(), "[]") {
			return nil, fmt.Errorf("generic type %s", t)
		}
		pkg, err := s.packageName(ctx, t.PkgPath(), pos)
		if err != nil {
			return nil, err
		}
		return selAt(pkg, t.Name(), pos), nil
	}
	elem := func() (ast.Expr, error) { return s.typeExpr(ctx, t.Elem(), pos) }
	switch t.Kind() {
	case reflect.Ptr:
		e, err := elem()
		return &ast.StarExpr{Star: pos, X: e}, err
	case reflect.Slice:
		e, err := elem()
		return &ast.ArrayType{Lbrack: pos, Elt: e}, err
	case reflect.Array:
		e, err := elem()
		return &ast.ArrayType{Lbrack: pos, Len: &ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: strconv.Itoa(t.Len())}, Elt: e}, err
	case reflect.Map:
		k, err := s.typeExpr(ctx, t.Key(), pos)
		if err != nil {
			return nil, err
		}
		v, err := elem()
		return &ast.MapType{Map: pos, Key: k, Value: v}, err
	case reflect.Chan:
		e, err := elem()
		dir := ast.SEND | ast.RECV
		switch t.ChanDir() {
		case reflect.SendDir:
			dir = ast.SEND
		case reflect.RecvDir:
			dir = ast.RECV
		}
		return &ast.ChanType{Begin: pos, Dir: dir, Value: e}, err
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return &ast.InterfaceType{Interface: pos, Methods: &ast.FieldList{Opening: pos, Closing: pos}}, nil
		}
	case reflect.Func:
		ft := &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}, Results: &ast.FieldList{}}
		for i := 0; i < t.NumIn(); i++ {
			in := t.In(i)
			if t.IsVariadic() && i == t.NumIn()-1 {
				e, err := s.typeExpr(ctx, in.Elem(), pos)
				if err != nil {
					return nil, err
				}
				ft.Params.List = append(ft.Params.List, &ast.Field{Type: &ast.Ellipsis{Ellipsis: pos, Elt: e}})
				continue
			}
			e, err := s.typeExpr(ctx, in, pos)
			if err != nil {
				return nil, err
			}
			ft.Params.List = append(ft.Params.List, &ast.Field{Type: e})
		}
		for i := 0; i < t.NumOut(); i++ {
			e, err := s.typeExpr(ctx, t.Out(i), pos)
			if err != nil {
				return nil, err
			}
			ft.Results.List = append(ft.Results.List, &ast.Field{Type: e})
		}
		return ft, nil
	}
	return nil, fmt.Errorf("cannot write type %s", t)
}

// packageName returns the name under which the session can refer to a
// bound package, importing it under a hidden name if needed.
func (s *Session) packageName(ctx context.Context, path string, pos token.Pos) (string, error) {
	s.mu.RLock()
	for name, p := range s.imports {
		if p == path && s.lookup(name) == nil {
			s.mu.RUnlock()
			return name, nil
		}
	}
	_, bound := s.bound[path]
	s.mu.RUnlock()
	if !bound {
		return "", fmt.Errorf("package %s is not bound", path)
	}
	name := "__golabpkg_" + strings.NewReplacer("/", "_", ".", "_", "-", "_").Replace(path)
	imp := &ast.ImportSpec{Name: identAt(name, pos), Path: &ast.BasicLit{ValuePos: pos, Kind: token.STRING, Value: strconv.Quote(path)}}
	f := &ast.File{Package: s.base, Name: identAt("main", s.base), Decls: []ast.Decl{&ast.GenDecl{TokPos: s.base, Tok: token.IMPORT, Specs: []ast.Spec{imp}}}}
	if _, err := s.run(ctx, f); err != nil {
		return "", err
	}
	s.mu.Lock()
	s.imports[name] = path
	s.mu.Unlock()
	return name, nil
}
