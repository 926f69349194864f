// Package sorting sorts slices in compiled code for the interpreted slices
// package (kernel/internal/polyfill/overlay/slices): sorting is the hot
// part of it, and yaegi interprets a sort loop a hundred times slower.
package sorting

import (
	"cmp"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Ordered sorts the slice x, whose elements are of an ordered kind, in
// increasing order (NaNs first, as slices.Sort).
func Ordered(x any) {
	v := reflect.ValueOf(x)
	if v.Kind() != reflect.Slice {
		panic(fmt.Sprintf("slices.Sort: %T is not a slice", x))
	}
	var less func(i, j int) bool
	switch k := v.Type().Elem().Kind(); {
	case k >= reflect.Int && k <= reflect.Int64:
		less = func(i, j int) bool { return v.Index(i).Int() < v.Index(j).Int() }
	case k >= reflect.Uint && k <= reflect.Uintptr:
		less = func(i, j int) bool { return v.Index(i).Uint() < v.Index(j).Uint() }
	case k == reflect.Float32 || k == reflect.Float64:
		less = func(i, j int) bool { return cmp.Less(v.Index(i).Float(), v.Index(j).Float()) }
	case k == reflect.String:
		less = func(i, j int) bool { return strings.Compare(v.Index(i).String(), v.Index(j).String()) < 0 }
	default:
		panic(fmt.Sprintf("slices.Sort: %s elements are not ordered", k))
	}
	sort.Sort(swapSorter{v.Len(), less, reflect.Swapper(x)})
}

// Func sorts the slice x with the comparison cmpFn (a func(a, b E) int),
// stably when stable is set.
func Func(x, cmpFn any, stable bool) {
	v := reflect.ValueOf(x)
	f := reflect.ValueOf(cmpFn)
	if v.Kind() != reflect.Slice || f.Kind() != reflect.Func {
		panic("slices.SortFunc: need a slice and a comparison function")
	}
	args := make([]reflect.Value, 2)
	less := func(i, j int) bool {
		args[0], args[1] = v.Index(i), v.Index(j)
		return f.Call(args)[0].Int() < 0
	}
	s := swapSorter{v.Len(), less, reflect.Swapper(x)}
	if stable {
		sort.Stable(s)
	} else {
		sort.Sort(s)
	}
}

type swapSorter struct {
	n    int
	less func(i, j int) bool
	swap func(i, j int)
}

func (s swapSorter) Len() int           { return s.n }
func (s swapSorter) Less(i, j int) bool { return s.less(i, j) }
func (s swapSorter) Swap(i, j int)      { s.swap(i, j) }
