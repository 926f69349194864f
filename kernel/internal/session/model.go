package session

import (
	"go/ast"
	"go/token"
	"go/types"
	"sort"
)

// entry is one top-level name of the session: declared by a cell, by the
// prelude, or defined by a := at the top of a cell.
type entry struct {
	name string
	kind kind
	// src is the declaration as written (a *ast.FuncDecl, or a
	// *ast.GenDecl holding spec; a const group whole); nil for a variable
	// defined by :=. Later cells are checked against it.
	src  ast.Decl
	spec ast.Spec
	// run is the declaration as the interpreter compiled it (rewritten);
	// it is compiled again when a name it mentions is redefined. Nil for
	// variables.
	run  ast.Decl
	typ  types.Type      // variables: the static type
	refs map[string]bool // identifiers the declaration mentions
	cell string          // the cell that declared it
	doc  string
}

// method is a method declared by a cell.
type method struct {
	src, run *ast.FuncDecl
	cell     string
}

type kind int

const (
	kindVar kind = iota
	kindConst
	kindType
	kindFunc
)

func (k kind) String() string {
	return [...]string{"var", "const", "type", "func"}[k]
}

func (s *Session) lookup(name string) *entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.names[name]
}

// sortedEntries returns the session's entries ordered by name.
func (s *Session) sortedEntries() []*entry {
	out := make([]*entry, 0, len(s.names))
	for _, e := range s.names {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func recvType(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return ""
	}
	t := d.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.ParenExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// refsOf collects the identifiers n mentions, except selected names
// (x.Sel), which belong to another scope.
func refsOf(n ast.Node) map[string]bool {
	refs := map[string]bool{}
	if n == nil {
		return refs
	}
	ast.Inspect(n, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SelectorExpr:
			ast.Inspect(x.X, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok {
					refs[id.Name] = true
				}
				return true
			})
			return false
		case *ast.Ident:
			refs[x.Name] = true
		}
		return true
	})
	return refs
}

// identAt and selAt build identifiers at pos: yaegi resolves package names
// through the file name of a node's position, so built nodes need one.
func identAt(name string, pos token.Pos) *ast.Ident { return &ast.Ident{NamePos: pos, Name: name} }

func selAt(pkg, name string, pos token.Pos) *ast.SelectorExpr {
	return &ast.SelectorExpr{X: identAt(pkg, pos), Sel: identAt(name, pos)}
}

// stripBody returns a copy of a function declaration without its body:
// later cells are checked against declarations only.
func stripBody(fd *ast.FuncDecl) *ast.FuncDecl {
	c := *fd
	c.Body = nil
	return &c
}

// docOf returns the doc comment of a spec, or of its declaration.
func docOf(d *ast.GenDecl, sp ast.Spec) string {
	var doc string
	switch sp := sp.(type) {
	case *ast.TypeSpec:
		doc = sp.Doc.Text()
	case *ast.ValueSpec:
		doc = sp.Doc.Text()
	}
	if doc == "" && d != nil {
		doc = d.Doc.Text()
	}
	return doc
}
