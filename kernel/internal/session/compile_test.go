package session

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/traefik/yaegi/interp"

	"golab/frontend"
	"golab/kernel/internal/bindings"
	"golab/kernel/internal/compiled"
)

// The tests of //golab:compile build real plugins with the toolchain that
// runs the test. Their dependencies' dynamic-link build is prepared by
// make kernel (or make compile-cache); after that each plugin takes seconds,
// and a plugin already in the cache (same cell, same test binary) less than
// a tenth of a second.

// compiledSession is a test session whose marked functions compile; the
// test is skipped where Go plugins cannot work (no cgo, another OS).
func compiledSession(t *testing.T) *tsess {
	t.Helper()
	ts := newTestSession(t)
	if err := ts.compiler().Unavailable(); err != nil {
		t.Skipf("Go plugins are unavailable here: %v", err)
	}
	return ts
}

// whereCell declares where(), which names the function running it: a
// function of the plugin's package when compiled.
const whereCell = `import "runtime"

// where names the function running it.
//golab:compile
func where() string {
	pc, _, _, _ := runtime.Caller(0)
	return runtime.FuncForPC(pc).Name()
}`

// compiledPrefix starts the names of compiled functions.
const compiledPrefix = compiled.PathPrefix

func TestCompiledFunctions(t *testing.T) {
	ts := compiledSession(t)
	ts.ok(`import (
	"runtime"

	"gonum.org/v1/gonum/mat"
)

//golab:compile
func where() string {
	pc, _, _, _ := runtime.Caller(0)
	return runtime.FuncForPC(pc).Name()
}

// sum adds the elements of a matrix the interpreter made.
//golab:compile
func sum(m *mat.Dense) float64 {
	r, c := m.Dims()
	t := 0.0
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			t += m.At(i, j)
		}
	}
	return t
}

//golab:compile
func total(scale float64, _ string, xs ...float64) (t float64) {
	for _, x := range xs {
		t += x
	}
	return scale * t
}

//golab:compile
func sq(x int) int { return x * x }

// sumsq calls sq, compiled with it.
//golab:compile
func sumsq(xs ...int) int {
	s := 0
	for _, x := range xs {
		s += sq(x)
	}
	return s
}

//golab:compile
func at(s []int, i int) int {
	return s[i]
}`, "")
	// "golab: compiled where, sum, ... in 2.1 s" unless the plugin is in
	// the cache (the same cell run by the same test binary before).
	if out := ts.out.take(); out != "" && !strings.HasPrefix(out, "golab: compiled where, sum, total, sq, sumsq, at in ") {
		t.Fatalf("declaring compiled functions printed %q", out)
	}
	got, err := ts.exec("where()")
	if err != nil || !strings.HasPrefix(got, compiledPrefix) || !strings.HasSuffix(got, ".where") {
		t.Fatalf("where() = %q, %v; want a function of a plugin", got, err)
	}
	ts.ok("sum(mat.NewDense(2, 2, []float64{1, 2, 3, 4}))", "10")
	ts.ok("total(2, \"x\", 1, 2, 3)", "12")
	ts.ok("xs := []float64{1, 2}\ntotal(1, \"\", xs...)", "3")
	ts.ok("sumsq(1, 2, 3)", "14")
	// A panic in compiled code names the function and its line in the cell.
	e := ts.fails("at([]int{1}, 5)", "RuntimeError", "runtime error: index out of range [5] with length 1")
	if tb := strings.Join(e.Traceback, "\n"); !strings.Contains(tb, "compiled frames, innermost first:\n  at  In[1] line 49") {
		t.Errorf("traceback:\n%s", tb)
	}

	// Callers, interpreted, see a redefinition; the compiled caller from
	// the first cell keeps the sq compiled with it, and the session says so.
	ts.ok("func twice(x int) int { return 2 * sq(x) }", "")
	ts.ok("twice(3)", "18")
	cube := "//golab:compile\nfunc sq(x int) int { return x * x * x }"
	ts.ok(cube, "")
	out := ts.out.take()
	if strings.Contains(out, "interpreted") || !strings.Contains(out, "golab: sumsq (compiled in In[1]) still calls the sq compiled with it; run In[1] again to compile it with the new sq\n") {
		t.Fatalf("redefining sq printed %q", out)
	}
	ts.ok("twice(3)", "54")
	ts.ok("sq(2)", "8")
	ts.ok("sumsq(2)", "4")
	// The same cell again: nothing to build, the loaded plugin serves.
	start := time.Now()
	ts.ok(cube, "")
	if out := ts.out.take(); strings.Contains(out, "golab: compiled") {
		t.Fatalf("re-running an unchanged cell compiled again: %q", out)
	}
	t.Logf("an unchanged marked cell again: %v", time.Since(start))
	ts.ok("sq(3)", "27")
	// Back to an interpreted sq.
	ts.ok("func sq(x int) int { return -x }", "")
	ts.ok("twice(3)", "-6")
}

func TestCompiledErrors(t *testing.T) {
	// Whether plugins work or not, what a plugin cannot hold is an error.
	for _, env := range [][]string{nil, append(os.Environ(), "GOLAB_COMPILE=off")} {
		out := &syncBuf{}
		s, err := New(Options{Stdout: out, Stderr: out, Env: env, Exports: []interp.Exports{bindings.Symbols}})
		if err != nil {
			t.Fatal(err)
		}
		ts := &tsess{Session: s, t: t, out: out}
		ts.ok("n := 3\nconst k = 2\ntype P struct{ X int }\nfunc helper() int { return 1 }", "")
		e := ts.fails("//golab:compile\nfunc f() int {\n\treturn n * 2\n}", "CompileError",
			"3:9: f is marked //golab:compile and uses n, a variable of the session (from In[1]); a compiled function sees only its parameters and the packages it imports: pass it in as a parameter, e.g. func f(n int, ...)")
		if e.Line != 3 || e.Col != 9 {
			t.Errorf("line:col %d:%d, want 3:9", e.Line, e.Col)
		}
		ts.fails("//golab:compile\nfunc f() int { return helper() }", "CompileError", "2:23: f is marked //golab:compile and calls helper, a function of the session (from In[1]); a compiled function sees only its parameters and the packages it imports: mark helper //golab:compile in the same cell, or pass it in as a parameter of type func() int")
		ts.fails("func g() int { return 1 }\n\n//golab:compile\nfunc f() int { return g() }", "CompileError", "4:23: f is marked //golab:compile and calls g, a function of the session (declared in this cell)")
		ts.fails("//golab:compile\nfunc f() int { return k }", "CompileError", "2:23: f is marked //golab:compile and uses the constant k (from In[1])")
		ts.fails("//golab:compile\nfunc f(p P) int { return p.X }", "CompileError", "2:10: f is marked //golab:compile and uses the type P (from In[1]); compiled code can use only the types of the packages the kernel binds")
		ts.fails("//golab:compile\nfunc f() { Display(1) }", "CompileError", "call display.Display instead")
		ts.fails("//golab:compile\nvar z = 1", "CompileError", "1:1: //golab:compile must stand on the line directly above a func declaration")
		ts.fails("//golab:compile\n\nfunc f() {}", "CompileError", "1:1: //golab:compile must stand on the line directly above")
		ts.fails("x := 1\n  //golab:compiled\nfunc f() {}", "CompileError", "2:3: unknown directive //golab:compiled")
		ts.fails("type Q struct{}\n\n//golab:compile\nfunc (Q) M() {}", "CompileError", "3:1: //golab:compile marks functions, not methods")
		ts.fails("//golab:compile\nfunc id[T any](x T) T { return x }", "CompileError", "cannot compile the generic function id")
		// Go's own errors in a marked function are found before any build.
		ts.fails("//golab:compile\nfunc f() int {\n\treturn \"s\"\n}", "CompileError", "3:9: cannot use \"s\"")
		// None of the failed cells declared anything.
		ts.fails("f", "CompileError", "undefined: f")
		ts.ok("n", "3")
	}
}

// TestCompiledBuildErrorLocation: an error only the compiler finds (a
// stack frame over 1 GB) comes from the plugin build, at the cell's
// line:col.
func TestCompiledBuildErrorLocation(t *testing.T) {
	ts := compiledSession(t)
	e := ts.fails("x := 1\n\n//golab:compile\nfunc big() byte {\n\t// a 2 GB argument\n\tf := func(a [1 << 31]byte) byte { return a[0] }\n\treturn f([1 << 31]byte{})\n}", "CompileError", "6:7: stack frame too large (>1GB)")
	if e.Line != 6 || e.Col != 7 {
		t.Errorf("line:col %d:%d, want 6:7", e.Line, e.Col)
	}
	ts.fails("x", "CompileError", "undefined: x")
}

func TestCompiledFallback(t *testing.T) {
	def := compiled.DefaultConfig(nil)
	noGo := t.TempDir()
	for _, c := range []struct {
		name string
		env  []string
		cfg  func(*compiled.Config)
		why  string
	}{
		{"switched off", append(os.Environ(), "GOLAB_COMPILE=off"), nil, "compiling is switched off (GOLAB_COMPILE=off)"},
		{"no go on PATH", append(os.Environ(), "PATH="+noGo), nil, "no Go toolchain: no go command on PATH (" + def.GoVersion + " built the kernel, and plugins need the same)"},
		{"toolchain gone", nil, func(c *compiled.Config) { c.GoRoot = noGo }, "no Go toolchain at " + noGo},
		{"kernel built with CGO_ENABLED=0", nil, func(c *compiled.Config) { c.Cgo = false }, "the kernel was built with CGO_ENABLED=0, and Go plugins need cgo"},
		{"no plugins on the OS", nil, func(c *compiled.Config) { c.GOOS = "windows" }, "Go plugins are not supported on windows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := c.env
			if env == nil {
				env = os.Environ()
			}
			cfg := compiled.DefaultConfig(env)
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			out := &syncBuf{}
			s, err := New(Options{Stdout: out, Stderr: out, Env: env, Exports: []interp.Exports{bindings.Symbols}, Compiler: compiled.New(cfg)})
			if err != nil {
				t.Fatal(err)
			}
			ts := &tsess{Session: s, t: t, out: out}
			ts.ok(whereCell, "")
			got := out.take()
			if want := "golab: where runs interpreted: " + c.why; !strings.HasPrefix(got, want) || strings.Count(got, "\n") != 1 {
				t.Fatalf("output %q, want one line starting %q", got, want)
			}
			if name, err := ts.exec("where()"); err != nil || strings.HasPrefix(name, compiledPrefix) {
				t.Fatalf("where() = %q, %v; want it interpreted", name, err)
			}
		})
	}
}

// cellHost is the kernel's side of golab/frontend for a test session: compiled
// code sees the running cell's context.
type cellHost struct{ s *Session }

func (h cellHost) Context() context.Context      { return h.s.Context() }
func (h cellHost) Display(frontend.Bundle) error { return nil }
func (h cellHost) ClearOutput(bool) error        { return nil }

func TestCompiledInterrupt(t *testing.T) {
	ts := compiledSession(t)
	defer frontend.Set(cellHost{ts.Session})()
	ts.ok(`import (
	"time"

	"golab/frontend"
)

// spin counts until the cell is interrupted, looking at its context.
//golab:compile
func spin() int {
	ctx := frontend.Context()
	n := 0
	for ctx.Err() == nil {
		n++
	}
	return n
}

// busy works for d and never looks.
//golab:compile
func busy(d time.Duration) int {
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		n++
	}
	return n
}`, "")
	ts.ok("kept := 7", "")
	interrupt := func(code string, after time.Duration) (time.Time, error) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var at time.Time
		timer := time.AfterFunc(after, func() { at = time.Now(); cancel() })
		defer timer.Stop()
		_, err := ts.Execute(ctx, "In[x]", code)
		return at, err
	}
	isInterrupted := func(err error) bool {
		var e *Error
		return errors.As(err, &e) && e.Name == "Interrupted"
	}

	// A loop that looks stops at once, and the next cell runs at once.
	at, err := interrupt("kept = spin()", 300*time.Millisecond)
	if !isInterrupted(err) {
		t.Fatalf("spin(): want Interrupted, got %v", err)
	}
	if d := time.Since(at); d > time.Second {
		t.Errorf("spin(): the reply came %v after the interrupt", d)
	}
	ts.ok("kept", "7")
	if d := time.Since(at); d > 2*time.Second {
		t.Errorf("the next cell ran %v after the interrupt", d)
	}

	// A loop that never looks: the reply comes at once, but the next cell
	// waits until the loop has ended.
	at, err = interrupt("before := 5\nkept = busy(1500 * time.Millisecond)\nafter := 6", 100*time.Millisecond)
	if !isInterrupted(err) {
		t.Fatalf("busy(): want Interrupted, got %v", err)
	}
	if d := time.Since(at); d > time.Second {
		t.Errorf("busy(): the reply came %v after the interrupt", d)
	}
	ts.ok("kept", "7")
	if d := time.Since(at); d < time.Second {
		t.Errorf("the next cell ran %v after the interrupt, before busy() could have ended", d)
	}
	// The interrupted cell is recorded as far as it ran.
	ts.ok("before", "5")
	ts.fails("after", "CompileError", "undefined: after")
	if e := ts.lookup("before"); e == nil || e.cell != "In[x]" {
		t.Errorf("before is recorded as %+v", e)
	}
}
