package lab

import (
	"fmt"
	"math/rand/v2"

	"golab/lab/internal/plural"
)

// CIFAR-10 image geometry: 3 channels of 32×32 pixels, stored channel-major
// (all red bytes, then green, then blue), rows top to bottom.
const (
	Channels   = 3
	Height     = 32
	Width      = 32
	ImageBytes = Channels * Height * Width
)

// Dataset is a set of labelled CIFAR-10-shaped images. Pixels stay uint8;
// normalization is applied per batch when a Batch is made, so a whole set is
// never copied to float. A Dataset made by Subset, Split or Normalize is a
// view that shares the pixels of its parent. The pixels of a set from
// LoadCIFAR may live in a read-only memory-mapped file shared with other
// processes (see LoadCIFARWith).
type Dataset struct {
	Name    string   // "train", "test", "validation", ...
	Classes []string // class names, indexed by label

	pixels pixelStore // all images of the parent set
	labels []uint8    // all labels of the parent set
	index  []int      // the images of this view; nil means all, in order
	norm   *Normalization
}

// pixelStore locates image j of a set: the images lie in chunks of perChunk
// records each, stride bytes apart, skip bytes into their record. A set
// made by NewDataset is one chunk of bare images; one from LoadCIFAR keeps
// each batch file's records as they are on disk (a label byte, then the
// image), so the file itself can be mapped.
type pixelStore struct {
	chunks   [][]byte
	perChunk int
	stride   int
	skip     int
}

func (p *pixelStore) image(j int) []byte {
	c, r := j/p.perChunk, j%p.perChunk
	off := r*p.stride + p.skip
	return p.chunks[c][off : off+ImageBytes : off+ImageBytes]
}

// Normalization is a per-channel affine transform: x' = (x/255 - Mean) / Std.
type Normalization struct {
	Mean [Channels]float32
	Std  [Channels]float32
}

// NewDataset wraps pixels (n×ImageBytes, channel-major) and labels.
func NewDataset(name string, classes []string, pixels []byte, labels []uint8) (*Dataset, error) {
	if len(pixels)%ImageBytes != 0 {
		return nil, fmt.Errorf("lab: NewDataset %q: %d pixel bytes is not a whole number of %d-byte images", name, len(pixels), ImageBytes)
	}
	if n := len(pixels) / ImageBytes; n != len(labels) {
		return nil, fmt.Errorf("lab: NewDataset %q: %s but %s", name, plural.N(n, "image"), plural.N(len(labels), "label"))
	}
	for i, l := range labels {
		if int(l) >= len(classes) {
			return nil, fmt.Errorf("lab: NewDataset %q: label %d of image %d is outside the %s", name, l, i, plural.Of(len(classes), "class", "classes"))
		}
	}
	store := pixelStore{chunks: [][]byte{pixels}, perChunk: max(len(labels), 1), stride: ImageBytes}
	return &Dataset{Name: name, Classes: classes, pixels: store, labels: labels}, nil
}

// Len is the number of images in the set.
func (d *Dataset) Len() int {
	if d.index != nil {
		return len(d.index)
	}
	return len(d.labels)
}

func (d *Dataset) at(i int) int {
	if d.index != nil {
		return d.index[i]
	}
	return i
}

// Image returns the raw pixels of image i (ImageBytes, channel-major). The
// slice aliases the set: do not modify it.
func (d *Dataset) Image(i int) []byte {
	return d.pixels.image(d.at(i))
}

// Label returns the class of image i.
func (d *Dataset) Label(i int) int { return int(d.labels[d.at(i)]) }

// Norm returns the normalization batches of this set get, or nil.
func (d *Dataset) Norm() *Normalization { return d.norm }

func (d *Dataset) view(name string, index []int, norm *Normalization) *Dataset {
	return &Dataset{Name: name, Classes: d.Classes, pixels: d.pixels, labels: d.labels, index: index, norm: norm}
}

// Normalize returns a view of the set whose batches are normalized per
// channel with mean and std (on the 0..1 scale), like
// torchvision's transforms.Normalize after ToTensor.
func (d *Dataset) Normalize(mean, std [Channels]float32) (*Dataset, error) {
	for c, s := range std {
		if !(s > 0) {
			return nil, fmt.Errorf("lab: Normalize: std of channel %d is %v; every std must be > 0", c, s)
		}
	}
	return d.view(d.Name, d.index, &Normalization{Mean: mean, Std: std}), nil
}

// Subset returns a view holding the images at the given positions of d.
func (d *Dataset) Subset(name string, positions []int) (*Dataset, error) {
	idx := make([]int, len(positions))
	for k, i := range positions {
		if i < 0 || i >= d.Len() {
			return nil, fmt.Errorf("lab: Subset %q: position %d is outside the set of %s", name, i, plural.N(d.Len(), "image"))
		}
		idx[k] = d.at(i)
	}
	return d.view(name, idx, d.norm), nil
}

// Head returns a view of the first n images (all of them if n ≥ Len).
func (d *Dataset) Head(n int) *Dataset {
	n = max(0, min(n, d.Len()))
	idx := make([]int, n)
	for i := range idx {
		idx[i] = d.at(i)
	}
	return d.view(d.Name, idx, d.norm)
}

// Split draws valSize images at random (seeded) for validation and keeps the
// rest for training, like PyTorch's SubsetRandomSampler over a shuffled index
// list. The same seed always gives the same split.
func (d *Dataset) Split(valSize int, seed uint64) (train, val *Dataset, err error) {
	n := d.Len()
	if valSize <= 0 || valSize >= n {
		return nil, nil, fmt.Errorf("lab: Split: validation size %d must be between 1 and %d (the set has %s)", valSize, n-1, plural.N(n, "image"))
	}
	perm := rand.New(rand.NewPCG(seed, 0x5eed)).Perm(n)
	vi, ti := make([]int, valSize), make([]int, n-valSize)
	for k, p := range perm {
		if k < valSize {
			vi[k] = d.at(p)
		} else {
			ti[k-valSize] = d.at(p)
		}
	}
	return d.view("train", ti, d.norm), d.view("validation", vi, d.norm), nil
}

// Batch is a mini-batch as float32 NCHW tensor data, normalized if the set
// it came from is.
type Batch struct {
	X      []float32 // N×3×32×32
	Labels []int     // N
	Norm   *Normalization
}

// Len is the number of images in the batch.
func (b *Batch) Len() int { return len(b.Labels) }

// Batch converts the images at the given positions of d to a float batch.
// dst is reused when it has room.
func (d *Dataset) Batch(positions []int, dst *Batch) *Batch {
	if dst == nil {
		dst = &Batch{}
	}
	n := len(positions)
	dst.X = grow(dst.X, n*ImageBytes)
	dst.Labels = growInts(dst.Labels, n)
	dst.Norm = d.norm
	var scale, shift [Channels]float32
	for c := range Channels {
		scale[c], shift[c] = 1.0/255, 0
		if d.norm != nil {
			scale[c] = 1 / (255 * d.norm.Std[c])
			shift[c] = -d.norm.Mean[c] / d.norm.Std[c]
		}
	}
	for k, i := range positions {
		img := d.Image(i)
		out := dst.X[k*ImageBytes : (k+1)*ImageBytes]
		for c := range Channels {
			s, b := scale[c], shift[c]
			plane := img[c*Height*Width : (c+1)*Height*Width]
			o := out[c*Height*Width : (c+1)*Height*Width]
			for p, v := range plane {
				o[p] = float32(v)*s + b
			}
		}
		dst.Labels[k] = d.Label(i)
	}
	return dst
}

func grow(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}

func growInts(s []int, n int) []int {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]int, n)
}
