package lab

import (
	"errors"
	"math"
)

// ChannelStats computes the per-channel mean and standard deviation of a
// set's pixels on the 0..1 scale, over every pixel of every image: the
// figures transforms.Normalize takes. (Population standard deviation, as
// numpy's std; it accumulates in float64, so the result does not depend on
// the order of the images.)
func ChannelStats(d *Dataset) (mean, std [Channels]float64, err error) {
	if d == nil || d.Len() == 0 {
		return mean, std, errors.New("lab: ChannelStats needs a non-empty set")
	}
	var sum, sq [Channels]float64
	for i := range d.Len() {
		img := d.Image(i)
		for c := range Channels {
			var s, q uint64
			for _, v := range img[c*Height*Width : (c+1)*Height*Width] {
				s += uint64(v)
				q += uint64(v) * uint64(v)
			}
			sum[c] += float64(s)
			sq[c] += float64(q)
		}
	}
	n := float64(d.Len() * Height * Width)
	for c := range Channels {
		m := sum[c] / n
		mean[c] = m / 255
		std[c] = math.Sqrt(max(sq[c]/n-m*m, 0)) / 255
	}
	return mean, std, nil
}

// The normalization the assignment gives: CIFAR-10's published training-set
// statistics, rounded.
var (
	CIFARMean = [Channels]float32{0.4914, 0.4822, 0.4465}
	CIFARStd  = [Channels]float32{0.2470, 0.2435, 0.2616}
)
