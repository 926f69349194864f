package viz

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"golab/lab"
)

// checkCells checks every pixel of every cell of g's PNG against the source
// images: pixel (x, y) of image i must fill the s×s block at
// Cell(i).Min + (x s, y s) with its red, green and blue bytes.
func checkCells(t *testing.T, g *ImageGrid, src [][]byte) {
	t.Helper()
	w, h := g.Size()
	img := decodePNG(t, g.PNG(), w, h)
	const plane = lab.Height * lab.Width
	for i, pix := range src {
		r := g.Cell(i)
		if r.Dx() != r.Dy() || r.Dx()%lab.Width != 0 || !r.In(img.Bounds()) {
			t.Fatalf("cell %d is %v: not a whole upscaled square inside the %v image", i, r, img.Bounds())
		}
		s := r.Dx() / lab.Width
		bad := 0
		for y := range lab.Height {
			for x := range lab.Width {
				p := y*lab.Width + x
				want := color.RGBA{pix[p], pix[plane+p], pix[2*plane+p], 0xff}
				for dy := range s {
					for dx := range s {
						got := rgbaAt(img, r.Min.X+x*s+dx, r.Min.Y+y*s+dy)
						if got != want {
							if bad < 3 {
								t.Errorf("image %d, source pixel (%d,%d), PNG pixel (%d,%d): got %v, want %v",
									i, x, y, r.Min.X+x*s+dx, r.Min.Y+y*s+dy, got, want)
							}
							bad++
						}
					}
				}
			}
		}
		if bad > 0 {
			t.Fatalf("image %d: %d pixels differ from the source", i, bad)
		}
	}
}

func TestShowImagesPixelExact(t *testing.T) {
	d := synthDataset(t, 20)
	positions := []int{7, 0, 13, 2, 19}
	g := ShowImages(d, positions...)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	src, err := Images(d, positions...)
	if err != nil {
		t.Fatal(err)
	}
	checkCells(t, g, src)
	if g.Cell(0).Dx() != 4*lab.Width {
		t.Errorf("five images are drawn %d pixels wide; want 4× upscaling (128)", g.Cell(0).Dx())
	}
	if s := g.String(); !strings.Contains(s, "5 images") || !strings.Contains(s, "horse") {
		t.Errorf("String() = %q; want the count and the class names", s)
	}
	saveFigure(t, "images-synthetic.png", g)
}

func TestShowImagesOptions(t *testing.T) {
	d := synthDataset(t, 40)
	g := ShowImages(d)
	if g.Len() != 8 {
		t.Errorf("ShowImages with no positions shows %d images; want the first 8", g.Len())
	}
	g = ShowImages(d, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11).Cols(3).Scale(2).Title("twelve")
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	if g.Cell(3).Min.Y <= g.Cell(2).Min.Y || g.Cell(3).Min.X != g.Cell(0).Min.X {
		t.Errorf("with Cols(3), image 3 should start the second row: cells %v %v", g.Cell(2), g.Cell(3))
	}
	if g.Cell(0).Dx() != 64 {
		t.Errorf("Scale(2) draws images %d pixels wide; want 64", g.Cell(0).Dx())
	}
	src, _ := Images(d, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
	checkCells(t, g, src)

	// Many images shrink to fit the column.
	all := make([]int, 40)
	for i := range all {
		all[i] = i
	}
	g = ShowImages(d, all...)
	w, _ := g.Size()
	if w > MaxWidth {
		t.Errorf("40 images make a %d-pixel-wide grid; want at most %d", w, MaxWidth)
	}
	checkCells(t, g, mustImages(t, d, all...))
}

func mustImages(t *testing.T, d *lab.Dataset, pos ...int) [][]byte {
	t.Helper()
	src, err := Images(d, pos...)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestShowImagesPredicted(t *testing.T) {
	d := synthDataset(t, 6)
	pred := []int{0, 5, 2, 3, 4, 1} // images 1 and 5 are wrong
	g := ShowImages(d, 0, 1, 2, 3, 4, 5).Predicted(pred)
	w, h := g.Size()
	img := decodePNG(t, g.PNG(), w, h)
	checkCells(t, g, mustImages(t, d, 0, 1, 2, 3, 4, 5))
	for i := range 6 {
		corner := g.Cell(i).Min.Sub(image.Pt(1, 1))
		framed := rgbaAt(img, corner.X, corner.Y) == bad
		if wrong := pred[i] != d.Label(i); framed != wrong {
			t.Errorf("image %d: framed in red = %v, but predicted wrong = %v", i, framed, wrong)
		}
	}
	if s := g.String(); !strings.Contains(s, "2 of 6 predicted wrong") || !strings.Contains(s, "automobile (predicted dog)") {
		t.Errorf("String() = %q; want the wrong predictions", s)
	}
	saveFigure(t, "images-predicted.png", g)
}

func TestShowBatchUndoesNormalization(t *testing.T) {
	d := synthDataset(t, 12)
	norm, err := d.Normalize([3]float32{0.4914, 0.4822, 0.4465}, [3]float32{0.2470, 0.2435, 0.2616})
	if err != nil {
		t.Fatal(err)
	}
	positions := []int{11, 3, 5, 0}
	for _, src := range []*lab.Dataset{d, norm} {
		b := src.Batch(positions, nil)
		g := ShowBatch(b, src.Classes)
		if err := g.Err(); err != nil {
			t.Fatal(err)
		}
		checkCells(t, g, mustImages(t, d, positions...))
	}
}

func TestShowImagesErrors(t *testing.T) {
	d := synthDataset(t, 4)
	for name, g := range map[string]*ImageGrid{
		"nil dataset":    ShowImages(nil),
		"bad position":   ShowImages(d, 0, 9),
		"negative":       ShowImages(d, -1),
		"nil batch":      ShowBatch(nil, nil),
		"short batch":    ShowBatch(&lab.Batch{X: make([]float32, 10), Labels: []int{1}}, nil),
		"bad prediction": ShowImages(d, 0, 1).Predicted([]int{1}),
	} {
		if g.Err() == nil {
			t.Errorf("%s: Err() = nil; want an error", name)
		}
		if g.PNG() != nil {
			t.Errorf("%s: PNG() is not nil for a figure that cannot be drawn", name)
		}
		if !strings.HasPrefix(g.String(), "viz: ") {
			t.Errorf("%s: String() = %q; want the error", name, g.String())
		}
		// Options on a failed grid keep the error, never panic.
		if g.Cols(2).Title("x").Err() == nil {
			t.Errorf("%s: options lost the error", name)
		}
	}
}

func TestShowImagesCIFAR(t *testing.T) {
	d, raw := cifar10(t, 16)
	positions := []int{0, 1, 2, 3}
	g := ShowImages(d, positions...)
	// Check against the records of the file itself, not the dataset view.
	var src [][]byte
	for _, i := range positions {
		src = append(src, raw[i*(lab.ImageBytes+1)+1:(i+1)*(lab.ImageBytes+1)])
	}
	checkCells(t, g, src)
	saveFigure(t, "images.png", g)
	pred := []int{0, 1, 2, 5, 4, 5, 6, 7, 0, 9, 0, 1, 2, 3, 4, 3}
	saveFigure(t, "images-predicted-cifar.png", ShowImages(d, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15).Predicted(pred))
}

func TestImagesErrors(t *testing.T) {
	d := synthDataset(t, 3)
	if _, err := Images(d, 3); err == nil || !strings.HasPrefix(err.Error(), "viz: Images: position 3 is outside") {
		t.Errorf("Images(d, 3) error = %v; want the position named", err)
	}
	if _, err := BatchImages(&lab.Batch{X: make([]float32, 5), Labels: []int{0}}); err == nil || !strings.HasPrefix(err.Error(), "viz: BatchImages: ") {
		t.Errorf("BatchImages of a short batch: error = %v", err)
	}
}
