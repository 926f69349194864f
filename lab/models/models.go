// Package models holds the assignment's networks, layer for layer as the
// seed report prints them, with PyTorch's parameter names so that weights
// move freely between the lab and PyTorch (golab's reference: bench/torchref).
package models

import (
	"fmt"

	"golab/lab"
)

// Option changes how a model is built.
type Option func(*options)

type options struct{ seed uint64 }

// Seed sets the seed of the initial weights (default 0).
func Seed(s uint64) Option { return func(o *options) { o.seed = s } }

func build(name, label string, opts []Option, layers ...lab.Layer) (*lab.Model, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	m, err := lab.BuildCNN(name, o.seed, layers...)
	if err != nil {
		return nil, err
	}
	m.Label = label
	return m, nil
}

// CNNModel is the assignment's first network (the seed's figure 4): four
// 3×3 convolutions with ReLU, max-pooling after the second and the fourth,
// and two fully connected layers. 890,410 parameters.
func CNNModel(opts ...Option) (*lab.Model, error) {
	return build("CNNModel", "CNNModel", opts,
		lab.Conv2d(3, 32, 3).As("conv1"), lab.ReLU().As("relu1"),
		lab.Conv2d(32, 32, 3).As("conv2"), lab.ReLU().As("relu2"),
		lab.MaxPool2d(2).As("pool1"),
		lab.Conv2d(32, 64, 3).As("conv3"), lab.ReLU().As("relu3"),
		lab.Conv2d(64, 64, 3).As("conv4"), lab.ReLU().As("relu4"),
		lab.MaxPool2d(2).As("pool2"),
		lab.Flatten().As("flatten"),
		lab.Linear(lab.Auto, 512).As("fc"), lab.ReLU().As("relu5"),
		lab.Linear(512, 10).As("out"),
	)
}

// DropoutCNN is the network of the dropout exercise (the seed's figures
// 7b/7c): six 3×3 convolutions 3→32→32→64→128→256→512 with ReLU,
// max-pooling after conv4, conv5 and conv6, dropout with probability p after
// the last two pools, then fc1 512→512 and out1 512→10. The seed prints fc1
// with 1024 inputs, which its own layers cannot produce: they flatten to 512
// (32 → 24 → 12 → 10 → 5 → 3 → 1). 1,845,610 parameters.
func DropoutCNN(p float64, opts ...Option) (*lab.Model, error) {
	if !(p >= 0 && p < 1) {
		return nil, fmt.Errorf("models: DropoutCNN: dropout probability p = %v is outside [0, 1): p is the chance of dropping a unit, so 0 keeps all and 1 would drop all", p)
	}
	return build("DropoutCNN", fmt.Sprintf("DropoutCNN p=%g", p), opts,
		lab.Conv2d(3, 32, 3).As("conv1"), lab.ReLU().As("relu1"),
		lab.Conv2d(32, 32, 3).As("conv2"), lab.ReLU().As("relu2"),
		lab.Conv2d(32, 64, 3).As("conv3"), lab.ReLU().As("relu3"),
		lab.Conv2d(64, 128, 3).As("conv4"), lab.ReLU().As("relu4"),
		lab.MaxPool2d(2).As("pool1"),
		lab.Conv2d(128, 256, 3).As("conv5"), lab.ReLU().As("relu5"),
		lab.MaxPool2d(2).As("pool2"),
		lab.Dropout(p).As("drop1"),
		lab.Conv2d(256, 512, 3).As("conv6"), lab.ReLU().As("relu6"),
		lab.MaxPool2d(2).As("pool3"),
		lab.Dropout(p).As("drop2"),
		lab.Flatten().As("flatten"),
		lab.Linear(lab.Auto, 512).As("fc1"), lab.ReLU().As("relu7"),
		lab.Linear(512, 10).As("out1"),
	)
}

// ImprovedCNN is the bonus network (the seed's figure 17): batch
// normalization, LeakyReLU(0.01), Dropout2d(0.05) after each pool and three
// fully connected layers. Names follow its two nn.Sequential blocks,
// conv_layer and fc_layer. 4,270,474 parameters.
func ImprovedCNN(opts ...Option) (*lab.Model, error) {
	const p, slope = 0.05, 0.01
	return build("ImprovedCNN", "ImprovedCNN", opts,
		lab.Conv2d(3, 32, 3).As("conv_layer.0"),
		lab.BatchNorm2d(32).As("conv_layer.1"),
		lab.LeakyReLU(slope).As("conv_layer.2"),
		lab.Conv2d(32, 64, 3).As("conv_layer.3"),
		lab.LeakyReLU(slope).As("conv_layer.4"),
		lab.MaxPool2d(2).As("conv_layer.5"),
		lab.Dropout2d(p).As("conv_layer.6"),
		lab.Conv2d(64, 256, 3).As("conv_layer.7"),
		lab.BatchNorm2d(256).As("conv_layer.8"),
		lab.LeakyReLU(slope).As("conv_layer.9"),
		lab.Conv2d(256, 128, 3).As("conv_layer.10"),
		lab.LeakyReLU(slope).As("conv_layer.11"),
		lab.MaxPool2d(2).As("conv_layer.12"),
		lab.Dropout2d(p).As("conv_layer.13"),
		lab.Flatten().As("flatten"),
		lab.Linear(lab.Auto, 1024).As("fc_layer.0"),
		lab.LeakyReLU(slope).As("fc_layer.1"),
		lab.Linear(1024, 512).As("fc_layer.2"),
		lab.LeakyReLU(slope).As("fc_layer.3"),
		lab.Linear(512, 10).As("fc_layer.4"),
	)
}

// FurtherCNN is the network of notebook 06's "going further" part, a
// VGG-style network sized for two CPU cores: six 3×3 convolutions with
// padding 1 (32, 64, 128, 128, 256 and 256 channels), each followed by
// batch normalization and ReLU; 2×2 max-pooling right after the second,
// third and fifth convolutions (before their normalization, which then
// works on a quarter of the values), a max-pooling over the last 4×4 map,
// and one linear layer. 1,129,514 parameters, 152 MFLOP per image forward,
// about ImprovedCNN's. The convolutions have no bias: the normalization
// after each has a shift of its own.
func FurtherCNN(opts ...Option) (*lab.Model, error) {
	conv := func(name string, in, out int) lab.Layer {
		return lab.Conv2d(in, out, 3, lab.Padding(1), lab.NoBias()).As(name)
	}
	return build("FurtherCNN", "FurtherCNN", opts,
		conv("conv1", 3, 32), lab.BatchNorm2d(32).As("bn1"), lab.ReLU().As("relu1"),
		conv("conv2", 32, 64), lab.MaxPool2d(2).As("pool1"), lab.BatchNorm2d(64).As("bn2"), lab.ReLU().As("relu2"),
		conv("conv3", 64, 128), lab.MaxPool2d(2).As("pool2"), lab.BatchNorm2d(128).As("bn3"), lab.ReLU().As("relu3"),
		conv("conv4", 128, 128), lab.BatchNorm2d(128).As("bn4"), lab.ReLU().As("relu4"),
		conv("conv5", 128, 256), lab.MaxPool2d(2).As("pool3"), lab.BatchNorm2d(256).As("bn5"), lab.ReLU().As("relu5"),
		conv("conv6", 256, 256), lab.BatchNorm2d(256).As("bn6"), lab.ReLU().As("relu6"),
		lab.MaxPool2d(4).As("pool4"), lab.Flatten().As("flatten"),
		lab.Linear(lab.Auto, 10).As("fc"),
	)
}

// FurtherConfig is the recipe FurtherCNN is trained with in notebook 06
// (labtrain -recipe further trains the same run):
//
//   - augmentation: each training image is shifted by up to 4 pixels
//     (RandomCrop(32, padding 4)) and mirrored half the time
//     (RandomHorizontalFlip), so the network never sees the same picture
//     twice;
//   - a one-cycle schedule: the learning rate rises from 0.008 to 0.2 over
//     the first quarter of the run, then falls along a cosine to nearly 0;
//   - SGD with Nesterov momentum 0.9 and weight decay 5e-4, which keeps
//     the weights small;
//   - batches of 128, 25 epochs, and the weights of the best validation
//     epoch kept beside the last ones (KeepBest).
func FurtherConfig() lab.Config {
	return lab.Config{
		Epochs:    25,
		BatchSize: 128,
		Optimizer: lab.SGD{LR: 0.2, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4},
		Schedule:  lab.OneCycle{Warmup: 0.25},
		Augment:   lab.Compose(lab.RandomCrop(32, 4), lab.RandomHorizontalFlip()),
		KeepBest:  true,
	}
}
