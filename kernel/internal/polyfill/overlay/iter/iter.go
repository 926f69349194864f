// Package iter is the standard iter package as the golab kernel interprets
// it (yaegi cannot bind generic types). The API is Go's; Pull and Pull2 run
// the sequence in a goroutine of compiled code (package coro) instead of a
// coroutine.
package iter

import "golab/kernel/internal/polyfill/coro"

// Seq is an iterator over sequences of individual values.
type Seq[V any] func(yield func(V) bool)

// Seq2 is an iterator over sequences of pairs of values.
type Seq2[K, V any] func(yield func(K, V) bool)

// Pull converts the push-style iterator seq into a pull-style iterator:
// next returns the next value and whether it is valid; stop ends the
// iteration.
func Pull[V any](seq Seq[V]) (next func() (V, bool), stop func()) {
	pull, stop := coro.Pull(seq)
	next = func() (V, bool) {
		var zero V
		vs, ok := pull()
		if !ok {
			return zero, false
		}
		v, _ := vs[0].(V)
		return v, true
	}
	return next, stop
}

// Pull2 converts the push-style iterator seq into a pull-style iterator:
// next returns the next pair and whether it is valid; stop ends the
// iteration.
func Pull2[K, V any](seq Seq2[K, V]) (next func() (K, V, bool), stop func()) {
	pull, stop := coro.Pull(seq)
	next = func() (K, V, bool) {
		var zk K
		var zv V
		vs, ok := pull()
		if !ok {
			return zk, zv, false
		}
		k, _ := vs[0].(K)
		v, _ := vs[1].(V)
		return k, v, true
	}
	return next, stop
}
