package importer

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"golab/kernel/internal/bindings"
	"golab/kernel/internal/stdlib"
)

func newTest() (*Importer, *token.FileSet) {
	fset := token.NewFileSet()
	all := map[string]map[string]reflect.Value{}
	for k, v := range stdlib.Symbols {
		all[k] = v
	}
	for k, v := range bindings.Symbols {
		all[k] = v
	}
	iter := fstest.MapFS{"iter.go": {Data: []byte("package iter\n\ntype Seq[V any] func(yield func(V) bool)\n\ntype Seq2[K, V any] func(yield func(K, V) bool)\n")}}
	return New(fset, all, map[string]fs.FS{"iter": iter}), fset
}

// check type-checks src (a file of package main) with the importer.
func check(t *testing.T, im *Importer, fset *token.FileSet, src string) error {
	t.Helper()
	f, err := parser.ParseFile(fset, "cell.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	conf := types.Config{Importer: im}
	_, err = conf.Check("main", fset, []*ast.File{f}, nil)
	return err
}

func TestChecksAgainstBindings(t *testing.T) {
	im, fset := newTest()
	good := `package main

import (
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"time"
	"errors"
	"sort"
	"math"
	"gonum.org/v1/gonum/mat"
	"golab/kernel/display"
	"golab/lab"
)

type byLen []string

func (b byLen) Len() int           { return len(b) }
func (b byLen) Less(i, j int) bool { return len(b[i]) < len(b[j]) }
func (b byLen) Swap(i, j int)      { b[i], b[j] = b[j], b[i] }

func main() {
	var w io.Writer = os.Stdout
	fmt.Fprintln(w, strings.Repeat("a", 3), time.Second*2, math.Pi)
	var d time.Duration = 3 * time.Millisecond
	_ = d.Seconds()
	var seq iter.Seq[string] = strings.Lines("a\nb")
	for line := range seq {
		_ = line
	}
	for part := range strings.SplitSeq("a,b", ",") {
		_ = part
	}
	m := mat.NewDense(2, 2, nil)
	_ = m.At(0, 0)
	var sb strings.Builder
	sb.WriteString("x")
	_ = sb.String()
	err := errors.New("x")
	var target *os.PathError
	_ = errors.As(err, &target)
	sort.Sort(byLen{"a"})
	_ = display.HTML("<b>")
	var s fmt.Stringer = time.Second
	_ = s
	// An interface with an unexported method, implemented in its package.
	_ = lab.Config{Optimizer: lab.SGD{LR: 0.01}}
	const big = math.MaxInt64
	var u uint8 = math.MaxUint8
	_ = u
}
`
	if err := check(t, im, fset, good); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ src, want string }{
		{`fmt.Println(strings.Nope("a"))`, "undefined: strings.Nope"},
		{`var x int = time.Second`, "cannot use time.Second"},
		{`var u uint8 = math.MaxInt64`, "overflows"},
		{`var sb strings.Builder; sb.Nope()`, "sb.Nope undefined"},
	} {
		src := "package main\n\nimport (\n\t\"fmt\"\n\t\"strings\"\n\t\"time\"\n\t\"math\"\n)\n\nvar _ = fmt.Sprint\nvar _ = strings.Repeat\nvar _ = time.Now\nvar _ = math.Pi\n\nfunc main() {\n\t" + c.src + "\n}\n"
		err := check(t, im, fset, src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.src, err, c.want)
		}
	}
}
