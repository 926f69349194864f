// Package nn holds the numerical kernels behind the lab's layers: NCHW
// float32 convolution, pooling, activations, dropout, batch normalization,
// fully connected layers and the softmax cross-entropy loss, forward and
// backward. It knows nothing of gorgonia: package lab wraps these kernels in
// gorgonia ops. Kernels are hand-written because they are the hot path of
// training (gorgonia's own conv and pooling are several times slower) and
// because gorgonia lacks some of them (cross-entropy, conv bias).
//
// Conventions: every slice is dense, row-major, NCHW for images; outputs are
// overwritten, never accumulated into; results do not depend on the number
// of threads.
package nn
