package nn

import "math"

// SoftmaxCrossEntropy writes the softmax of each row of logits (N×K) into
// probs and returns the mean over rows of −log probs[label], the loss of
// PyTorch's nn.CrossEntropyLoss. It works on shifted logits, so large
// logits do not overflow.
func SoftmaxCrossEntropy(probs, logits []float32, labels []int, k int) float64 {
	n := len(labels)
	var total float64
	for i := range n {
		row := logits[i*k : (i+1)*k]
		out := probs[i*k : (i+1)*k]
		m := row[0]
		for _, v := range row[1:] {
			if v > m || v != v {
				m = v
			}
		}
		var sum float64
		for j, v := range row {
			e := math.Exp(float64(v - m))
			out[j] = float32(e)
			sum += e
		}
		inv := 1 / sum
		for j := range out {
			out[j] = float32(float64(out[j]) * inv)
		}
		total += math.Log(sum) - float64(row[labels[i]]-m)
	}
	return total / float64(n)
}

// SoftmaxCrossEntropyBackward writes the gradient of the mean loss, scaled
// by g (the gradient flowing into the loss), with respect to the logits:
// g·(probs − onehot(label))/N.
func SoftmaxCrossEntropyBackward(dlogits, probs []float32, labels []int, k int, g float32) {
	n := len(labels)
	s := g / float32(n)
	for i := range n {
		for j := range k {
			v := probs[i*k+j]
			if j == labels[i] {
				v--
			}
			dlogits[i*k+j] = v * s
		}
	}
}
