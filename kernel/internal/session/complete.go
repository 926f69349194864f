package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/scanner"
	"go/token"
	"go/types"
	"reflect"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// IsComplete tells whether src is a complete cell: "complete",
// "incomplete" (more lines are expected; indent is the indent of the next
// one) or "invalid".
func (s *Session) IsComplete(src string) (status, indent string) {
	if strings.TrimSpace(src) == "" {
		return "complete", ""
	}
	sp := split(src)
	if sp.open {
		return "incomplete", ""
	}
	if sp.err != nil {
		return "invalid", ""
	}
	if sp.depth > 0 {
		return "incomplete", strings.Repeat("\t", sp.depth)
	}
	if sp.depth < 0 {
		return "invalid", ""
	}
	fset := token.NewFileSet()
	lines := strings.Count(src, "\n") + 1
	check := func(pre, text, post string, preLines int) string {
		_, err := parser.ParseFile(fset, "", pre+text+post, 0)
		if err == nil {
			return "complete"
		}
		var list scanner.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			// An error past the end of the cell means the parser ran out
			// of input: more is to come.
			if list[0].Pos.Line-preLines > lines || strings.Contains(list[0].Msg, "EOF") {
				return "incomplete"
			}
		}
		return "invalid"
	}
	decls := blank(src, sp.units, func(k unitKind) bool { return k != unitStmt })
	stmts := blank(src, sp.units, func(k unitKind) bool { return k == unitStmt })
	if st := check("package main\n", decls, "\n", 1); st != "complete" {
		return st, ""
	}
	if st := check("package main\nfunc main() {\n", stmts, "\n}", 2); st != "complete" {
		return st, ""
	}
	return "complete", ""
}

// Complete returns the completions of the identifier ending at cursor (a
// byte offset in src) and the byte range they replace. It offers the
// session's names, keywords and predeclared names, package names, and
// after "pkg." or "x." the members of a package or of a variable's type.
func (s *Session) Complete(src string, cursor int) (matches []string, start, end int) {
	if cursor > len(src) {
		cursor = len(src)
	}
	start = cursor
	for start > 0 {
		r, size := utf8.DecodeLastRuneInString(src[:start])
		if !isIdentRune(r) {
			break
		}
		start -= size
	}
	end = cursor
	prefix := src[start:cursor]
	var cands []string
	if start > 0 && src[start-1] == '.' {
		x := exprBefore(src, start-1)
		cands = s.members(x)
	} else {
		cands = s.topNames()
	}
	seen := map[string]bool{}
	for _, c := range cands {
		if strings.HasPrefix(c, prefix) && !seen[c] && !strings.HasPrefix(c, "__golab") && !strings.HasPrefix(c, "_") {
			seen[c] = true
			matches = append(matches, c)
		}
	}
	sort.Strings(matches)
	return matches, start, end
}

func isIdentRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// exprBefore returns the selector chain ending at byte offset end
// ("a.b" for "x := a.b" and end after b).
func exprBefore(src string, end int) string {
	i := end
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(src[:i])
		if !isIdentRune(r) && r != '.' {
			break
		}
		i -= size
	}
	return strings.Trim(src[i:end], ".")
}

// topNames lists what can start an expression or statement.
func (s *Session) topNames() []string {
	out := append([]string(nil), keywords...)
	out = append(out, predeclared...)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for n := range s.names {
		out = append(out, n)
	}
	for n := range s.imports {
		out = append(out, n)
	}
	for _, n := range s.bound {
		out = append(out, n)
	}
	return out
}

// members lists the members of x: a package's exported names, or the
// fields and methods of a variable's type (a selector chain on one).
func (s *Session) members(x string) []string {
	if x == "" {
		return nil
	}
	if !strings.Contains(x, ".") && s.lookup(x) == nil {
		if p, ok := s.packagePath(x); ok {
			s.mu.RLock()
			defer s.mu.RUnlock()
			var out []string
			for n := range s.symbols[p] {
				out = append(out, n)
			}
			if pkg, err := s.imp.Import(p); err == nil && len(s.symbols[p]) == 0 {
				out = append(out, pkg.Scope().Names()...)
			}
			return out
		}
	}
	t := s.typeOfExpr(x)
	if t == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, mt := range []types.Type{t, types.NewPointer(t)} {
		if _, isPtr := t.(*types.Pointer); isPtr && mt != t {
			continue
		}
		ms := types.NewMethodSet(mt)
		for i := 0; i < ms.Len(); i++ {
			if f := ms.At(i).Obj(); f.Exported() || f.Pkg() == nil || f.Pkg().Path() == "main" {
				add(f.Name())
			}
		}
	}
	st := t
	if p, ok := st.Underlying().(*types.Pointer); ok {
		st = p.Elem()
	}
	if str, ok := st.Underlying().(*types.Struct); ok {
		for i := 0; i < str.NumFields(); i++ {
			if f := str.Field(i); f.Exported() || f.Pkg() == nil || f.Pkg().Path() == "main" {
				add(f.Name())
			}
		}
	}
	return out
}

// typeOfExpr returns the static type of a session variable or of a
// selector chain of fields on one, from the model.
func (s *Session) typeOfExpr(x string) types.Type {
	parts := strings.Split(x, ".")
	s.mu.RLock()
	var obj types.Object
	if s.checkPkg != nil {
		obj = s.checkPkg.Scope().Lookup(parts[0])
	}
	s.mu.RUnlock()
	v, ok := obj.(*types.Var)
	if !ok {
		return nil
	}
	t := v.Type()
	for _, p := range parts[1:] {
		f, _, _ := types.LookupFieldOrMethod(t, true, v.Pkg(), p)
		fv, ok := f.(*types.Var)
		if !ok {
			return nil
		}
		t = fv.Type()
	}
	return t
}

// packagePath resolves a package name used in cells: an imported one, or
// any bound package of that name.
func (s *Session) packagePath(name string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if p, ok := s.imports[name]; ok {
		return p, true
	}
	var found []string
	for p, n := range s.bound {
		if n == name {
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		return "", false
	}
	sort.Strings(found)
	return found[0], true
}

// probe evaluates x, a global variable or a selector chain on one (no side
// effects), and returns its static type and, when text is set, its value
// printed. x is evaluated inside a function declared for the purpose:
// a top-level expression's value would stay referenced from yaegi's global
// frame, keeping for example an old dataset alive.
func (s *Session) probe(x string, text bool) (reflect.Type, string, error) {
	expr, err := parser.ParseExpr(x)
	if err != nil {
		return nil, "", err
	}
	pos := s.base
	setPos(expr, pos)
	p := identAt("__golab_p", pos)
	var str ast.Expr = &ast.BasicLit{ValuePos: pos, Kind: token.STRING, Value: `""`}
	if text {
		str = &ast.CallExpr{Fun: selAt("fmt", "Sprint", pos), Lparen: pos, Args: []ast.Expr{identAt(p.Name, pos)}, Rparen: pos}
	}
	fd := &ast.FuncDecl{
		Name: identAt("__golabProbe", pos),
		Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}},
		Body: &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{
			&ast.AssignStmt{Lhs: []ast.Expr{p}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{expr}},
			&ast.ExprStmt{X: &ast.CallExpr{Fun: selAt("__golabrt", "Probe", pos), Lparen: pos,
				Args: []ast.Expr{&ast.UnaryExpr{OpPos: pos, Op: token.AND, X: identAt(p.Name, pos)}, str}, Rparen: pos}},
		}, Rbrace: pos},
	}
	ctx := context.Background()
	if _, err := s.run(ctx, &ast.File{Package: pos, Name: identAt("main", pos), Decls: []ast.Decl{fd}}); err != nil {
		return nil, "", err
	}
	s.out.typ, s.out.text = nil, ""
	call := &ast.CallExpr{Fun: identAt("__golabProbe", pos), Lparen: pos, Rparen: pos}
	if _, err := s.run(ctx, &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{&ast.ExprStmt{X: call}}, Rbrace: pos}); err != nil {
		return nil, "", err
	}
	if s.out.typ == nil {
		return nil, "", errors.New("no type")
	}
	return s.out.typ, s.out.text, nil
}

// setPos moves every identifier of a parsed expression to pos, so that
// yaegi resolves its package names in the session's file.
func setPos(n ast.Node, pos token.Pos) {
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			id.NamePos = pos
		}
		return true
	})
}

// Inspect describes the identifier at cursor: its declaration or
// signature, and its documentation.
func (s *Session) Inspect(src string, cursor int) (string, bool) {
	if cursor > len(src) {
		cursor = len(src)
	}
	start, end := cursor, cursor
	for start > 0 {
		r, size := utf8.DecodeLastRuneInString(src[:start])
		if !isIdentRune(r) {
			break
		}
		start -= size
	}
	for end < len(src) {
		r, size := utf8.DecodeRuneInString(src[end:])
		if !isIdentRune(r) {
			break
		}
		end += size
	}
	name := src[start:end]
	if name == "" {
		// The cursor may follow a call's parenthesis: fmt.Println(|
		i := strings.LastIndexAny(src[:cursor], "(")
		if i > 0 {
			return s.Inspect(src[:i], i)
		}
		return "", false
	}
	if start > 0 && src[start-1] == '.' {
		x := exprBefore(src, start-1)
		if p, ok := s.packagePath(x); ok && s.lookup(x) == nil {
			return s.describeBound(p, name)
		}
		if t := s.describeMember(x, name); t != "" {
			return t, true
		}
		return "", false
	}
	if e := s.lookup(name); e != nil {
		return s.describeEntry(e), true
	}
	if p, ok := s.packagePath(name); ok {
		return fmt.Sprintf("package %s // import %q\n\n%s", name, p, packageDoc(p)), true
	}
	if universe[name] {
		return name + ": predeclared identifier of Go; see https://go.dev/ref/spec#Predeclared_identifiers", true
	}
	for _, kw := range keywords {
		if kw == name {
			return name + ": Go keyword; see https://go.dev/ref/spec#Keywords", true
		}
	}
	return "", false
}

// describeEntry prints a name declared in a cell: its declaration without
// function bodies, its doc comment and, for types, its methods.
func (s *Session) describeEntry(e *entry) string {
	var b strings.Builder
	switch d := e.src.(type) {
	case *ast.FuncDecl:
		b.WriteString(printNode(&ast.FuncDecl{Recv: d.Recv, Name: d.Name, Type: d.Type}))
	case *ast.GenDecl:
		if e.spec != nil {
			b.WriteString(d.Tok.String() + " " + printNode(e.spec))
		} else {
			b.WriteString(printNode(d))
		}
	default:
		b.WriteString("var " + e.name)
		if e.typ != nil {
			fmt.Fprintf(&b, " %s", types.TypeString(e.typ, func(p *types.Package) string { return p.Name() }))
		}
	}
	if e.kind == kindVar {
		if _, text, err := s.probe(e.name, true); err == nil {
			if len(text) > 200 {
				text = text[:200] + "..."
			}
			fmt.Fprintf(&b, "\n= %s", text)
		}
	}
	if e.kind == kindType {
		s.mu.RLock()
		var ms []string
		for _, m := range s.methods[e.name] {
			ms = append(ms, printNode(&ast.FuncDecl{Recv: m.src.Recv, Name: m.src.Name, Type: m.src.Type}))
		}
		s.mu.RUnlock()
		sort.Strings(ms)
		for _, m := range ms {
			b.WriteString("\n" + m)
		}
	}
	if doc := strings.TrimSpace(e.doc); doc != "" {
		b.WriteString("\n\n" + doc)
	}
	fmt.Fprintf(&b, "\n\n(declared in %s)", e.cell)
	return b.String()
}

// describeMember describes a field or method of a variable's value.
func (s *Session) describeMember(x, name string) string {
	t := s.typeOfExpr(x)
	if t == nil {
		return ""
	}
	obj, _, _ := types.LookupFieldOrMethod(t, true, nil, name)
	if obj == nil {
		obj, _, _ = types.LookupFieldOrMethod(t, true, types.NewPackage("main", "main"), name)
	}
	qual := func(p *types.Package) string { return p.Name() }
	switch o := obj.(type) {
	case *types.Func:
		recv := o.Type().(*types.Signature).Recv()
		if recv != nil {
			rt := recv.Type()
			if p, ok := rt.(*types.Pointer); ok {
				rt = p.Elem()
			}
			if n, ok := rt.(*types.Named); ok {
				if isMainType(n.Obj()) {
					s.mu.RLock()
					m := s.methods[n.Obj().Name()][name]
					s.mu.RUnlock()
					if m != nil {
						out := printNode(&ast.FuncDecl{Recv: m.src.Recv, Name: m.src.Name, Type: m.src.Type})
						if doc := strings.TrimSpace(m.src.Doc.Text()); doc != "" {
							out += "\n\n" + doc
						}
						return out
					}
				} else if n.Obj().Pkg() != nil {
					if d, ok := symbolDoc(n.Obj().Pkg().Path(), n.Obj().Name()+"."+name); ok {
						return d
					}
				}
			}
		}
		return types.ObjectString(o, qual)
	case *types.Var:
		return fmt.Sprintf("field %s %s", name, types.TypeString(o.Type(), qual))
	}
	return ""
}

// describeBound describes a member of a bound package: its signature from
// the documentation index when there is one, else from reflection; a member
// of an interpreted package (slices, maps, iter, cmp) with its doc comment.
func (s *Session) describeBound(p, name string) (string, bool) {
	s.mu.RLock()
	sym, ok := s.symbols[p][name]
	s.mu.RUnlock()
	if !ok {
		return s.describeInterpreted(p, name)
	}
	if d, ok := symbolDoc(p, name); ok {
		return d, true
	}
	pkg := s.bound[p]
	switch {
	case sym.Kind() == reflect.Func:
		return fmt.Sprintf("func %s.%s%s\n\n(no documentation bound for %s)", pkg, name, strings.TrimPrefix(sym.Type().String(), "func"), p), true
	case sym.Kind() == reflect.Ptr && sym.IsNil():
		return fmt.Sprintf("type %s.%s %s", pkg, name, sym.Type().Elem().Kind()), true
	default:
		if sym.CanInterface() {
			return fmt.Sprintf("%s.%s %s = %v", pkg, name, sym.Type(), sym.Interface()), true
		}
		return fmt.Sprintf("%s.%s %s", pkg, name, sym.Type()), true
	}
}

func printNode(n ast.Node) string {
	var buf bytes.Buffer
	if err := printer.Fprint(&buf, token.NewFileSet(), n); err != nil {
		return ""
	}
	return buf.String()
}

// describeInterpreted describes a member of an interpreted package from
// its go/types object.
func (s *Session) describeInterpreted(p, name string) (string, bool) {
	if d, ok := symbolDoc(p, name); ok {
		return d, true
	}
	pkg, err := s.imp.Import(p)
	if err != nil {
		return "", false
	}
	obj := pkg.Scope().Lookup(name)
	if obj == nil || !obj.Exported() {
		return "", false
	}
	return types.ObjectString(obj, func(q *types.Package) string { return q.Name() }), true
}
