package session

import (
	"context"
	"errors"
	"go/ast"
	"go/token"
	"strconv"
	"time"

	"github.com/traefik/yaegi/interp"

	"golab/kernel/internal/polyfill"
)

// compileProgram compiles a program into the interpreter. Nothing of the
// cell runs: declarations are compiled, variables declared with zero
// values. If the cell's code fails to compile, the session's symbols are
// put back as they were, so that a failed cell leaves nothing
// half-declared. Stored code compiled again for a redefinition that fails
// to compile keeps its old version, with a warning.
func (s *Session) compileProgram(ctx context.Context, c *cellCode, p *program) error {
	src := c.src
	if len(p.imports) > 0 {
		var specs []ast.Spec
		for _, imp := range p.imports {
			specs = append(specs, imp)
		}
		f := &ast.File{Package: s.base, Name: identAt("main", s.base), Decls: []ast.Decl{&ast.GenDecl{TokPos: s.base, Tok: token.IMPORT, Specs: specs}}}
		if _, err := s.run(ctx, f); err != nil {
			return s.wrapErr(err, src)
		}
		s.mu.Lock()
		for _, imp := range p.imports {
			pth, _ := strconv.Unquote(imp.Path.Value)
			s.ranImports[imp.Name.Name] = pth
		}
		s.mu.Unlock()
	}
	names := append(append([]string(nil), p.declared...), p.deleted...)
	snap := polyfill.Save(s.in, names)
	depSnap := polyfill.Save(s.in, p.depNames)
	// Every name is declared afresh: yaegi would change an existing symbol
	// in place (a type keeps its old methods).
	for _, n := range names {
		polyfill.DeleteSymbol(s.in, n)
	}
	fail := func(err error) error {
		depSnap.Restore()
		snap.Restore()
		return s.wrapErr(err, src)
	}
	if err := s.compileFile(ctx, p.file); err != nil {
		return fail(err)
	}
	if p.deps != nil {
		for _, n := range p.depNames {
			polyfill.DeleteSymbol(s.in, n)
		}
		if err := s.compileFile(ctx, p.deps); err != nil {
			depSnap.Restore()
			s.warnStale(p.depNames, s.wrapErr(err, src))
		}
	}
	if p.hasFunc {
		// The statements run as the body of a function, for Go's semantics
		// of defer, :=, panics: one declared afresh for each cell, then
		// called. Not a literal called at once, though that compiles and
		// runs once less: yaegi gives each literal at top level a slot of
		// its global frame for good and copies that whole frame to make
		// the closure, so that every cell cost more than the one before.
		polyfill.DeleteSymbol(s.in, cellFunc)
		decl := &ast.FuncDecl{Name: identAt(cellFunc, s.base), Type: c.body.Type, Body: c.body.Body}
		f := &ast.File{Package: s.base, Name: identAt("main", s.base), Decls: []ast.Decl{decl}}
		// Declaring runs nothing of the cell: an interrupt is for the call.
		if err := s.compileFile(context.WithoutCancel(ctx), f); err != nil {
			return fail(err)
		}
		call := &ast.CallExpr{Fun: identAt(cellFunc, s.base), Lparen: s.base, Rparen: s.base}
		prog, err := s.compile(&ast.BlockStmt{Lbrace: s.base, List: []ast.Stmt{&ast.ExprStmt{X: call}}, Rbrace: s.base})
		if err != nil {
			return fail(err)
		}
		p.fn = prog
	}
	return nil
}

// compileFile compiles a file of declarations and runs what that runs:
// nothing of a cell (variables are declared without initializers).
func (s *Session) compileFile(ctx context.Context, f *ast.File) error {
	if f == nil {
		return nil
	}
	prog, err := s.compile(f)
	if err != nil {
		return err
	}
	_, err = s.execute(ctx, prog)
	return err
}

// importName returns the path of an import and the name it gives.
func (s *Session) importName(imp *ast.ImportSpec) (path, name string) {
	path, _ = strconv.Unquote(imp.Path.Value)
	if imp.Name != nil {
		return path, imp.Name.Name
	}
	return path, s.imp.Name(path)
}

// runProgram runs the cell function and returns what the cell showed.
func (s *Session) runProgram(ctx context.Context, c *cellCode, p *program) (*Result, error) {
	s.out.values = nil
	var runErr error
	if p.fn != nil {
		_, runErr = s.execute(ctx, p.fn)
	}
	if runErr != nil {
		if errors.Is(runErr, errInterrupted) && s.remnantStays() {
			// The run is still inside compiled code (a loop that does not
			// look at its context), and reading where it stopped runs the
			// interpreter, which must wait for it: answer now, and record
			// the cell once the run has left (see Execute).
			cell := s.cell
			s.pending = func() { s.recordInterrupted(cell, c, p) }
			return nil, s.wrapErr(runErr, c.src)
		}
		at, top := -1, len(c.defsStmts())
		if a, t, ok := s.marks(); ok {
			at, top = a, t
		}
		// The error is made before the variables take their names: it may
		// evaluate them again (see indexDetail).
		var err error
		var pn interp.Panic
		if errors.As(runErr, &pn) {
			err = s.panicError(pn, c, at)
		} else {
			err = s.wrapErr(runErr, c.src)
		}
		s.commit(c, p, top, false)
		return nil, err
	}
	s.commit(c, p, 0, true)
	res := &Result{}
	for _, d := range s.out.values {
		if len(d.Data) > 0 {
			res.Values = s.out.values
		}
	}
	s.out.values = nil
	return res, nil
}

// recordInterrupted records an interrupted cell whose run has left
// compiled code since: what it declared, and the variables its statements
// defined before the interrupt.
func (s *Session) recordInterrupted(cell string, c *cellCode, p *program) {
	cur := s.cell
	s.cell = cell
	defer func() { s.cell = cur }()
	top := len(c.defsStmts())
	if _, t, ok := s.marks(); ok {
		top = t
	}
	s.commit(c, p, top, false)
}

// remnantStays reports whether an interrupted run is still inside compiled
// code a moment after the interrupt (interpreted code stops at once).
func (s *Session) remnantStays() bool {
	for i := 0; i < 10; i++ {
		if !yaegiRunning() {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// defsStmts is the number of top-level statements of the cell.
func (c *cellCode) defsStmts() []ast.Stmt {
	if c.body == nil {
		return nil
	}
	return c.body.Body.List
}

// marks reads where the cell stopped: the position of the last statement
// marked (see markStatements) and the index of the top-level statement
// running.
func (s *Session) marks() (at, top int, ok bool) {
	call := &ast.CallExpr{Fun: selAt("__golabrt", "Marks", s.base), Lparen: s.base,
		Args: []ast.Expr{identAt("__golabAt", s.base), identAt("__golabTop", s.base)}, Rparen: s.base}
	s.out.marks = nil
	if _, err := s.run(context.Background(), &ast.BlockStmt{Lbrace: s.base, List: []ast.Stmt{&ast.ExprStmt{X: call}}, Rbrace: s.base}); err != nil || s.out.marks == nil {
		return 0, 0, false
	}
	return s.out.marks[0], s.out.marks[1], true
}

// commit records what the cell declared and defined in the model. It runs
// once the cell's program is compiled, whether its statements ended well
// or not: the declarations exist in the interpreter either way. Variables
// defined by a := take their names when their statement ran (index below
// top, or all when the cell ended well).
func (s *Session) commit(c *cellCode, p *program, top int, completed bool) {
	s.mu.Lock()
	if c.imports != nil {
		for _, imp := range c.imports.Imports {
			if pth, n := s.importName(imp); n != "_" {
				s.imports[n] = pth
			}
		}
	}
	if c.decls != nil {
		s.recordDecls(c, p)
	}
	s.mu.Unlock()

	changed := map[string]bool{}
	for _, d := range c.defs {
		if !completed && d.stmt >= top {
			continue
		}
		name := d.name
		if !d.reuse {
			if e := s.lookup(name); e != nil {
				changed[name] = true
			}
			polyfill.RenameSymbol(s.in, d.global, name)
		}
		s.mu.Lock()
		s.names[name] = &entry{name: name, kind: kindVar, typ: d.obj.Type(), refs: map[string]bool{}, cell: s.cell}
		s.mu.Unlock()
	}
	s.updateScope(c, completed, top)
	if len(changed) > 0 {
		s.recompile(changed)
	}
}

// recordDecls adds the cell's declarations to the model: each as written
// and as compiled.
func (s *Session) recordDecls(c *cellCode, p *program) {
	for i, d := range c.decls.Decls {
		o := c.orig.Decls[i]
		switch d := d.(type) {
		case *ast.FuncDecl:
			od := o.(*ast.FuncDecl)
			if d.Recv != nil {
				t := recvType(d)
				if s.methods[t] == nil {
					s.methods[t] = map[string]*method{}
				}
				s.methods[t][d.Name.Name] = &method{src: od, run: d, cell: s.cell}
				continue
			}
			s.names[d.Name.Name] = &entry{name: d.Name.Name, kind: kindFunc, src: od, run: d, refs: refsOf(od), cell: s.cell, doc: od.Doc.Text()}
		case *ast.GenDecl:
			og := o.(*ast.GenDecl)
			switch d.Tok {
			case token.TYPE:
				for j, sp := range d.Specs {
					osp := og.Specs[j].(*ast.TypeSpec)
					name := osp.Name.Name
					if p := s.names[name]; p != nil && p.kind != kindType {
						delete(s.methods, name)
					}
					s.names[name] = &entry{name: name, kind: kindType,
						src: &ast.GenDecl{Tok: token.TYPE, Specs: []ast.Spec{osp}}, spec: osp,
						run:  &ast.GenDecl{TokPos: sp.Pos(), Tok: token.TYPE, Specs: []ast.Spec{sp}},
						refs: refsOf(osp), cell: s.cell, doc: docOf(og, osp)}
				}
			case token.CONST:
				refs := refsOf(og)
				for j := range d.Specs {
					osp := og.Specs[j].(*ast.ValueSpec)
					for _, n := range osp.Names {
						if n.Name == "_" {
							continue
						}
						s.names[n.Name] = &entry{name: n.Name, kind: kindConst, src: og, spec: osp, run: d, refs: refs, cell: s.cell, doc: docOf(og, osp)}
					}
				}
			case token.VAR:
				for j := range d.Specs {
					osp := og.Specs[j].(*ast.ValueSpec)
					for _, n := range osp.Names {
						if n.Name == "_" {
							continue
						}
						s.names[n.Name] = &entry{name: n.Name, kind: kindVar, src: og, spec: osp, typ: p.vars[n.Name], refs: refsOf(osp), cell: s.cell, doc: docOf(og, osp)}
					}
				}
			}
		}
	}
}

// updateScope keeps the package of the check for the next cell without
// declarations, with the variables the cell defined.
func (s *Session) updateScope(c *cellCode, completed bool, top int) {
	if c.pkg == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.fullCheck {
		s.checkPkg, s.checkDirty = c.pkg, false
	}
	for _, d := range c.defs {
		if completed || d.stmt < top {
			if alt := s.checkPkg.Scope().Insert(d.obj); alt != nil && alt != d.obj {
				s.checkDirty = true // a name defined again: start afresh
			}
		}
	}
}

// recompile compiles again the stored code that mentions changed names
// (variables a := gave a new type), once the cell is done.
func (s *Session) recompile(changed map[string]bool) {
	types_, consts, funcs := s.dependents(changed, func(string) bool { return false })
	if len(types_)+len(consts)+len(funcs) == 0 {
		return
	}
	p := &program{}
	s.dependentsFile(p, types_, consts, funcs)
	snap := polyfill.Save(s.in, p.depNames)
	for _, n := range p.depNames {
		polyfill.DeleteSymbol(s.in, n)
	}
	if err := s.compileFile(context.Background(), p.deps); err != nil {
		snap.Restore()
		s.warnStale(p.depNames, s.wrapErr(err, ""))
	}
}
