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
// blocks; matrix products go to package blas (OpenBLAS, one thread each).
// A 3×3 stride-1 convolution with enough channels runs Winograd F(2×2, 3×3)
// forward, for the filter gradient and (through the flipped convolution)
// for the input gradient; others unroll images (im2col, several small
// images per product) for one sgemm. On amd64 the Winograd transforms,
// bias and activation, the activation gradient, 2×2 max pooling and the
// SGD update have AVX2 assembly, with Go versions under the purego tag or
// on CPUs without AVX2. Every fast path is tested against a naive float64
// reference (ref_test.go and the tests beside each kernel).
package nn
