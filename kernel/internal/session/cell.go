package session

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"strconv"
	"strings"
)

// cellCode is one cell on its way to the interpreter.
type cellCode struct {
	src     string
	imports *ast.File     // the cell's imports
	decls   *ast.File     // its declarations: checked, then rewritten for the interpreter
	orig    *ast.File     // the same declarations as written, for the model
	body    *ast.FuncDecl // func __golabCell() { the cell's statements }

	// Filled by the check.
	info      *types.Info
	pkg       *types.Package
	fullCheck bool          // pkg is a fresh package
	defs      []*topDef     // variables defined by := at the top of the cell
	last      *ast.ExprStmt // the final expression, shown
	shown     []types.Type  // the types of its values; none: nothing to show
	// named caches checkTypes once namedListed is set.
	named       []*types.Named
	namedListed bool

	declared map[string]bool
	methods  map[string]map[string]bool
	// compiledImports are the hidden imports of compiled functions'
	// bindings (see compileMarked): name -> path.
	compiledImports map[string]string
}

// topDef is a variable a := at the top of the cell defines: a session
// variable once the cell has run.
type topDef struct {
	name   string // as written (id is renamed to global)
	id     *ast.Ident
	obj    *types.Var
	stmt   int    // index of the defining statement in the cell's body
	global string // the interpreter's variable: the name itself, or a hidden one
	reuse  bool   // an existing variable of the same type is assigned
}

// parseCell splits a cell into its imports, declarations and statements
// and parses each, keeping the cell's own line numbers.
func (s *Session) parseCell(src string) (*cellCode, error) {
	sp := split(src)
	if sp.err != nil {
		return nil, s.syntaxError(sp.err.Pos.Line, sp.err.Pos.Column, sp.err.Msg, src)
	}
	c := &cellCode{src: src, declared: map[string]bool{}, methods: map[string]map[string]bool{}}
	has := map[unitKind]bool{}
	for _, u := range sp.units {
		has[u.kind] = true
	}
	parse := func(prefix, text, suffix string) (*ast.File, error) {
		f, err := parser.ParseFile(s.fset, wrapName, prefix+s.lineDirective()+text+suffix, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, s.compileError(err, src)
		}
		return f, nil
	}
	var err error
	if has[unitImport] {
		if c.imports, err = parse("package main\n", blank(src, sp.units, func(k unitKind) bool { return k == unitImport }), ""); err != nil {
			return nil, err
		}
	}
	if has[unitDecl] {
		text := blank(src, sp.units, func(k unitKind) bool { return k == unitDecl })
		if c.decls, err = parse("package main\n", text, ""); err != nil {
			return nil, err
		}
		if c.orig, err = parse("package main\n", text, ""); err != nil {
			return nil, err
		}
		for _, d := range c.decls.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil {
					t := recvType(d)
					if c.methods[t] == nil {
						c.methods[t] = map[string]bool{}
					}
					c.methods[t][d.Name.Name] = true
					continue
				}
				if d.Name.Name == "init" || d.Name.Name == "main" {
					return nil, s.errorAt(d.Pos(), "CompileError", "func "+d.Name.Name+" has no meaning in a notebook; write its body as statements in a cell", src)
				}
				c.declared[d.Name.Name] = true
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					switch sp := sp.(type) {
					case *ast.TypeSpec:
						c.declared[sp.Name.Name] = true
					case *ast.ValueSpec:
						for _, n := range sp.Names {
							if n.Name != "_" {
								c.declared[n.Name] = true
							}
						}
					}
				}
			}
		}
	}
	if has[unitStmt] {
		f, err := parse("package main\nfunc "+cellFunc+"() {\n", blank(src, sp.units, func(k unitKind) bool { return k == unitStmt }), "\n}")
		if err != nil {
			return nil, err
		}
		c.body = f.Decls[0].(*ast.FuncDecl)
	}
	return c, nil
}

// empty reports a cell with nothing to run.
func (c *cellCode) empty() bool { return c.imports == nil && c.decls == nil && c.body == nil }

// declares reports whether the cell declares name at package level.
func (c *cellCode) declares(name string) bool { return c.declared[name] }

// declaresMethod reports whether the cell declares method m of type t.
func (c *cellCode) declaresMethod(t, m string) bool { return c.methods[t][m] }

// typeNames lists the types the cell declares.
func (c *cellCode) typeNames() []string {
	var out []string
	if c.decls == nil {
		return nil
	}
	for _, d := range c.decls.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
			for _, sp := range g.Specs {
				out = append(out, sp.(*ast.TypeSpec).Name.Name)
			}
		}
	}
	return out
}

// isTopDef reports whether pos is that of a variable defined at the top
// of the cell.
func (c *cellCode) isTopDef(pos token.Pos) bool {
	for _, d := range c.defs {
		if d.id.Pos() == pos {
			return true
		}
	}
	return false
}

// collect gathers, after the check, the cell's top-level variables and the
// types of its final expression.
func (c *cellCode) collect() {
	if c.body == nil {
		return
	}
	list := c.body.Body.List
	for i, st := range list {
		as, ok := st.(*ast.AssignStmt)
		if !ok || as.Tok != token.DEFINE {
			continue
		}
		for _, l := range as.Lhs {
			id, ok := l.(*ast.Ident)
			if !ok || id.Name == "_" {
				continue
			}
			if v, ok := c.info.Defs[id].(*types.Var); ok {
				c.defs = append(c.defs, &topDef{name: id.Name, id: id, obj: v, stmt: i})
			}
		}
	}
	if n := len(list); n > 0 {
		if es, ok := list[n-1].(*ast.ExprStmt); ok && showable(es.X) {
			c.last = es
			tv := c.info.Types[es.X]
			switch t := tv.Type.(type) {
			case *types.Tuple:
				for i := 0; i < t.Len(); i++ {
					c.shown = append(c.shown, t.At(i).Type())
				}
			case nil:
			default:
				if b, ok := t.(*types.Basic); ok && b.Kind() == types.UntypedNil {
					break
				}
				if tv.IsType() || tv.IsBuiltin() {
					break
				}
				c.shown = []types.Type{t}
			}
		}
	}
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

// intLit is an integer literal at pos.
func intLit(v int, pos token.Pos) *ast.BasicLit {
	return &ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: strconv.Itoa(v)}
}
