// Package coro runs push iterators as pull iterators in compiled code, for
// the interpreted iter package (kernel/internal/polyfill/overlay/iter):
// yaegi fails to call an interpreted yield function a second time from a
// goroutine of a generic function.
package coro

import (
	"fmt"
	"reflect"
)

// Pull runs seq, a func(yield func(...) bool), in a goroutine, one value
// (or pair) per call of next; stop ends it. next returns the values of one
// call of yield and whether there was one.
func Pull(seq any) (next func() ([]any, bool), stop func()) {
	sv := reflect.ValueOf(seq)
	if sv.Kind() != reflect.Func || sv.Type().NumIn() != 1 || sv.Type().In(0).Kind() != reflect.Func {
		panic(fmt.Sprintf("iter.Pull: %T is not an iterator", seq))
	}
	yieldType := sv.Type().In(0)
	values := make(chan []any)
	resume := make(chan bool)
	panicked := make(chan any, 1)
	started, done := false, false
	run := func() {
		defer close(values)
		defer func() {
			if r := recover(); r != nil {
				panicked <- r
			}
		}()
		if !<-resume {
			return
		}
		yield := reflect.MakeFunc(yieldType, func(args []reflect.Value) []reflect.Value {
			vs := make([]any, len(args))
			for i, a := range args {
				vs[i] = a.Interface()
			}
			values <- vs
			return []reflect.Value{reflect.ValueOf(<-resume)}
		})
		sv.Call([]reflect.Value{yield})
	}
	next = func() ([]any, bool) {
		if done {
			return nil, false
		}
		if !started {
			started = true
			go run()
		}
		resume <- true
		vs, ok := <-values
		if !ok {
			done = true
			select {
			case r := <-panicked:
				panic(r)
			default:
			}
			return nil, false
		}
		return vs, true
	}
	stop = func() {
		if done {
			return
		}
		done = true
		if started {
			resume <- false
			for range values {
			}
		}
	}
	return next, stop
}
