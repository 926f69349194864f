// Package nn holds the numerical kernels behind the lab's layers: NCHW
// float32 convolution, pooling, activations, dropout, batch normalization,
// fully connected layers, the softmax cross-entropy loss and the SGD
// update, forward and backward. It knows nothing of gorgonia: package lab
// wraps these kernels in gorgonia ops. Kernels are hand-written because
// they are the hot path of training (gorgonia's own conv and pooling are
// several times slower) and because gorgonia lacks some of them
// (cross-entropy, conv bias).
//
// Conventions: every slice is dense, row-major, NCHW for images; outputs are
// overwritten, never accumulated into; results do not depend on the number
// of threads, bit for bit (sums over the batch go over fixed shards in a
// fixed order).
//
// Speed: work is split over GOMAXPROCS goroutines, by images or by fixed
// blocks; matrix products go to golab's micro-kernels or to package blas
// (OpenBLAS, one thread each). The code path of each kernel is chosen at
// run time from the instruction set (package golab/internal/cpu: AVX-512,
// AVX2, or Go; GOLAB_ISA lowers it, so every path can be tested on one
// machine):
//
//   - 3×3 stride-1 convolutions with channels in whole vectors and outputs
//     of 8×8 or more run Winograd F(4×4, 3×3) (wino4.go) forward, for the
//     filter gradient and, through the flipped convolution, for the input
//     gradient: channels-last strips per image, transforms and 12×32
//     (AVX-512) or 6×16 (AVX2) matrix-product micro-kernels in assembly,
//     within a documented error bound (TestWino4Error);
//   - deep filters on small outputs (DropoutCNN's conv6) run im2col on the
//     same micro-kernels (gemmconv.go);
//   - without assembly, or for other shapes: Winograd F(2×2, 3×3) where it
//     pays (winograd.go), else im2col + sgemm (conv.go);
//   - bias and activation, their gradients, pooling, batch normalization,
//     bias sums and the SGD update have AVX2 assembly.
//
// Temporary buffers come from one pool (scratch.go), which layers borrow
// their own temporaries from too (Borrow). Every fast path is tested
// against a naive float64 reference (ref_test.go and the tests beside each
// kernel), and the assembly kernels against their Go versions.
package nn
