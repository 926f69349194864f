package lab

import (
	"context"
	"errors"
	"fmt"

	"golab/frontend"
	"golab/lab/internal/nn"
	"golab/lab/internal/plural"
)

// evalBatch is the batch size of evaluation graphs: large enough to keep the
// kernels busy (the Winograd engine works image by image, and the filter
// transforms are shared by the batch), small enough that the two
// activation buffers an evaluation graph needs (kernelOp's arena) stay
// small: about 10 MB for ImprovedCNN.
const evalBatch = 50

// Result holds a model's figures on a set of images.
type Result struct {
	Loss     float64 // mean cross-entropy
	Accuracy float64 // percent
	N        int     // images scored
}

// Prediction is a model's output on a set of images.
type Prediction struct {
	Probs     [][]float32 // softmax probabilities, one row per image; rows sum to 1
	Predicted []int       // the most probable class of each image
	Labels    []int       // the true class of each image
	Classes   []string    // class names
}

// Accuracy is the percentage of images predicted correctly.
func (p *Prediction) Accuracy() float64 {
	if len(p.Labels) == 0 {
		return 0
	}
	ok := 0
	for i, l := range p.Labels {
		if p.Predicted[i] == l {
			ok++
		}
	}
	return 100 * float64(ok) / float64(len(p.Labels))
}

// Confusion returns the confusion matrix: row = true class, column =
// predicted class.
func (p *Prediction) Confusion() [][]int {
	k := len(p.Classes)
	for _, r := range p.Probs {
		k = max(k, len(r))
	}
	c := make([][]int, k)
	for i := range c {
		c[i] = make([]int, k)
	}
	for i, l := range p.Labels {
		c[l][p.Predicted[i]]++
	}
	return c
}

// Evaluate scores the model on a set in evaluation mode: dropout off,
// BatchNorm with its running statistics.
func Evaluate(m *Model, d *Dataset) (Result, error) {
	if err := checkEval(m, d); err != nil {
		return Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.evaluate(frontend.Context(), d, false)
	if err != nil {
		return Result{}, err
	}
	return r.Result, nil
}

// Accuracy is the percentage of a set the model classifies correctly.
func Accuracy(m *Model, d *Dataset) (float64, error) {
	r, err := Evaluate(m, d)
	return r.Accuracy, err
}

// Predict returns the model's softmax probabilities and predicted classes
// for every image of a set, in evaluation mode.
func Predict(m *Model, d *Dataset) (*Prediction, error) {
	if err := checkEval(m, d); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.evaluate(frontend.Context(), d, true)
	if err != nil {
		return nil, err
	}
	return r.pred, nil
}

func checkEval(m *Model, d *Dataset) error {
	if m == nil || d == nil {
		return errors.New("lab: evaluation needs a model and a set of images")
	}
	if d.Len() == 0 {
		return fmt.Errorf("lab: the set %q is empty", d.Name)
	}
	return nil
}

type evalResult struct {
	Result
	pred *Prediction
}

// evaluate runs the evaluation graph over d. Callers hold m.mu.
func (m *Model) evaluate(ctx context.Context, d *Dataset, keep bool) (evalResult, error) {
	k := m.Classes()
	n := d.Len()
	var r evalResult
	if keep {
		r.pred = &Prediction{Probs: make([][]float32, 0, n), Predicted: make([]int, 0, n), Labels: make([]int, 0, n), Classes: d.Classes}
	}
	var batch Batch
	pos := make([]int, evalBatch)
	probs := make([]float32, evalBatch*k)
	var sum float64
	correct := 0
	for lo := 0; lo < n; lo += evalBatch {
		if err := ctx.Err(); err != nil {
			return r, fmt.Errorf("lab: evaluation interrupted after %d of %s: %w", lo, plural.N(n, "image"), err)
		}
		hi := min(lo+evalBatch, n)
		ps := pos[:hi-lo]
		for i := range ps {
			ps[i] = lo + i
		}
		d.Batch(ps, &batch)
		p, err := m.program(false, len(ps))
		if err != nil {
			return r, err
		}
		if err := p.forward(&batch); err != nil {
			return r, err
		}
		logits := p.logits
		pr := probs[:len(ps)*k]
		sum += nn.SoftmaxCrossEntropy(pr, logits, batch.Labels, k) * float64(len(ps))
		correct += countCorrect(logits, batch.Labels, k)
		if keep {
			for i, l := range batch.Labels {
				row := append([]float32(nil), pr[i*k:(i+1)*k]...)
				r.pred.Probs = append(r.pred.Probs, row)
				r.pred.Predicted = append(r.pred.Predicted, argmax(row))
				r.pred.Labels = append(r.pred.Labels, l)
			}
		}
	}
	r.Loss = sum / float64(n)
	r.Accuracy = 100 * float64(correct) / float64(n)
	r.N = n
	return r, nil
}

// Logits returns the model's raw class scores for a batch, in evaluation
// mode: one row of Classes() values per image.
func Logits(m *Model, b *Batch) ([][]float32, error) {
	if m == nil || b == nil || b.Len() == 0 {
		return nil, errors.New("lab: Logits needs a model and a non-empty batch")
	}
	if len(b.X) != b.Len()*ImageBytes {
		return nil, fmt.Errorf("lab: the batch holds %d values for %d images; each image needs %d", len(b.X), b.Len(), ImageBytes)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.Classes()
	out := make([][]float32, 0, b.Len())
	for lo := 0; lo < b.Len(); lo += evalBatch {
		hi := min(lo+evalBatch, b.Len())
		sub := &Batch{X: b.X[lo*ImageBytes : hi*ImageBytes], Labels: b.Labels[lo:hi]}
		p, err := m.program(false, hi-lo)
		if err != nil {
			return nil, err
		}
		if err := p.forward(sub); err != nil {
			return nil, err
		}
		l := p.logits
		for i := range hi - lo {
			out = append(out, append([]float32(nil), l[i*k:(i+1)*k]...))
		}
	}
	return out, nil
}
