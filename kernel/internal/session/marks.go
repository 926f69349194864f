package session

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
)

// yaegi reports a panic at the start of the function it happened in, and
// in reflect's words. So that a panic names its line and column, the
// statements of a cell that can panic first record their position in a
// variable of the prelude, __golabAt: an assignment of a constant, which
// measured no slower in a loop of index operations (2026-11-29). The
// session reads it after a panic.

// markStatements inserts the position marks into the function bodies
// under n.
func markStatements(n ast.Node, info *types.Info) {
	kept := map[*ast.FuncLit]bool{}
	ast.Inspect(n, func(m ast.Node) bool {
		switch x := m.(type) {
		case *ast.BlockStmt:
			x.List = markList(x.List, info)
		case *ast.CaseClause:
			x.Body = markList(x.Body, info)
		case *ast.CommClause:
			x.Body = markList(x.Body, info)
		case *ast.DeferStmt:
			// A deferred function runs while a panic unwinds, before the
			// session reads the mark: it puts the mark back when done.
			if lit, ok := x.Call.Fun.(*ast.FuncLit); ok && !kept[lit] {
				kept[lit] = true
				kept[keepMark(lit)] = true
			}
		}
		return true
	})
}

func markList(list []ast.Stmt, info *types.Info) []ast.Stmt {
	out := make([]ast.Stmt, 0, len(list)*2)
	for _, st := range list {
		if canPanic(st, info) {
			out = append(out, mark(st.Pos()))
		}
		out = append(out, st)
	}
	return out
}

func mark(pos token.Pos) ast.Stmt {
	return &ast.AssignStmt{Lhs: []ast.Expr{identAt("__golabAt", pos)}, TokPos: pos, Tok: token.ASSIGN,
		Rhs: []ast.Expr{&ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: fmt.Sprint(int(pos))}}}
}

// deferInterpreted turns, under n, a deferred call of interpreted code
// that is not a function literal (`defer cleanup(x)`) into one
// (`{ fn, a := cleanup, x; defer func() { fn(a) }() }`), which
// markStatements makes restore the mark: the arguments are still
// evaluated at the defer statement.
func deferInterpreted(n ast.Node, info *types.Info, hidden func(string) string) {
	eachStmtList(n, func(list []ast.Stmt) {
		for i, st := range list {
			d, ok := st.(*ast.DeferStmt)
			if !ok || !interpretedCall(d.Call, info) {
				continue
			}
			pos := d.Defer
			fn := identAt(hidden("df"), pos)
			lhs, rhs := []ast.Expr{fn}, []ast.Expr{d.Call.Fun}
			var args []ast.Expr
			for _, a := range d.Call.Args {
				v := identAt(hidden("df"), pos)
				lhs, rhs = append(lhs, v), append(rhs, a)
				args = append(args, identAt(v.Name, pos))
			}
			call := &ast.CallExpr{Fun: identAt(fn.Name, pos), Lparen: pos, Args: args, Ellipsis: d.Call.Ellipsis, Rparen: pos}
			lit := &ast.FuncLit{Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}},
				Body: &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{&ast.ExprStmt{X: call}}, Rbrace: pos}}
			list[i] = &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{
				&ast.AssignStmt{Lhs: lhs, TokPos: pos, Tok: token.DEFINE, Rhs: rhs},
				&ast.DeferStmt{Defer: pos, Call: &ast.CallExpr{Fun: lit, Lparen: pos, Rparen: pos}},
			}, Rbrace: pos}
		}
	})
}

// eachStmtList calls f with every statement list under n (blocks and the
// bodies of case and select clauses); f may replace statements in place.
func eachStmtList(n ast.Node, f func([]ast.Stmt)) {
	ast.Inspect(n, func(m ast.Node) bool {
		switch x := m.(type) {
		case *ast.BlockStmt:
			f(x.List)
		case *ast.CaseClause:
			f(x.Body)
		case *ast.CommClause:
			f(x.Body)
		}
		return true
	})
}

// interpretedCall reports whether a deferred call runs interpreted code
// that may set marks: a function or method of the notebook, or a function
// value. Builtins and functions of compiled packages do not.
func interpretedCall(call *ast.CallExpr, info *types.Info) bool {
	if _, ok := call.Fun.(*ast.FuncLit); ok {
		return false // handled by keepMark itself
	}
	var id *ast.Ident
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	default:
		return true
	}
	switch o := info.Uses[id].(type) {
	case *types.Builtin, *types.TypeName:
		return false
	case *types.Func:
		return o.Pkg() != nil && o.Pkg().Path() == "main"
	}
	return true
}

// keepMark makes a deferred function literal restore the mark it found.
// It returns the literal that restores it.
func keepMark(lit *ast.FuncLit) *ast.FuncLit {
	pos := lit.Pos()
	saved := identAt("__golab_mark", pos)
	restore := &ast.FuncLit{Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}},
		Body: &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{
			&ast.AssignStmt{Lhs: []ast.Expr{identAt("__golabAt", pos)}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{identAt(saved.Name, pos)}},
		}, Rbrace: pos}}
	lit.Body.List = append([]ast.Stmt{
		&ast.AssignStmt{Lhs: []ast.Expr{saved}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{identAt("__golabAt", pos)}},
		&ast.DeferStmt{Defer: pos, Call: &ast.CallExpr{Fun: restore, Lparen: pos, Rparen: pos}},
	}, lit.Body.List...)
	return restore
}

// canPanic reports whether a statement may panic in its own expressions
// (not counting the statements it contains): a call, an index, a slice
// expression, a dereference, a type assertion, an integer division, a
// channel operation.
func canPanic(st ast.Stmt, info *types.Info) bool {
	var parts []ast.Node
	switch x := st.(type) {
	case *ast.ExprStmt, *ast.AssignStmt, *ast.IncDecStmt, *ast.SendStmt, *ast.GoStmt, *ast.DeferStmt, *ast.ReturnStmt, *ast.DeclStmt:
		if _, ok := x.(*ast.SendStmt); ok {
			return true
		}
		parts = append(parts, x)
	case *ast.IfStmt:
		parts = append(parts, x.Init, x.Cond)
	case *ast.ForStmt:
		parts = append(parts, x.Init, x.Cond)
	case *ast.RangeStmt:
		parts = append(parts, x.X)
	case *ast.SwitchStmt:
		parts = append(parts, x.Init, x.Tag)
	case *ast.TypeSwitchStmt:
		parts = append(parts, x.Init, x.Assign)
	case *ast.LabeledStmt:
		return canPanic(x.Stmt, info)
	case *ast.SelectStmt:
		return true
	}
	found := false
	for _, p := range parts {
		if p == nil {
			continue
		}
		ast.Inspect(p, func(n ast.Node) bool {
			if found {
				return false
			}
			switch x := n.(type) {
			case *ast.FuncLit:
				return false
			case *ast.CallExpr, *ast.IndexExpr, *ast.IndexListExpr, *ast.SliceExpr, *ast.StarExpr, *ast.TypeAssertExpr:
				found = true
			case *ast.UnaryExpr:
				found = x.Op == token.ARROW
			case *ast.BinaryExpr:
				if x.Op == token.QUO || x.Op == token.REM {
					tv := info.Types[x]
					if tv.Type == nil {
						found = true
					} else if t, ok := tv.Type.Underlying().(*types.Basic); !ok || t.Info()&types.IsInteger != 0 {
						found = tv.Value == nil
					}
				}
			case *ast.SelectorExpr:
				if sel, ok := info.Selections[x]; ok && sel.Indirect() {
					found = true
				} else if ok {
					if _, ptr := sel.Recv().Underlying().(*types.Pointer); ptr {
						found = true
					}
				}
			}
			return !found
		})
	}
	return found
}

// guardGo turns, under n, `go f(a, b)` into
// `{ fn, x, y := f, a, b; go func() { defer __golabGoRecover(); fn(x, y) }() }`:
// a panic in a goroutine a cell starts is reported instead of ending the
// kernel, and f and its arguments are still evaluated at the go statement.
func (s *Session) guardGo(n ast.Node) {
	eachStmtList(n, func(list []ast.Stmt) {
		for i, st := range list {
			if g, ok := st.(*ast.GoStmt); ok {
				if b := s.guardOne(g); b != nil {
					list[i] = b
				}
			}
		}
	})
}

func (s *Session) guardOne(g *ast.GoStmt) ast.Stmt {
	call := g.Call
	if lit, ok := call.Fun.(*ast.FuncLit); ok && len(lit.Body.List) > 0 {
		if d, ok := lit.Body.List[0].(*ast.DeferStmt); ok {
			if id, ok := d.Call.Fun.(*ast.Ident); ok && id.Name == "__golabGoRecover" {
				return nil // guarded already
			}
		}
	}
	if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok && universe[id.Name] && s.lookup(id.Name) == nil {
		return nil // a builtin cannot be a value
	}
	pos := g.Go
	var lhs, rhs, args []ast.Expr
	fn := identAt(s.hiddenName("go"), pos)
	lhs, rhs = append(lhs, fn), append(rhs, call.Fun)
	for _, a := range call.Args {
		v := identAt(s.hiddenName("go"), pos)
		lhs, rhs = append(lhs, v), append(rhs, a)
		args = append(args, identAt(v.Name, pos))
	}
	inner := &ast.CallExpr{Fun: identAt(fn.Name, pos), Lparen: pos, Args: args, Ellipsis: call.Ellipsis, Rparen: pos}
	body := &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{
		&ast.DeferStmt{Defer: pos, Call: &ast.CallExpr{Fun: identAt("__golabGoRecover", pos), Lparen: pos, Rparen: pos}},
		&ast.ExprStmt{X: inner},
	}, Rbrace: pos}
	lit := &ast.FuncLit{Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}}, Body: body}
	return &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{
		&ast.AssignStmt{Lhs: lhs, TokPos: pos, Tok: token.DEFINE, Rhs: rhs},
		&ast.GoStmt{Go: pos, Call: &ast.CallExpr{Fun: lit, Lparen: pos, Rparen: pos}},
	}, Rbrace: pos}
}
