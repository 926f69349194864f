package lab

import (
	"fmt"
	"math/rand/v2"
)

// Transform changes a training batch in place before each step: data
// augmentation. Train draws its random choices from a stream fixed by the
// run's seed and the epoch, so a run is repeatable and a resumed one sees
// the same batches as an uninterrupted one. Validation and test batches are
// never transformed. RandomCrop and RandomHorizontalFlip are the lab's;
// Compose chains transforms, as torchvision's transforms.Compose.
type Transform interface {
	// Settings is the transform's explicit record, part of a run's.
	Settings() Settings
	// Apply transforms the batch's images in place, drawing from r.
	Apply(b *Batch, r *rand.Rand) error
}

// RandomCrop pads each image with padding pixels on every side and crops a
// size×size window at a random place, like torchvision's
// transforms.RandomCrop(size, padding=padding). The padding is black, as
// torchvision's zero fill before normalization: in a normalized batch,
// −mean/std per channel. The lab's models take 32×32 images, so size must
// be 32.
func RandomCrop(size, padding int) Transform { return randomCrop{size: size, pad: padding} }

type randomCrop struct{ size, pad int }

func (c randomCrop) Settings() Settings {
	return Settings{Name: "crop", Values: map[string]float64{"size": float64(c.size), "padding": float64(c.pad)}}
}

func (c randomCrop) Apply(b *Batch, r *rand.Rand) error {
	if c.size != Height || c.pad < 0 { // Height == Width
		return fmt.Errorf("lab: RandomCrop(%d, padding %d): the lab's models take %d×%d images, so crop to %d with a padding ≥ 0", c.size, c.pad, Height, Width, Height)
	}
	var fill [Channels]float32
	if b.Norm != nil {
		for ch := range Channels {
			fill[ch] = -b.Norm.Mean[ch] / b.Norm.Std[ch]
		}
	}
	tmp := make([]float32, ImageBytes)
	for i := range b.Len() {
		dy, dx := r.IntN(2*c.pad+1)-c.pad, r.IntN(2*c.pad+1)-c.pad
		if dx == 0 && dy == 0 {
			continue
		}
		img := b.X[i*ImageBytes : (i+1)*ImageBytes]
		copy(tmp, img)
		for ch := range Channels {
			src, dst := tmp[ch*Height*Width:(ch+1)*Height*Width], img[ch*Height*Width:(ch+1)*Height*Width]
			for y := range Height {
				row := dst[y*Width : (y+1)*Width]
				sy := y + dy
				if sy < 0 || sy >= Height {
					fill32(row, fill[ch])
					continue
				}
				for x := range Width {
					if sx := x + dx; sx >= 0 && sx < Width {
						row[x] = src[sy*Width+sx]
					} else {
						row[x] = fill[ch]
					}
				}
			}
		}
	}
	return nil
}

func fill32(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}

// RandomHorizontalFlip mirrors each image left to right with probability
// 1/2, like torchvision's transforms.RandomHorizontalFlip().
func RandomHorizontalFlip() Transform { return hflip{} }

type hflip struct{}

func (hflip) Settings() Settings {
	return Settings{Name: "flip", Values: map[string]float64{"p": 0.5}}
}

func (hflip) Apply(b *Batch, r *rand.Rand) error {
	for i := range b.Len() {
		if r.IntN(2) == 0 {
			continue
		}
		img := b.X[i*ImageBytes : (i+1)*ImageBytes]
		for row := range Channels * Height {
			s := img[row*Width : (row+1)*Width]
			for a, z := 0, Width-1; a < z; a, z = a+1, z-1 {
				s[a], s[z] = s[z], s[a]
			}
		}
	}
	return nil
}

// Compose applies transforms one after the other, as torchvision's
// transforms.Compose.
func Compose(ts ...Transform) Transform { return compose(append([]Transform(nil), ts...)) }

type compose []Transform

func (c compose) Settings() Settings {
	s := Settings{Name: "compose"}
	for _, t := range c {
		s.Parts = append(s.Parts, t.Settings())
	}
	return s
}

func (c compose) Apply(b *Batch, r *rand.Rand) error {
	for _, t := range c {
		if t == nil {
			return fmt.Errorf("lab: Compose holds a nil transform")
		}
		if err := t.Apply(b, r); err != nil {
			return err
		}
	}
	return nil
}
