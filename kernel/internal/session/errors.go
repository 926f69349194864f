package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/scanner"
	"go/token"
	"go/types"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/traefik/yaegi/interp"
)

// Error is a failed cell: a syntax or compile error, a panic, an
// interrupt. Name and Value become the Jupyter error's ename and evalue.
type Error struct {
	Name      string
	Value     string
	Traceback []string
	Line, Col int // in the cell, 1-based; 0 when unknown
}

func (e *Error) Error() string { return e.Name + ": " + e.Value }

// posRE finds "golab.go:line:col: " at the start of an interpreter message.
var posRE = regexp.MustCompile(`^golab\.go:(\d+):(\d+): `)

// newError builds an Error whose traceback shows the message and the cell
// line it points at.
func (s *Session) newError(name, msg string, line, col int, src string) *Error {
	e := &Error{Name: name, Value: msg, Line: line, Col: col}
	e.Traceback = append([]string{name + ": " + msg}, sourceLine(src, line, col)...)
	return e
}

// sourceLine shows line of src with a caret under column col: the lines
// a traceback quotes the cell with.
func sourceLine(src string, line, col int) []string {
	lines := strings.Split(src, "\n")
	if line <= 0 || line > len(lines) {
		return nil
	}
	text := strings.TrimRight(lines[line-1], "\r")
	out := []string{fmt.Sprintf("%4d | %s", line, expandTabs(text))}
	if col > 0 {
		out = append(out, "     | "+strings.Repeat(" ", visualCol(text, col))+"^")
	}
	return out
}

// errorAt builds an Error at a position of the current cell.
func (s *Session) errorAt(pos token.Pos, name, msg, src string) *Error {
	p := s.fset.Position(pos)
	if _, line, cur := s.locate(p.Line); cur {
		return s.newError(name, fmt.Sprintf("%d:%d: %s", line, p.Column, msg), line, p.Column, src)
	}
	return s.newError(name, msg, 0, 0, src)
}

// compileError turns a parser error into an Error.
func (s *Session) compileError(err error, src string) error {
	var list scanner.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		first := list[0]
		msg := first.Msg
		if len(list) > 1 {
			msg += fmt.Sprintf(" (and %d more errors)", len(list)-1)
		}
		if _, line, cur := s.locate(first.Pos.Line); cur {
			return s.newError("SyntaxError", fmt.Sprintf("%d:%d: %s", line, first.Pos.Column, msg), line, first.Pos.Column, src)
		}
		return s.newError("SyntaxError", msg, 0, 0, src)
	}
	return s.wrapErr(err, src)
}

// message is the text of an interpreter error, with positions in the
// current cell written as line:col.
func (s *Session) message(err error) string {
	return s.relocate(err.Error())
}

// relocate rewrites a leading wrapper position in msg as the cell's
// line:col, or "In[k] line:col" for another cell.
func (s *Session) relocate(msg string) string {
	m := posRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	l, _ := strconv.Atoi(m[1])
	cell, line, cur := s.locate(l)
	if cur {
		return fmt.Sprintf("%d:%s: %s", line, m[2], msg[len(m[0]):])
	}
	return fmt.Sprintf("%s %d:%s: %s", cell, line, m[2], msg[len(m[0]):])
}

// wrapErr turns an error from compiling or running into an *Error.
func (s *Session) wrapErr(err error, src string) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, errInterrupted) {
		return &Error{Name: "Interrupted", Value: "the cell was interrupted", Traceback: []string{"Interrupted: the cell was interrupted; the session's state is kept"}}
	}
	var p interp.Panic
	if errors.As(err, &p) {
		return s.panicError(p, nil, 0)
	}
	var u *unsupportedError
	if errors.As(err, &u) {
		if m := posRE.FindStringSubmatch(u.msg); m != nil {
			if _, line, cur := s.locate(atoi(m[1])); cur {
				col := atoi(m[2])
				return s.newError("CompileError", fmt.Sprintf("%d:%d: the interpreter cannot compile this (%s); the cell is valid Go, but this construct is beyond yaegi: rewrite it, or report it", line, col, u.msg[len(m[0]):]), line, col, src)
			}
		}
		return s.newError("CompileError", "the interpreter cannot compile this cell ("+s.relocate(u.msg)+"); the cell is valid Go, but this construct is beyond yaegi: rewrite it, or report it", 0, 0, src)
	}
	var list scanner.ErrorList
	if errors.As(err, &list) {
		return s.compileError(err, src)
	}
	msg := err.Error()
	m := posRE.FindStringSubmatch(msg)
	if m == nil {
		return s.newError("CompileError", "the interpreter cannot compile this cell: "+msg, 0, 0, src)
	}
	l, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	_, line, cur := s.locate(l)
	text := msg[len(m[0]):]
	if !cur {
		return s.newError("CompileError", "the interpreter cannot compile this cell: "+s.relocate(msg), 0, 0, src)
	}
	return s.newError("CompileError", fmt.Sprintf("%d:%d: the interpreter cannot compile this (%s); the cell is valid Go, but this construct is beyond yaegi: rewrite it, or report it", line, col, text), line, col, src)
}

// warnStale says on stderr that code compiled earlier could not be
// compiled again after a redefinition, and keeps the old definitions.
func (s *Session) warnStale(names []string, err error) {
	sort.Strings(names)
	msg := err.Error()
	var e *Error
	if errors.As(err, &e) {
		msg = e.Value
	}
	fmt.Fprintf(s.stderr, "golab: the redefinition left %s stale: compiling them again failed: %s\n", strings.Join(names, ", "), msg)
}

// panicError reports a panic of interpreted or compiled code. at is the
// position the cell's marks last recorded (0: unknown); c is the cell,
// when the panic happened while it ran.
func (s *Session) panicError(p interp.Panic, c *cellCode, at int) *Error {
	name := "panic"
	val := fmt.Sprint(p.Value)
	if err, ok := p.Value.(error); ok {
		val = err.Error()
	}
	if _, ok := p.Value.(runtime.Error); ok {
		name = "RuntimeError"
	}
	frames := s.trace.take()
	line, col := 0, 0
	src := ""
	if c != nil {
		src = c.src
	}
	var stmt ast.Stmt
	if at > 0 {
		pos := token.Pos(at)
		pp := s.fset.Position(pos)
		if _, l, cur := s.locate(pp.Line); cur {
			line, col = l, pp.Column
			if c != nil {
				stmt = c.findStmt(pos)
			}
		}
	}
	// yaegi's own runtime errors (a failed type assertion) carry the
	// position of the failing node.
	if m := posRE.FindStringSubmatch(val); m != nil {
		l, _ := strconv.Atoi(m[1])
		if _, cl, cur := s.locate(l); cur {
			line, col = cl, atoi(m[2])
		}
		val = val[len(m[0]):]
		if strings.HasPrefix(val, "interface conversion:") {
			name = "RuntimeError"
		}
		stmt = nil
	}
	if goMsg, kind := goPanicMessage(p.Value); kind != "" {
		name, val = "RuntimeError", goMsg
		if stmt != nil && c != nil {
			if x := faultingExpr(stmt, kind, c.info); x != nil {
				xp := s.fset.Position(x.Pos())
				if _, l, cur := s.locate(xp.Line); cur {
					line, col = l, xp.Column
				}
				if kind == "index" {
					if detail := s.indexDetail(x, c); detail != "" {
						val = "runtime error: index out of range " + detail
					}
				}
			}
		}
	}
	e := &Error{Name: name, Value: val, Line: line, Col: col}
	if line > 0 {
		e.Value = fmt.Sprintf("%d:%d: %s", line, col, val)
	}
	e.Traceback = append([]string{name + ": " + e.Value}, sourceLine(src, line, col)...)
	if len(frames) > 0 {
		e.Traceback = append(e.Traceback, "", "interpreted frames, innermost first:")
		for i, f := range frames {
			cell, l, cur := s.locate(f.line)
			fcol := f.col
			if i == 0 && line > 0 {
				l, fcol, cur = line, col, true
			}
			where := fmt.Sprintf("%s %d:%d", cell, l, fcol)
			if cur {
				where = fmt.Sprintf("%d:%d", l, fcol)
			}
			fn := f.fn
			if i == len(frames)-1 && (fn == "main.func" || fn == "main") {
				fn = "the cell"
			}
			e.Traceback = append(e.Traceback, fmt.Sprintf("  %s  %s", where, fn))
		}
	}
	if cf := s.compiledCellFrames(compiledFrames(p.Stack)); len(cf) > 0 {
		e.Traceback = append(e.Traceback, "", "compiled frames, innermost first:")
		e.Traceback = append(e.Traceback, cf...)
	}
	return e
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// goPanicMessage gives Go's own message for the panics the interpreter
// raises in reflect's words, and the kind of operation that failed
// ("index", "slice", "nil", or "" for a panic left as it is).
func goPanicMessage(v any) (string, string) {
	msg := fmt.Sprint(v)
	if err, ok := v.(error); ok {
		msg = err.Error()
	}
	switch {
	case strings.HasPrefix(msg, "reflect: slice index out of range"), strings.HasPrefix(msg, "reflect: array index out of range"),
		strings.HasPrefix(msg, "reflect: string index out of range"):
		return "runtime error: index out of range", "index"
	case strings.HasPrefix(msg, "reflect.Value.Slice") && strings.Contains(msg, "out of bounds"):
		return "runtime error: slice bounds out of range", "slice"
	case strings.Contains(msg, "on zero Value"), strings.Contains(msg, "indirection through nil pointer"),
		strings.Contains(msg, "invalid memory address or nil pointer dereference"):
		return "runtime error: invalid memory address or nil pointer dereference", "nil"
	case strings.Contains(msg, "assignment to entry in nil map"):
		return "assignment to entry in nil map", "map"
	case strings.Contains(msg, "integer divide by zero"):
		return "runtime error: integer divide by zero", "divide"
	}
	return "", ""
}

// findStmt returns the statement of the cell that starts at pos.
func (c *cellCode) findStmt(pos token.Pos) ast.Stmt {
	var found ast.Stmt
	visit := func(n ast.Node) bool {
		if found != nil {
			return false
		}
		if st, ok := n.(ast.Stmt); ok && st.Pos() == pos {
			if _, isMark := st.(*ast.AssignStmt); !isMark || !isMarkStmt(st) {
				found = st
				return false
			}
		}
		return true
	}
	if c.body != nil {
		ast.Inspect(c.body, visit)
	}
	if c.decls != nil && found == nil {
		ast.Inspect(c.decls, visit)
	}
	return found
}

func isMarkStmt(st ast.Stmt) bool {
	as, ok := st.(*ast.AssignStmt)
	if !ok || len(as.Lhs) != 1 {
		return false
	}
	id, ok := as.Lhs[0].(*ast.Ident)
	return ok && (id.Name == "__golabAt" || id.Name == "__golabTop")
}

// faultingExpr picks, in the statement that panicked, the expression of
// the kind of operation that failed.
func faultingExpr(st ast.Stmt, kind string, info *types.Info) ast.Node {
	var found ast.Node
	ast.Inspect(st, func(n ast.Node) bool {
		if found != nil {
			return false
		}
		if _, ok := n.(*ast.FuncLit); ok {
			return false
		}
		switch x := n.(type) {
		case *ast.IndexExpr:
			t := info.TypeOf(x.X)
			if t == nil {
				return true
			}
			_, isMap := t.Underlying().(*types.Map)
			if (kind == "index" && !isMap) || (kind == "map" && isMap) {
				found = x
			}
		case *ast.SliceExpr:
			if kind == "slice" {
				found = x
			}
		case *ast.StarExpr:
			if kind == "nil" {
				found = x
			}
		case *ast.SelectorExpr:
			if sel, ok := info.Selections[x]; ok && kind == "nil" {
				if _, ptr := sel.Recv().Underlying().(*types.Pointer); ptr || sel.Indirect() {
					found = x.Sel
				}
			}
		case *ast.BinaryExpr:
			if kind == "divide" && (x.Op == token.QUO || x.Op == token.REM) {
				found = x
			}
		}
		return found == nil
	})
	if ie, ok := found.(*ast.IndexExpr); ok && kind == "index" {
		return ie
	}
	return found
}

// indexDetail evaluates, after the panic, the index and the length of the
// failed index expression when both can be (names of the session or of the
// cell's top level, constants): "[2] with length 2".
func (s *Session) indexDetail(n ast.Node, c *cellCode) string {
	ie, ok := n.(*ast.IndexExpr)
	if !ok || !evaluable(ie.X, c) || !evaluable(ie.Index, c) {
		return ""
	}
	s.out.marks = nil
	pos := s.base
	call := &ast.CallExpr{Fun: selAt("__golabrt", "Marks", pos), Lparen: pos,
		Args: []ast.Expr{&ast.CallExpr{Fun: identAt("int", pos), Lparen: pos, Args: []ast.Expr{ie.Index}, Rparen: pos},
			&ast.CallExpr{Fun: identAt("len", pos), Lparen: pos, Args: []ast.Expr{ie.X}, Rparen: pos}}, Rparen: pos}
	if _, err := s.run(context.Background(), &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{&ast.ExprStmt{X: call}}, Rbrace: pos}); err != nil || s.out.marks == nil {
		return ""
	}
	return fmt.Sprintf("[%d] with length %d", s.out.marks[0], s.out.marks[1])
}

// evaluable reports whether x can be evaluated again after a panic, with
// no side effect: names of package level (the session, the cell's top
// level) and constants, selected fields, arithmetic.
func evaluable(x ast.Expr, c *cellCode) bool {
	info := c.info
	top := map[types.Object]bool{}
	for _, d := range c.defs {
		top[d.obj] = true
	}
	ok := true
	ast.Inspect(x, func(n ast.Node) bool {
		if !ok {
			return false
		}
		switch y := n.(type) {
		case *ast.Ident:
			obj := info.Uses[y]
			if obj == nil {
				obj = info.Defs[y]
			}
			switch o := obj.(type) {
			case *types.Const, *types.PkgName, *types.TypeName, nil:
			case *types.Var:
				if o.IsField() {
					break
				}
				if !top[o] && (o.Parent() == nil || o.Pkg() == nil || o.Parent() != o.Pkg().Scope()) {
					ok = false
				}
			default:
				ok = false
			}
		case *ast.CallExpr, *ast.FuncLit, *ast.UnaryExpr:
			if u, isUnary := y.(*ast.UnaryExpr); !isUnary || u.Op == token.ARROW {
				ok = false
			}
		}
		return ok
	})
	return ok
}

// compiledFrames picks the frames of compiled code out of a Go stack trace
// taken while a panic unwinds: those after the panic call, leaving out the
// runtime, reflect and the interpreter.
func compiledFrames(stack []byte) []string {
	lines := strings.Split(string(stack), "\n")
	var out []string
	seenPanic := false
	// yaegi recovers and panics again at each interpreted call a panic
	// leaves: the frames that count follow the last panic.
	first := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") {
			first = i
		}
	}
	for i := first; i+1 < len(lines); i++ {
		fn := strings.TrimSpace(lines[i])
		if strings.HasPrefix(fn, "panic(") {
			seenPanic = true
			continue
		}
		if !seenPanic || !strings.HasPrefix(lines[i+1], "\t") {
			continue
		}
		loc := strings.TrimSpace(lines[i+1])
		i++
		if strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "reflect.") ||
			strings.Contains(fn, "traefik/yaegi") || strings.HasPrefix(fn, "golab/kernel/internal/session.") {
			if strings.Contains(fn, "traefik/yaegi") {
				break // back in the interpreter: the rest is its machinery
			}
			continue
		}
		if j := strings.LastIndex(loc, " +0x"); j >= 0 {
			loc = loc[:j]
		}
		out = append(out, "  "+trimArgs(fn)+"  "+loc)
		if len(out) == 12 {
			break
		}
	}
	return out
}

func trimArgs(fn string) string {
	if i := strings.LastIndex(fn, "("); i > 0 && strings.HasSuffix(fn, ")") {
		return fn[:i] + "(...)"
	}
	return fn
}

func expandTabs(s string) string { return strings.ReplaceAll(s, "\t", "    ") }

// visualCol converts a 1-based byte column to a 0-based display offset.
func visualCol(line string, col int) int {
	n := 0
	for i, r := range line {
		if i >= col-1 {
			break
		}
		if r == '\t' {
			n += 4
		} else {
			n++
		}
	}
	return n
}

// frame is one line of yaegi's panic trace.
type frame struct {
	line, col int
	fn        string
}

// traceRE matches the lines yaegi prints while a panic unwinds the
// interpreted stack: "golab.go:300002:5: panic: main.f(...)".
var traceRE = regexp.MustCompile(`^golab\.go:(\d+):(\d+): panic: (.*)$`)

// traceWriter is the interpreter's stderr: it keeps yaegi's panic trace for
// the error report and passes everything else on.
type traceWriter struct {
	out     interface{ Write([]byte) (int, error) }
	mu      sync.Mutex
	partial []byte
	frames  []frame
}

func (w *traceWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		if m := traceRE.FindStringSubmatch(line); m != nil {
			fn := strings.TrimSuffix(m[3], "(...)")
			line, _ := strconv.Atoi(m[1])
			col, _ := strconv.Atoi(m[2])
			w.frames = append(w.frames, frame{line: line, col: col, fn: fn})
			continue
		}
		if _, err := w.out.Write([]byte(line + "\n")); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

func (w *traceWriter) reset() {
	w.mu.Lock()
	w.frames = nil
	w.mu.Unlock()
}

func (w *traceWriter) take() []frame {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.frames
	w.frames = nil
	return f
}
