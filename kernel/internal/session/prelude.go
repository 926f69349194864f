package session

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"time"
	"unsafe"

	"golab/kernel/display"

	"github.com/traefik/yaegi/interp"
)

// prelude is compiled into every session before the first cell. It renders
// values inside the interpreter, where the methods of types declared in
// cells are visible (compiled code cannot see them), and stands in for the
// builtins yaegi lacks. Names starting with __golab are hidden from users.
const prelude = `
import (
	"fmt"
	"golab/kernel/display"
	__golabfmt "fmt"
	__golabdisplay "golab/kernel/display"
	__golabrt "golab/kernel/runtime"
)

// Display shows v in the cell's output now, as gophernotes' Display does.
func Display(v interface{}) error { return display.Display(v) }

// __golabGoRecover keeps a panic in a goroutine started by a cell from
// ending the kernel: it reports the panic on stderr instead.
func __golabGoRecover() {
	if r := recover(); r != nil {
		__golabrt.GoPanic(r)
	}
}

type __golabOrdered interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr | ~float32 | ~float64 | ~string
}

func __golabMin[T __golabOrdered](x T, y ...T) T {
	m := x
	for _, v := range y {
		if v != v {
			return v
		}
		if v < m {
			m = v
		}
	}
	return m
}

func __golabMax[T __golabOrdered](x T, y ...T) T {
	m := x
	for _, v := range y {
		if v != v {
			return v
		}
		if v > m {
			m = v
		}
	}
	return m
}

// __golabErrorsAs and __golabErrorsIs are errors.As and errors.Is where
// types declared in cells take part (see errorsRewrite): compiled errors
// cannot see their methods. unwrap unwraps errors of cell types; it
// reports false for others, which compiled code unwraps.
func __golabErrorsAs[T any](err error, target *T, unwrap func(error) ([]error, bool)) bool {
	for _, e := range __golabErrorChain(err, unwrap) {
		if x, ok := e.(T); ok {
			*target = x
			return true
		}
	}
	return false
}

func __golabErrorsIs(err, target error, unwrap func(error) ([]error, bool)) bool {
	for _, e := range __golabErrorChain(err, unwrap) {
		if e == target || __golabrt.Is(e, target) {
			return true
		}
	}
	return false
}

// __golabErrorChain lists err and the errors it wraps, depth first, in the
// order errors.As looks at them.
func __golabErrorChain(err error, unwrap func(error) ([]error, bool)) []error {
	var out []error
	var walk func(e error)
	walk = func(e error) {
		for e != nil {
			out = append(out, e)
			next, ok := unwrap(e)
			if !ok {
				next, ok = __golabrt.Unwrap(e)
			}
			if !ok {
				return
			}
			if len(next) != 1 {
				for _, x := range next {
					walk(x)
				}
				return
			}
			e = next[0]
		}
	}
	walk(err)
	return out
}

// __golabAt is the position of the last statement that may panic (see
// markStatements); __golabTop the index of the cell's top-level statement
// running.
var __golabAt, __golabTop int
`

// runtimeExports binds the compiled helpers the prelude and the rewritten
// cells call, and the cancellable time.Sleep.
func runtimeExports(out *outbox) interp.Exports {
	return interp.Exports{
		"golab/kernel/runtime/golabrt": {
			"Emit":         reflect.ValueOf(out.emit),
			"EmitType":     reflect.ValueOf(out.emitType),
			"Probe":        reflect.ValueOf(out.probe),
			"Marks":        reflect.ValueOf(out.setMarks),
			"Clear":        reflect.ValueOf(clearValue),
			"Show":         reflect.ValueOf(showValue),
			"ShowCompiled": reflect.ValueOf(showCompiled),
			"Raw":          reflect.ValueOf(func(v interface{}) interface{} { return v }),
			"GoPanic":      reflect.ValueOf(goPanic),
			"Zero":         reflect.ValueOf(zeroPointee),
			"Unwrap":       reflect.ValueOf(unwrapError),
			"Is":           reflect.ValueOf(isError),
			"Recovered":    reflect.ValueOf(recovered),
		},
		".": {"MapTypes": reflect.ValueOf(renderMapTypes())},
	}
}

// renderMapTypes tells yaegi which interfaces to wrap a value of a type
// declared in a cell into when it is passed to a display function: the
// wrapper lets compiled code call the type's interpreted methods. yaegi
// picks the first interface of the list that the type implements: the
// order of display.Renderers, then fmt.Stringer.
func renderMapTypes() map[reflect.Value][]reflect.Type {
	var ifaces []reflect.Type
	for _, r := range display.Renderers {
		if r.Interface != nil {
			ifaces = append(ifaces, r.Interface)
		}
	}
	ifaces = append(ifaces, reflect.TypeOf((*fmt.Stringer)(nil)).Elem())
	m := map[reflect.Value][]reflect.Type{}
	for _, f := range []any{showValue, display.Render, display.Display, display.DisplayID, display.Update, display.Show, display.Auto, display.Any} {
		m[reflect.ValueOf(f)] = ifaces
	}
	return m
}

// renderMethods are the methods by which a value renders itself (its
// text included): a value of a cell type that has one, held in an
// interface, is shown through its own type.
func renderMethods() map[string]bool {
	out := map[string]bool{"String": true, "Error": true}
	for _, r := range display.Renderers {
		if r.Interface == nil {
			continue
		}
		for i := 0; i < r.Interface.NumMethod(); i++ {
			out[r.Interface.Method(i).Name] = true
		}
	}
	return out
}

// showValue renders the value of a cell's final expression: its richest
// MIME type, with text as its text/plain unless v is already a bundle. A nil
// v renders as nothing. raw is the same value passed without yaegi's
// interface wrapping: for an interface-typed variable holding a value of a
// type declared in a cell, yaegi passes v as nil, and raw as its internal
// box.
func showValue(v, raw interface{}, text string) display.Data {
	if v == nil {
		if raw == nil {
			return display.Data{}
		}
		// The interpreted text of such a value is yaegi's box printed.
		v, text = raw, fmt.Sprint(raw)
	}
	if d, ok := v.(display.Data); ok {
		return d
	}
	if inner, ok := yaegiValue(v); ok {
		// A value of a type declared in a cell, held in an interface:
		// yaegi passes its internal box, which prints as garbage.
		v = inner
		text = fmt.Sprint(inner)
	}
	d := display.Render(v)
	if d.Data == nil {
		d.Data = display.MIMEMap{}
	}
	d.Data[display.MIMETypeText] = text
	return d
}

// showCompiled renders a value whose type no cell declared: compiled code
// sees its methods and prints it as Go does.
func showCompiled(v interface{}) display.Data {
	if v == nil {
		return display.Data{}
	}
	if d, ok := v.(display.Data); ok {
		return d
	}
	d := display.Render(v)
	if d.Data == nil {
		d.Data = display.MIMEMap{}
	}
	if _, ok := d.Data[display.MIMETypeText]; !ok {
		d.Data[display.MIMETypeText] = fmt.Sprint(v)
	}
	return d
}

// yaegiValue unboxes yaegi's internal representation of an interface
// value (interp.valueInterface), which leaks into compiled code when an
// interface-typed variable holds a value of a type declared in a cell.
func yaegiValue(v interface{}) (inner interface{}, ok bool) {
	defer func() {
		if recover() != nil {
			inner, ok = nil, false
		}
	}()
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Struct || rv.Type().String() != "interp.valueInterface" {
		return nil, false
	}
	box := reflect.New(rv.Type()).Elem()
	box.Set(rv)
	f := box.FieldByName("value")
	if !f.IsValid() || f.Type() != reflect.TypeOf(reflect.Value{}) {
		return nil, false
	}
	val := *(*reflect.Value)(unsafe.Pointer(f.UnsafeAddr()))
	if !val.IsValid() || !val.CanInterface() {
		return nil, false
	}
	return val.Interface(), true
}

// outbox receives what interpreted code hands to the session through
// compiled calls rather than as an expression value: a top-level value
// would stay referenced from yaegi's global frame for good.
type outbox struct {
	values []display.Data
	typ    reflect.Type
	text   string
	marks  []int
}

// probe records the static type of the variable p points to, and a text.
func (o *outbox) probe(p interface{}, text string) {
	o.emitType(p)
	o.text = text
}

func (o *outbox) emit(v []display.Data) { o.values = v }

func (o *outbox) setMarks(at, top int) { o.marks = []int{at, top} }

// emitType records the static type of the variable p points to.
func (o *outbox) emitType(p interface{}) {
	o.typ = nil
	if t := reflect.TypeOf(p); t != nil && t.Kind() == reflect.Ptr {
		o.typ = t.Elem()
	}
}

// runtimeError is a runtime error the interpreter raised in reflect's
// words, given Go's.
type runtimeError struct{ msg string }

func (e runtimeError) Error() string { return e.msg }

// RuntimeError marks it as a runtime.Error.
func (runtimeError) RuntimeError() {}

// recovered translates a value recover returned: a runtime error the
// interpreter raised in reflect's words becomes a runtime.Error with Go's
// message, as the same code compiled would recover.
func recovered(r any) any {
	if r == nil {
		return nil
	}
	if msg, kind := goPanicMessage(r); kind != "" {
		if _, isRuntime := r.(runtime.Error); !isRuntime || kind != "divide" {
			return runtimeError{msg}
		}
	}
	return r
}

// unwrapError returns what a compiled error wraps: one error, several
// (errors.Join), or false when it wraps none.
func unwrapError(err error) ([]error, bool) {
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return []error{u.Unwrap()}, true
	case interface{ Unwrap() []error }:
		return u.Unwrap(), true
	}
	return nil, false
}

// isError reports whether a compiled error says it is target (its Is
// method), without unwrapping.
func isError(err, target error) bool {
	x, ok := err.(interface{ Is(error) bool })
	return ok && x.Is(target)
}

// zeroPointee sets the variable p points to to its zero value.
func zeroPointee(p interface{}) {
	v := reflect.ValueOf(p)
	if v.Kind() == reflect.Ptr && !v.IsNil() && v.Elem().CanSet() {
		v.Elem().Set(reflect.Zero(v.Elem().Type()))
	}
}

// goPanic reports a panic recovered in a goroutine started by a cell.
func goPanic(r interface{}) {
	fmt.Fprintf(os.Stderr, "golab: panic in a goroutine started by a cell (recovered; the kernel keeps running): %v\n", r)
}

// clearValue implements the clear builtin: it deletes every entry of a map
// and zeroes every element of a slice.
func clearValue(x interface{}) {
	v := reflect.ValueOf(x)
	switch v.Kind() {
	case reflect.Map, reflect.Slice:
		v.Clear()
	default:
		panic("invalid argument: clear needs a map or a slice, not " + v.Kind().String())
	}
}

// sleeper returns a time.Sleep that returns early when the running cell is
// interrupted, so that an interrupt does not wait for a long sleep.
func sleeper(cellCtx func() context.Context) func(time.Duration) {
	return func(d time.Duration) {
		if d <= 0 {
			return
		}
		ctx := context.Background()
		if cellCtx != nil {
			ctx = cellCtx()
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}
