//go:build !cuda

package graph

import (
	"runtime"

	G "gorgonia.org/gorgonia"
)

// newTapeMachine is G.NewTapeMachine without the finalizer gorgonia v0.9.18
// sets on every tape machine. Go never frees an object with a finalizer
// that can reach itself, and a machine reaches itself through its graph as
// soon as anything in the graph leads back to whatever holds the machine:
// every training run of a new model then stayed in memory for good (145 MB
// for CNNModel, 400 MB for the larger networks). The finalizer only frees
// CUDA memory, and outside cuda builds it is empty (vm_tape_nocuda.go), so
// dropping it loses nothing. Every tape machine of the lab is made here.
func newTapeMachine(g *G.ExprGraph, opts ...G.VMOpt) G.VM {
	vm := G.NewTapeMachine(g, opts...)
	runtime.SetFinalizer(vm, nil)
	return vm
}
