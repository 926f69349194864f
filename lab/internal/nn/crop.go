package nn

// CropPlanes writes the top-left ch×cw corner of each of the planes h×w
// planes of src (planes·h·w floats) into dst (planes·ch·cw): the part of a
// convolution's input that the outputs a max-pooling reads come from
// (see the lab's fused convolution, activation and pooling).
func CropPlanes(dst, src []float32, planes, h, w, ch, cw int) {
	checkCrop(len(dst), len(src), planes, h, w, ch, cw)
	parallel(planes, func(_, lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			for i := range ch {
				copy(dst[(pl*ch+i)*cw:(pl*ch+i+1)*cw], src[(pl*h+i)*w:])
			}
		}
	})
}

// UncropPlanes is CropPlanes's adjoint: each h×w plane of dst gets the
// ch×cw plane of src in its top-left corner and zeros elsewhere.
func UncropPlanes(dst, src []float32, planes, h, w, ch, cw int) {
	checkCrop(len(src), len(dst), planes, h, w, ch, cw)
	parallel(planes, func(_, lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			for i := range ch {
				row := dst[(pl*h+i)*w : (pl*h+i+1)*w]
				copy(row, src[(pl*ch+i)*cw:(pl*ch+i+1)*cw])
				clear(row[cw:])
			}
			clear(dst[(pl*h+ch)*w : (pl+1)*h*w])
		}
	})
}

func checkCrop(small, large, planes, h, w, ch, cw int) {
	if ch < 0 || cw < 0 || ch > h || cw > w || small != planes*ch*cw || large != planes*h*w {
		panic("nn: crop of planes with mismatched sizes")
	}
}
