package session

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"strconv"
	"strings"
)

// yaegi hands compiled code a value of a type declared in a cell wrapped
// in the first interface of fmt's list the type implements (Formatter,
// error, Stringer), so that fmt calls its String or Error method. It does
// so only for the arguments themselves, and for every verb. fmtArgs fixes
// the two cases a student meets: elements of a slice or map of such a
// type (fmt.Println(points)) go through fmt's interfaces one by one, and
// an argument printed with a verb that does not call String (%d of a
// named integer type with a String method) goes as its underlying value.

// fmtFuncs are the functions whose arguments fmt formats, with the index
// of the format string (-1: none) and of the first value.
var fmtFuncs = map[string]struct{ format, first int }{
	"fmt.Print": {-1, 0}, "fmt.Println": {-1, 0}, "fmt.Sprint": {-1, 0}, "fmt.Sprintln": {-1, 0},
	"fmt.Printf": {0, 1}, "fmt.Sprintf": {0, 1}, "fmt.Errorf": {0, 1},
	"fmt.Fprint": {-1, 1}, "fmt.Fprintln": {-1, 1}, "fmt.Fprintf": {1, 2},
	"log.Print": {-1, 0}, "log.Println": {-1, 0}, "log.Printf": {0, 1},
	"log.Fatal": {-1, 0}, "log.Fatalln": {-1, 0}, "log.Fatalf": {0, 1},
	"log.Panic": {-1, 0}, "log.Panicln": {-1, 0}, "log.Panicf": {0, 1},
}

// fmtArgs rewrites the arguments of fmt's functions under n. Helpers it
// needs are added to p.
func (s *Session) fmtArgs(n ast.Node, c *cellCode, p *program, typeOf func(types.Type, token.Pos) (ast.Expr, error)) {
	ast.Inspect(n, func(m ast.Node) bool {
		call, ok := m.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		f, ok := c.info.Uses[sel.Sel].(*types.Func)
		if !ok || f.Pkg() == nil {
			return true
		}
		spec, ok := fmtFuncs[f.Pkg().Path()+"."+f.Name()]
		if !ok || call.Ellipsis.IsValid() {
			return true
		}
		var verbs []rune
		if spec.format >= 0 && spec.format < len(call.Args) {
			if tv := c.info.Types[call.Args[spec.format]]; tv.Value != nil && tv.Value.Kind() == constant.String {
				verbs = formatVerbs(constant.StringVal(tv.Value))
			}
		}
		for i := spec.first; i < len(call.Args); i++ {
			a := call.Args[i]
			t := c.info.TypeOf(a)
			if t == nil {
				continue
			}
			verb := 'v'
			if spec.format >= 0 {
				k := i - spec.first
				if verbs == nil || k >= len(verbs) {
					continue // a format that is not constant, or an odd one
				}
				verb = verbs[k]
				if verb == 'T' && isInterface(t) {
					if x := s.dynamicTypeName(c, a, t); x != nil {
						if lit, ok := call.Args[spec.format].(*ast.BasicLit); ok {
							if f, ok := replaceVerb(lit.Value, k, 's'); ok {
								lit.Value = f
								call.Args[i] = x
							}
						}
					}
					continue
				}
				if verb == 'T' && mentionsMain(t) {
					// %T of a value of a cell type: yaegi's runtime type has
					// no name; the format gets the static type's name.
					if lit, ok := call.Args[spec.format].(*ast.BasicLit); ok {
						if f, ok := replaceVerb(lit.Value, k, 's'); ok {
							lit.Value = f
							call.Args[i] = &ast.BasicLit{ValuePos: a.Pos(), Kind: token.STRING,
								Value: strconv.Quote(types.TypeString(t, func(p *types.Package) string { return p.Name() }))}
						}
					}
					continue
				}
			}
			call.Args[i] = s.fmtArg(c, a, t, verb, p, typeOf)
		}
		return true
	})
}

// fmtArg returns the argument as fmt should get it.
func (s *Session) fmtArg(c *cellCode, a ast.Expr, t types.Type, verb rune, p *program, typeOf func(types.Type, token.Pos) (ast.Expr, error)) ast.Expr {
	pos := a.Pos()
	if iface, ok := t.Underlying().(*types.Interface); ok && strings.ContainsRune("vsq", verb) {
		// A value of a cell type held in an interface: yaegi hides its
		// methods; each cell type with a String or Error method is
		// asserted to, and formatted as itself.
		return s.formattedDynamic(c, a, iface)
	}
	if named, ok := t.(*types.Named); ok && isMainType(named.Obj()) && hasMethod(t, "String", "Error", "Format") {
		// %d, %f... of a value with a String method print the value.
		if b, ok := named.Underlying().(*types.Basic); ok && !strings.ContainsRune("vsqxX", verb) {
			if u, err := typeOf(b, pos); err == nil {
				return &ast.CallExpr{Fun: u, Lparen: pos, Args: []ast.Expr{a}, Rparen: pos}
			}
		}
		return a
	}
	if verb != 'v' && verb != 's' {
		return a
	}
	var elem, key types.Type
	switch u := t.Underlying().(type) {
	case *types.Slice:
		elem = u.Elem()
	case *types.Array:
		elem = u.Elem()
		a = &ast.SliceExpr{X: a, Lbrack: pos, Rbrack: pos}
	case *types.Map:
		elem, key = u.Elem(), u.Key()
	default:
		return a
	}
	if !mentionsMain(elem) {
		return a
	}
	iface := ""
	switch {
	case implements(elem, "Error"):
		iface = "error"
	case implements(elem, "String"):
		iface = "Stringer"
	default:
		return a
	}
	fn, err := s.fmtHelper(p, elem, key, iface, typeOf)
	if err != nil {
		return a
	}
	return &ast.CallExpr{Fun: identAt(fn, pos), Lparen: pos, Args: []ast.Expr{a}, Rparen: pos}
}

// fmtHelper declares in p a function that copies a slice (or map, when
// key is set) of elem into one of error or fmt.Stringer, each element
// through a call of its own (yaegi's wrappers made in a loop would all see
// the loop's last value; in a generic function, nothing).
func (s *Session) fmtHelper(p *program, elem, key types.Type, iface string, typeOf func(types.Type, token.Pos) (ast.Expr, error)) (string, error) {
	pos := s.base
	var keySrc string
	if key != nil {
		k, err := typeOf(key, pos)
		if err != nil {
			return "", err
		}
		keySrc = printNode(k)
	}
	e, err := typeOf(elem, pos)
	if err != nil {
		return "", err
	}
	elemSrc := printNode(e)
	ifaceSrc := "error"
	if iface == "Stringer" {
		ifaceSrc = "__golabfmt.Stringer"
	}
	one, many := s.hiddenName("fmt"), s.hiddenName("fmt")
	var src string
	if key == nil {
		src = fmt.Sprintf("func %[1]s(x %[3]s) %[4]s { return x }\nfunc %[2]s(xs []%[3]s) []%[4]s {\n\tout := make([]%[4]s, len(xs))\n\tfor i := range xs {\n\t\tout[i] = %[1]s(xs[i])\n\t}\n\treturn out\n}\n", one, many, elemSrc, ifaceSrc)
	} else {
		src = fmt.Sprintf("func %[1]s(x %[3]s) %[4]s { return x }\nfunc %[2]s(m map[%[5]s]%[3]s) map[%[5]s]%[4]s {\n\tout := make(map[%[5]s]%[4]s, len(m))\n\tfor k, v := range m {\n\t\tout[k] = %[1]s(v)\n\t}\n\treturn out\n}\n", one, many, elemSrc, ifaceSrc, keySrc)
	}
	f, err := parser.ParseFile(s.fset, wrapName, "package main\n"+s.lineDirective()+src, parser.SkipObjectResolution)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		p.file = appendDecl(p.file, pos, d)
	}
	p.declared = append(p.declared, one, many)
	return many, nil
}

// formattedDynamic returns a, an interface value, as fmt should see it:
// `func() any { if x, ok := a.(T); ok { return fmt.Sprint(x) }; ...;
// return a }()` over the notebook's types that implement iface and print
// themselves.
func (s *Session) formattedDynamic(c *cellCode, a ast.Expr, iface *types.Interface) ast.Expr {
	var cands []types.Type
	for _, ct := range checkTypes(c) {
		for _, ty := range []types.Type{ct, types.NewPointer(ct)} {
			if types.AssertableTo(iface, ty) && types.Implements(ty, iface) && (implements(ty, "String") || implements(ty, "Error")) {
				cands = append(cands, ty)
			}
		}
	}
	pos := a.Pos()
	return assertChain(a, cands, "any", func(x ast.Expr, _ types.Type) ast.Expr {
		return &ast.CallExpr{Fun: selAt("__golabfmt", "Sprint", pos), Lparen: pos, Args: []ast.Expr{x}, Rparen: pos}
	}, nil)
}

// dynamicTypeName returns an expression giving the name of the dynamic
// type of a, an interface value, as %T prints it: the notebook's types by
// their name (main.T), others as fmt says; nil when no notebook type can
// be held in a.
func (s *Session) dynamicTypeName(c *cellCode, a ast.Expr, t types.Type) ast.Expr {
	iface, _ := t.Underlying().(*types.Interface)
	var cands []types.Type
	for _, ct := range checkTypes(c) {
		for _, ty := range []types.Type{ct, types.NewPointer(ct)} {
			if types.AssertableTo(iface, ty) && types.Implements(ty, iface) {
				cands = append(cands, ty)
			}
		}
	}
	if len(cands) == 0 {
		return nil
	}
	pos := a.Pos()
	return assertChain(a, cands, "string", func(_ ast.Expr, ty types.Type) ast.Expr {
		name := types.TypeString(ty, func(p *types.Package) string { return p.Name() })
		return &ast.BasicLit{ValuePos: pos, Kind: token.STRING, Value: strconv.Quote(name)}
	}, func(v ast.Expr) ast.Expr {
		return &ast.CallExpr{Fun: selAt("__golabfmt", "Sprintf", pos), Lparen: pos,
			Args: []ast.Expr{&ast.BasicLit{ValuePos: pos, Kind: token.STRING, Value: `"%T"`}, v}, Rparen: pos}
	})
}

// assertChain builds `func() result { v := a; if x, ok := v.(T1); ok {
// return then(x, T1) }; ...; return otherwise(v) }()` over the notebook's
// types (T or *T); otherwise nil returns v itself. With no types it
// returns a.
func assertChain(a ast.Expr, cands []types.Type, result string, then func(x ast.Expr, t types.Type) ast.Expr, otherwise func(v ast.Expr) ast.Expr) ast.Expr {
	if len(cands) == 0 {
		return a
	}
	pos := a.Pos()
	v := identAt("__golab_cv", pos)
	body := []ast.Stmt{&ast.AssignStmt{Lhs: []ast.Expr{v}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{a}}}
	for _, ty := range cands {
		var te ast.Expr
		if pt, ok := ty.(*types.Pointer); ok {
			te = &ast.StarExpr{Star: pos, X: identAt(pt.Elem().(*types.Named).Obj().Name(), pos)}
		} else {
			te = identAt(ty.(*types.Named).Obj().Name(), pos)
		}
		x := identAt("__golab_cx", pos)
		body = append(body, &ast.IfStmt{If: pos,
			Init: &ast.AssignStmt{Lhs: []ast.Expr{x, identAt("__golab_ok", pos)}, TokPos: pos, Tok: token.DEFINE,
				Rhs: []ast.Expr{&ast.TypeAssertExpr{X: identAt(v.Name, pos), Lparen: pos, Type: te, Rparen: pos}}},
			Cond: identAt("__golab_ok", pos),
			Body: &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{&ast.AssignStmt{Lhs: []ast.Expr{identAt("_", pos)}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{identAt(x.Name, pos)}},
				&ast.ReturnStmt{Return: pos, Results: []ast.Expr{then(identAt(x.Name, pos), ty)}}}, Rbrace: pos}})
	}
	var last ast.Expr = identAt(v.Name, pos)
	if otherwise != nil {
		last = otherwise(identAt(v.Name, pos))
	}
	body = append(body, &ast.ReturnStmt{Return: pos, Results: []ast.Expr{last}})
	return &ast.CallExpr{Fun: &ast.FuncLit{
		Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}, Results: &ast.FieldList{List: []*ast.Field{{Type: identAt(result, pos)}}}},
		Body: &ast.BlockStmt{Lbrace: pos, List: body, Rbrace: pos}}, Lparen: pos, Rparen: pos}
}

// checkTypes lists the notebook's struct types (not generic) as of the
// cell's check: those an assertion can tell apart. yaegi represents a
// named type of another kind by its underlying type, so that a float64
// would pass for a `type Meters float64`.
func checkTypes(c *cellCode) []*types.Named {
	if c.pkg == nil {
		return nil
	}
	// Listed once a cell: the scope does not change while the cell is
	// built, and Scope.Names sorts every name of the session.
	if c.namedListed {
		return c.named
	}
	var out []*types.Named
	scope := c.pkg.Scope()
	for _, n := range scope.Names() {
		tn, ok := scope.Lookup(n).(*types.TypeName)
		if !ok || !isMainType(tn) || tn.IsAlias() || strings.HasPrefix(n, "__golab") {
			continue
		}
		named, ok := tn.Type().(*types.Named)
		if !ok || named.TypeParams().Len() > 0 {
			continue
		}
		if _, isStruct := named.Underlying().(*types.Struct); !isStruct {
			continue
		}
		out = append(out, named)
	}
	c.named, c.namedListed = out, true
	return out
}

// hasMethod reports whether t's method set has one of the methods.
func hasMethod(t types.Type, names ...string) bool {
	ms := types.NewMethodSet(t)
	for i := 0; i < ms.Len(); i++ {
		for _, n := range names {
			if ms.At(i).Obj().Name() == n {
				return true
			}
		}
	}
	return false
}

// implements reports whether a value of type t has the method (String or
// Error, returning a string) in its method set.
func implements(t types.Type, name string) bool {
	obj, _, _ := types.LookupFieldOrMethod(t, false, nil, name)
	f, ok := obj.(*types.Func)
	if !ok {
		return false
	}
	sig := f.Type().(*types.Signature)
	if sig.Params().Len() != 0 || sig.Results().Len() != 1 {
		return false
	}
	b, ok := sig.Results().At(0).Type().(*types.Basic)
	return ok && b.Kind() == types.String
}

// replaceVerb changes the verb of the k-th argument in a quoted format
// literal.
func replaceVerb(quoted string, k int, verb byte) (string, bool) {
	format, err := strconv.Unquote(quoted)
	if err != nil {
		return "", false
	}
	for n, at := range verbOffsets(format) {
		if at < 0 {
			return "", false
		}
		if n == k {
			return strconv.Quote(format[:at] + string(verb) + format[at+1:]), true
		}
	}
	return "", false
}

// formatVerbs lists the verb of each argument a format consumes, in
// order; nil when the format uses explicit argument indexes or stars.
func formatVerbs(format string) []rune {
	var out []rune
	for _, at := range verbOffsets(format) {
		if at < 0 {
			return nil
		}
		out = append(out, rune(format[at]))
	}
	return out
}

// verbOffsets lists the offsets of the verbs of a format's arguments (%%
// left out); -1 for an explicit argument index or a star, after which the
// arguments cannot be counted.
func verbOffsets(format string) []int {
	var out []int
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0123456789.", format[i]) >= 0 {
			i++
		}
		if i >= len(format) {
			break
		}
		switch format[i] {
		case '%':
			continue
		case '[', '*':
			return append(out, -1)
		}
		out = append(out, i)
	}
	return out
}

// wrapVariadic rewrites, under n, the arguments of a compiled function's
// variadic parameter of an interface type (errors.Join's ...error) that
// are values of cell types: yaegi passes them unwrapped and the call
// fails. Each goes through a variable of the interface type first,
// which makes yaegi wrap it.
func (s *Session) wrapVariadic(n ast.Node, c *cellCode, typeOf func(types.Type, token.Pos) (ast.Expr, error)) {
	ast.Inspect(n, func(m ast.Node) bool {
		call, ok := m.(*ast.CallExpr)
		if !ok || call.Ellipsis.IsValid() {
			return true
		}
		var id *ast.Ident
		switch f := call.Fun.(type) {
		case *ast.SelectorExpr:
			id = f.Sel
		case *ast.Ident:
			id = f
		default:
			return true
		}
		fn, ok := c.info.Uses[id].(*types.Func)
		if !ok || fn.Pkg() == nil || fn.Pkg().Path() == "main" || !s.compiled(fn.Pkg().Path()) {
			return true
		}
		sig := fn.Type().(*types.Signature)
		if !sig.Variadic() {
			return true
		}
		last := sig.Params().At(sig.Params().Len() - 1).Type().(*types.Slice).Elem()
		iface, ok := last.Underlying().(*types.Interface)
		if !ok || iface.NumMethods() == 0 {
			return true
		}
		for i := sig.Params().Len() - 1; i < len(call.Args); i++ {
			a := call.Args[i]
			t := c.info.TypeOf(a)
			if t == nil || !mentionsMain(t) {
				continue
			}
			if _, isIface := t.Underlying().(*types.Interface); isIface {
				continue
			}
			it, err := typeOf(last, a.Pos())
			if err != nil {
				continue
			}
			pos := a.Pos()
			v := identAt("__golab_w", pos)
			call.Args[i] = &ast.CallExpr{Fun: &ast.FuncLit{
				Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}, Results: &ast.FieldList{List: []*ast.Field{{Type: it}}}},
				Body: &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{
					&ast.DeclStmt{Decl: &ast.GenDecl{TokPos: pos, Tok: token.VAR, Specs: []ast.Spec{&ast.ValueSpec{Names: []*ast.Ident{v}, Type: it, Values: []ast.Expr{a}}}}},
					&ast.ReturnStmt{Return: pos, Results: []ast.Expr{identAt(v.Name, pos)}},
				}, Rbrace: pos}}, Lparen: pos, Rparen: pos}
		}
		return true
	})
}

// compiled reports whether the package at path is compiled code (bound),
// not interpreted.
func (s *Session) compiled(path string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.symbols[path]
	return ok
}
