package session

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strconv"
)

// namer writes the name of a named type (obj is nil for unsafe.Pointer).
// It returns the expression, whether that expression already stands for
// the whole type t (type arguments included), or why t cannot be named.
type namer func(obj *types.TypeName, t types.Type) (x ast.Expr, whole bool, err error)

// typeSyntax writes a go/types type as Go syntax, naming named types with
// named.
func typeSyntax(t types.Type, pos token.Pos, named namer) (ast.Expr, error) {
	ts := func(t types.Type) (ast.Expr, error) { return typeSyntax(t, pos, named) }
	switch t := t.(type) {
	case *types.Basic:
		if t.Kind() == types.UnsafePointer {
			x, _, err := named(nil, t)
			return x, err
		}
		if t.Info()&types.IsUntyped != 0 {
			return nil, fmt.Errorf("untyped %s has no type", t)
		}
		return identAt(t.Name(), pos), nil
	case *types.Alias:
		if t.Obj().Pkg() == nil { // any, byte, rune
			return identAt(t.Obj().Name(), pos), nil
		}
		return ts(types.Unalias(t))
	case *types.Named:
		x, whole, err := named(t.Obj(), t)
		if err != nil || whole {
			return x, err
		}
		if args := t.TypeArgs(); args != nil && args.Len() > 0 {
			var idx []ast.Expr
			for i := 0; i < args.Len(); i++ {
				a, err := ts(args.At(i))
				if err != nil {
					return nil, err
				}
				idx = append(idx, a)
			}
			return &ast.IndexListExpr{X: x, Lbrack: pos, Indices: idx, Rbrack: pos}, nil
		}
		return x, nil
	case *types.TypeParam:
		return identAt(t.Obj().Name(), pos), nil
	case *types.Pointer:
		e, err := ts(t.Elem())
		return &ast.StarExpr{Star: pos, X: e}, err
	case *types.Slice:
		e, err := ts(t.Elem())
		return &ast.ArrayType{Lbrack: pos, Elt: e}, err
	case *types.Array:
		e, err := ts(t.Elem())
		return &ast.ArrayType{Lbrack: pos, Len: &ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: strconv.FormatInt(t.Len(), 10)}, Elt: e}, err
	case *types.Map:
		k, err := ts(t.Key())
		if err != nil {
			return nil, err
		}
		v, err := ts(t.Elem())
		return &ast.MapType{Map: pos, Key: k, Value: v}, err
	case *types.Chan:
		e, err := ts(t.Elem())
		dir := ast.SEND | ast.RECV
		switch t.Dir() {
		case types.SendOnly:
			dir = ast.SEND
		case types.RecvOnly:
			dir = ast.RECV
		}
		return &ast.ChanType{Begin: pos, Arrow: pos, Dir: dir, Value: e}, err
	case *types.Signature:
		return signatureSyntax(t, pos, named)
	case *types.Struct:
		fl := &ast.FieldList{Opening: pos, Closing: pos}
		for i := 0; i < t.NumFields(); i++ {
			f := t.Field(i)
			ft, err := ts(f.Type())
			if err != nil {
				return nil, err
			}
			if !f.Exported() && f.Pkg() != nil && f.Pkg().Path() != "main" {
				return nil, fmt.Errorf("a struct type with the unexported field %s of package %s", f.Name(), f.Pkg().Path())
			}
			field := &ast.Field{Type: ft}
			if !f.Embedded() {
				field.Names = []*ast.Ident{identAt(f.Name(), pos)}
			}
			if tag := t.Tag(i); tag != "" {
				field.Tag = &ast.BasicLit{ValuePos: pos, Kind: token.STRING, Value: strconv.Quote(tag)}
			}
			fl.List = append(fl.List, field)
		}
		return &ast.StructType{Struct: pos, Fields: fl}, nil
	case *types.Interface:
		fl := &ast.FieldList{Opening: pos, Closing: pos}
		for i := 0; i < t.NumExplicitMethods(); i++ {
			m := t.ExplicitMethod(i)
			if !m.Exported() && m.Pkg() != nil && m.Pkg().Path() != "main" {
				return nil, fmt.Errorf("an interface with the unexported method %s of package %s", m.Name(), m.Pkg().Path())
			}
			ft, err := signatureSyntax(m.Type().(*types.Signature), pos, named)
			if err != nil {
				return nil, err
			}
			fl.List = append(fl.List, &ast.Field{Names: []*ast.Ident{identAt(m.Name(), pos)}, Type: ft})
		}
		for i := 0; i < t.NumEmbeddeds(); i++ {
			e, err := ts(t.EmbeddedType(i))
			if err != nil {
				return nil, err
			}
			fl.List = append(fl.List, &ast.Field{Type: e})
		}
		return &ast.InterfaceType{Interface: pos, Methods: fl}, nil
	case *types.Union:
		var x ast.Expr
		for i := 0; i < t.Len(); i++ {
			term := t.Term(i)
			e, err := ts(term.Type())
			if err != nil {
				return nil, err
			}
			if term.Tilde() {
				e = &ast.UnaryExpr{OpPos: pos, Op: token.TILDE, X: e}
			}
			if x == nil {
				x = e
			} else {
				x = &ast.BinaryExpr{X: x, OpPos: pos, Op: token.OR, Y: e}
			}
		}
		return x, nil
	}
	return nil, fmt.Errorf("type %s", t)
}

func signatureSyntax(sig *types.Signature, pos token.Pos, named namer) (*ast.FuncType, error) {
	ft := &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}}
	for i := 0; i < sig.Params().Len(); i++ {
		p := sig.Params().At(i)
		var e ast.Expr
		var err error
		if sig.Variadic() && i == sig.Params().Len()-1 {
			var el ast.Expr
			el, err = typeSyntax(p.Type().(*types.Slice).Elem(), pos, named)
			e = &ast.Ellipsis{Ellipsis: pos, Elt: el}
		} else {
			e, err = typeSyntax(p.Type(), pos, named)
		}
		if err != nil {
			return nil, err
		}
		ft.Params.List = append(ft.Params.List, &ast.Field{Type: e})
	}
	if sig.Results().Len() > 0 {
		ft.Results = &ast.FieldList{Opening: pos, Closing: pos}
		for i := 0; i < sig.Results().Len(); i++ {
			e, err := typeSyntax(sig.Results().At(i).Type(), pos, named)
			if err != nil {
				return nil, err
			}
			ft.Results.List = append(ft.Results.List, &ast.Field{Type: e})
		}
	}
	return ft, nil
}

// mentionsMain reports whether t mentions a named type of the notebook
// (package main) declared at top level: such a type is written by name so
// that it resolves to the type's current definition.
func mentionsMain(t types.Type) bool {
	return anyNamed(t, func(n *types.Named) bool { return isMainType(n.Obj()) })
}

// anyNamed reports whether t, or a type it is made of, is a named type
// for which pred holds.
func anyNamed(t types.Type, pred func(*types.Named) bool) bool {
	found := false
	seen := map[types.Type]bool{}
	var walk func(t types.Type)
	walk = func(t types.Type) {
		if found || t == nil || seen[t] {
			return
		}
		seen[t] = true
		switch t := t.(type) {
		case *types.Named:
			if pred(t) {
				found = true
				return
			}
			if args := t.TypeArgs(); args != nil {
				for i := 0; i < args.Len(); i++ {
					walk(args.At(i))
				}
			}
		case *types.Alias:
			walk(types.Unalias(t))
		case *types.Pointer:
			walk(t.Elem())
		case *types.Slice:
			walk(t.Elem())
		case *types.Array:
			walk(t.Elem())
		case *types.Map:
			walk(t.Key())
			walk(t.Elem())
		case *types.Chan:
			walk(t.Elem())
		case *types.Signature:
			for i := 0; i < t.Params().Len(); i++ {
				walk(t.Params().At(i).Type())
			}
			for i := 0; i < t.Results().Len(); i++ {
				walk(t.Results().At(i).Type())
			}
		case *types.Struct:
			for i := 0; i < t.NumFields(); i++ {
				walk(t.Field(i).Type())
			}
		case *types.Interface:
			for i := 0; i < t.NumExplicitMethods(); i++ {
				walk(t.ExplicitMethod(i).Type())
			}
		}
	}
	walk(t)
	return found
}

// isMainType reports whether obj is a type declared at the top level of
// the notebook.
func isMainType(obj *types.TypeName) bool {
	return obj != nil && obj.Pkg() != nil && obj.Pkg().Path() == "main" && obj.Parent() != nil && obj.Parent() == obj.Pkg().Scope()
}
