package session

import (
	"reflect"

	"golab/kernel/internal/bindings"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	src := "import \"strings\"\n// doc of f\nfunc f() int { return 1 }\nx := f()\nfunc (t T) M() {}\nfunc() { x++ }()\nvar y = 2; z := 3\ntype T struct{}\nconst c = 1\nL:\nfor {\n\tbreak L\n}"
	var kinds []string
	for _, u := range split(src).units {
		kinds = append(kinds, []string{"import", "decl", "stmt"}[u.kind]+":"+strings.Fields(src[u.start:u.end])[0])
	}
	want := "import:import decl:// stmt:x decl:func stmt:func() decl:var stmt:z decl:type decl:const stmt:L:"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("units:\n got %s\nwant %s", got, want)
	}
	if sp := split("func f() {\n\tx := `raw"); !sp.open {
		t.Error("unterminated raw string not reported open")
	}
	if sp := split("func f() {\n"); sp.depth != 1 {
		t.Errorf("depth %d", sp.depth)
	}
}

func TestMixedCellOrder(t *testing.T) {
	ts := newTestSession(t)
	// Declarations are hoisted before the statements, as in a Go file, so
	// a statement may call a function declared below it.
	ts.ok("n := double(4)\nfunc double(x int) int { return 2 * x }\nvar base = 100\nn + base", "108")
	ts.ok("import \"strings\"\ns := strings.Repeat(\"ab\", 2)\nimport \"unicode/utf8\"\nutf8.RuneCountInString(s)", "4")
	// Imports may come after declarations, unlike in a Go file.
	ts.ok("func shout(s string) string { return s + \"!\" }\ntype loud string\nimport \"unicode\"\nunicode.IsUpper(rune(shout(\"A\")[0]))", "true")
}

func TestLastValueDisplay(t *testing.T) {
	ts := newTestSession(t)
	ts.ok("func pair() (int, error) { return 12, nil }\nfunc none() {}\nfunc three() (string, bool, float64) { return \"a\", true, 1.5 }", "")
	ts.ok("pair()", "12|<nil>")
	ts.ok("three()", "a|true|1.5")
	ts.ok("none()", "")
	ts.ok("fmt.Sprintf(\"%03d\", 7)", "007")
	ts.ok("fmt.Println(\"printed\")", "")
	ts.ok("var nothing error\nnothing", "")
	ts.ok("type N struct{ A int }\nN{A: 3}", "{3}")
	ts.ok("[]int{1, 2}", "[1 2]")
	ts.ok("x := 5", "")
	ts.ok("var y = 6", "")
	ts.ok("func g() {}", "")
	ts.ok("x", "5")
	// Methods with unknown arity: found by trying.
	ts.ok("type C struct{}\nfunc (C) Two() (int, int) { return 1, 2 }\nfunc (C) None() {}", "")
	ts.ok("C{}.Two()", "1|2")
	ts.ok("C{}.None()", "")
	// A value of a cell type with methods held in an interface variable:
	// yaegi hides it from compiled code; it still shows as text.
	ts.ok("type Q struct{ A int }\nfunc (q *Q) HTML() string { return \"q\" }\nvar i interface{} = &Q{A: 4}", "")
	ts.ok("i", "&{4}")
}

// TestRenderingRules checks that a final value renders as its richest MIME
// type with text/plain beside it, for compiled types and for types declared
// in cells, whose methods compiled code cannot see.
func TestRenderingRules(t *testing.T) {
	ts := newTestSession(t)
	ts.ok("import \"image\"\nimport \"image/color\"", "")
	ts.ok(`type Chart struct{ title string }
func (c Chart) PNG() []byte { return []byte("\x89PNG fake") }
func (c Chart) String() string { return "chart " + c.title }
type Table struct{}
func (*Table) HTML() string { return "<table><tr><td>1</td></tr></table>" }
type Note int
func (n Note) Markdown() string { return "**note**" }
type Vec struct{ X, Y float64 }
func (v Vec) SVG() string { return "<svg/>" }`, "")
	cases := []struct {
		code string
		mime string
		text string
	}{
		{`Chart{"loss"}`, "image/png", "chart loss"},
		{`&Table{}`, "text/html", "&{}"},
		{`Note(1)`, "text/markdown", "1"},
		{`Vec{1, 2}`, "image/svg+xml", "{1 2}"},
		{`display.HTML("<i>x</i>")`, "text/html", ""},
		{`display.Markdown("# t")`, "text/markdown", "# t"},
		{`display.Latex("x^2")`, "text/latex", "x^2"},
		{`display.JSON(map[string]interface{}{"a": 1})`, "application/json", ""},
		{"img := image.NewRGBA(image.Rect(0, 0, 2, 3))\nimg.Set(0, 0, color.White)\nimg", "image/png", ""},
		{`display.SVG("<svg/>")`, "image/svg+xml", ""},
	}
	for _, c := range cases {
		ts.n++
		res, err := ts.Execute(bg(), name(ts.n), c.code)
		if err != nil {
			t.Fatalf("%q: %v", c.code, err)
		}
		if len(res.Values) != 1 {
			t.Fatalf("%q: %d values", c.code, len(res.Values))
		}
		d := res.Values[0].Data
		if _, ok := d[c.mime]; !ok {
			t.Errorf("%q: no %s in %v", c.code, c.mime, keys(d))
		}
		text, ok := d["text/plain"].(string)
		if !ok {
			t.Errorf("%q: no text/plain", c.code)
		}
		if c.text != "" && text != c.text {
			t.Errorf("%q: text/plain %q, want %q", c.code, text, c.text)
		}
	}
	// display.Display of a value of a type declared in a cell reaches its
	// methods too (through yaegi's interface wrappers).
	ts.ok("rendered := display.Render(Chart{\"acc\"})", "")
	ts.ok("len(rendered.Data[\"image/png\"].([]byte)) > 0", "true")
	// A method that panics while rendering does not fail the cell.
	ts.ok("type Bad struct{}\nfunc (Bad) HTML() string { panic(\"no html\") }", "")
	if _, err := ts.exec("Bad{}"); err != nil {
		t.Errorf("rendering panic failed the cell: %v", err)
	}
}

func TestCompletion(t *testing.T) {
	ts := newTestSession(t)
	ts.ok("import \"strings\"\ntype Model struct{ Rate float64 }\nfunc (m *Model) Train() {}\nvar model = &Model{}\nfunc helper() {}\nhelperValue := 1", "")
	for _, c := range []struct {
		src  string
		want []string
	}{
		{"fmt.Prin", []string{"Print", "Printf", "Println"}},
		{"strings.HasP", []string{"HasPrefix"}},
		{"help", []string{"helper", "helperValue"}},
		{"mod", []string{"model", "models"}},
		{"model.", []string{"Rate", "Train"}},
		{"model.Tr", []string{"Train"}},
		{"x := len(strings.Spl", []string{"Split", "SplitAfter", "SplitAfterN", "SplitAfterSeq", "SplitN", "SplitSeq"}},
		{"retu", []string{"return"}},
		{"displ", []string{"display"}},
		{"display.Mark", []string{"Markdown", "Markdowner"}},
		{"math.Sq", []string{"Sqrt", "Sqrt2", "SqrtE", "SqrtPhi", "SqrtPi"}},
		{"Disp", []string{"Display"}},
	} {
		got, start, end := ts.Complete(c.src, len(c.src))
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Complete(%q) = %v, want %v", c.src, got, c.want)
		}
		if end != len(c.src) || start > end {
			t.Errorf("Complete(%q): range %d..%d", c.src, start, end)
		}
	}
}

func TestInspect(t *testing.T) {
	ts := newTestSession(t)
	ts.ok("// Scale multiplies x by the factor.\nfunc Scale(x float64) float64 { return 2 * x }", "")
	text, ok := ts.Inspect("Scale(3)", 2)
	if !ok || !strings.Contains(text, "func Scale(x float64) float64") || !strings.Contains(text, "multiplies x by the factor") {
		t.Errorf("Inspect of a cell function: %v %q", ok, text)
	}
	text, ok = ts.Inspect("fmt.Println", len("fmt.Println"))
	if !ok || !strings.Contains(text, "Println") {
		t.Errorf("Inspect fmt.Println: %v %q", ok, text)
	}
	DocLookup = bindings.Doc
	defer func() { DocLookup = nil }()
	text, ok = ts.Inspect("x := fmt.Println(", len("x := fmt.Print"))
	if !ok || !strings.Contains(text, "func Println(a ...any) (n int, err error)") || !strings.Contains(text, "default formats") {
		t.Errorf("Inspect fmt.Println with docs: %v %q", ok, text)
	}
	ts.ok("import \"gonum.org/v1/gonum/mat\"\nm := mat.NewDense(2, 2, nil)", "")
	text, ok = ts.Inspect("m.At", len("m.At"))
	if !ok || !strings.Contains(text, "At returns the element") {
		t.Errorf("Inspect of a method of a compiled type: %v %q", ok, text)
	}
	ts.ok("import \"slices\"", "")
	text, ok = ts.Inspect("slices.Sorted", len("slices.Sorted"))
	if !ok || !strings.Contains(text, "func slices.Sorted[E cmp.Ordered](seq iter.Seq[E]) []E") {
		t.Errorf("Inspect of an interpreted package's function: %v %q", ok, text)
	}
	if got, _, _ := ts.Complete("slices.Sorted", len("slices.Sorted")); !reflect.DeepEqual(got, []string{"Sorted", "SortedFunc", "SortedStableFunc"}) {
		t.Errorf("Complete(slices.Sorted) = %v", got)
	}
	ts.fails("import \"golab/kernel/runtime\"", "ImportError", "no binding")
	if _, ok := ts.Inspect("nosuchname", 3); ok {
		t.Error("Inspect found an unknown name")
	}
}

func TestIsComplete(t *testing.T) {
	ts := newTestSession(t)
	for src, want := range map[string]string{
		"x := 1":                      "complete",
		"func f() {\n\treturn\n}":     "complete",
		"import \"fmt\"\nfmt.Print()": "complete",
		"func f() {":                  "incomplete",
		"x := []int{1,":               "incomplete",
		"s := `abc":                   "incomplete",
		"x := 1 +":                    "incomplete",
		"/* comment":                  "incomplete",
		"x := )":                      "invalid",
		"func f() {}}":                "invalid",
		"x = = 2":                     "invalid",
	} {
		if got, _ := ts.IsComplete(src); got != want {
			t.Errorf("IsComplete(%q) = %s, want %s", src, got, want)
		}
	}
	if _, indent := ts.IsComplete("func f() {\n\tif true {"); indent != "\t\t" {
		t.Errorf("indent %q", indent)
	}
}

// TestLanguageGaps covers Go features yaegi v0.16.1 lacks, as rewritten by
// the session.
func TestLanguageGaps(t *testing.T) {
	ts := newTestSession(t)
	ts.ok("min(3, 1, 2)", "1")
	ts.ok("max(1, 2.5)", "2.5")
	ts.ok("f := 1.5\nmin(2, f)", "1.5")
	ts.ok("max(\"a\", \"b\")", "b")
	ts.ok("m := map[string]int{\"a\": 1}\nclear(m)\nlen(m)", "0")
	ts.ok("s := []int{1, 2}\nclear(s)\ns", "[0 0]")
	ts.ok("sum := 0\nfor i := range 5 {\n\tsum += i\n}\nsum", "10")
	ts.ok("count := 0\nfor range 3 {\n\tcount++\n}\ncount", "3")
	ts.ok("func tri(n int) int {\n\tt := 0\n\tfor i := range n {\n\t\tt += i + 1\n\t}\n\treturn t\n}\ntri(4)", "10")
	ts.ok("var limit = 4\nacc := 0\nfor i := range limit {\n\tacc += i\n}\nacc", "6")
	ts.ok("words := []string{\"a\", \"b\"}\nout := \"\"\nfor i := range len(words) {\n\tout += words[i]\n}\nout", "ab")
	ts.ok("n := 0\nouter:\nfor i := range 3 {\n\tfor j := range 3 {\n\t\tif j == 1 {\n\t\t\tcontinue outer\n\t\t}\n\t\tn += i*10 + j\n\t}\n}\nn", "30")
	// Range over a function declared in a cell.
	ts.ok("func count(yield func(int) bool) {\n\tfor i := 0; i < 10; i++ {\n\t\tif !yield(i) {\n\t\t\treturn\n\t\t}\n\t}\n}", "")
	ts.ok("got := 0\nfor v := range count {\n\tif v == 2 {\n\t\tcontinue\n\t}\n\tif v == 5 {\n\t\tbreak\n\t}\n\tgot += v\n}\ngot", "8")
	ts.ok("func pairs(m map[string]int) func(func(string, int) bool) {\n\treturn func(yield func(string, int) bool) {\n\t\tfor k, v := range m {\n\t\t\tif !yield(k, v) {\n\t\t\t\treturn\n\t\t\t}\n\t\t}\n\t}\n}", "")
	ts.ok("total := 0\nfor _, v := range pairs(map[string]int{\"a\": 1, \"b\": 2}) {\n\ttotal += v\n}\ntotal", "3")
	// A multi-value := in a loop at top level, with err declared globally
	// (yaegi skips it in top-level blocks).
	ts.ok("import \"strconv\"\nvar err error\nsum3 := 0.0\nfor i := 0; i < 2; i++ {\n\tv, err := strconv.ParseFloat(\"2.5\", 64)\n\t_ = err\n\tsum3 += v\n}\nsum3", "5")
	// Parallel assignment (yaegi drops `d` in `m, d = map[K]V{}, 1`).
	ts.ok("m2 := map[float64]int{0.2: 20}\nd := 7\nif true {\n\tm2, d = map[float64]int{}, 1\n}\ncf := func(p float64) int {\n\tv, ok := m2[p]\n\tif !ok {\n\t\tv = d\n\t}\n\treturn v\n}\ncf(0.2)", "1")
	ts.ok("a, b := 1, 2\na, b = b, a\nvar f float64\nb, f = 3, 2\nfmt.Sprint(a, b, f)", "2 3 2")
	// A panic in a goroutine a cell starts is reported, not fatal.
	ts.ok("import \"sync\"\nvar wg sync.WaitGroup\nwg.Add(2)\ngo func() {\n\tdefer wg.Done()\n\tpanic(\"in goroutine\")\n}()\nfunc work(s string) { defer wg.Done(); var m map[string]int; m[s] = 1 }\ngo work(\"k\")\nwg.Wait()\n\"survived\"", "survived")
	// slices and maps.
	ts.ok("import \"slices\"\nxs := []int{3, 1, 2}\nslices.Sort(xs)\nxs", "[1 2 3]")
	ts.ok("slices.Contains(xs, 2)", "true")
	ts.ok("slices.Index(xs, 3)", "2")
	ts.ok("slices.Max(xs)", "3")
	ts.ok("slices.Reverse(xs)\nxs", "[3 2 1]")
	ts.ok("import \"maps\"\nmm := map[string]int{\"b\": 2, \"a\": 1}\nslices.Sorted(maps.Keys(mm))", "[a b]")
	ts.ok("maps.Clone(mm)[\"a\"]", "1")
}

func filter(in []string, keep func(string) bool) []string {
	var out []string
	for _, s := range in {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

func keys(m map[string]interface{}) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestTopLevelDefinesOfCompiledTypes covers := at top level whose type
// yaegi's global type analysis cannot work out (indexing a slice of a
// compiled struct type), which the session declares with the type written
// out.
func TestTopLevelDefinesOfCompiledTypes(t *testing.T) {
	ts := newTestSession(t)
	ts.ok("import \"golab/lab\"\nhistory := &lab.History{Epochs: []lab.EpochStats{{Epoch: 0, ValLoss: 2, ValAcc: 10}, {Epoch: 1, ValLoss: 1, ValAcc: 20}}}", "")
	ts.ok("last := history.Epochs[len(history.Epochs)-1]\nlast.ValAcc", "20")
	ts.ok("minLoss, minEpoch := history.Epochs[0].ValLoss, history.Epochs[0].Epoch\nminLoss", "2")
	ts.ok("for _, e := range history.Epochs {\n\tif e.ValLoss < minLoss {\n\t\tminLoss, minEpoch = e.ValLoss, e.Epoch\n\t}\n}\nminEpoch", "1")
	ts.ok("func lastAcc() float64 { return last.ValAcc }", "")
	ts.ok("last := history.Epochs[0]\nlastAcc()", "10")
}
