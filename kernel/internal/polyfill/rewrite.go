package polyfill

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"reflect"
	"strconv"
)

// Rewriter turns type-checked Go into the Go that yaegi v0.16.1 runs the
// same way:
//
//   - calls of generic functions get their type arguments written out
//     (yaegi infers none through S ~[]E, iter.Seq[E] or two type
//     parameters);
//   - min and max become constants when Go makes them constants, calls of
//     generic stand-ins otherwise; clear becomes a call of a compiled
//     helper;
//   - `for i := range n` over an integer becomes a counting loop;
//   - `for k, v := range seq` over a function becomes a call of seq with
//     the loop body as its yield function, break, continue, return and
//     labelled branches included;
//   - `a, b = x, y` goes through temporaries (yaegi drops or crashes on
//     some parallel assignments);
//   - each iteration of a loop gets its own loop variables, as in Go 1.22
//     (yaegi shares them).
type Rewriter struct {
	Info *types.Info
	// Type writes a type as syntax the interpreter resolves at pos.
	Type func(t types.Type, pos token.Pos) (ast.Expr, error)
	// Min, Max and Clear name the stand-ins of the builtins: generic
	// functions Min[T](x T, y ...T) T, Max likewise, and a selector
	// (pkg, name) of a compiled func(any).
	Min, Max  string
	ClearPkg  string
	ClearFunc string
	seq       int
	err       error
	funcs     []*types.Signature // enclosing functions, innermost last
}

// Rewrite rewrites root in place. It returns the first construct it could
// not rewrite, as an error whose message starts with the position.
func (r *Rewriter) Rewrite(root ast.Node) error {
	r.err = nil
	r.exprs(root)
	r.walk(root)
	return r.err
}

func (r *Rewriter) fail(pos token.Pos, format string, args ...any) {
	if r.err == nil {
		r.err = &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
	}
}

// Error is a construct the rewriter cannot express for the interpreter.
type Error struct {
	Pos token.Pos
	Msg string
}

func (e *Error) Error() string { return e.Msg }

func (r *Rewriter) name(prefix string) string {
	r.seq++
	return fmt.Sprintf("__golab_%s%d", prefix, r.seq)
}

func ident(name string, pos token.Pos) *ast.Ident { return &ast.Ident{NamePos: pos, Name: name} }

// ---- expressions -------------------------------------------------------

// exprs rewrites generic calls and builtins everywhere under root.
func (r *Rewriter) exprs(root ast.Node) {
	replace(root, func(e ast.Expr, inIndex bool) ast.Expr {
		switch x := e.(type) {
		case *ast.Ident:
			if !inIndex {
				return r.instantiate(x, x)
			}
		case *ast.SelectorExpr:
			if !inIndex {
				return r.instantiate(x, x.Sel)
			}
		case *ast.CallExpr:
			return r.builtin(x)
		}
		return e
	})
}

// instantiate writes out the type arguments of a generic function the
// checker inferred.
func (r *Rewriter) instantiate(e ast.Expr, id *ast.Ident) ast.Expr {
	inst, ok := r.Info.Instances[id]
	if !ok || inst.TypeArgs.Len() == 0 {
		return e
	}
	if _, isFunc := r.Info.Uses[id].(*types.Func); !isFunc {
		return e // a generic type: Go requires its arguments already
	}
	var args []ast.Expr
	for i := 0; i < inst.TypeArgs.Len(); i++ {
		a, err := r.Type(inst.TypeArgs.At(i), id.Pos())
		if err != nil {
			// yaegi may still infer it.
			return e
		}
		args = append(args, a)
	}
	return &ast.IndexListExpr{X: e, Lbrack: id.End(), Indices: args, Rbrack: id.End()}
}

// builtin rewrites min, max and clear.
func (r *Rewriter) builtin(call *ast.CallExpr) ast.Expr {
	id, ok := ast.Unparen(call.Fun).(*ast.Ident)
	if !ok {
		return call
	}
	b, ok := r.Info.Uses[id].(*types.Builtin)
	if !ok {
		return call
	}
	pos := call.Pos()
	switch b.Name() {
	case "clear":
		return &ast.CallExpr{Fun: &ast.SelectorExpr{X: ident(r.ClearPkg, pos), Sel: ident(r.ClearFunc, pos)}, Lparen: call.Lparen, Args: call.Args, Rparen: call.Rparen}
	case "min", "max":
		tv := r.Info.Types[call]
		if tv.Value != nil {
			return constExpr(tv, pos, r)
		}
		t, err := r.Type(tv.Type, pos)
		if err != nil {
			r.fail(pos, "%s of %s: %v", b.Name(), tv.Type, err)
			return call
		}
		fn := r.Min
		if b.Name() == "max" {
			fn = r.Max
		}
		return &ast.CallExpr{Fun: &ast.IndexExpr{X: ident(fn, pos), Lbrack: pos, Index: t, Rbrack: pos}, Lparen: call.Lparen, Args: call.Args, Rparen: call.Rparen}
	}
	return call
}

// constExpr writes a constant, converted to its type when it has one.
func constExpr(tv types.TypeAndValue, pos token.Pos, r *Rewriter) ast.Expr {
	var lit ast.Expr
	v := tv.Value
	switch v.Kind() {
	case constant.String:
		lit = &ast.BasicLit{ValuePos: pos, Kind: token.STRING, Value: strconv.Quote(constant.StringVal(v))}
	case constant.Int:
		lit = &ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: v.ExactString()}
	case constant.Float:
		if f, exact := constant.Float64Val(v); exact || true {
			lit = &ast.BasicLit{ValuePos: pos, Kind: token.FLOAT, Value: strconv.FormatFloat(f, 'g', -1, 64)}
			if f == float64(int64(f)) && !containsAny(lit.(*ast.BasicLit).Value, ".eE") {
				lit.(*ast.BasicLit).Value += ".0"
			}
		}
	default:
		lit = &ast.BasicLit{ValuePos: pos, Kind: token.STRING, Value: strconv.Quote(v.ExactString())}
	}
	if b, ok := tv.Type.(*types.Basic); ok && b.Info()&types.IsUntyped != 0 {
		return &ast.ParenExpr{Lparen: pos, X: lit, Rparen: pos}
	}
	t, err := r.Type(tv.Type, pos)
	if err != nil {
		return lit
	}
	return &ast.CallExpr{Fun: t, Lparen: pos, Args: []ast.Expr{lit}, Rparen: pos}
}

func containsAny(s, chars string) bool {
	for _, c := range chars {
		for _, d := range s {
			if c == d {
				return true
			}
		}
	}
	return false
}

var (
	exprType     = reflect.TypeOf((*ast.Expr)(nil)).Elem()
	exprListType = reflect.TypeOf([]ast.Expr(nil))
	nodeType     = reflect.TypeOf((*ast.Node)(nil)).Elem()
)

// replace walks the syntax tree under root, children first, and replaces
// each expression e by f(e). inIndex tells whether e is the operand of an
// index expression (where a generic function already has its arguments).
func replace(root ast.Node, f func(e ast.Expr, inIndex bool) ast.Expr) {
	var walk func(v reflect.Value, inIndex bool)
	walk = func(v reflect.Value, inIndex bool) {
		switch v.Kind() {
		case reflect.Ptr:
			if v.IsNil() {
				return
			}
			if _, isObj := v.Interface().(*ast.Object); isObj {
				return
			}
			if _, isScope := v.Interface().(*ast.Scope); isScope {
				return
			}
			walk(v.Elem(), inIndex)
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), inIndex)
			}
		case reflect.Struct:
			_, isIndex := v.Addr().Interface().(*ast.IndexExpr)
			_, isIndexList := v.Addr().Interface().(*ast.IndexListExpr)
			for i := 0; i < v.NumField(); i++ {
				fv := v.Field(i)
				first := v.Type().Field(i).Name == "X" && (isIndex || isIndexList)
				switch {
				case fv.Type() == exprType:
					if fv.IsNil() {
						continue
					}
					walk(fv, false)
					fv.Set(reflect.ValueOf(f(fv.Interface().(ast.Expr), first)))
				case fv.Type() == exprListType:
					for j := 0; j < fv.Len(); j++ {
						walk(fv.Index(j), false)
						fv.Index(j).Set(reflect.ValueOf(f(fv.Index(j).Interface().(ast.Expr), false)))
					}
				case fv.Kind() == reflect.Ptr || fv.Kind() == reflect.Interface || fv.Kind() == reflect.Slice:
					if fv.Kind() == reflect.Slice {
						for j := 0; j < fv.Len(); j++ {
							walk(fv.Index(j), false)
						}
						continue
					}
					if fv.Type().Implements(nodeType) || fv.Kind() == reflect.Interface {
						walk(fv, false)
					}
				}
			}
		}
	}
	walk(reflect.ValueOf(root), false)
}

// ---- statements --------------------------------------------------------

// walk rewrites the statements under n, innermost first.
func (r *Rewriter) walk(n ast.Node) {
	switch x := n.(type) {
	case *ast.File:
		for _, d := range x.Decls {
			r.walk(d)
		}
	case *ast.FuncDecl:
		if x.Body == nil {
			return
		}
		var sig *types.Signature
		if obj := r.Info.Defs[x.Name]; obj != nil {
			sig, _ = obj.Type().(*types.Signature)
		}
		r.inFunc(sig, x.Body)
	case *ast.BlockStmt:
		r.inFunc(nil, x)
	default:
		r.lits(n)
	}
}

// inFunc rewrites a function body; sig is the function's signature (nil
// for a block of statements not in a function).
func (r *Rewriter) inFunc(sig *types.Signature, body *ast.BlockStmt) {
	r.funcs = append(r.funcs, sig)
	defer func() { r.funcs = r.funcs[:len(r.funcs)-1] }()
	body.List = r.list(body.List)
}

// lits rewrites the bodies of the function literals in expressions.
func (r *Rewriter) lits(nodes ...ast.Node) {
	for _, n := range nodes {
		if n == nil || reflect.ValueOf(n).IsNil() {
			continue
		}
		ast.Inspect(n, func(m ast.Node) bool {
			if lit, ok := m.(*ast.FuncLit); ok {
				sig, _ := r.Info.Types[lit].Type.(*types.Signature)
				r.inFunc(sig, lit.Body)
				return false
			}
			return true
		})
	}
}

func exprNodes(list []ast.Expr) []ast.Node {
	out := make([]ast.Node, len(list))
	for i, e := range list {
		out[i] = e
	}
	return out
}

// list rewrites a statement list.
func (r *Rewriter) list(list []ast.Stmt) []ast.Stmt {
	for i, st := range list {
		list[i] = r.stmt(st)
	}
	return list
}

// stmt rewrites one statement and the statements it contains.
func (r *Rewriter) stmt(st ast.Stmt) ast.Stmt {
	if st == nil {
		return nil
	}
	switch x := st.(type) {
	case *ast.ExprStmt:
		r.lits(x.X)
	case *ast.SendStmt:
		r.lits(x.Chan, x.Value)
	case *ast.IncDecStmt:
		r.lits(x.X)
	case *ast.AssignStmt:
		r.lits(exprNodes(x.Lhs)...)
		r.lits(exprNodes(x.Rhs)...)
		if b := r.splitAssign(x); b != nil {
			return b
		}
	case *ast.GoStmt:
		r.lits(x.Call)
	case *ast.DeferStmt:
		r.lits(x.Call)
	case *ast.ReturnStmt:
		r.lits(exprNodes(x.Results)...)
	case *ast.DeclStmt:
		r.lits(x.Decl)
	case *ast.BlockStmt:
		x.List = r.list(x.List)
	case *ast.LabeledStmt:
		if rs, ok := x.Stmt.(*ast.RangeStmt); ok {
			r.lits(rs.X)
			return r.rangeStmt(rs, x.Label)
		}
		x.Stmt = r.stmt(x.Stmt)
	case *ast.IfStmt:
		x.Init = r.stmt(x.Init)
		r.lits(x.Cond)
		x.Body.List = r.list(x.Body.List)
		if x.Else != nil {
			x.Else = r.stmt(x.Else)
		}
	case *ast.ForStmt:
		x.Init = r.stmt(x.Init)
		r.lits(x.Cond)
		x.Post = r.stmt(x.Post)
		x.Body.List = r.list(x.Body.List)
		if init, ok := x.Init.(*ast.AssignStmt); ok && init.Tok == token.DEFINE {
			r.perIteration(x.Body, init.Lhs, false)
		}
	case *ast.RangeStmt:
		r.lits(x.X)
		return r.rangeStmt(x, nil)
	case *ast.SwitchStmt:
		x.Init = r.stmt(x.Init)
		r.lits(x.Tag)
		for _, c := range x.Body.List {
			cc := c.(*ast.CaseClause)
			r.lits(exprNodes(cc.List)...)
			cc.Body = r.list(cc.Body)
		}
	case *ast.TypeSwitchStmt:
		x.Init = r.stmt(x.Init)
		x.Assign = r.stmt(x.Assign)
		for _, c := range x.Body.List {
			cc := c.(*ast.CaseClause)
			cc.Body = r.list(cc.Body)
		}
	case *ast.SelectStmt:
		for _, c := range x.Body.List {
			cc := c.(*ast.CommClause)
			cc.Comm = r.stmt(cc.Comm)
			cc.Body = r.list(cc.Body)
		}
	}
	return st
}

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
// yaegi drops or crashes on some parallel assignments (`m, d =
// map[K]V{}, 1` leaves d unchanged). Go's order is kept: all right-hand
// values first, left to right, then the assignments. Only plain variables
// on the left are handled, for which this is exactly Go's semantics.
func (r *Rewriter) splitAssign(as *ast.AssignStmt) ast.Stmt {
	if as.Tok != token.ASSIGN || len(as.Lhs) < 2 || len(as.Lhs) != len(as.Rhs) {
		return nil
	}
	for _, l := range as.Lhs {
		if _, ok := l.(*ast.Ident); !ok {
			return nil
		}
	}
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
			tmps = append(tmps, &ast.AssignStmt{Lhs: []ast.Expr{ident("_", pos)}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{as.Rhs[i]}})
			continue
		}
		t := r.name("a")
		tmps = append(tmps, &ast.AssignStmt{Lhs: []ast.Expr{ident(t, pos)}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{as.Rhs[i]}})
		sets = append(sets, &ast.AssignStmt{Lhs: []ast.Expr{l}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{ident(t, pos)}})
	}
	return &ast.BlockStmt{Lbrace: as.Pos(), List: append(tmps, sets...), Rbrace: as.End()}
}

// rangeStmt rewrites a range loop over an integer or a function; its body
// is rewritten first.
func (r *Rewriter) rangeStmt(rs *ast.RangeStmt, label *ast.Ident) ast.Stmt {
	rs.Body.List = r.list(rs.Body.List)
	labeled := func(s ast.Stmt) ast.Stmt {
		if label == nil {
			return s
		}
		return &ast.LabeledStmt{Label: label, Colon: rs.For, Stmt: s}
	}
	if rs.X == nil {
		return labeled(rs)
	}
	t := r.Info.Types[rs.X].Type
	if t == nil {
		return labeled(rs)
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		if u.Info()&types.IsInteger != 0 {
			return r.rangeInt(rs, label)
		}
	case *types.Signature:
		return r.rangeFunc(rs, label, u)
	}
	if rs.Tok == token.DEFINE {
		r.perIteration(rs.Body, []ast.Expr{rs.Key, rs.Value}, true)
	}
	return labeled(rs)
}

// perIteration gives each iteration of a loop its own copy of the loop's
// variables, as Go does since 1.22 (yaegi shares one across iterations,
// so that closures made in the loop all see its last value): the body
// starts with `v := v`. It does so only where a copy can be told apart: a
// function literal, a go statement or an address taken in the body. In a
// three-clause loop whose body assigns a variable, that variable is left
// shared (the assignment must reach the next iteration).
func (r *Rewriter) perIteration(body *ast.BlockStmt, vars []ast.Expr, isRange bool) {
	names := map[string]bool{}
	for _, v := range vars {
		if id, ok := v.(*ast.Ident); ok && id != nil && id.Name != "_" {
			names[id.Name] = true
		}
	}
	if len(names) == 0 || !capturesIn(body) {
		return
	}
	if !isRange {
		for n := range assignedIn(body) {
			delete(names, n)
		}
	}
	var copies []ast.Stmt
	for _, v := range vars {
		id, ok := v.(*ast.Ident)
		if !ok || id == nil || !names[id.Name] {
			continue
		}
		pos := body.Lbrace
		copies = append(copies, &ast.AssignStmt{Lhs: []ast.Expr{ident(id.Name, pos)}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{ident(id.Name, pos)}},
			&ast.AssignStmt{Lhs: []ast.Expr{ident("_", pos)}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{ident(id.Name, pos)}})
	}
	body.List = append(copies, body.List...)
}

// capturesIn reports whether a loop body can keep a reference to the loop's
// variables beyond an iteration: a function literal, a go statement or an
// address taken.
func capturesIn(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncLit, *ast.GoStmt:
			found = true
		case *ast.UnaryExpr:
			if x.Op == token.AND {
				found = true
			}
		}
		return !found
	})
	return found
}

// assignedIn lists the names assigned (=, op=, ++, --) in a loop body.
func assignedIn(body *ast.BlockStmt) map[string]bool {
	out := map[string]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.AssignStmt:
			if x.Tok != token.DEFINE {
				for _, l := range x.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						out[id.Name] = true
					}
				}
			}
		case *ast.IncDecStmt:
			if id, ok := x.X.(*ast.Ident); ok {
				out[id.Name] = true
			}
		}
		return true
	})
	return out
}

// rangeInt turns `L: for k := range x { body }` into
// `{ n := x; L: for i := n - n; i < n; i++ { k := i; body } }`: x is
// evaluated once and k is a fresh variable in each iteration, as in Go.
func (r *Rewriter) rangeInt(rs *ast.RangeStmt, label *ast.Ident) ast.Stmt {
	pos := rs.For
	n := ident(r.name("n"), pos)
	i := ident(r.name("i"), pos)
	body := rs.Body
	if rs.Key != nil && !isBlank(rs.Key) {
		set := &ast.AssignStmt{Lhs: []ast.Expr{rs.Key}, TokPos: pos, Tok: rs.Tok, Rhs: []ast.Expr{ident(i.Name, pos)}}
		body = &ast.BlockStmt{Lbrace: body.Lbrace, List: append([]ast.Stmt{set}, body.List...), Rbrace: body.Rbrace}
	}
	x := rs.X
	if tv := r.Info.Types[rs.X]; tv.Value != nil {
		// An untyped constant takes the type of the loop variable, int
		// when it has none.
		t := tv.Type
		if rs.Key != nil && !isBlank(rs.Key) {
			if kt := r.Info.TypeOf(rs.Key); kt != nil {
				t = kt
			}
		}
		if b, ok := t.(*types.Basic); ok && b.Info()&types.IsUntyped != 0 {
			t = types.Typ[types.Int]
		}
		x = constExpr(types.TypeAndValue{Type: t, Value: tv.Value}, pos, r)
	}
	loop := &ast.ForStmt{
		For:  pos,
		Init: &ast.AssignStmt{Lhs: []ast.Expr{i}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{&ast.BinaryExpr{X: ident(n.Name, pos), OpPos: pos, Op: token.SUB, Y: ident(n.Name, pos)}}},
		Cond: &ast.BinaryExpr{X: ident(i.Name, pos), OpPos: pos, Op: token.LSS, Y: ident(n.Name, pos)},
		Post: &ast.IncDecStmt{X: ident(i.Name, pos), TokPos: pos, Tok: token.INC},
		Body: body,
	}
	var inner ast.Stmt = loop
	if label != nil {
		inner = &ast.LabeledStmt{Label: label, Colon: pos, Stmt: loop}
	}
	return &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{
		&ast.AssignStmt{Lhs: []ast.Expr{n}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{x}},
		inner,
	}, Rbrace: pos}
}

func isBlank(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "_"
}

// rangeFunc turns `L: for k, v := range seq { body }` into
//
//	{
//		var r0 R0 ...; ret := false; jump := 0
//		seq(func(k K, v V) bool { body; return true })
//		if ret { return r0 ... }
//		if jump == 1 { break M } ...
//	}
//
// where, in body, continue (of this loop) is `return true`, break is
// `return false`, return sets the results and ret, and a break or continue
// of an outer loop sets jump. A goto out of the body, or a defer in it,
// has no equivalent: the loop is refused with an error.
func (r *Rewriter) rangeFunc(rs *ast.RangeStmt, label *ast.Ident, sig *types.Signature) ast.Stmt {
	pos := rs.For
	if sig.Params().Len() != 1 || sig.Results().Len() != 0 {
		return rs
	}
	yield, ok := sig.Params().At(0).Type().Underlying().(*types.Signature)
	if !ok || yield.Results().Len() != 1 {
		return rs
	}
	// Parameters of the yield function: the loop's variables, or fresh
	// names assigned to them when the loop assigns with =.
	var params []*ast.Field
	var assigns []ast.Expr
	var assignTo []ast.Expr
	for i, v := range []ast.Expr{rs.Key, rs.Value} {
		if i >= yield.Params().Len() {
			break
		}
		t, err := r.Type(yield.Params().At(i).Type(), pos)
		if err != nil {
			r.fail(pos, "range over %s: the interpreter cannot name the type of its values (%v); call the iterator with a func literal instead", r.Info.Types[rs.X].Type, err)
			return rs
		}
		name := "_"
		if id, ok := v.(*ast.Ident); ok && v != nil {
			name = id.Name
		}
		if rs.Tok == token.ASSIGN && v != nil && !isBlank(v) {
			tmp := r.name("y")
			assigns = append(assigns, ident(tmp, pos))
			assignTo = append(assignTo, v)
			name = tmp
		}
		params = append(params, &ast.Field{Names: []*ast.Ident{ident(name, pos)}, Type: t})
	}
	for i := len(params); i < yield.Params().Len(); i++ {
		t, err := r.Type(yield.Params().At(i).Type(), pos)
		if err != nil {
			r.fail(pos, "range over %s: %v", r.Info.Types[rs.X].Type, err)
			return rs
		}
		params = append(params, &ast.Field{Names: []*ast.Ident{ident("_", pos)}, Type: t})
	}

	st := &rangeFuncState{r: r, label: label, pos: pos}
	if len(r.funcs) > 0 {
		st.sig = r.funcs[len(r.funcs)-1]
	}
	body := rs.Body
	body.List = st.list(body.List, false, false)
	if r.err != nil {
		return rs
	}
	if len(assigns) > 0 {
		body.List = append([]ast.Stmt{&ast.AssignStmt{Lhs: assignTo, TokPos: pos, Tok: token.ASSIGN, Rhs: assigns}}, body.List...)
	}
	body.List = append(body.List, &ast.ReturnStmt{Return: pos, Results: []ast.Expr{ident("true", pos)}})
	fn := &ast.FuncLit{Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, List: params, Closing: pos},
		Results: &ast.FieldList{List: []*ast.Field{{Type: ident("bool", pos)}}}}, Body: body}

	var out []ast.Stmt
	out = append(out, st.decls...)
	out = append(out, &ast.ExprStmt{X: &ast.CallExpr{Fun: rs.X, Lparen: pos, Args: []ast.Expr{fn}, Rparen: pos}})
	if st.ret != "" {
		var results []ast.Expr
		for _, n := range st.results {
			results = append(results, ident(n, pos))
		}
		out = append(out, &ast.IfStmt{If: pos, Cond: ident(st.ret, pos), Body: &ast.BlockStmt{Lbrace: pos,
			List: []ast.Stmt{&ast.ReturnStmt{Return: pos, Results: results}}, Rbrace: pos}})
	}
	for i, j := range st.jumps {
		out = append(out, &ast.IfStmt{If: pos,
			Cond: &ast.BinaryExpr{X: ident(st.jump, pos), OpPos: pos, Op: token.EQL, Y: &ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: strconv.Itoa(i + 1)}},
			Body: &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{&ast.BranchStmt{TokPos: pos, Tok: j.tok, Label: ident(j.label, pos)}}, Rbrace: pos}})
	}
	return &ast.BlockStmt{Lbrace: pos, List: out, Rbrace: rs.End()}
}

// rangeFuncState carries what the rewrite of one range-over-func body
// needs: the variables it declares before the call.
type rangeFuncState struct {
	r       *Rewriter
	label   *ast.Ident
	pos     token.Pos
	sig     *types.Signature
	decls   []ast.Stmt
	ret     string   // name of the "returned" flag, once needed
	results []string // names holding the results
	jump    string   // name of the outer-jump code, once needed
	jumps   []jumpTarget
	// innerLabels are the labels declared inside the body.
	innerLabels []string
}

func (st *rangeFuncState) inner(label string) bool {
	for _, l := range st.innerLabels {
		if l == label {
			return true
		}
	}
	return false
}

// ret_ rewrites a return of the enclosing function, from inside the body.
func (st *rangeFuncState) ret_(x *ast.ReturnStmt) ast.Stmt {
	pos := x.Pos()
	named := st.sig != nil && st.sig.Results().Len() > 0 && st.sig.Results().At(0).Name() != ""
	if st.ret == "" {
		st.ret = st.r.name("ret")
		st.decls = append(st.decls, &ast.AssignStmt{Lhs: []ast.Expr{ident(st.ret, pos)}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{ident("false", pos)}})
		if st.sig != nil && !named {
			for i := 0; i < st.sig.Results().Len(); i++ {
				t, err := st.r.Type(st.sig.Results().At(i).Type(), pos)
				if err != nil {
					st.r.fail(pos, "return inside a range loop over a function: %v", err)
					return x
				}
				n := st.r.name("r")
				st.results = append(st.results, n)
				st.decls = append(st.decls, &ast.DeclStmt{Decl: &ast.GenDecl{TokPos: pos, Tok: token.VAR,
					Specs: []ast.Spec{&ast.ValueSpec{Names: []*ast.Ident{ident(n, pos)}, Type: t}}}})
			}
		}
	}
	var list []ast.Stmt
	if len(x.Results) > 0 {
		var lhs []ast.Expr
		if named {
			for i := 0; i < st.sig.Results().Len(); i++ {
				lhs = append(lhs, ident(st.sig.Results().At(i).Name(), pos))
			}
		} else {
			for _, n := range st.results {
				lhs = append(lhs, ident(n, pos))
			}
		}
		list = append(list, &ast.AssignStmt{Lhs: lhs, TokPos: pos, Tok: token.ASSIGN, Rhs: x.Results})
	}
	list = append(list,
		&ast.AssignStmt{Lhs: []ast.Expr{ident(st.ret, pos)}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{ident("true", pos)}},
		&ast.ReturnStmt{Return: pos, Results: []ast.Expr{ident("false", pos)}})
	return &ast.BlockStmt{Lbrace: pos, List: list, Rbrace: pos}
}

type jumpTarget struct {
	tok   token.Token
	label string
}

// list rewrites the statements of the loop body. inLoop and inSwitch tell
// whether an unlabelled continue or break belongs to a loop or switch
// inside the body.
func (st *rangeFuncState) list(list []ast.Stmt, inLoop, inSwitch bool) []ast.Stmt {
	for i, s := range list {
		list[i] = st.stmt(s, inLoop, inSwitch)
	}
	return list
}

func (st *rangeFuncState) stmt(s ast.Stmt, inLoop, inSwitch bool) ast.Stmt {
	pos := s.Pos()
	switch x := s.(type) {
	case *ast.BranchStmt:
		switch {
		case x.Tok == token.GOTO:
			st.r.fail(x.Pos(), "goto inside the body of a range loop over a function: the interpreter runs the body as a function; use a loop with break or continue instead")
		case x.Tok == token.FALLTHROUGH:
		case x.Label == nil && x.Tok == token.CONTINUE && !inLoop:
			return &ast.ReturnStmt{Return: pos, Results: []ast.Expr{ident("true", pos)}}
		case x.Label == nil && x.Tok == token.BREAK && !inLoop && !inSwitch:
			return &ast.ReturnStmt{Return: pos, Results: []ast.Expr{ident("false", pos)}}
		case x.Label != nil && st.label != nil && x.Label.Name == st.label.Name:
			ok := "false"
			if x.Tok == token.CONTINUE {
				ok = "true"
			}
			return &ast.ReturnStmt{Return: pos, Results: []ast.Expr{ident(ok, pos)}}
		case x.Label != nil && !st.inner(x.Label.Name):
			// A branch to a statement outside the loop.
			if st.jump == "" {
				st.jump = st.r.name("jump")
				st.decls = append(st.decls, &ast.AssignStmt{Lhs: []ast.Expr{ident(st.jump, pos)}, TokPos: pos, Tok: token.DEFINE,
					Rhs: []ast.Expr{&ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: "0"}}})
			}
			st.jumps = append(st.jumps, jumpTarget{x.Tok, x.Label.Name})
			code := &ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: strconv.Itoa(len(st.jumps))}
			return &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{
				&ast.AssignStmt{Lhs: []ast.Expr{ident(st.jump, pos)}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{code}},
				&ast.ReturnStmt{Return: pos, Results: []ast.Expr{ident("false", pos)}},
			}, Rbrace: pos}
		}
	case *ast.ReturnStmt:
		return st.ret_(x)
	case *ast.DeferStmt:
		st.r.fail(x.Pos(), "defer inside the body of a range loop over a function: the interpreter runs the body as a function, so the call would run at the end of each iteration; move the defer out of the loop")
	case *ast.BlockStmt:
		x.List = st.list(x.List, inLoop, inSwitch)
	case *ast.LabeledStmt:
		st.innerLabels = append(st.innerLabels, x.Label.Name)
		x.Stmt = st.stmt(x.Stmt, inLoop, inSwitch)
	case *ast.IfStmt:
		x.Body.List = st.list(x.Body.List, inLoop, inSwitch)
		if x.Else != nil {
			x.Else = st.stmt(x.Else, inLoop, inSwitch)
		}
	case *ast.ForStmt:
		x.Body.List = st.list(x.Body.List, true, inSwitch)
	case *ast.RangeStmt:
		x.Body.List = st.list(x.Body.List, true, inSwitch)
	case *ast.SwitchStmt:
		for _, c := range x.Body.List {
			cc := c.(*ast.CaseClause)
			cc.Body = st.list(cc.Body, inLoop, true)
		}
	case *ast.TypeSwitchStmt:
		for _, c := range x.Body.List {
			cc := c.(*ast.CaseClause)
			cc.Body = st.list(cc.Body, inLoop, true)
		}
	case *ast.SelectStmt:
		for _, c := range x.Body.List {
			cc := c.(*ast.CommClause)
			cc.Body = st.list(cc.Body, inLoop, true)
		}
	}
	return s
}
