package lab_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"golab/lab"
)

// synthetic makes n CIFAR-shaped images of 10 classes that a small network
// tells apart: each class has its own colour and stripe direction.
func synthetic(name string, n int, seed uint64) *lab.Dataset {
	r := rand.New(rand.NewPCG(seed, 1))
	pix := make([]byte, n*lab.ImageBytes)
	labels := make([]uint8, n)
	for i := range n {
		c := i % 10
		labels[i] = uint8(c)
		img := pix[i*lab.ImageBytes : (i+1)*lab.ImageBytes]
		for ch := range lab.Channels {
			for y := range lab.Height {
				for x := range lab.Width {
					stripe := y
					if c%2 == 1 {
						stripe = x
					}
					v := 40 + 60*((c+ch)%4) + 50*((stripe/(2+c/4))%2) + r.IntN(40)
					img[(ch*lab.Height+y)*lab.Width+x] = byte(min(v, 255))
				}
			}
		}
	}
	d, err := lab.NewDataset(name, lab.DefaultClasses, pix, labels)
	if err != nil {
		panic(err)
	}
	d, err = d.Normalize(lab.CIFARMean, lab.CIFARStd)
	if err != nil {
		panic(err)
	}
	return d
}

func ExampleBuildCNN() {
	model, err := lab.BuildCNN("tiny", 0,
		lab.Conv2d(3, 8, 3, lab.Stride(2)).As("conv"), lab.ReLU(), lab.MaxPool2d(2),
		lab.Flatten(), lab.Linear(lab.Auto, 10).As("fc"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(model.Summary())
	// Output:
	// tiny
	// ────────────────────────────────────────────────────────────────────────────────────────────────────────────
	// Layer (name)                                                                     Output shape        Param #
	// ────────────────────────────────────────────────────────────────────────────────────────────────────────────
	// (conv): Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2))                          [-1, 8, 15, 15]         224
	// (1): ReLU()                                                                      [-1, 8, 15, 15]           0
	// (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)  [-1, 8, 7, 7]             0
	// (3): Flatten(start_dim=1, end_dim=-1)                                            [-1, 392]                 0
	// (fc): Linear(in_features=392, out_features=10, bias=True)                        [-1, 10]              3,930
	// ────────────────────────────────────────────────────────────────────────────────────────────────────────────
	// Total params: 4,154
	// Trainable params: 4,154
}

// Train on a small synthetic set: 3 epochs of SGD with momentum.
func ExampleTrain() {
	train, val := synthetic("train", 500, 1), synthetic("validation", 100, 2)
	model, _ := lab.BuildCNN("tiny", 0,
		lab.Conv2d(3, 8, 3, lab.Stride(2)), lab.ReLU(), lab.MaxPool2d(2),
		lab.Flatten(), lab.Linear(lab.Auto, 10))
	history, err := lab.Train(model, train, val, lab.Config{
		Epochs:    3,
		Optimizer: lab.SGD{LR: 0.01, Momentum: 0.9},
		Monitor:   lab.TextMonitor(io.Discard), // lab.TextMonitor(os.Stdout) prints the log
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	acc, _ := history.BestValAcc()
	fmt.Println("epochs:", len(history.Epochs))
	fmt.Println("better than chance:", acc > 50)
	// Output:
	// epochs: 3
	// better than chance: true
}

// Save a model's weights and load them into another model of the same
// layers.
func ExampleModel_Save() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	layers := []lab.Layer{lab.Conv2d(3, 4, 3, lab.Stride(2)), lab.Flatten(), lab.Linear(lab.Auto, 10)}
	a, _ := lab.BuildCNN("tiny", 1, layers...)
	b, _ := lab.BuildCNN("tiny", 2, layers...) // other initial weights
	path := filepath.Join(dir, "tiny.safetensors")
	if err := a.Save(path); err != nil {
		fmt.Println(err)
		return
	}
	if err := b.Load(path); err != nil {
		fmt.Println(err)
		return
	}
	batch := synthetic("test", 4, 3).Batch([]int{0, 1, 2, 3}, nil)
	la, _ := lab.Logits(a, batch)
	lb, _ := lab.Logits(b, batch)
	fmt.Println("same logits:", fmt.Sprint(la) == fmt.Sprint(lb))
	// Output:
	// same logits: true
}

func ExamplePredict() {
	test := synthetic("test", 20, 3)
	model, _ := lab.BuildCNN("tiny", 0, lab.Conv2d(3, 4, 3, lab.Stride(2)), lab.Flatten(), lab.Linear(lab.Auto, 10))
	pred, err := lab.Predict(model, test)
	if err != nil {
		fmt.Println(err)
		return
	}
	var sum float32
	for _, p := range pred.Probs[0] {
		sum += p
	}
	fmt.Println(len(pred.Probs), "rows of", len(pred.Probs[0]), "probabilities")
	fmt.Printf("the first row sums to %.3f\n", sum)
	fmt.Println(len(pred.Confusion()), "×", len(pred.Confusion()[0]), "confusion matrix")
	// Output:
	// 20 rows of 10 probabilities
	// the first row sums to 1.000
	// 10 × 10 confusion matrix
}

// The five beats of a training step, one call each.
func ExampleStepper() {
	train := synthetic("train", 64, 1)
	model, _ := lab.BuildCNN("tiny", 0, lab.Conv2d(3, 4, 3, lab.Stride(2)), lab.ReLU(), lab.Flatten(), lab.Linear(lab.Auto, 10))
	st, _ := lab.NewStepper(model, lab.Config{Optimizer: lab.SGD{LR: 0.01, Momentum: 0.9}})
	var first, last float64
	for step := range 8 {
		batch := train.Batch([]int{0, 1, 2, 3, 4, 5, 6, 7}, nil)
		loss, _ := st.Forward(batch) // 1. forward: the loss and the logits
		st.ZeroGrad()                // 2. zero the gradients
		_ = st.Backward()            // 3. backward: the gradient of every weight
		_ = st.Update()              // 4. update the weights
		if step == 0 {               // 5. log
			first = loss
		}
		last = loss
	}
	fmt.Println("the loss fell:", last < first)
	// Output:
	// the loss fell: true
}

// A layer written with Custom, checked with GradCheck and trained in a
// model.
func ExampleCustom() {
	square := lab.Custom("Square()",
		func(p *lab.Pass, y, x []float32) error {
			for i, v := range x {
				y[i] = v * v
			}
			return nil
		},
		func(p *lab.Pass, dx, dy, x, y []float32) error {
			for i, v := range x {
				dx[i] = 2 * v * dy[i]
			}
			return nil
		})
	report, err := lab.GradCheck(square, 3, 8, 8)
	fmt.Println("gradients right:", err == nil, len(report), "checked")
	model, err := lab.BuildCNN("squares", 0, lab.Conv2d(3, 4, 3, lab.Stride(2)), square, lab.Flatten(), lab.Linear(lab.Auto, 10))
	fmt.Println(model.Layers()[1], err)
	// Output:
	// gradients right: true 1 checked
	// Square() <nil>
}
