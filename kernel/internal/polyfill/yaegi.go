package polyfill

import (
	"reflect"
	"unsafe"

	"github.com/traefik/yaegi/interp"
)

// yaegi v0.16.1 keeps, for its debugger only, every syntax tree it
// compiles (Interpreter.roots) and every scope it opens (scope.child, which
// holds function definitions): a notebook session would keep every cell's
// code, about 15 KB a cell, for good. The kernel does not use the
// debugger, so it empties both lists after each cell; declarations stay
// alive through the symbols that use them.
//
// The functions below reach yaegi's unexported fields by reflection and
// check their shape first: with another yaegi layout they do nothing.

var rootsOffset = func() uintptr {
	f, ok := reflect.TypeOf(interp.Interpreter{}).FieldByName("roots")
	if !ok || f.Type.Kind() != reflect.Slice || f.Type.Elem().Kind() != reflect.Ptr {
		return 0
	}
	return f.Offset
}()

// DropRoots empties the interpreter's list of compiled trees.
func DropRoots(in *interp.Interpreter) {
	if rootsOffset == 0 {
		return
	}
	roots := (*[]unsafe.Pointer)(unsafe.Add(unsafe.Pointer(in), rootsOffset))
	clear(*roots)
	*roots = (*roots)[:0]
}

// DropScopes empties the child lists of the interpreter's package scopes
// and universe.
func DropScopes(in *interp.Interpreter) {
	defer func() { _ = recover() }() // another yaegi layout: leave it be
	v := reflect.ValueOf(in).Elem()
	if scopes := v.FieldByName("scopes"); scopes.IsValid() && scopes.Kind() == reflect.Map {
		for _, key := range scopes.MapKeys() {
			clearChildren(scopes.MapIndex(key))
		}
	}
	clearChildren(v.FieldByName("universe"))
}

func clearChildren(sp reflect.Value) {
	if !sp.IsValid() || sp.Kind() != reflect.Ptr || sp.IsNil() {
		return
	}
	f := sp.Elem().FieldByName("child")
	if !f.IsValid() || f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Ptr || !f.CanAddr() {
		return
	}
	children := (*[]unsafe.Pointer)(unsafe.Pointer(f.UnsafeAddr()))
	clear(*children)
	*children = (*children)[:0]
}

// mainSymbols returns the symbol map of the interpreter's main package
// (map[string]*symbol), settable, or an invalid Value.
func mainSymbols(in *interp.Interpreter) (syms reflect.Value) {
	defer func() {
		if recover() != nil {
			syms = reflect.Value{}
		}
	}()
	scopes := reflect.ValueOf(in).Elem().FieldByName("scopes")
	if !scopes.IsValid() || scopes.Kind() != reflect.Map {
		return reflect.Value{}
	}
	sc := scopes.MapIndex(reflect.ValueOf("main"))
	if !sc.IsValid() || sc.Kind() != reflect.Ptr || sc.IsNil() {
		return reflect.Value{}
	}
	f := sc.Elem().FieldByName("sym")
	if !f.IsValid() || f.Kind() != reflect.Map || f.Type().Key().Kind() != reflect.String || f.Type().Elem().Kind() != reflect.Ptr || !f.CanAddr() {
		return reflect.Value{}
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// DeleteSymbol removes name from the main package scope, as if it had
// never been declared; code compiled earlier keeps its own reference. The
// kernel uses it before compiling a type anew (yaegi would give the new
// type the old one's methods) and before declaring a name again. It
// reports whether it could.
func DeleteSymbol(in *interp.Interpreter, name string) bool {
	syms := mainSymbols(in)
	if !syms.IsValid() {
		return false
	}
	syms.SetMapIndex(reflect.ValueOf(name), reflect.Value{})
	return true
}

// RenameSymbol makes name refer to the symbol declared as from, and forgets
// from: a variable declared under a hidden name while a cell runs takes its
// public name once the cell is done. It reports whether it could.
func RenameSymbol(in *interp.Interpreter, from, name string) bool {
	syms := mainSymbols(in)
	if !syms.IsValid() {
		return false
	}
	s := syms.MapIndex(reflect.ValueOf(from))
	if !s.IsValid() {
		return false
	}
	syms.SetMapIndex(reflect.ValueOf(name), s)
	syms.SetMapIndex(reflect.ValueOf(from), reflect.Value{})
	return true
}

// Snapshot records the symbols of names in the main package scope, to put
// them back with Restore if a compile fails part way: yaegi declares the
// names of a file before it compiles the bodies, and would otherwise keep
// half-declared functions.
type Snapshot struct {
	in   *interp.Interpreter
	syms map[string]reflect.Value // invalid Value: the name was absent
}

// Save records the current symbols of names.
func Save(in *interp.Interpreter, names []string) *Snapshot {
	s := &Snapshot{in: in, syms: map[string]reflect.Value{}}
	syms := mainSymbols(in)
	for _, n := range names {
		if _, done := s.syms[n]; done {
			continue
		}
		if syms.IsValid() {
			s.syms[n] = syms.MapIndex(reflect.ValueOf(n))
		} else {
			s.syms[n] = reflect.Value{}
		}
	}
	return s
}

// Restore puts back the recorded symbols and removes those of names that
// were absent.
func (s *Snapshot) Restore() {
	syms := mainSymbols(s.in)
	if !syms.IsValid() {
		return
	}
	for n, v := range s.syms {
		syms.SetMapIndex(reflect.ValueOf(n), v)
	}
}
