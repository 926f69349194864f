package viz

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"

	"golab/lab"
	"golab/lab/internal/plural"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Curves is the loss and accuracy of one or more runs per epoch, train and
// validation, in two panels side by side. Several runs are overlaid in one
// colour each, named in the legend by their History.Label.
type Curves struct {
	*figure
	hists  []*lab.History
	loss   *plot.Plot
	acc    *plot.Plot
	legend []string
	title  string
	err    error
}

// Size of the curves figure in pixels.
const (
	curvesW = MaxWidth
	curvesH = 320
)

// PlotCurves plots the per-epoch loss and accuracy of the given runs.
//
//	viz.PlotCurves(h)               // one run: train and validation
//	viz.PlotCurves(h02, h05, h08)   // three runs overlaid, legend by label
func PlotCurves(histories ...*lab.History) *Curves {
	c := &Curves{hists: histories}
	if len(histories) == 0 {
		return c.fail(errors.New("viz: PlotCurves: no history given; pass what Train returned"))
	}
	for i, h := range histories {
		if h == nil {
			return c.fail(fmt.Errorf("viz: PlotCurves: history %d is nil", i))
		}
	}
	if len(histories) == 1 {
		c.title = runName(histories[0], 0)
	}
	loss, acc, legend, err := curvePlots(histories, nil)
	if err != nil {
		return c.fail(fmt.Errorf("viz: PlotCurves: %w", err))
	}
	c.loss, c.acc, c.legend = loss, acc, legend
	c.figure = newFigure(curvesW, curvesH+titleRoom(c.title), func(f *frame) error {
		drawPanels(f, c.title, c.loss, c.acc)
		return nil
	})
	return c
}

func (c *Curves) fail(err error) *Curves {
	c.err = err
	c.figure = failed(err)
	return c
}

// Legend returns the entries of the legend that names the runs (for one run:
// "train" and "validation"), as added to the loss panel's plot.Legend.
func (c *Curves) Legend() []string { return append([]string(nil), c.legend...) }

// Plots returns the two panels, for changing axes or styles before drawing.
// They are nil when the figure cannot be drawn.
func (c *Curves) Plots() (loss, acc *plot.Plot) { return c.loss, c.acc }

// String summarizes the runs for text/plain.
func (c *Curves) String() string {
	if c.err != nil {
		return c.err.Error()
	}
	var b strings.Builder
	b.WriteString("Curves:")
	for i, h := range c.hists {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s, %s", runName(h, i), plural.N(len(h.Epochs), "epoch"))
		if acc, ep := h.BestValAcc(); ep >= 0 {
			fmt.Fprintf(&b, ", best val acc %.1f%% (epoch %d)", acc, ep)
		}
	}
	return b.String()
}

// runName names run i for legends.
func runName(h *lab.History, i int) string {
	switch {
	case h.Label != "":
		return h.Label
	case h.Model != "":
		return h.Model
	}
	return fmt.Sprintf("run %d", i+1)
}

func titleRoom(title string) int {
	if title == "" {
		return 0
	}
	return titleH
}

// trace is the live view's running loss and accuracy within the current
// epoch, and the x range the run will cover.
type trace struct {
	// x runs from e-1 to e during epoch e (epochs count from 0, as
	// everywhere), so that the running values end where the epoch's point
	// is drawn, at x = e.
	x, loss, acc []float64
	epochs       int // the run's length, for a fixed x axis
}

// curvePlots builds the loss and accuracy panels for hs; tr adds the live
// view's running values.
func curvePlots(hs []*lab.History, tr *trace) (loss, acc *plot.Plot, legend []string, err error) {
	loss = newPlot("Loss")
	loss.X.Label.Text = "epoch"
	loss.Y.Label.Text = "cross-entropy"
	acc = newPlot("Accuracy")
	acc.X.Label.Text = "epoch"
	acc.Y.Label.Text = "accuracy (%)"
	loss.Legend.Top = true
	loss.Legend.XOffs, loss.Legend.YOffs = -px(8), -px(4)
	acc.Legend.XOffs, acc.Legend.YOffs = -px(8), px(4)
	for _, p := range []*plot.Plot{loss, acc} {
		p.X.Tick.Marker = plot.TickerFunc(epochTicks)
		g := plotter.NewGrid()
		g.Vertical.Color, g.Horizontal.Color = gridColor, gridColor
		p.Add(g)
	}

	single := len(hs) == 1
	points := true
	for _, h := range hs {
		if len(h.Epochs) > 40 {
			points = false
		}
	}
	for i, h := range hs {
		trainColor, valColor := seriesColor(i), seriesColor(i)
		if single {
			trainColor, valColor = series[0], series[1]
		}
		xs, trainLoss, valLoss, trainAcc, valAcc := epochSeries(h)
		hasVal := false
		for k := range xs {
			if valLoss[k] != 0 || valAcc[k] != 0 {
				hasVal = true
			}
		}
		trainStyle := lineStyle(trainColor, false)
		valStyle := lineStyle(valColor, !single)
		lt, err := addSeries(loss, xs, trainLoss, trainStyle, points)
		if err != nil {
			return nil, nil, nil, err
		}
		if _, err := addSeries(acc, xs, trainAcc, trainStyle, points); err != nil {
			return nil, nil, nil, err
		}
		var lv plot.Thumbnailer
		if hasVal {
			if lv, err = addSeries(loss, xs, valLoss, valStyle, points); err != nil {
				return nil, nil, nil, err
			}
			if _, err := addSeries(acc, xs, valAcc, valStyle, points); err != nil {
				return nil, nil, nil, err
			}
		}
		if single {
			loss.Legend.Add("train", lt)
			legend = append(legend, "train")
			if hasVal {
				loss.Legend.Add("validation", lv)
				legend = append(legend, "validation")
			}
		} else {
			name := runName(h, i)
			loss.Legend.Add(name, lt)
			legend = append(legend, name)
		}
	}
	if !single {
		// The line style tells train from validation in every run.
		t := &plotter.Line{LineStyle: lineStyle(gray, false)}
		v := &plotter.Line{LineStyle: lineStyle(gray, true)}
		acc.Legend.Add("train", t)
		acc.Legend.Add("validation", v)
	}
	if tr != nil {
		if len(tr.x) > 0 {
			sty := draw.LineStyle{Color: blend(series[0], 0.5), Width: px(1.5)}
			l, err := addSeries(loss, tr.x, tr.loss, sty, false)
			if err != nil {
				return nil, nil, nil, err
			}
			if _, err := addSeries(acc, tr.x, tr.acc, sty, false); err != nil {
				return nil, nil, nil, err
			}
			loss.Legend.Add("train, running", l)
			legend = append(legend, "train, running")
		}
		if tr.epochs > 0 {
			// Epoch 0's running values lie left of its point.
			for _, p := range []*plot.Plot{loss, acc} {
				p.X.Min, p.X.Max = -1, float64(tr.epochs-1)
			}
		}
	}
	for _, p := range []*plot.Plot{loss, acc} {
		if math.IsInf(p.X.Min, 0) { // nothing plotted yet
			p.X.Min, p.X.Max = 0, 1
			p.Y.Min, p.Y.Max = 0, 1
		}
		padRange(&p.Y, 0.06)
	}
	if acc.Y.Min < 0 {
		acc.Y.Min = 0
	}
	if loss.Y.Min < 0 {
		loss.Y.Min = 0
	}
	return loss, acc, legend, nil
}

// epochSeries returns a run's per-epoch values, x the epoch's number
// (from 0, as in History.Table and the log lines).
func epochSeries(h *lab.History) (xs, trainLoss, valLoss, trainAcc, valAcc []float64) {
	for _, e := range h.Epochs {
		xs = append(xs, float64(e.Epoch))
		trainLoss = append(trainLoss, e.TrainLoss)
		valLoss = append(valLoss, e.ValLoss)
		trainAcc = append(trainAcc, e.TrainAcc)
		valAcc = append(valAcc, e.ValAcc)
	}
	return
}

func lineStyle(c color.Color, dashed bool) draw.LineStyle {
	s := draw.LineStyle{Color: c, Width: px(2)}
	if dashed {
		s.Dashes = []vg.Length{px(6), px(4)}
	}
	return s
}

// addSeries adds a line (with points when asked) through the finite values
// and returns its legend thumbnail.
func addSeries(p *plot.Plot, xs, ys []float64, sty draw.LineStyle, points bool) (plot.Thumbnailer, error) {
	pts := make(plotter.XYs, 0, len(xs))
	for k := range xs {
		if !math.IsNaN(ys[k]) && !math.IsInf(ys[k], 0) {
			pts = append(pts, plotter.XY{X: xs[k], Y: ys[k]})
		}
	}
	if len(pts) == 0 {
		return &plotter.Line{LineStyle: sty}, nil
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return nil, err
	}
	l.LineStyle = sty
	p.Add(l)
	if !points && len(pts) > 1 {
		return l, nil
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		return nil, err
	}
	s.GlyphStyle = draw.GlyphStyle{Color: sty.Color, Radius: px(3), Shape: draw.CircleGlyph{}}
	p.Add(s)
	return l, nil
}

// padRange widens an axis by a fraction of its range on each side, so that
// lines do not run along the frame.
func padRange(a *plot.Axis, frac float64) {
	d := a.Max - a.Min
	if d <= 0 {
		d = math.Max(math.Abs(a.Max), 1)
	}
	a.Min -= d * frac
	a.Max += d * frac
}

// epochTicks marks whole epochs from 0, at a step that keeps about ten
// ticks; the axis may start below 0 (the live view's epoch 0, a single
// point), where there is no epoch to mark.
func epochTicks(lo, hi float64) []plot.Tick {
	step := 1.0
	for _, st := range []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000} {
		step = st
		if (hi-lo)/st <= 10 {
			break
		}
	}
	var ticks []plot.Tick
	for v := math.Max(0, math.Ceil(lo/step)*step); v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: fmt.Sprintf("%.0f", v)})
	}
	return ticks
}

// drawPanels draws two plots side by side under an optional title.
func drawPanels(f *frame, title string, left, right *plot.Plot) {
	top := 0
	if title != "" {
		f.text(float64(f.w)/2, 6, align(boldStyle(12, black), text.XCenter, text.YTop), title)
		top = titleH
	}
	area := f.sub(image.Rect(0, top, f.w, f.h))
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: px(20), PadLeft: px(4), PadRight: px(12), PadTop: px(4), PadBottom: px(4)}
	left.Draw(tiles.At(area, 0, 0))
	right.Draw(tiles.At(area, 1, 0))
}
