package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"golab/kernel/internal/bindings"

	"github.com/traefik/yaegi/interp"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.b.String()
	b.b.Reset()
	return s
}

type tsess struct {
	*Session
	t   *testing.T
	out *syncBuf
	n   int
}

func newTestSession(t *testing.T) *tsess {
	t.Helper()
	out := &syncBuf{}
	s, err := New(Options{Stdout: out, Stderr: out, Exports: []interp.Exports{bindings.Symbols}})
	if err != nil {
		t.Fatal(err)
	}
	return &tsess{Session: s, t: t, out: out}
}

// exec runs a cell and returns the text/plain of its values joined by "|".
func (ts *tsess) exec(src string) (string, error) {
	ts.n++
	res, err := ts.Execute(context.Background(), fmt.Sprintf("In[%d]", ts.n), src)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, d := range res.Values {
		parts = append(parts, fmt.Sprint(d.Data["text/plain"]))
	}
	return strings.Join(parts, "|"), nil
}

func (ts *tsess) ok(src, want string) {
	ts.t.Helper()
	got, err := ts.exec(src)
	if err != nil {
		ts.t.Fatalf("cell %q: %v", src, err)
	}
	if got != want {
		ts.t.Fatalf("cell %q = %q, want %q", src, got, want)
	}
}

func (ts *tsess) fails(src, name, contains string) *Error {
	ts.t.Helper()
	_, err := ts.exec(src)
	var e *Error
	if !errors.As(err, &e) {
		ts.t.Fatalf("cell %q: want %s error, got %v", src, name, err)
	}
	if e.Name != name || !strings.Contains(e.Value, contains) {
		ts.t.Fatalf("cell %q: got %s: %s; want %s containing %q", src, e.Name, e.Value, name, contains)
	}
	return e
}

func TestStateAndMixedCells(t *testing.T) {
	ts := newTestSession(t)
	ts.ok("x := 40", "")
	ts.ok("x + 2", "42")
	ts.ok("import \"strings\"\ny := strings.ToUpper(\"go\")\nfunc twice(s string) string { return s + s }\ntwice(y)", "GOGO")
	ts.ok("import \"strings\"\nstrings.Repeat(\"a\", 3)", "aaa")
	ts.ok("func two() (int, string) { return 7, \"seven\" }", "")
	ts.ok("two()", "7|seven")
	ts.ok("fmt.Println(\"hello\")", "")
	if got := ts.out.take(); got != "hello\n" {
		t.Fatalf("stdout %q", got)
	}
	ts.ok("var e error\ne", "")
}

// TestImportsForLaterCells checks that a cell may import what only later
// cells use, under the package's name or another, as a notebook's first
// cell does; an unused variable inside a function is still Go's error.
func TestImportsForLaterCells(t *testing.T) {
	ts := newTestSession(t)
	ts.ok("import (\n\t\"math/rand/v2\"\n\tstr \"strings\"\n\t\"os\"\n)\nx := 1", "")
	ts.ok("rand.New(rand.NewPCG(1, 2)).IntN(1) + x", "1")
	ts.ok("str.ToUpper(\"go\")", "GO")
	ts.fails("func f() { y := 2 }", "CompileError", "declared and not used: y")
}

func TestRedefinition(t *testing.T) {
	ts := newTestSession(t)
	ts.ok("var p = 0.5", "")
	ts.ok("func getp() float64 { return p }", "")
	ts.ok("func usep() float64 { return getp() * 2 }", "")
	ts.ok("type M struct{}\nfunc (M) P() float64 { return p }", "")
	ts.ok("m := M{}", "")
	ts.ok("var p = 0.3", "")
	ts.ok("getp()", "0.3")
	ts.ok("usep()", "0.6")
	ts.ok("m.P()", "0.3")
	ts.ok("p := 0.1", "")
	ts.ok("getp()", "0.1")
	// A new type: functions declared earlier are compiled again.
	ts.ok("var p = 3", "")
	ts.ok("p", "3")
	ts.ok("func g() int { return 1 }\nfunc callg() int { return g() }", "")
	ts.ok("func g() int { return 2 }", "")
	ts.ok("callg()", "2")
	// Redefined method.
	ts.ok("type T struct{ A int }\nfunc (t T) Get() int { return t.A }\nfunc (t T) Name() string { return \"T\" }", "")
	ts.ok("func (t T) Get() int { return t.A * 10 }", "")
	ts.ok("T{A: 2}.Get()", "20")
	ts.ok("T{A: 2}.Name()", "T")
	ts.ok("type T struct{ A, B int }", "")
	ts.ok("T{A: 1, B: 2}.Get()", "10")
	ts.ok("var t T\nt.B = 3\nfunc useT(t T) int { return t.Get() + t.B }\nuseT(t)", "3")
	ts.ok("type U struct{ T }\nU{T{A: 6}}.Get()", "60")
	// Redefinition through a method call of a compiled type, several values.
	ts.ok("import \"gonum.org/v1/gonum/mat\"\nm := mat.NewDense(2, 3, nil)\nr, c := m.Dims()", "")
	ts.ok("r, c := m.Dims()\nr * c", "6")
}

func TestErrorsPointAtCell(t *testing.T) {
	ts := newTestSession(t)
	e := ts.fails("x := 1\ny := x + undefinedThing", "CompileError", "2:10: undefined: undefinedThing")
	if e.Line != 2 || e.Col != 10 {
		t.Fatalf("line:col %d:%d", e.Line, e.Col)
	}
	ts.fails("func f() int {\n\treturn nope\n}", "CompileError", "2:9: undefined: nope")
	ts.fails("var m map[string]int\nm[\"a\"] = 1", "RuntimeError", "nil map")
	ts.fails("var s []int\n_ = s[5]", "RuntimeError", "2:5: runtime error: index out of range [5] with length 0")
	ts.fails("panic(\"custom\")", "panic", "custom")
	ts.fails("x := )", "SyntaxError", "1:6")
	ts.fails("import \"net/nothing\"", "ImportError", "no binding")
	ts.ok("1 + 1", "2")
}

func bg() context.Context { return context.Background() }

func name(n int) string { return fmt.Sprintf("In[%d]", n) }

// An interrupt that comes before a cell's run starts (while it compiles, or
// as yaegi starts its goroutine) stops the cell: none of it runs.
func TestInterruptBeforeRunStarts(t *testing.T) {
	ts := newTestSession(t)
	ts.ok("kept := 7", "")
	for i := 0; i < 50; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		if i%2 == 0 {
			cancel()
		} else {
			go cancel()
		}
		_, err := ts.Execute(ctx, "In[x]", "kept = 100")
		cancel()
		if err == nil {
			// go cancel() may lose the race to a whole run; then the
			// cell ran, which is fine, but only as a whole.
			ts.ok("kept = 7", "")
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Name != "Interrupted" {
			t.Fatalf("try %d: want Interrupted, got %v", i, err)
		}
		ts.ok("kept", "7")
	}
}
