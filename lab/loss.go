package lab

import (
	"fmt"
	"math"

	"golab/lab/internal/graph"
	"golab/lab/internal/nn"
)

// crossEntropy is the mean softmax cross-entropy of logits (N×K) against
// labels (N class indices held as float32), as PyTorch's
// nn.CrossEntropyLoss: one kernel that fuses softmax and log-likelihood,
// which is also what keeps it stable for large logits.
func crossEntropy(n, k int) graph.Kernel {
	probs := make([]float32, n*k)
	ints := make([]int, n)
	return graph.Kernel{
		Name: "cross-entropy",
		Forward: func(out []float32, in [][]float32) error {
			for i, y := range in[1] {
				c := int(y)
				if c < 0 || c >= k || float32(c) != y {
					return fmt.Errorf("lab: label %v of batch item %d is not a class of the model's %d", y, i, k)
				}
				ints[i] = c
			}
			out[0] = float32(nn.SoftmaxCrossEntropy(probs, in[0], ints, k))
			return nil
		},
		Backward: func(din [][]float32, dy, _ []float32, _ [][]float32) error {
			nn.SoftmaxCrossEntropyBackward(din[0], probs, ints, k, dy[0])
			return nil
		},
	}
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
