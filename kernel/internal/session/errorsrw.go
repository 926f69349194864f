package session

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
)

// Compiled errors.Is and errors.As cannot see the methods of types
// declared in cells: errors.As panics on a target of such a type, and
// neither unwraps an error type of a cell (its Unwrap method). When a cell
// type takes part (the target's type, or any cell type with an Unwrap
// method in the session), the calls go to the prelude's versions, with a
// function that unwraps the cell's error types by asserting to each.

// errorsRewrite rewrites errors.Is and errors.As under n. It refuses
// errors.As with a target of a struct type of a cell (not a pointer): yaegi
// wraps such a value when it becomes an error, and no assertion finds it
// again.
func (s *Session) errorsRewrite(n ast.Node, c *cellCode, typeOf func(types.Type, token.Pos) (ast.Expr, error)) error {
	// The wrappers are listed only for a call to errors.Is or errors.As:
	// most cells have none, and listing walks every name of the session.
	var wrappers []wrapper
	listed := false
	cellWrappers := func() []wrapper {
		if !listed {
			wrappers, listed = cellWrappers(c), true
		}
		return wrappers
	}
	var refused error
	ast.Inspect(n, func(m ast.Node) bool {
		call, ok := m.(*ast.CallExpr)
		if !ok || len(call.Args) != 2 || call.Ellipsis.IsValid() {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		f, ok := c.info.Uses[sel.Sel].(*types.Func)
		if !ok || f.Pkg() == nil || f.Pkg().Path() != "errors" || (f.Name() != "As" && f.Name() != "Is") {
			return true
		}
		pos := sel.Pos()
		wrappers := cellWrappers()
		if f.Name() == "Is" {
			if len(wrappers) == 0 {
				return true
			}
			call.Fun = identAt("__golabErrorsIs", pos)
			call.Args = append(call.Args, unwrapFunc(wrappers, pos))
			return true
		}
		pt, ok := c.info.TypeOf(call.Args[1]).(*types.Pointer)
		if !ok {
			return true
		}
		if _, isIface := pt.Elem().Underlying().(*types.Interface); isIface || (!mentionsMain(pt.Elem()) && len(wrappers) == 0) {
			return true
		}
		if named, ok := pt.Elem().(*types.Named); ok && isMainType(named.Obj()) {
			if _, isStruct := named.Underlying().(*types.Struct); isStruct && refused == nil {
				name := named.Obj().Name()
				refused = s.errorAt(call.Args[1].Pos(), "CompileError", fmt.Sprintf("errors.As with a target of type %[1]s, a struct type declared in a cell: "+
					"the interpreter wraps a %[1]s value when it becomes an error, and cannot find it again. "+
					"Declare its methods on a pointer receiver (func (e *%[1]s) Error() string), return &%[1]s{...}, and pass a *%[1]s target", name), c.src)
				return false
			}
		}
		t, err := typeOf(pt.Elem(), pos)
		if err != nil {
			return true
		}
		call.Fun = &ast.IndexExpr{X: identAt("__golabErrorsAs", pos), Lbrack: pos, Index: t, Rbrack: pos}
		call.Args = append(call.Args, unwrapFunc(wrappers, pos))
		return true
	})
	return refused
}

// wrapper is a type of the notebook (T or *T) whose method set has
// Unwrap() error, or Unwrap() []error when multi is set.
type wrapper struct {
	name  string
	ptr   bool
	multi bool
}

// cellWrappers lists the notebook's error types that wrap others.
func cellWrappers(c *cellCode) []wrapper {
	if c.pkg == nil {
		return nil
	}
	var out []wrapper
	for _, named := range checkTypes(c) {
		n := named.Obj().Name()
		for _, ptr := range []bool{false, true} {
			var t types.Type = named
			if ptr {
				t = types.NewPointer(named)
			}
			obj, _, _ := types.LookupFieldOrMethod(t, false, nil, "Unwrap")
			fn, ok := obj.(*types.Func)
			if !ok || !implementsError(t) {
				continue
			}
			sig := fn.Type().(*types.Signature)
			if sig.Params().Len() != 0 || sig.Results().Len() != 1 {
				continue
			}
			switch r := sig.Results().At(0).Type().(type) {
			case *types.Slice:
				if isErrorType(r.Elem()) {
					out = append(out, wrapper{n, ptr, true})
				}
			default:
				if isErrorType(r) {
					out = append(out, wrapper{n, ptr, false})
				}
			}
			if !ptr {
				break // T's methods are *T's too: assert to T only
			}
		}
	}
	return out
}

func isErrorType(t types.Type) bool {
	return types.Identical(t, types.Universe.Lookup("error").Type())
}

func implementsError(t types.Type) bool {
	return types.Implements(t, types.Universe.Lookup("error").Type().Underlying().(*types.Interface))
}

// unwrapFunc builds func(e error) ([]error, bool) that asserts e to each
// wrapper type and unwraps it.
func unwrapFunc(ws []wrapper, pos token.Pos) ast.Expr {
	errT := func() ast.Expr { return identAt("error", pos) }
	errSlice := func() ast.Expr { return &ast.ArrayType{Lbrack: pos, Elt: errT()} }
	e := identAt("__golab_e", pos)
	var body []ast.Stmt
	for _, w := range ws {
		var t ast.Expr = identAt(w.name, pos)
		if w.ptr {
			t = &ast.StarExpr{Star: pos, X: t}
		}
		x := identAt("__golab_x", pos)
		unwrap := &ast.CallExpr{Fun: &ast.SelectorExpr{X: identAt(x.Name, pos), Sel: identAt("Unwrap", pos)}, Lparen: pos, Rparen: pos}
		var result ast.Expr = unwrap
		if !w.multi {
			result = &ast.CompositeLit{Type: errSlice(), Lbrace: pos, Elts: []ast.Expr{unwrap}, Rbrace: pos}
		}
		body = append(body, &ast.IfStmt{If: pos,
			Init: &ast.AssignStmt{Lhs: []ast.Expr{x, identAt("__golab_ok", pos)}, TokPos: pos, Tok: token.DEFINE,
				Rhs: []ast.Expr{&ast.TypeAssertExpr{X: identAt(e.Name, pos), Lparen: pos, Type: t, Rparen: pos}}},
			Cond: identAt("__golab_ok", pos),
			Body: &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{&ast.ReturnStmt{Return: pos, Results: []ast.Expr{result, identAt("true", pos)}}}, Rbrace: pos}})
	}
	body = append(body, &ast.ReturnStmt{Return: pos, Results: []ast.Expr{identAt("nil", pos), identAt("false", pos)}})
	return &ast.FuncLit{Type: &ast.FuncType{Func: pos,
		Params:  &ast.FieldList{Opening: pos, List: []*ast.Field{{Names: []*ast.Ident{e}, Type: errT()}}, Closing: pos},
		Results: &ast.FieldList{Opening: pos, List: []*ast.Field{{Type: errSlice()}, {Type: identAt("bool", pos)}}, Closing: pos}},
		Body: &ast.BlockStmt{Lbrace: pos, List: body, Rbrace: pos}}
}

// ifaceAssign makes, under n, an assignment of a value of a cell type to
// a variable of the session (or the cell's top level) of an interface type
// with methods (`var err error = MyErr{}`) go through a function's
// result: yaegi fails to set such a global directly ("reflect.Set: value
// of type struct {...} is not assignable to type error").
func ifaceAssign(n ast.Node, c *cellCode, typeOf func(types.Type, token.Pos) (ast.Expr, error)) {
	top := map[types.Object]bool{}
	for _, d := range c.defs {
		top[d.obj] = true
	}
	ast.Inspect(n, func(m ast.Node) bool {
		if call, ok := m.(*ast.CallExpr); ok && len(call.Args) == 1 {
			// A conversion error(MyErr{}).
			if tv := c.info.Types[call.Fun]; tv.IsType() {
				if lit, ok := ifaceValue(tv.Type, call.Args[0], c.info.TypeOf(call.Args[0]), typeOf).(*ast.CallExpr); ok && lit != call.Args[0] {
					call.Fun, call.Args = lit.Fun, nil
				}
			}
			return true
		}
		as, ok := m.(*ast.AssignStmt)
		if !ok || as.Tok != token.ASSIGN || len(as.Lhs) != len(as.Rhs) {
			return true
		}
		for i, l := range as.Lhs {
			id, ok := l.(*ast.Ident)
			if !ok {
				continue
			}
			obj := c.info.Uses[id]
			if obj == nil {
				obj = c.info.Defs[id]
			}
			v, ok := obj.(*types.Var)
			if !ok || (!top[v] && (v.Parent() == nil || v.Pkg() == nil || v.Parent() != v.Pkg().Scope())) {
				continue
			}
			as.Rhs[i] = ifaceValue(v.Type(), as.Rhs[i], c.info.TypeOf(as.Rhs[i]), typeOf)
		}
		return true
	})
}

// ifaceValue returns x, of type xt, as a value for a variable of type t:
// through `func() t { return x }()` when t is an interface with methods
// and x of a concrete type declared in a cell.
func ifaceValue(t types.Type, x ast.Expr, xt types.Type, typeOf func(types.Type, token.Pos) (ast.Expr, error)) ast.Expr {
	iface, ok := t.Underlying().(*types.Interface)
	if !ok || iface.NumMethods() == 0 || xt == nil || isInterface(xt) || !mentionsMain(xt) {
		return x
	}
	pos := x.Pos()
	it, err := typeOf(t, pos)
	if err != nil {
		return x
	}
	return &ast.CallExpr{Fun: &ast.FuncLit{
		Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}, Results: &ast.FieldList{List: []*ast.Field{{Type: it}}}},
		Body: &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{&ast.ReturnStmt{Return: pos, Results: []ast.Expr{x}}}, Rbrace: pos}},
		Lparen: pos, Rparen: pos}
}
