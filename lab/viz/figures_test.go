package viz

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golab/lab"

	"gonum.org/v1/plot"
)

// legendTexts reads the entries of a plot's legend from the plot itself.
// gonum/plot keeps them unexported, so this reads the struct by reflection.
func legendTexts(t *testing.T, p *plot.Plot) []string {
	t.Helper()
	entries := reflect.ValueOf(&p.Legend).Elem().FieldByName("entries")
	if !entries.IsValid() {
		t.Fatal("plot.Legend has no entries field: gonum/plot changed; update legendTexts")
	}
	var out []string
	for i := range entries.Len() {
		out = append(out, entries.Index(i).FieldByName("text").String())
	}
	return out
}

func TestPlotCurvesLegendHasOneEntryPerRun(t *testing.T) {
	runs := []*lab.History{
		synthHistory("DropoutCNN p=0.2", 12, 0.2),
		synthHistory("DropoutCNN p=0.5", 12, 0.5),
		synthHistory("DropoutCNN p=0.8", 12, 0.8),
	}
	c := PlotCurves(runs...)
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"DropoutCNN p=0.2", "DropoutCNN p=0.5", "DropoutCNN p=0.8"}
	loss, acc := c.Plots()
	if got := legendTexts(t, loss); !slices.Equal(got, want) {
		t.Errorf("loss panel legend = %q; want %q", got, want)
	}
	if got := c.Legend(); !slices.Equal(got, want) {
		t.Errorf("Legend() = %q; want %q", got, want)
	}
	if got := legendTexts(t, acc); !slices.Equal(got, []string{"train", "validation"}) {
		t.Errorf("accuracy panel legend = %q; want the line styles, train and validation", got)
	}
	w, h := c.Size()
	checkNotBlank(t, decodePNG(t, c.PNG(), w, h), 0.02)
	checkSVG(t, c.SVG())
	if s := c.String(); !strings.Contains(s, "p=0.8") || !strings.Contains(s, "best val acc") {
		t.Errorf("String() = %q; want the runs and their best accuracy", s)
	}
	saveFigure(t, "curves-compare.png", c)
}

func TestPlotCurvesOneRun(t *testing.T) {
	c := PlotCurves(synthHistory("DropoutCNN p=0.5", 10, 0.5))
	loss, _ := c.Plots()
	if got := legendTexts(t, loss); !slices.Equal(got, []string{"train", "validation"}) {
		t.Errorf("one run: legend = %q; want train and validation", got)
	}
	w, h := c.Size()
	if w != curvesW || h != curvesH+titleH {
		t.Errorf("Size() = %dx%d; want %dx%d", w, h, curvesW, curvesH+titleH)
	}
	checkNotBlank(t, decodePNG(t, c.PNG(), w, h), 0.02)
	saveFigure(t, "curves.png", c)
}

func TestPlotCurvesOddHistories(t *testing.T) {
	nan := synthHistory("nan", 4, 0.5)
	nan.Epochs[2].TrainLoss = math.NaN()
	nan.Epochs[3].ValLoss = math.Inf(1)
	noVal := synthHistory("no validation", 3, 0.5)
	for i := range noVal.Epochs {
		noVal.Epochs[i].ValLoss, noVal.Epochs[i].ValAcc = 0, 0
	}
	for name, h := range map[string]*lab.History{
		"empty":         {Label: "not started"},
		"one epoch":     synthHistory("one", 1, 0.5),
		"nan and inf":   nan,
		"no validation": noVal,
		"80 epochs":     synthHistory("long", 80, 0.5),
	} {
		c := PlotCurves(h)
		if err := c.Err(); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		w, h := c.Size()
		decodePNG(t, c.PNG(), w, h)
	}
	if got := PlotCurves(noVal).Legend(); !slices.Equal(got, []string{"train"}) {
		t.Errorf("a run without validation: legend = %q; want only train", got)
	}
	for name, c := range map[string]*Curves{
		"none":       PlotCurves(),
		"nil":        PlotCurves(nil),
		"nil second": PlotCurves(synthHistory("a", 2, 0), nil),
	} {
		if c.Err() == nil || c.PNG() != nil || !strings.HasPrefix(c.String(), "viz: ") {
			t.Errorf("%s: want an error, a nil PNG and the error as String; got %v", name, c.Err())
		}
	}
}

func TestProbTable(t *testing.T) {
	probs, truth := synthProbs(4, 10)
	tb := ProbTable(probs, truth, testClasses)
	if err := tb.Err(); err != nil {
		t.Fatal(err)
	}
	htm := tb.HTML()
	for _, want := range []string{"<table", "<th", "truck", "image 4", formatProb(probs[0][0])} {
		if !strings.Contains(htm, want) {
			t.Errorf("HTML() lacks %q", want)
		}
	}
	if got := strings.Count(htm, "<tr>"); got != 1+4 {
		t.Errorf("HTML() has %d rows; want a header and 4 images", got)
	}
	txt := tb.String()
	lines := strings.Split(strings.TrimSpace(txt), "\n")
	if len(lines) != 5 || !strings.Contains(lines[0], "airplane") || !strings.Contains(lines[2], "image 2") {
		t.Errorf("String() = %q; want a header and one line per image", txt)
	}
	// Row 1 is predicted wrong: its predicted class is the peak, 3 classes on.
	if !strings.Contains(lines[2], testClasses[(1+3)%10]) {
		t.Errorf("row 2 %q does not name the predicted class %s", lines[2], testClasses[4])
	}
	w, h := tb.Size()
	checkNotBlank(t, decodePNG(t, tb.PNG(), w, h), 0.02)
	checkSVG(t, tb.SVG())
	saveFigure(t, "probabilities-table.png", tb)

	dir := t.TempDir()
	for _, name := range []string{"t.html", "t.txt", "t.png", "t.svg"} {
		if err := tb.Save(filepath.Join(dir, name)); err != nil {
			t.Errorf("Save(%s): %v", name, err)
		}
	}
	if err := tb.Save(filepath.Join(dir, "t.gif")); err == nil {
		t.Error("Save(t.gif) = nil; want an unknown-extension error")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "t.html")); string(b) != htm {
		t.Error("the saved HTML differs from HTML()")
	}

	// No true labels, no class names.
	tb = ProbTable(probs, nil, nil)
	if err := tb.Err(); err != nil || !strings.Contains(tb.HTML(), "class 9") {
		t.Errorf("ProbTable without labels and names: err %v, HTML lacks class numbers", err)
	}
}

func TestProbBars(t *testing.T) {
	d := synthDataset(t, 4)
	probs, truth := synthProbs(4, 10)
	imgs := mustImages(t, d, 0, 1, 2, 3)
	b := ProbBars(probs, truth, testClasses, imgs)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	w, h := b.Size()
	img := decodePNG(t, b.PNG(), w, h)
	checkNotBlank(t, img, 0.05)
	checkSVG(t, b.SVG())
	// Image 0 sits at the left of the first panel, upscaled 3×, centred in
	// its height: find its top-left source pixel there.
	side := lab.Width * barImgScale
	y0 := margin + (b.panelH()-8-side)/2
	for _, pt := range [][2]int{{0, 0}, {31, 0}, {0, 31}, {17, 5}} {
		x, y := pt[0], pt[1]
		got := rgbaAt(img, margin+x*barImgScale+1, y0+y*barImgScale+1)
		want := [3]byte{pattern(0, 0, x, y), pattern(0, 1, x, y), pattern(0, 2, x, y)}
		if [3]byte{got.R, got.G, got.B} != want {
			t.Errorf("image 0 pixel (%d,%d) is drawn %v; want %v", x, y, got, want)
		}
	}
	if s := b.String(); !strings.Contains(s, "image 2: true automobile, predicted deer") {
		t.Errorf("String() = %q; want the true and predicted class of each image", s)
	}
	saveFigure(t, "probabilities-bars.png", b)

	if w1, _ := ProbBars(probs[:1], truth[:1], testClasses, nil).Size(); w1 > MaxWidth/2 {
		t.Errorf("one image without pixels draws %d pixels wide; want half a column", w1)
	}
	for name, bb := range map[string]*ProbabilityBars{
		"no rows":       ProbBars(nil, nil, testClasses, nil),
		"short row":     ProbBars([][]float32{{0.5, 0.5}}, nil, testClasses, nil),
		"truth count":   ProbBars(probs, truth[:2], testClasses, nil),
		"truth range":   ProbBars(probs, []int{0, 1, 2, 10}, testClasses, nil),
		"image count":   ProbBars(probs, truth, testClasses, imgs[:3]),
		"image size":    ProbBars(probs, truth, testClasses, [][]byte{{1}, {2}, {3}, {4}}),
		"table too big": ProbBars(make([][]float32, MaxImages+1), nil, nil, nil),
	} {
		if bb.Err() == nil || bb.PNG() != nil || !strings.HasPrefix(bb.String(), "viz: ProbBars: ") {
			t.Errorf("%s: want an error, a nil PNG and the error as String; got %v", name, bb.Err())
		}
	}
}

func TestConfusion(t *testing.T) {
	truth := []int{0, 0, 0, 1, 1, 2, 2, 2, 2}
	pred := []int{0, 0, 1, 1, 2, 2, 2, 0, 2}
	m := Confusion(truth, pred, []string{"cat", "dog", "frog"})
	if err := m.Err(); err != nil {
		t.Fatal(err)
	}
	want := [][]int{{2, 1, 0}, {0, 1, 1}, {1, 0, 3}}
	for r := range want {
		if !slices.Equal(m.Counts[r], want[r]) {
			t.Errorf("Counts[%d] = %v; want %v", r, m.Counts[r], want[r])
		}
	}
	if got := m.Accuracy(); math.Abs(got-100*6.0/9) > 1e-9 {
		t.Errorf("Accuracy() = %v; want %v", got, 100*6.0/9)
	}
	acc := m.ClassAccuracy()
	for k, w := range []float64{200.0 / 3, 50, 75} {
		if math.Abs(acc[k]-w) > 1e-9 {
			t.Errorf("ClassAccuracy()[%d] = %v; want %v", k, acc[k], w)
		}
	}
	w, h := m.Size()
	checkNotBlank(t, decodePNG(t, m.PNG(), w, h), 0.1)
	checkSVG(t, m.SVG())
	if s := m.String(); !strings.Contains(s, "66.7%") || !strings.Contains(s, "frog") {
		t.Errorf("String() = %q; want the accuracy and class names", s)
	}

	// Ten classes, as in CIFAR-10.
	var t10, p10 []int
	for i := range 1000 {
		t10 = append(t10, i%10)
		p10 = append(p10, (i%10+i%3/2)%10)
	}
	m = Confusion(t10, p10, testClasses)
	w, h = m.Size()
	checkNotBlank(t, decodePNG(t, m.PNG(), w, h), 0.1)
	saveFigure(t, "confusion.png", m)

	if m := Confusion([]int{0, 3}, []int{1, 3}, nil); m.Err() != nil || len(m.Classes) != 4 {
		t.Errorf("Confusion without names: err %v, %d classes; want 4 numbered", m.Err(), len(m.Classes))
	}
	for name, m := range map[string]*ConfusionMatrix{
		"empty":    Confusion(nil, nil, testClasses),
		"lengths":  Confusion([]int{1, 2}, []int{1}, testClasses),
		"range":    Confusion([]int{1, 12}, []int{1, 2}, testClasses),
		"negative": Confusion([]int{-1}, []int{1}, nil),
	} {
		if m.Err() == nil || m.PNG() != nil || !strings.HasPrefix(m.String(), "viz: Confusion: ") {
			t.Errorf("%s: want an error; got %v", name, m.Err())
		}
	}
}

func TestSaveFormats(t *testing.T) {
	dir := t.TempDir()
	c := PlotCurves(synthHistory("a", 3, 0.5))
	for _, name := range []string{"c.png", "c.SVG"} {
		if err := c.Save(filepath.Join(dir, name)); err != nil {
			t.Errorf("Save(%s): %v", name, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "c.png"))
	w, h := c.Size()
	decodePNG(t, b, w, h)
	if err := c.Save(filepath.Join(dir, "c.jpeg")); err == nil || !strings.Contains(err.Error(), ".png or .svg") {
		t.Errorf("Save(c.jpeg) = %v; want an error naming the formats", err)
	}
	if err := c.Save(filepath.Join(dir, "missing", "c.png")); err == nil {
		t.Error("Save into a missing folder = nil; want the error")
	}
	if err := PlotCurves().Save(filepath.Join(dir, "x.png")); err == nil {
		t.Error("saving a figure that cannot be drawn = nil; want its error")
	}
}

func TestZeroValuesDoNotPanic(t *testing.T) {
	figs := []interface {
		PNG() []byte
		SVG() string
		Err() error
		String() string
		Save(string) error
	}{&ImageGrid{}, &Curves{}, &ProbabilityTable{}, &ProbabilityBars{}, &ConfusionMatrix{}}
	for _, f := range figs {
		if f.PNG() != nil || f.SVG() != "" || f.Err() == nil || f.Save(filepath.Join(t.TempDir(), "x.png")) == nil {
			t.Errorf("%T{}: want no image and an error", f)
		}
		_ = f.String()
	}
	_ = (&ProbabilityTable{}).HTML()
}
