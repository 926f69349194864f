// Package polyfill covers what the yaegi interpreter (v0.16.1) lacks for
// running notebook cells as Go: the generic standard packages it cannot
// bind (iter, cmp, slices, maps as Go source it interprets), rewrites of
// syntax it mishandles (range over integers and functions, min, max,
// clear, parallel assignment, generic calls whose type arguments it cannot
// infer), and access to its internals (memory it keeps for a debugger,
// symbols to delete, rename or restore).
//
// Each gap has a test in yaegi_gaps_test.go that measures it on a bare
// interpreter and fails once yaegi closes it: an upgrade shows what can
// go.
package polyfill

import (
	"embed"
	"fmt"
	"io/fs"
	"reflect"
	"sort"
	"strings"

	"github.com/traefik/yaegi/interp"

	"golab/kernel/internal/polyfill/coro"
	"golab/kernel/internal/polyfill/sorting"
)

//go:embed overlay
var overlay embed.FS

// Packages are the interpreted standard packages, in the order they must
// be compiled (each imports only earlier ones).
var Packages = []string{"cmp", "iter", "slices", "maps"}

// Sources returns the Go files of each interpreted package by import path.
func Sources() map[string]fs.FS {
	out := map[string]fs.FS{}
	for _, p := range Packages {
		sub, err := fs.Sub(overlay, "overlay/"+p)
		if err != nil {
			panic(err) // embedded at build time
		}
		out[p] = sub
	}
	return out
}

// Exports are the compiled helpers the interpreted packages call.
func Exports() interp.Exports {
	return interp.Exports{
		"golab/kernel/internal/polyfill/sorting/sorting": {
			"Ordered": reflect.ValueOf(sorting.Ordered),
			"Func":    reflect.ValueOf(sorting.Func),
		},
		"golab/kernel/internal/polyfill/coro/coro": {
			"Pull": reflect.ValueOf(coro.Pull),
		},
	}
}

// Load compiles the interpreted packages into in, whose bindings must
// include Exports.
func Load(in *interp.Interpreter) error {
	srcs := Sources()
	for _, p := range Packages {
		names, err := fs.Glob(srcs[p], "*.go")
		if err != nil {
			return err
		}
		sort.Strings(names)
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			b, err := fs.ReadFile(srcs[p], name)
			if err != nil {
				return err
			}
			if err := compile(in, string(b)); err != nil {
				return fmt.Errorf("polyfill %s/%s: %w", p, name, err)
			}
		}
	}
	return nil
}

// compile compiles a package's source, turning an interpreter panic into
// an error.
func compile(in *interp.Interpreter, src string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	_, err = in.Compile(src)
	return err
}
