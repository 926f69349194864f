package session

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"reflect"
	"strings"

	"github.com/traefik/yaegi/interp"
)

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
				s.recordVar(identsOf(as.Lhs))
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
			s.recordVar(names)
			continue
		}
		changed, err := s.redefine(ctx, body.Lbrace, names, nil, as.Rhs)
		if err != nil {
			return nil, s.wrapErr(err, src)
		}
		s.recordVar(names)
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
