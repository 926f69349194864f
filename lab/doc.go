// Package lab holds the CIFAR-10 deep-learning lab: data loading and
// normalization, models built from layers, training, evaluation and
// checkpoints. It is built on gorgonia (graph, autodiff, solvers); the hot
// layers are custom gorgonia ops backed by lab/internal kernels.
package lab
