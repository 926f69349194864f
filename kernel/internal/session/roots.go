package session

import (
	"reflect"
	"unsafe"

	"github.com/traefik/yaegi/interp"
)

// yaegi v0.16.1 keeps, for its debugger only, every syntax tree it
// compiles (Interpreter.roots) and every scope it opens (scope.child, which
// holds function definitions): a notebook session would keep every cell's
// code, about 15 KB a cell, for good. The session does not use the
// debugger, so it empties both lists after each cell; declarations stay
// alive through the symbols that use them.
//
// rootsField finds the field once, and checks it is what this code
// expects (a slice of pointers); with another yaegi it does nothing.
var rootsOffset = func() uintptr {
	f, ok := reflect.TypeOf(interp.Interpreter{}).FieldByName("roots")
	if !ok || f.Type.Kind() != reflect.Slice || f.Type.Elem().Kind() != reflect.Ptr {
		return 0
	}
	return f.Offset
}()

// dropRoots empties the interpreter's list of compiled trees.
func dropRoots(in *interp.Interpreter) {
	if rootsOffset == 0 {
		return
	}
	roots := (*[]unsafe.Pointer)(unsafe.Add(unsafe.Pointer(in), rootsOffset))
	clear(*roots)
	*roots = (*roots)[:0]
}

// dropScopes empties the child lists of the interpreter's package scopes
// and universe.
func dropScopes(in *interp.Interpreter) {
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

// deleteSymbol removes name from the package scope of the interpreter's
// main package, as if it had never been declared. The session uses it
// before compiling a type anew: yaegi would otherwise give the new type the
// old type's methods. It reports whether it could.
func deleteSymbol(in *interp.Interpreter, name string) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	scopes := reflect.ValueOf(in).Elem().FieldByName("scopes")
	if !scopes.IsValid() || scopes.Kind() != reflect.Map {
		return false
	}
	sc := scopes.MapIndex(reflect.ValueOf("main"))
	if !sc.IsValid() || sc.Kind() != reflect.Ptr || sc.IsNil() {
		return false
	}
	f := sc.Elem().FieldByName("sym")
	if !f.IsValid() || f.Kind() != reflect.Map || f.Type().Key().Kind() != reflect.String || !f.CanAddr() {
		return false
	}
	syms := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
	syms.SetMapIndex(reflect.ValueOf(name), reflect.Value{})
	return true
}
