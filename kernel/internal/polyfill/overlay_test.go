package polyfill

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/traefik/yaegi/interp"

	"golab/kernel/internal/stdlib"
)

// TestOverlaysHaveGosAPI type-checks the embedded packages against the
// real standard library and checks that each declares every exported
// name of the real package, with the same signature.
func TestOverlaysHaveGosAPI(t *testing.T) {
	fset := token.NewFileSet()
	src := importer.ForCompiler(fset, "source", nil)
	for _, p := range Packages {
		real, err := src.Import(p)
		if err != nil {
			t.Fatalf("the real %s: %v", p, err)
		}
		var files []*ast.File
		names, _ := fs.Glob(Sources()[p], "*.go")
		for _, n := range names {
			b, _ := fs.ReadFile(Sources()[p], n)
			f, err := parser.ParseFile(fset, p+"/"+n, b, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		conf := types.Config{Importer: src}
		ours, err := conf.Check("overlay/"+p, fset, files, nil)
		if err != nil {
			t.Errorf("overlay %s does not compile: %v", p, err)
			continue
		}
		qual := func(pkg *types.Package) string {
			if strings.HasPrefix(pkg.Path(), "overlay/") {
				return strings.TrimPrefix(pkg.Path(), "overlay/")
			}
			return pkg.Path()
		}
		for _, name := range real.Scope().Names() {
			want := real.Scope().Lookup(name)
			if !want.Exported() {
				continue
			}
			got := ours.Scope().Lookup(name)
			if got == nil {
				t.Errorf("%s.%s is missing from the overlay", p, name)
				continue
			}
			ws := types.ObjectString(want, qual)
			gs := types.ObjectString(got, qual)
			if ws != gs {
				t.Errorf("%s.%s:\n overlay %s\n Go      %s", p, name, gs, ws)
			}
		}
	}
}

// newInterp is an interpreter with the overlays loaded.
func newInterp(t *testing.T) *interp.Interpreter {
	t.Helper()
	in := interp.New(interp.Options{GoPath: "/dev/null"})
	if err := in.Use(stdlib.Symbols); err != nil {
		t.Fatal(err)
	}
	if err := in.Use(Exports()); err != nil {
		t.Fatal(err)
	}
	if err := Load(in); err != nil {
		t.Fatal(err)
	}
	return in
}

// TestOverlaysAgreeWithGo runs the interpreted functions on sample data
// and compares their results with the real ones computed here. Calls are
// written with their type arguments, as the kernel writes them.
func TestOverlaysAgreeWithGo(t *testing.T) {
	in := newInterp(t)
	for _, src := range []string{`import "slices"`, `import "maps"`, `import "cmp"`, `import "iter"`, `import "strings"`, `import "fmt"`, `type Ints []int`} {
		if _, err := in.Eval(src); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
	}
	cases := []struct {
		expr string
		want any
	}{
		{`slices.Max[[]int, int]([]int{3, 9, 2})`, 9},
		{`slices.Min[Ints, int](Ints{3, 9, 2})`, 2},
		{`fmt.Sprint(slices.Clone[Ints, int](Ints{3, 9}))`, "[3 9]"},
		{`func() []int { s := []int{3, 1, 2}; slices.Sort[[]int, int](s); return s }()`, []int{1, 2, 3}},
		{`func() []string { s := []string{"b", "A", "c"}; slices.SortFunc[[]string, string](s, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }); return s }()`, []string{"A", "b", "c"}},
		{`slices.Index[[]string, string]([]string{"a", "b"}, "b")`, 1},
		{`slices.Contains[[]int, int]([]int{1, 2}, 3)`, false},
		{`fmt.Sprint(slices.Insert[[]int, int]([]int{1, 4}, 1, 2, 3))`, "[1 2 3 4]"},
		{`fmt.Sprint(slices.Delete[[]int, int]([]int{1, 2, 3, 4}, 1, 3))`, "[1 4]"},
		{`fmt.Sprint(slices.Compact[[]int, int]([]int{1, 1, 2, 2, 2, 3}))`, "[1 2 3]"},
		{`func() bool { i, ok := slices.BinarySearch[[]int, int]([]int{1, 3, 5}, 4); return i == 2 && !ok }()`, true},
		{`fmt.Sprint(slices.Collect[int](slices.Values[[]int, int]([]int{4, 5})))`, "[4 5]"},
		{`fmt.Sprint(slices.Sorted[string](maps.Keys[map[string]int, string, int](map[string]int{"b": 1, "a": 2})))`, "[a b]"},
		{`fmt.Sprint(slices.Sorted[int](maps.Values[map[string]int, string, int](map[string]int{"b": 1, "a": 2})))`, "[1 2]"},
		{`func() string { out := ""; slices.Backward[[]string, string]([]string{"a", "b"})(func(i int, s string) bool { out += fmt.Sprint(i, s); return true }); return out }()`, "1b0a"},
		{`fmt.Sprint(slices.Collect[[]int](slices.Chunk[[]int, int]([]int{1, 2, 3, 4, 5}, 2)))`, "[[1 2] [3 4] [5]]"},
		{`fmt.Sprint(slices.Repeat[[]int, int]([]int{1, 2}, 2))`, "[1 2 1 2]"},
		{`slices.Equal[[]int, int]([]int{1}, []int{1})`, true},
		{`slices.Compare[[]int, int]([]int{1, 2}, []int{1, 3})`, -1},
		{`fmt.Sprint(slices.Concat[[]int, int]([]int{1}, []int{2, 3}))`, "[1 2 3]"},
		{`func() []int { s := []int{1, 2, 3}; slices.Reverse[[]int, int](s); return s }()`, []int{3, 2, 1}},
		{`maps.Equal[map[string]int, map[string]int, string, int](map[string]int{"a": 1}, map[string]int{"a": 1})`, true},
		{`len(maps.Clone[map[int]int, int, int](map[int]int{1: 1, 2: 2}))`, 2},
		{`fmt.Sprint(maps.Collect[string, int](maps.All[map[string]int, string, int](map[string]int{"x": 7})))`, "map[x:7]"},
		{`cmp.Compare[int](1, 2)`, -1},
		{`cmp.Or[string]("", "x", "y")`, "x"},
		{`func() string { next, stop := iter.Pull[int](slices.Values[[]int, int]([]int{7, 8, 9})); defer stop(); a, _ := next(); b, _ := next(); return fmt.Sprint(a, b) }()`, "7 8"},
	}
	for i, c := range cases {
		if _, err := in.Eval(fmt.Sprintf("func probe%d() any { return %s }", i, c.expr)); err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		v, err := in.Eval(fmt.Sprintf("probe%d()", i))
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		got := v.Interface()
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.expr, got, c.want)
		}
	}
}

// TestOverlayFilesAreListed checks that every embedded package is loaded.
func TestOverlayFilesAreListed(t *testing.T) {
	dirs, err := fs.ReadDir(overlay, "overlay")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range dirs {
		got = append(got, d.Name())
	}
	want := append([]string(nil), Packages...)
	sort.Strings(got)
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("overlay directories %v, Packages %v", got, want)
	}
}
