package lab

import (
	"slices"

	"golab/lab/internal/nn"
)

// The part of the image a model reads. A max-pooling whose windows do not
// tile its input leaves out its last rows or columns, and a convolution
// without padding reads only the top-left part of its input that its
// top-left outputs need; so the class scores may depend on only the
// top-left part of the image. DropoutCNN's are a function of its top-left
// 28×28 pixels: the floors of its three poolings (24 → 12, 10 → 5, 3 → 1)
// drop the rest, which PyTorch computes and throws away. The model's
// graphs then run on that part of each image, every layer on the part of
// its input its later layers read (DropoutCNN: 26×26 after conv1 instead
// of 30×30, …, 8×8 after conv5 instead of 10×10), about two thirds of the
// work. The scores are the same function of the same pixels, and the
// weights' gradients the same sums without the zeros the dropped outputs
// would add; both differ only in rounding.

// spatial is a layer that can say which top-left part of its input the
// top-left part of its output reads.
type spatial interface {
	// demand returns the rows and columns of input in (C, H, W) from which
	// the outputs in rows [0, oh) and columns [0, ow) are computed, ok
	// false when they need more than a top-left part.
	demand(in []int, oh, ow int) (ih, iw int, ok bool)
	// outShape is the per-image output for input shape in.
	outShape(in []int) []int
}

func (c *conv2d) demand(in []int, oh, ow int) (int, int, bool) {
	if c.padding != 0 { // a cropped input would be padded where it has pixels
		return 0, 0, false
	}
	return min(in[1], (oh-1)*c.stride+c.kernel), min(in[2], (ow-1)*c.stride+c.kernel), true
}

func (l *maxPool2d) demand(in []int, oh, ow int) (int, int, bool) {
	return min(in[1], (oh-1)*l.stride+l.size), min(in[2], (ow-1)*l.stride+l.size), true
}

func (l *maxPool2d) outShape(in []int) []int {
	return []int{in[0], (in[1]-l.size)/l.stride + 1, (in[2]-l.size)/l.stride + 1}
}

// Element-wise layers read the pixels they write.

func (a *leakyReLU) demand(_ []int, oh, ow int) (int, int, bool) { return oh, ow, true }
func (a *leakyReLU) outShape(in []int) []int                     { return in }
func (d *dropout) demand(_ []int, oh, ow int) (int, int, bool)   { return oh, ow, true }
func (d *dropout) outShape(in []int) []int                       { return in }

// layerShapes are a layer's per-image input and output in a graph.
type layerShapes struct{ in, out []int }

// imageRegion returns the top-left rows and columns of the image that the
// model's scores depend on, and every layer's shapes when the graphs run
// on them; ok is false when they depend on the whole image.
func (m *Model) imageRegion() (h, w int, shapes []layerShapes, ok bool) {
	if m.whole {
		return 0, 0, nil, false
	}
	// From the scores back: the part of each layer's output that is read.
	needH, needW := -1, -1 // -1: all of it
	for i := len(m.layers) - 1; i >= 0; i-- {
		b := m.built[i]
		sp, isSpatial := m.layers[i].(spatial)
		if len(b.in) != 3 || len(b.out) != 3 || !isSpatial {
			needH, needW = -1, -1
			continue
		}
		oh, ow := b.out[1], b.out[2]
		if needH >= 0 {
			oh, ow = needH, needW
		}
		ih, iw, known := sp.demand(b.in, oh, ow)
		if !known || ih == b.in[1] && iw == b.in[2] {
			needH, needW = -1, -1
			continue
		}
		needH, needW = ih, iw
	}
	if needH < 0 {
		return 0, 0, nil, false
	}
	// From the image forward: the shapes on that part.
	shape := []int{Channels, needH, needW}
	for i, l := range m.layers {
		b := m.built[i]
		out := b.out
		if !slices.Equal(shape, b.in) { // only spatial layers read a part
			sp, ok := l.(spatial)
			if !ok {
				return 0, 0, nil, false
			}
			out = sp.outShape(shape)
		}
		shapes = append(shapes, layerShapes{shape, out})
		shape = out
	}
	if !slices.Equal(shape, m.built[len(m.built)-1].out) {
		return 0, 0, nil, false // the scores are read whole: not reached
	}
	return needH, needW, shapes, true
}

// cropImages copies the top-left h×w of each plane of n images into dst.
func cropImages(dst, src []float32, n, h, w int) {
	nn.CropPlanes(dst, src, n*Channels, Height, Width, h, w)
}
