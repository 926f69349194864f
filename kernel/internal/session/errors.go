package session

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/scanner"
	"go/token"
	"regexp"
	"runtime"
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
	e.Traceback = []string{name + ": " + msg}
	if line > 0 {
		lines := strings.Split(src, "\n")
		if line <= len(lines) {
			text := strings.TrimRight(lines[line-1], "\r")
			e.Traceback = append(e.Traceback, fmt.Sprintf("%4d | %s", line, expandTabs(text)))
			if col > 0 {
				e.Traceback = append(e.Traceback, "     | "+strings.Repeat(" ", visualCol(text, col))+"^")
			}
		}
	}
	return e
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
		return s.panicError(p, src)
	}
	var u *unsupportedError
	if errors.As(err, &u) {
		return s.newError("CompileError", "the interpreter cannot compile this cell ("+u.msg+"); rewrite the construct it names, or report it", 0, 0, src)
	}
	var list scanner.ErrorList
	if errors.As(err, &list) {
		return s.compileError(err, src)
	}
	msg := err.Error()
	m := posRE.FindStringSubmatch(msg)
	if m == nil {
		return s.newError("CompileError", msg, 0, 0, src)
	}
	l, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	_, line, cur := s.locate(l)
	text := msg[len(m[0]):]
	if strings.Contains(text, "constant definition loop") || strings.HasPrefix(text, "undefined type for") {
		// yaegi's words for an undefined name in a := statement.
		if id := s.firstUndefined(src); id != nil {
			text = "undefined: " + id.name
			line, col, cur = id.line, id.col, true
		}
	}
	if !cur {
		return s.newError("CompileError", s.relocate(msg), 0, 0, src)
	}
	return s.newError("CompileError", fmt.Sprintf("%d:%d: %s", line, col, text), line, col, src)
}

// panicError reports a panic of interpreted or compiled code.
func (s *Session) panicError(p interp.Panic, src string) *Error {
	name := "panic"
	if _, ok := p.Value.(runtime.Error); ok {
		name = "RuntimeError"
	}
	val := fmt.Sprint(p.Value)
	if err, ok := p.Value.(error); ok {
		val = err.Error()
	}
	e := &Error{Name: name, Value: val}
	e.Traceback = []string{name + ": " + val}
	frames := s.trace.take()
	if len(frames) > 0 {
		e.Traceback = append(e.Traceback, "", "interpreted frames, innermost first:")
		for _, f := range frames {
			cell, line, cur := s.locate(f.line)
			at := fmt.Sprintf("%s %d:%d", cell, line, f.col)
			if cur {
				at = fmt.Sprintf("%d:%d", line, f.col)
				if e.Line == 0 {
					e.Line, e.Col = line, f.col
				}
			}
			e.Traceback = append(e.Traceback, fmt.Sprintf("  %s  %s", at, f.fn))
		}
	}
	if cf := compiledFrames(p.Stack); len(cf) > 0 {
		e.Traceback = append(e.Traceback, "", "compiled frames, innermost first:")
		e.Traceback = append(e.Traceback, cf...)
	}
	if e.Line > 0 {
		lines := strings.Split(src, "\n")
		if e.Line <= len(lines) {
			e.Traceback = append(e.Traceback, "", fmt.Sprintf("%4d | %s", e.Line, expandTabs(strings.TrimRight(lines[e.Line-1], "\r"))))
		}
	}
	return e
}

// compiledFrames picks the frames of compiled code out of a Go stack trace
// taken while a panic unwinds: those after the panic call, leaving out the
// runtime, reflect and the interpreter.
func compiledFrames(stack []byte) []string {
	lines := strings.Split(string(stack), "\n")
	var out []string
	seenPanic := false
	for i := 0; i+1 < len(lines); i++ {
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

// undefinedIdent is an identifier of the cell that nothing declares.
type undefinedIdent struct {
	name      string
	line, col int
}

// firstUndefined finds the first identifier in the cell that is neither
// declared in it, nor in the session, nor predeclared. yaegi reports such a
// name in a := statement as a "constant definition loop".
func (s *Session) firstUndefined(src string) *undefinedIdent {
	sp := split(src)
	text := blank(src, sp.units, func(unitKind) bool { return true })
	// Parse statements and declarations alike inside a function body; a
	// failure just means no better message.
	var found *undefinedIdent
	for _, wrap := range []struct{ pre, post string }{
		{"package main\nfunc main() {\n" + s.lineDirective(), "\n}"},
		{"package main\n" + s.lineDirective(), ""},
	} {
		f, err := parserParse(s.fset, wrap.pre+text+wrap.post)
		if err != nil {
			continue
		}
		for _, id := range f.Unresolved {
			if s.known(id.Name) || isSelectorOrKey(f, id) {
				continue
			}
			p := s.fset.Position(id.Pos())
			_, line, _ := s.locate(p.Line)
			if found == nil || line < found.line || (line == found.line && p.Column < found.col) {
				found = &undefinedIdent{id.Name, line, p.Column}
			}
		}
		break
	}
	return found
}

// known reports whether name is declared in the session, imported or
// predeclared.
func (s *Session) known(name string) bool {
	if universe[name] || s.lookup(name) != nil {
		return true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.imports[name]
	return ok
}

// isSelectorOrKey reports whether id is the key of a composite literal
// element, which the parser leaves unresolved.
func isSelectorOrKey(f *ast.File, id *ast.Ident) bool {
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		if found {
			return false
		}
		if kv, ok := n.(*ast.KeyValueExpr); ok && kv.Key == id {
			found = true
		}
		return true
	})
	return found
}
