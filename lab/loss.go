package lab

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"golab/lab/internal/nn"
)

// crossEntropy adds the mean softmax cross-entropy of logits (N×K) against
// labels (N class indices held as float32) to the graph, as PyTorch's
// nn.CrossEntropyLoss. gorgonia has no such op; this one fuses softmax and
// log-likelihood, which is also what keeps it stable for large logits.
func crossEntropy(logits, labels *G.Node) (*G.Node, error) {
	ls := logits.Shape()
	if ls.Dims() != 2 {
		return nil, fmt.Errorf("lab: the model's output has shape %v; cross-entropy needs [batch, classes]", ls)
	}
	n, k := ls[0], ls[1]
	probs := make([]float32, n*k)
	ints := make([]int, n)
	toInts := func(ys []float32) error {
		for i, y := range ys {
			c := int(y)
			if c < 0 || c >= k || float32(c) != y {
				return fmt.Errorf("lab: label %v of batch item %d is not a class of the model's %d", y, i, k)
			}
			ints[i] = c
		}
		return nil
	}
	op := newOp("cross-entropy", []int{2, 1}, nil, func(out []float32, in [][]float32) error {
		if err := toInts(in[1]); err != nil {
			return err
		}
		out[0] = float32(nn.SoftmaxCrossEntropy(probs, in[0], ints, k))
		return nil
	})
	op.wrt = []bool{true, false}
	op.grads = func(_ G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		// Taking the loss itself as an input orders this op after it.
		d := newOp("cross-entropy dlogits", []int{0, 0}, tensor.Shape{n, k}, func(out []float32, in [][]float32) error {
			nn.SoftmaxCrossEntropyBackward(out, probs, ints, k, in[1][0])
			return nil
		})
		dl, err := d.apply(output, grad)
		return G.Nodes{dl, nil}, err
	}
	return op.apply(logits, labels)
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
