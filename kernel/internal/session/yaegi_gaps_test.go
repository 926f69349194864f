package session

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
)

// TestYaegiGaps measures, on a bare yaegi interpreter, the gaps the
// session covers (kernel/README.md lists them). It fails when a gap is
// gone, which means yaegi was upgraded and the kernel's workaround may be
// dropped. Run with -v to see the measurements.
func TestYaegiGaps(t *testing.T) {
	eval := func(src string) (v reflect.Value, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		i := interp.New(interp.Options{})
		i.Use(stdlib.Symbols)
		i.Use(interp.Exports{"probe/probe": {"Text": reflect.ValueOf(func(v any) string { return fmt.Sprint(v) })}})
		parts := strings.Split(src, "\n---\n")
		for _, p := range parts {
			if v, err = i.Eval(p); err != nil {
				return v, err
			}
		}
		return v, err
	}
	gap := func(name, src string, present func(reflect.Value, error) bool) {
		t.Helper()
		v, err := eval(src)
		got := fmt.Sprintf("value %v, error %v", v, err)
		if v.IsValid() && v.CanInterface() {
			got = fmt.Sprintf("value %v (%s), error %v", v.Interface(), v.Type(), err)
		}
		t.Logf("%-34s %s", name+":", got)
		if !present(v, err) {
			t.Errorf("%s: yaegi no longer has this gap (%s); the kernel's workaround may go", name, got)
		}
	}
	errContains := func(s string) func(reflect.Value, error) bool {
		return func(_ reflect.Value, err error) bool { return err != nil && strings.Contains(err.Error(), s) }
	}
	valueIs := func(want string) func(reflect.Value, error) bool {
		return func(v reflect.Value, err error) bool {
			return err == nil && v.IsValid() && v.CanInterface() && fmt.Sprint(v.Interface()) == want
		}
	}
	gap("import mixed with statements", "import \"fmt\"\nx := 1\nfmt.Println(x)", errContains("expected declaration"))
	gap("multi-value result", "func two() (int, string) { return 1, \"a\" }\n---\ntwo()", valueIs("1"))
	gap("declaration returns junk", "func f() {}", func(v reflect.Value, err error) bool { return err == nil && v.IsValid() })
	gap("statement error column (10+27)", "x := 1\n---\ny := x + nope", errContains("1:37"))
	gap("declaration error column (23+13)", "func g() int { return nope }", errContains("1:36"))
	gap("redeclared var unseen", "var p = 0.5\n---\nfunc getp() float64 { return p }\n---\nvar p = 0.7\n---\ngetp()", valueIs("0.5"))
	gap("redefined func unseen", "func g() int { return 1 }\n---\nfunc callg() int { return g() }\n---\nfunc g() int { return 2 }\n---\ncallg()", valueIs("1"))
	gap("redefined method ignored", "type T struct{}\n---\nfunc (T) M() int { return 1 }\n---\nfunc (T) M() int { return 2 }\n---\nT{}.M()", valueIs("1"))
	gap("methods hidden from compiled", "import \"probe\"\n---\ntype S struct{}\n---\nfunc (S) String() string { return \"S!\" }\n---\nvar v interface{} = S{}\n---\nprobe.Text(v)", valueIs("{}"))
	gap("range over int", "n := 0\nfor i := range 3 { n += i }", errContains("nil type"))
	gap("min builtin", "min(1, 2)", errContains("undefined: min"))
	gap("max builtin", "max(1, 2)", errContains("undefined: max"))
	gap("clear builtin", "m := map[int]int{1: 1}\nclear(m)", errContains("undefined: clear"))
	gap("range over func", "func seq(yield func(int) bool) { yield(1) }\n---\nfor v := range seq { _ = v }", errContains("nil type"))
	gap("slices.Max", "import \"slices\"\n---\nslices.Max([]int{1, 2})", errContains("undefined selector"))
	gap("slices.Sort", "import \"slices\"\n---\nslices.Sort([]int{2, 1})", errContains("undefined selector"))
	gap("maps.Clone", "import \"maps\"\n---\nmaps.Clone(map[int]int{1: 2})", errContains("undefined type"))
	gap("multi-value := nested at top level", "var err error\n---\nimport \"strconv\"\n---\nfor i := 0; i < 1; i++ { v, err := strconv.Atoi(\"1\"); _, _ = v, err }", errContains("undefined: v"))
	gap("top-level := of a compiled slice element", "import \"unicode\"\n---\nrs := unicode.Latin.R16\n---\nr := rs[0]", errContains("definition loop"))
	gap("parallel assignment drops a value", "m := map[int]int{1: 1}\n---\nd := 7\n---\nm, d = map[int]int{}, 1\n---\nd", valueIs("7"))
	gap("type switch on interfaces", "type I interface{ Nope() }\n---\ntype S struct{}\n---\nfunc (S) M() {}\n---\nfunc f(v interface{}) bool { switch x := v.(type) { case I: _ = x; return true }; return false }\n---\nf(S{})", valueIs("true"))
}
