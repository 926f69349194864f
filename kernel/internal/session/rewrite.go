package session

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"reflect"
	"sort"
)

// rewrite adapts a cell's syntax tree to what yaegi v0.16.1 lacks:
//
//   - the builtins min and max become calls of generic functions of the
//     prelude, arguments ordered so that their type is inferred as Go does;
//     clear becomes a call of a compiled helper;
//   - `for i := range n` over an integer n becomes a counting loop, when
//     the type of n can be told from the cell or the session;
//   - `for x := range f` over a function f declared in a cell becomes a
//     call of f with the loop body as the yield function.
func (s *Session) rewrite(root ast.Node) {
	ast.Inspect(root, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			s.rewriteBuiltin(n)
		case *ast.BlockStmt:
			s.rewriteList(n.List)
		case *ast.CaseClause:
			s.rewriteList(n.Body)
		case *ast.CommClause:
			s.rewriteList(n.Body)
		}
		return true
	})
}

// builtins maps a builtin yaegi lacks to its stand-in.
var builtins = map[string]string{"min": "__golabMin", "max": "__golabMax", "clear": "__golabrt.Clear"}

func (s *Session) rewriteBuiltin(call *ast.CallExpr) {
	id, ok := call.Fun.(*ast.Ident)
	if !ok || id.Obj != nil {
		return
	}
	if e := s.lookup(id.Name); e != nil {
		// gophernotes' global Display: call the display package directly,
		// where yaegi wraps values of cell types for compiled code (the
		// prelude's function would see them as bare interface values).
		if id.Name == "Display" && e.cell == "prelude" && len(call.Args) == 1 {
			call.Fun = selAt("display", "Display", id.Pos())
		}
		return
	}
	to, ok := builtins[id.Name]
	if !ok {
		return
	}
	if id.Name == "clear" {
		call.Fun = selAt("__golabrt", "Clear", id.Pos())
		return
	}
	id.Name = to
	// Non-constant arguments first, then float constants, so that the
	// type parameter is inferred from the operand that fixes the type.
	rank := func(e ast.Expr) int {
		switch basicKind(e) {
		case token.FLOAT:
			return 1
		case token.INT, token.CHAR:
			return 2
		}
		return 0
	}
	sort.SliceStable(call.Args, func(i, j int) bool { return rank(call.Args[i]) < rank(call.Args[j]) })
	// All constants: yaegi cannot infer a type parameter from an untyped
	// constant, so give the first one its default type.
	if len(call.Args) > 0 {
		def := map[token.Token]string{token.INT: "int", token.FLOAT: "float64", token.CHAR: "rune", token.STRING: "string"}
		if t, ok := def[basicKind(call.Args[0])]; ok {
			a := call.Args[0]
			call.Args[0] = &ast.CallExpr{Fun: identAt(t, a.Pos()), Lparen: a.Pos(), Args: []ast.Expr{a}, Rparen: a.End()}
		}
	}
}

// basicKind returns the kind of a literal constant operand, or ILLEGAL.
func basicKind(e ast.Expr) token.Token {
	switch x := ast.Unparen(e).(type) {
	case *ast.BasicLit:
		return x.Kind
	case *ast.UnaryExpr:
		if x.Op == token.SUB || x.Op == token.ADD {
			return basicKind(x.X)
		}
	}
	return token.ILLEGAL
}

// rewriteList replaces, in a statement list, the range loops yaegi cannot
// run by equivalent code.
func (s *Session) rewriteList(list []ast.Stmt) {
	for i, st := range list {
		var label *ast.Ident
		rs, ok := st.(*ast.RangeStmt)
		if ls, isLabel := st.(*ast.LabeledStmt); isLabel {
			rs, ok = ls.Stmt.(*ast.RangeStmt)
			label = ls.Label
		}
		if as, isAssign := st.(*ast.AssignStmt); isAssign {
			if b := splitAssign(as); b != nil {
				list[i] = b
			}
			continue
		}
		if g, isGo := st.(*ast.GoStmt); isGo {
			if b := s.guardGo(g); b != nil {
				list[i] = b
			}
			continue
		}
		if !ok || rs.X == nil {
			continue
		}
		if s.isInt(rs.X) {
			list[i] = s.rangeInt(rs, label)
			continue
		}
		if ft := s.iterFunc(rs.X); ft != nil && label == nil {
			if r := rangeFunc(rs, ft); r != nil {
				list[i] = r
			}
		}
	}
}

var rangeSeq int

// literal reports whether x is nil or a constant made of literals.
func literal(x ast.Expr) bool {
	switch x := ast.Unparen(x).(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return x.Name == "nil" || x.Name == "true" || x.Name == "false"
	case *ast.UnaryExpr:
		return literal(x.X)
	case *ast.BinaryExpr:
		return literal(x.X) && literal(x.Y)
	}
	return false
}

// splitAssign turns `a, b = x, y` into `{ t1 := x; t2 := y; a = t1; b = t2 }`:
// yaegi v0.16.1 drops or crashes on some parallel assignments (with a
// composite literal or nil on the right, `m, d = map[K]V{}, 1` leaves d
// unchanged). Evaluation order is kept: all right-hand values first, left to
// right, then the assignments. Only plain variables on the left are
// handled, for which this is exactly Go's semantics.
func splitAssign(as *ast.AssignStmt) ast.Stmt {
	if as.Tok != token.ASSIGN || len(as.Lhs) < 2 || len(as.Lhs) != len(as.Rhs) {
		return nil
	}
	for _, l := range as.Lhs {
		if _, ok := l.(*ast.Ident); !ok {
			return nil
		}
	}
	rangeSeq++
	pos := as.TokPos
	var tmps, sets []ast.Stmt
	for i, l := range as.Lhs {
		if literal(as.Rhs[i]) {
			// No temporary: it would give an untyped constant its default
			// type, and a literal has no side effect to order.
			sets = append(sets, &ast.AssignStmt{Lhs: []ast.Expr{l}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{as.Rhs[i]}})
			continue
		}
		if l.(*ast.Ident).Name == "_" {
			tmps = append(tmps, &ast.AssignStmt{Lhs: []ast.Expr{identAt("_", pos)}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{as.Rhs[i]}})
			continue
		}
		t := fmt.Sprintf("__golab_a%d_%d", rangeSeq, i)
		tmps = append(tmps, &ast.AssignStmt{Lhs: []ast.Expr{identAt(t, pos)}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{as.Rhs[i]}})
		sets = append(sets, &ast.AssignStmt{Lhs: []ast.Expr{l}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{identAt(t, pos)}})
	}
	return &ast.BlockStmt{Lbrace: as.Pos(), List: append(tmps, sets...), Rbrace: as.End()}
}

// guardGo turns `go f(a, b)` into
// `{ fn, x, y := f, a, b; go func() { defer __golabGoRecover(); fn(x, y) }() }`:
// a panic in a goroutine a cell starts is reported instead of ending the
// kernel, and f and its arguments are still evaluated at the go statement.
func (s *Session) guardGo(g *ast.GoStmt) ast.Stmt {
	call := g.Call
	if lit, ok := call.Fun.(*ast.FuncLit); ok && len(lit.Body.List) > 0 {
		if d, ok := lit.Body.List[0].(*ast.DeferStmt); ok && isIdent(d.Call.Fun, "__golabGoRecover") {
			return nil // guarded already
		}
	}
	if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok && universe[id.Name] && id.Obj == nil && s.lookup(id.Name) == nil {
		return nil // a builtin cannot be a value
	}
	rangeSeq++
	pos := g.Go
	var lhs, rhs, args []ast.Expr
	fn := identAt(fmt.Sprintf("__golab_go%d", rangeSeq), pos)
	lhs, rhs = append(lhs, fn), append(rhs, call.Fun)
	for k, a := range call.Args {
		v := identAt(fmt.Sprintf("__golab_go%d_%d", rangeSeq, k), pos)
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

// rangeInt turns `L: for k := range x { body }` into
// `{ n := x; L: for i := n - n; i < n; i++ { k := i; body } }`: x is
// evaluated once and k is a fresh variable in each iteration, as in Go.
func (s *Session) rangeInt(rs *ast.RangeStmt, label *ast.Ident) ast.Stmt {
	rangeSeq++
	pos := rs.For
	n := identAt(fmt.Sprintf("__golab_n%d", rangeSeq), pos)
	i := identAt(fmt.Sprintf("__golab_i%d", rangeSeq), pos)
	body := rs.Body
	if key, ok := rs.Key.(*ast.Ident); ok && key.Name != "_" {
		set := &ast.AssignStmt{Lhs: []ast.Expr{identAt(key.Name, key.Pos())}, TokPos: pos, Tok: rs.Tok, Rhs: []ast.Expr{identAt(i.Name, pos)}}
		body = &ast.BlockStmt{Lbrace: body.Lbrace, List: append([]ast.Stmt{set}, body.List...), Rbrace: body.Rbrace}
	}
	loop := &ast.ForStmt{
		For:  pos,
		Init: &ast.AssignStmt{Lhs: []ast.Expr{i}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{&ast.BinaryExpr{X: identAt(n.Name, pos), OpPos: pos, Op: token.SUB, Y: identAt(n.Name, pos)}}},
		Cond: &ast.BinaryExpr{X: identAt(i.Name, pos), OpPos: pos, Op: token.LSS, Y: identAt(n.Name, pos)},
		Post: &ast.IncDecStmt{X: identAt(i.Name, pos), TokPos: pos, Tok: token.INC},
		Body: body,
	}
	var inner ast.Stmt = loop
	if label != nil {
		inner = &ast.LabeledStmt{Label: label, Colon: pos, Stmt: loop}
	}
	return &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{
		&ast.AssignStmt{Lhs: []ast.Expr{n}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{rs.X}},
		inner,
	}, Rbrace: pos}
}

// intTypes are the predeclared integer types.
var intTypes = map[string]bool{
	"int": true, "int8": true, "int16": true, "int32": true, "int64": true, "rune": true,
	"uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true, "uintptr": true, "byte": true,
}

// isInt reports whether x is an integer, as far as the cell and the
// session tell; false when unknown.
func (s *Session) isInt(x ast.Expr) bool {
	switch x := ast.Unparen(x).(type) {
	case *ast.BasicLit:
		return x.Kind == token.INT || x.Kind == token.CHAR
	case *ast.UnaryExpr:
		return (x.Op == token.SUB || x.Op == token.ADD || x.Op == token.XOR) && s.isInt(x.X)
	case *ast.BinaryExpr:
		switch x.Op {
		case token.SHL, token.SHR:
			return s.isInt(x.X)
		case token.ADD, token.SUB, token.MUL, token.QUO, token.REM, token.AND, token.OR, token.XOR, token.AND_NOT:
			return s.isInt(x.X) && s.isInt(x.Y) ||
				s.isInt(x.X) && basicKind(x.Y) != token.ILLEGAL && basicKind(x.Y) != token.FLOAT ||
				s.isInt(x.Y) && basicKind(x.X) != token.ILLEGAL && basicKind(x.X) != token.FLOAT
		}
	case *ast.CallExpr:
		switch f := ast.Unparen(x.Fun).(type) {
		case *ast.Ident:
			if f.Obj == nil && s.lookup(f.Name) == nil && (f.Name == "len" || f.Name == "cap" || intTypes[f.Name]) {
				return true
			}
			if e := s.lookup(f.Name); e != nil && f.Obj == nil {
				if fd, ok := e.decl.(*ast.FuncDecl); ok && fieldCount(fd.Type.Results) == 1 {
					return isIntType(fd.Type.Results.List[0].Type)
				}
			}
		case *ast.SelectorExpr:
			if sym, ok := s.boundSymbol(f); ok && sym.Kind() == reflect.Func && sym.Type().NumOut() == 1 {
				return isIntKind(sym.Type().Out(0).Kind())
			}
		}
	case *ast.Ident:
		if x.Obj != nil {
			return s.isIntObj(x)
		}
		if e := s.lookup(x.Name); e != nil && (e.kind == kindVar || e.kind == kindConst) {
			if t, _, err := s.probe(x.Name, false); err == nil {
				return isIntKind(t.Kind())
			}
		}
	case *ast.SelectorExpr:
		if sym, ok := s.boundSymbol(x); ok {
			if sym.CanInterface() {
				if c, isConst := sym.Interface().(constant.Value); isConst {
					return c.Kind() == constant.Int
				}
			}
			return isIntKind(sym.Kind()) || (sym.Kind() == reflect.Ptr && !sym.IsNil() && isIntKind(sym.Elem().Kind()))
		}
		if root := rootIdent(x); root != nil && root.Obj == nil {
			if e := s.lookup(root.Name); e != nil && e.kind == kindVar {
				if t, _, err := s.probe(printNode(x), false); err == nil {
					return isIntKind(t.Kind())
				}
			}
		}
	}
	return false
}

// isIntObj reports whether a name declared in the cell is an integer.
func (s *Session) isIntObj(id *ast.Ident) bool {
	switch d := id.Obj.Decl.(type) {
	case *ast.Field:
		return isIntType(d.Type)
	case *ast.ValueSpec:
		if d.Type != nil {
			return isIntType(d.Type)
		}
		for i, n := range d.Names {
			if n.Name == id.Name && i < len(d.Values) {
				return s.isInt(d.Values[i])
			}
		}
	case *ast.AssignStmt:
		if len(d.Lhs) == len(d.Rhs) {
			for i, l := range d.Lhs {
				if l, ok := l.(*ast.Ident); ok && l.Name == id.Name {
					return s.isInt(d.Rhs[i])
				}
			}
		}
	}
	return false
}

func isIntType(t ast.Expr) bool {
	id, ok := t.(*ast.Ident)
	return ok && intTypes[id.Name]
}

func isIntKind(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Uintptr
}

func rootIdent(x ast.Expr) *ast.Ident {
	for {
		switch e := x.(type) {
		case *ast.Ident:
			return e
		case *ast.SelectorExpr:
			x = e.X
		default:
			return nil
		}
	}
}

// boundSymbol resolves pkg.Name to a symbol of a bound package imported in
// the session.
func (s *Session) boundSymbol(x *ast.SelectorExpr) (reflect.Value, bool) {
	pkg, ok := x.X.(*ast.Ident)
	if !ok || pkg.Obj != nil || s.lookup(pkg.Name) != nil {
		return reflect.Value{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.imports[pkg.Name]
	if !ok {
		return reflect.Value{}, false
	}
	sym, ok := s.symbols[p][x.Sel.Name]
	return sym, ok && sym.IsValid()
}

// iterFunc returns the type of x when x is an iterator function declared
// in a cell: func(yield func(K[, V]) bool), or a call of a function that
// returns one.
func (s *Session) iterFunc(x ast.Expr) *ast.FuncType {
	var ft *ast.FuncType
	switch x := ast.Unparen(x).(type) {
	case *ast.Ident:
		if x.Obj != nil {
			return nil
		}
		if e := s.lookup(x.Name); e != nil {
			if fd, ok := e.decl.(*ast.FuncDecl); ok && fd.Type.TypeParams == nil {
				ft = fd.Type
			}
		}
	case *ast.CallExpr:
		id, ok := ast.Unparen(x.Fun).(*ast.Ident)
		if !ok || id.Obj != nil {
			return nil
		}
		if e := s.lookup(id.Name); e != nil {
			if fd, ok := e.decl.(*ast.FuncDecl); ok && fd.Type.TypeParams == nil && fieldCount(fd.Type.Results) == 1 {
				ft, _ = fd.Type.Results.List[0].Type.(*ast.FuncType)
			}
		}
	}
	if ft == nil || fieldCount(ft.Params) != 1 || fieldCount(ft.Results) != 0 {
		return nil
	}
	yield, ok := ft.Params.List[0].Type.(*ast.FuncType)
	if !ok || fieldCount(yield.Results) != 1 || !isIdent(yield.Results.List[0].Type, "bool") || fieldCount(yield.Params) > 2 {
		return nil
	}
	return yield
}

func isIdent(x ast.Expr, name string) bool {
	id, ok := x.(*ast.Ident)
	return ok && id.Name == name
}

// rangeFunc turns `for k, v := range seq { body }` into
// `seq(func(k K, v V) bool { body; return true })`, with continue as
// `return true` and break as `return false`. Loops whose body returns,
// jumps with goto or to a label, or assigns to outer variables with = in
// the range clause are left alone (and yaegi reports them).
func rangeFunc(rs *ast.RangeStmt, yield *ast.FuncType) ast.Stmt {
	if rs.Tok == token.ASSIGN || !simpleBody(rs.Body) {
		return nil
	}
	pos := rs.For
	var params []*ast.Field
	types := yieldTypes(yield)
	for i, v := range []ast.Expr{rs.Key, rs.Value} {
		if i >= len(types) {
			break
		}
		name := "_"
		if id, ok := v.(*ast.Ident); ok {
			name = id.Name
		}
		params = append(params, &ast.Field{Names: []*ast.Ident{identAt(name, pos)}, Type: types[i]})
	}
	body := replaceBranches(rs.Body)
	body.List = append(body.List, &ast.ReturnStmt{Return: pos, Results: []ast.Expr{identAt("true", pos)}})
	fn := &ast.FuncLit{Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, List: params, Closing: pos},
		Results: &ast.FieldList{List: []*ast.Field{{Type: identAt("bool", pos)}}}}, Body: body}
	return &ast.ExprStmt{X: &ast.CallExpr{Fun: rs.X, Lparen: pos, Args: []ast.Expr{fn}, Rparen: pos}}
}

func yieldTypes(yield *ast.FuncType) []ast.Expr {
	var out []ast.Expr
	for _, f := range yield.Params.List {
		n := len(f.Names)
		if n == 0 {
			n = 1
		}
		for i := 0; i < n; i++ {
			out = append(out, f.Type)
		}
	}
	return out
}

// simpleBody reports whether a loop body can become a yield function: no
// return, goto or labeled branch.
func simpleBody(b *ast.BlockStmt) bool {
	ok := true
	ast.Inspect(b, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			ok = false
		case *ast.BranchStmt:
			if n.Tok == token.GOTO || n.Label != nil {
				ok = false
			}
		}
		return ok
	})
	return ok
}

// replaceBranches turns the break and continue statements that belong to
// the loop itself into returns of the yield function.
func replaceBranches(b *ast.BlockStmt) *ast.BlockStmt {
	var walk func(list []ast.Stmt, inLoop, inSwitch bool)
	fix := func(st ast.Stmt, inLoop, inSwitch bool) ast.Stmt {
		br, ok := st.(*ast.BranchStmt)
		if !ok || br.Label != nil {
			return st
		}
		if br.Tok == token.CONTINUE && !inLoop {
			return &ast.ReturnStmt{Return: br.TokPos, Results: []ast.Expr{identAt("true", br.TokPos)}}
		}
		if br.Tok == token.BREAK && !inLoop && !inSwitch {
			return &ast.ReturnStmt{Return: br.TokPos, Results: []ast.Expr{identAt("false", br.TokPos)}}
		}
		return st
	}
	var visit func(st ast.Stmt, inLoop, inSwitch bool)
	visit = func(st ast.Stmt, inLoop, inSwitch bool) {
		switch x := st.(type) {
		case *ast.BlockStmt:
			walk(x.List, inLoop, inSwitch)
		case *ast.IfStmt:
			walk(x.Body.List, inLoop, inSwitch)
			if x.Else != nil {
				if e := fix(x.Else, inLoop, inSwitch); e != x.Else {
					x.Else = e
				}
				visit(x.Else, inLoop, inSwitch)
			}
		case *ast.ForStmt:
			walk(x.Body.List, true, inSwitch)
		case *ast.RangeStmt:
			walk(x.Body.List, true, inSwitch)
		case *ast.SwitchStmt:
			for _, c := range x.Body.List {
				walk(c.(*ast.CaseClause).Body, inLoop, true)
			}
		case *ast.TypeSwitchStmt:
			for _, c := range x.Body.List {
				walk(c.(*ast.CaseClause).Body, inLoop, true)
			}
		case *ast.SelectStmt:
			for _, c := range x.Body.List {
				walk(c.(*ast.CommClause).Body, inLoop, true)
			}
		case *ast.LabeledStmt:
			visit(x.Stmt, inLoop, inSwitch)
		}
	}
	walk = func(list []ast.Stmt, inLoop, inSwitch bool) {
		for i, st := range list {
			list[i] = fix(st, inLoop, inSwitch)
			visit(list[i], inLoop, inSwitch)
		}
	}
	walk(b.List, false, false)
	return b
}
