package polyfill

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
)

// The tests below measure, on a bare yaegi v0.16.1 interpreter (yaegi's
// own standard library, generated for Go 1.22), each gap the kernel covers
// (kernel/README.md lists them). Each fails when its gap is gone: yaegi
// was upgraded, and the kernel's workaround, named in the test, may go.
// Run with -v to see what each measures.

// bare runs the parts of src, separated by "\n---\n", as successive
// evaluations, and returns the last value and the first error (a panic
// of the interpreter included).
func bare(src string) (v reflect.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	i := interp.New(interp.Options{GoPath: "/dev/null"})
	i.Use(stdlib.Symbols)
	i.Use(interp.Exports{"probe/probe": {"Text": reflect.ValueOf(func(v any) string { return fmt.Sprint(v) })}})
	for _, p := range strings.Split(src, "\n---\n") {
		if v, err = i.Eval(p); err != nil {
			return v, err
		}
	}
	return v, err
}

// gap checks that the gap is still there: present says so from what
// src gave.
func gap(t *testing.T, workaround, src string, present func(reflect.Value, error) bool) {
	t.Helper()
	v, err := bare(src)
	got := fmt.Sprintf("value %v, error %v", v, err)
	if v.IsValid() && v.CanInterface() {
		got = fmt.Sprintf("value %v (%s), error %v", v.Interface(), v.Type(), err)
	}
	t.Logf("measured: %s", got)
	if !present(v, err) {
		t.Errorf("yaegi no longer has this gap (%s); the kernel's workaround may go: %s", got, workaround)
	}
}

func errContains(s string) func(reflect.Value, error) bool {
	return func(_ reflect.Value, err error) bool { return err != nil && strings.Contains(err.Error(), s) }
}

func valueIs(want string) func(reflect.Value, error) bool {
	return func(v reflect.Value, err error) bool {
		return err == nil && v.IsValid() && v.CanInterface() && fmt.Sprint(v.Interface()) == want
	}
}

func TestGapImportAmongStatements(t *testing.T) {
	gap(t, "session/split.go cuts cells into imports, declarations and statements",
		"import \"fmt\"\nx := 1\nfmt.Println(x)", errContains("expected declaration"))
}

func TestGapMultiValueResult(t *testing.T) {
	gap(t, "the session shows every value of the final expression",
		"func two() (int, string) { return 1, \"a\" }\n---\ntwo()", valueIs("1"))
}

func TestGapDeclarationValue(t *testing.T) {
	gap(t, "declarations show nothing",
		"func f() {}", func(v reflect.Value, err error) bool { return err == nil && v.IsValid() })
}

func TestGapErrorColumns(t *testing.T) {
	gap(t, "errors are reported at the cell's line:col (go/types checks the cell)",
		"x := 1\n---\ny := x + nope", errContains("1:37"))
}

func TestGapRedeclaredVarUnseen(t *testing.T) {
	gap(t, "a redeclared variable of the same type is assigned (session: redefinition rule)",
		"var p = 0.5\n---\nfunc getp() float64 { return p }\n---\nvar p = 0.7\n---\ngetp()", valueIs("0.5"))
}

func TestGapRedefinedFuncUnseen(t *testing.T) {
	gap(t, "code that mentions a redefined name is compiled again",
		"func g() int { return 1 }\n---\nfunc callg() int { return g() }\n---\nfunc g() int { return 2 }\n---\ncallg()", valueIs("1"))
}

func TestGapRedefinedMethodIgnored(t *testing.T) {
	gap(t, "a type with a redefined method is compiled anew (DeleteSymbol first)",
		"type T struct{}\n---\nfunc (T) M() int { return 1 }\n---\nfunc (T) M() int { return 2 }\n---\nT{}.M()", valueIs("1"))
}

func TestGapMethodsHiddenFromCompiled(t *testing.T) {
	gap(t, "values are shown through locals of their static type, and through yaegi's interface wrappers (display.Renderers)",
		"import \"probe\"\n---\ntype S struct{}\n---\nfunc (S) String() string { return \"S!\" }\n---\nvar v interface{} = S{}\n---\nprobe.Text(v)", valueIs("{}"))
}

func TestGapTypeSwitchOnInterfaces(t *testing.T) {
	gap(t, "the kernel asserts to concrete types only (display of values in interfaces, errors.As)",
		"type I interface{ Nope() }\n---\ntype S struct{}\n---\nfunc (S) M() {}\n---\nfunc f(v interface{}) bool { switch x := v.(type) { case I: _ = x; return true }; return false }\n---\nf(S{})", valueIs("true"))
}

func TestGapRangeOverInt(t *testing.T) {
	gap(t, "Rewriter.rangeInt: a counting loop",
		"n := 0\nfor i := range 3 { n += i }", errContains("nil type"))
}

func TestGapMinMax(t *testing.T) {
	gap(t, "Rewriter.builtin: constants, or the prelude's __golabMin/__golabMax", "min(1, 2)", errContains("undefined: min"))
	gap(t, "Rewriter.builtin", "max(1, 2)", errContains("undefined: max"))
}

func TestGapClear(t *testing.T) {
	gap(t, "Rewriter.builtin: a compiled clear", "m := map[int]int{1: 1}\nclear(m)", errContains("undefined: clear"))
}

func TestGapRangeOverFunc(t *testing.T) {
	gap(t, "Rewriter.rangeFunc: the body becomes the yield function",
		"func seq(yield func(int) bool) { yield(1) }\n---\nfor v := range seq { _ = v }", errContains("nil type"))
}

func TestGapGenericStdlib(t *testing.T) {
	gap(t, "overlay/slices", "import \"slices\"\n---\nslices.Max([]int{1, 2})", errContains("undefined selector"))
	gap(t, "overlay/slices", "import \"slices\"\n---\nslices.Sort([]int{2, 1})", errContains("undefined selector"))
	gap(t, "overlay/maps", "import \"maps\"\n---\nmaps.Clone(map[int]int{1: 2})", errContains("undefined type"))
	gap(t, "overlay/iter", "import \"iter\"", errContains("unable to find source"))
}

func TestGapGo122Stdlib(t *testing.T) {
	gap(t, "kernel/internal/stdlib: the standard library of the Go that builds the kernel",
		"import \"strings\"\n---\nstrings.Lines(\"a\")", errContains("has no symbol Lines"))
}

func TestGapInferenceTwoTypeParameters(t *testing.T) {
	gap(t, "Rewriter.instantiate writes the type arguments go/types inferred",
		"import \"strconv\"\n---\nfunc Map[T, U any](s []T, f func(T) U) []U { var out []U; for _, v := range s { out = append(out, f(v)) }; return out }\n---\nMap([]int{1}, strconv.Itoa)",
		errContains("undefined type for U"))
}

func TestGapInferenceThroughTilde(t *testing.T) {
	gap(t, "Rewriter.instantiate",
		"func Max[S ~[]E, E int | float64](x S) E { m := x[0]; for _, v := range x { if v > m { m = v } }; return m }\n---\nMax([]int{1, 3})",
		func(v reflect.Value, err error) bool { return err != nil })
}

func TestGapGenericConversionAppend(t *testing.T) {
	gap(t, "overlay/slices.Clone copies with make and copy",
		"func Clone[S ~[]E, E any](s S) S { return append(S(nil), s...) }\n---\ntype Ints []int\n---\nfunc f() Ints { return Clone[Ints, int](Ints{1}) }\n---\nf()",
		func(v reflect.Value, err error) bool { return err != nil })
}

func TestGapMultiValueDefineNestedAtTopLevel(t *testing.T) {
	gap(t, "a cell's statements run inside a function",
		"var err error\n---\nimport \"strconv\"\n---\nfor i := 0; i < 1; i++ { v, err := strconv.Atoi(\"1\"); _, _ = v, err }", errContains("undefined: v"))
}

func TestGapTopLevelDefineOfCompiledSliceElement(t *testing.T) {
	gap(t, "top-level variables are declared with their type (from go/types), then assigned",
		"import \"unicode\"\n---\nrs := unicode.Latin.R16\n---\nr := rs[0]", errContains("definition loop"))
}

func TestGapParallelAssignment(t *testing.T) {
	gap(t, "Rewriter.splitAssign",
		"m := map[int]int{1: 1}\n---\nd := 7\n---\nm, d = map[int]int{}, 1\n---\nd", valueIs("7"))
}

func TestGapTopLevelDefer(t *testing.T) {
	// A deferred call at top level runs again at each later evaluation.
	gap(t, "a cell's statements run inside a function, where defer is Go's",
		"n := 0\n---\nfunc bump() { n++ }\n---\ndefer bump()\n---\nx := 1\n---\ny := 2\n---\nn",
		func(v reflect.Value, err error) bool {
			return err == nil && v.IsValid() && v.CanInterface() && fmt.Sprint(v.Interface()) != "1"
		})
}

func TestGapPanicPosition(t *testing.T) {
	// The panic names the function's first line, in reflect's words.
	i := interp.New(interp.Options{GoPath: "/dev/null"})
	i.Use(stdlib.Symbols)
	var trace strings.Builder
	i = interp.New(interp.Options{GoPath: "/dev/null", Stderr: &trace})
	i.Use(stdlib.Symbols)
	_, err := i.Eval("func f() int {\n\ts := []int{1, 2}\n\tx := 0\n\treturn s[x+2]\n}")
	if err != nil {
		t.Fatal(err)
	}
	_, err = i.Eval("f()")
	var p interp.Panic
	t.Logf("measured: %v; trace %q", err, trace.String())
	if !errors.As(err, &p) || !strings.Contains(fmt.Sprint(p.Value), "reflect: slice index out of range") || strings.Contains(trace.String(), ":4:") {
		t.Errorf("yaegi now reports the panic's own line or Go's message; the kernel's statement marks (session/marks.go) and message translation may go")
	}
}

func TestGapHalfDeclaredFunction(t *testing.T) {
	// A function whose body fails to compile stays declared, broken.
	i := interp.New(interp.Options{GoPath: "/dev/null"})
	i.Use(stdlib.Symbols)
	_, first := i.Eval("func describe() string { return strings.Repeat(\"*\", 2) }")
	_, err := func() (v reflect.Value, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return i.Eval("describe()")
	}()
	t.Logf("measured: declaring: %v; calling: %v", first, err)
	if first == nil || err == nil || strings.Contains(err.Error(), "undefined: describe") {
		t.Errorf("yaegi no longer keeps a half-declared function; Snapshot/Restore may go")
	}
}

func TestGapMissingImportMessage(t *testing.T) {
	gap(t, "go/types reports undefined: strings, with the import to add",
		"s := strings.ToUpper(\"a\")", errContains("definition loop"))
}

func TestGapErrorsAsInterpretedType(t *testing.T) {
	gap(t, "errors.As with a cell type becomes the prelude's __golabErrorsAs",
		"import \"errors\"\n---\nimport \"fmt\"\n---\ntype E struct{}\n---\nfunc (*E) Error() string { return \"e\" }\n---\nvar err error = &E{}\n---\nvar target *E\n---\nerrors.As(err, &target)",
		errContains("must be interface or implement error"))
}

func TestGapFmtIgnoresErrorMethod(t *testing.T) {
	gap(t, "kernel/internal/stdlib.MapTypes lists error for fmt's functions",
		"import \"fmt\"\n---\ntype E struct{ c int }\n---\nfunc (e *E) Error() string { return \"code\" }\n---\nfmt.Sprint(&E{3})", valueIs("&{3}"))
}

func TestGapUnusedVariables(t *testing.T) {
	gap(t, "go/types reports variables declared and not used",
		"func f() { x := 1 }", func(v reflect.Value, err error) bool { return err == nil })
}

func TestGapKeepsEveryTree(t *testing.T) {
	i := interp.New(interp.Options{})
	roots := reflect.ValueOf(i).Elem().FieldByName("roots")
	for k := 0; k < 3; k++ {
		if _, err := i.Eval(fmt.Sprintf("x%d := %d", k, k)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("measured: %d trees kept after 3 evaluations", roots.Len())
	if roots.Len() < 3 {
		t.Errorf("yaegi no longer keeps every tree; DropRoots may go")
	}
	DropRoots(i)
	if roots.Len() != 0 {
		t.Errorf("DropRoots left %d trees", roots.Len())
	}
}

func TestGapGenericChannel(t *testing.T) {
	gap(t, "overlay/iter.Pull runs the sequence in compiled code (package coro)",
		"func first[V any](vs []V) V { ch := make(chan V, 1); go func() { ch <- vs[0] }(); return <-ch }\n---\nfirst[int]([]int{4})",
		errContains("unaddressable value"))
}

func TestGapLoopVariablesShared(t *testing.T) {
	gap(t, "Rewriter.perIteration: the body starts with v := v",
		"var fs []func() int\n---\nfor _, v := range []int{10, 20, 30} { fs = append(fs, func() int { return v }) }\n---\nfs[0]()", valueIs("30"))
}
