//go:build cuda

package graph

import G "gorgonia.org/gorgonia"

// newTapeMachine keeps gorgonia's finalizer in cuda builds, where it frees
// device memory. The lab's graphs never point back to their model (see
// tape.go), so a machine is not part of a cycle and its finalizer runs.
func newTapeMachine(g *G.ExprGraph, opts ...G.VMOpt) G.VM { return G.NewTapeMachine(g, opts...) }
