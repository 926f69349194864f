package nn

import (
	"math/rand/v2"
	"testing"
)

func TestCropPlanes(t *testing.T) {
	r := rand.New(rand.NewPCG(81, 82))
	for _, d := range [][5]int{{1, 3, 3, 2, 2}, {7, 5, 5, 4, 4}, {300, 4, 6, 3, 5}, {5, 3, 4, 3, 4}, {2, 5, 3, 0, 3}} {
		planes, h, w, ch, cw := d[0], d[1], d[2], d[3], d[4]
		src := randSlice(r, planes*h*w)
		small := randSlice(r, planes*ch*cw) // stale values must go
		CropPlanes(small, src, planes, h, w, ch, cw)
		big := randSlice(r, planes*h*w)
		UncropPlanes(big, small, planes, h, w, ch, cw)
		for pl := range planes {
			for i := range h {
				for j := range w {
					v := src[(pl*h+i)*w+j]
					if i < ch && j < cw && small[(pl*ch+i)*cw+j] != v {
						t.Fatalf("%v: crop[%d][%d][%d] = %v, want %v", d, pl, i, j, small[(pl*ch+i)*cw+j], v)
					}
					want := float32(0)
					if i < ch && j < cw {
						want = v
					}
					if got := big[(pl*h+i)*w+j]; got != want {
						t.Fatalf("%v: uncrop[%d][%d][%d] = %v, want %v", d, pl, i, j, got, want)
					}
				}
			}
		}
	}
}
