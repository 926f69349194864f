// Package importer gives go/types the packages a notebook cell may import,
// as the kernel's interpreter has them: compiled packages from their yaegi
// bindings (the reflect values of their symbols), interpreted packages
// (the polyfills of the generic standard packages) from their Go source.
//
// Types built from the bindings are exactly what the interpreter runs, on
// any toolchain and without export data; what reflect does not keep
// (parameter names, positions, unexported methods) does not matter for
// checking a cell.
package importer

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"path"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// Importer implements types.Importer. It is safe for concurrent use.
type Importer struct {
	fset    *token.FileSet
	symbols map[string]map[string]reflect.Value // import path -> symbols
	names   map[string]string                   // import path -> package name
	sources map[string]fs.FS                    // import path -> Go files

	mu       sync.Mutex
	pkgs     map[string]*types.Package // every package seen, complete or not
	complete map[string]bool
	errs     map[string]error
	named    map[reflect.Type]*types.Named
	loading  map[string]bool
}

// New returns an importer for the bindings (keys "import/path/name", as
// yaegi's interp.Exports) and the interpreted packages whose Go files
// sources holds (import path -> files).
func New(fset *token.FileSet, bindings map[string]map[string]reflect.Value, sources map[string]fs.FS) *Importer {
	im := &Importer{
		fset:     fset,
		symbols:  map[string]map[string]reflect.Value{},
		names:    map[string]string{},
		sources:  sources,
		pkgs:     map[string]*types.Package{},
		complete: map[string]bool{},
		errs:     map[string]error{},
		named:    map[reflect.Type]*types.Named{},
		loading:  map[string]bool{},
	}
	for key, syms := range bindings {
		if key == "." {
			continue
		}
		p, name := path.Dir(key), path.Base(key)
		im.symbols[p] = syms
		im.names[p] = name
	}
	return im
}

// Has reports whether path can be imported.
func (im *Importer) Has(path string) bool {
	_, bound := im.symbols[path]
	_, src := im.sources[path]
	return bound || src
}

// Name returns the package name of an importable path.
func (im *Importer) Name(path string) string {
	if n, ok := im.names[path]; ok {
		return n
	}
	return defaultName(path)
}

// Import returns the package at path.
func (im *Importer) Import(path string) (*types.Package, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.load(path)
}

func (im *Importer) load(p string) (*types.Package, error) {
	if im.complete[p] {
		return im.pkgs[p], nil
	}
	if err := im.errs[p]; err != nil {
		return nil, err
	}
	if src, ok := im.sources[p]; ok {
		if im.loading[p] {
			return nil, fmt.Errorf("import cycle through %s", p)
		}
		im.loading[p] = true
		pkg, err := im.fromSource(p, src)
		delete(im.loading, p)
		if err != nil {
			im.errs[p] = err
			return nil, err
		}
		return pkg, nil
	}
	syms, ok := im.symbols[p]
	if !ok {
		return nil, fmt.Errorf("package %s is not bound", p)
	}
	pkg := im.pkg(p)
	names := make([]string, 0, len(syms))
	for n := range syms {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.HasPrefix(n, "_") || pkg.Scope().Lookup(n) != nil {
			continue // a yaegi interface wrapper, or a type already made
		}
		if obj := im.object(pkg, n, syms[n]); obj != nil {
			pkg.Scope().Insert(obj)
		}
	}
	pkg.MarkComplete()
	im.complete[p] = true
	return pkg, nil
}

// fromSource type-checks an interpreted package.
func (im *Importer) fromSource(p string, fsys fs.FS) (*types.Package, error) {
	matches, err := fs.Glob(fsys, "*.go")
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, name := range matches {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(im.fset, p+"/"+name, b, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	conf := types.Config{Importer: lockedImporter{im}, IgnoreFuncBodies: true}
	// The package object may exist already, made for a type another
	// package mentions; a source package is checked into a fresh one and
	// replaces it.
	pkg, err := conf.Check(p, im.fset, files, nil)
	if err != nil {
		return nil, fmt.Errorf("interpreted package %s: %w", p, err)
	}
	im.pkgs[p] = pkg
	im.complete[p] = true
	return pkg, nil
}

// lockedImporter imports while the importer's lock is held (from inside
// a source package's check).
type lockedImporter struct{ im *Importer }

func (l lockedImporter) Import(p string) (*types.Package, error) { return l.im.load(p) }

// pkg returns the package object of p, made empty if needed.
func (im *Importer) pkg(p string) *types.Package {
	if pkg, ok := im.pkgs[p]; ok {
		return pkg
	}
	pkg := types.NewPackage(p, im.Name(p))
	im.pkgs[p] = pkg
	return pkg
}

// defaultName guesses a package's name from its path: its last element,
// without a major-version suffix.
func defaultName(p string) string {
	base := path.Base(p)
	if len(base) > 1 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" && path.Dir(p) != "." {
		base = path.Base(path.Dir(p))
	}
	return base
}

// object makes the go/types object of one bound symbol.
func (im *Importer) object(pkg *types.Package, name string, v reflect.Value) types.Object {
	if !v.IsValid() {
		return nil
	}
	if c, ok := untypedConstant(v); ok {
		return types.NewConst(token.NoPos, pkg, name, c.typ, c.val)
	}
	switch {
	case v.Kind() == reflect.Ptr && v.IsNil() && !v.CanAddr():
		// A type: (*T)(nil).
		t := v.Type().Elem()
		tt := im.typ(t)
		if n, ok := tt.(*types.Named); ok && n.Obj().Name() == name && n.Obj().Pkg() == pkg {
			return n.Obj()
		}
		// Bound under another name (an alias, or a type of another
		// package).
		return types.NewTypeName(token.NoPos, pkg, name, tt)
	case v.CanAddr():
		return types.NewVar(token.NoPos, pkg, name, im.typ(v.Type()))
	case v.Kind() == reflect.Func:
		sig, _ := im.signature(v.Type(), nil).(*types.Signature)
		if sig == nil {
			return nil
		}
		return types.NewFunc(token.NoPos, pkg, name, sig)
	default:
		// A typed constant.
		if c := typedConstant(v); c != nil {
			return types.NewConst(token.NoPos, pkg, name, im.typ(v.Type()), c)
		}
		return types.NewVar(token.NoPos, pkg, name, im.typ(v.Type()))
	}
}

type untyped struct {
	typ types.Type
	val constant.Value
}

var constantValue = reflect.TypeOf((*constant.Value)(nil)).Elem()

// untypedConstant recognizes the constant.Value yaegi binds an untyped
// constant as.
func untypedConstant(v reflect.Value) (untyped, bool) {
	if !v.Type().Implements(constantValue) || !v.CanInterface() {
		return untyped{}, false
	}
	c, ok := v.Interface().(constant.Value)
	if !ok || c == nil {
		return untyped{}, false
	}
	var k types.BasicKind
	switch c.Kind() {
	case constant.Bool:
		k = types.UntypedBool
	case constant.String:
		k = types.UntypedString
	case constant.Int:
		k = types.UntypedInt
	case constant.Float:
		k = types.UntypedFloat
	case constant.Complex:
		k = types.UntypedComplex
	default:
		return untyped{}, false
	}
	return untyped{types.Typ[k], c}, true
}

// typedConstant returns the value of a typed constant's binding.
func typedConstant(v reflect.Value) constant.Value {
	switch v.Kind() {
	case reflect.Bool:
		return constant.MakeBool(v.Bool())
	case reflect.String:
		return constant.MakeString(v.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return constant.MakeInt64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return constant.MakeUint64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return constant.MakeFloat64(v.Float())
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		return constant.BinaryOp(constant.MakeFloat64(real(c)), token.ADD, constant.MakeImag(constant.MakeFloat64(imag(c))))
	}
	return nil
}

var basic = map[reflect.Kind]types.BasicKind{
	reflect.Bool: types.Bool, reflect.Int: types.Int, reflect.Int8: types.Int8, reflect.Int16: types.Int16,
	reflect.Int32: types.Int32, reflect.Int64: types.Int64, reflect.Uint: types.Uint, reflect.Uint8: types.Uint8,
	reflect.Uint16: types.Uint16, reflect.Uint32: types.Uint32, reflect.Uint64: types.Uint64,
	reflect.Uintptr: types.Uintptr, reflect.Float32: types.Float32, reflect.Float64: types.Float64,
	reflect.Complex64: types.Complex64, reflect.Complex128: types.Complex128, reflect.String: types.String,
	reflect.UnsafePointer: types.UnsafePointer,
}

// Type returns the go/types type of a reflect type.
func (im *Importer) Type(t reflect.Type) types.Type {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.typ(t)
}

func (im *Importer) typ(t reflect.Type) types.Type {
	if t.Name() != "" {
		return im.namedType(t)
	}
	return im.structure(t)
}

// structure converts the unnamed structure of t.
func (im *Importer) structure(t reflect.Type) types.Type {
	switch t.Kind() {
	case reflect.Ptr:
		return types.NewPointer(im.typ(t.Elem()))
	case reflect.Slice:
		return types.NewSlice(im.typ(t.Elem()))
	case reflect.Array:
		return types.NewArray(im.typ(t.Elem()), int64(t.Len()))
	case reflect.Map:
		return types.NewMap(im.typ(t.Key()), im.typ(t.Elem()))
	case reflect.Chan:
		dir := types.SendRecv
		switch t.ChanDir() {
		case reflect.SendDir:
			dir = types.SendOnly
		case reflect.RecvDir:
			dir = types.RecvOnly
		}
		return types.NewChan(dir, im.typ(t.Elem()))
	case reflect.Func:
		return im.signature(t, nil)
	case reflect.Struct:
		var fields []*types.Var
		var tags []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			pkg := im.fieldPkg(f.PkgPath)
			fields = append(fields, types.NewField(token.NoPos, pkg, f.Name, im.typ(f.Type), f.Anonymous))
			tags = append(tags, string(f.Tag))
		}
		return types.NewStruct(fields, tags)
	case reflect.Interface:
		var methods []*types.Func
		for i := 0; i < t.NumMethod(); i++ {
			m := t.Method(i)
			sig := im.signature(m.Type, nil).(*types.Signature)
			methods = append(methods, types.NewFunc(token.NoPos, im.fieldPkg(m.PkgPath), m.Name, sig))
		}
		it := types.NewInterfaceType(methods, nil)
		it.Complete()
		return it
	}
	if k, ok := basic[t.Kind()]; ok {
		return types.Typ[k]
	}
	return types.Typ[types.Invalid]
}

// fieldPkg is the package of an unexported field or method (nil for an
// exported one, as go/types wants).
func (im *Importer) fieldPkg(pkgPath string) *types.Package {
	if pkgPath == "" {
		return nil
	}
	return im.pkg(pkgPath)
}

// signature converts a func type; with recv set, the first parameter of t
// is the receiver (a method value from reflect.Type.Method).
func (im *Importer) signature(t reflect.Type, recv *types.Var) types.Type {
	var params, results []*types.Var
	start := 0
	if recv != nil {
		start = 1
	}
	for i := start; i < t.NumIn(); i++ {
		params = append(params, types.NewParam(token.NoPos, nil, "", im.typ(t.In(i))))
	}
	for i := 0; i < t.NumOut(); i++ {
		results = append(results, types.NewParam(token.NoPos, nil, "", im.typ(t.Out(i))))
	}
	return types.NewSignatureType(recv, nil, nil, types.NewTuple(params...), types.NewTuple(results...), t.IsVariadic())
}

// namedType converts a named reflect type: a predeclared type, or a type
// of a package, with its methods.
func (im *Importer) namedType(t reflect.Type) types.Type {
	if t.PkgPath() == "" {
		if t.Name() == "error" && t.Kind() == reflect.Interface {
			return types.Universe.Lookup("error").Type()
		}
		if k, ok := basic[t.Kind()]; ok && t.Name() == t.Kind().String() {
			return types.Typ[k]
		}
		return im.structure(t)
	}
	if n, ok := im.named[t]; ok {
		return n
	}
	pkg := im.pkg(t.PkgPath())
	name := t.Name()
	if i := strings.IndexByte(name, '['); i > 0 {
		if inst := im.instance(pkg, name[:i], t); inst != nil {
			return inst
		}
	}
	if obj, ok := pkg.Scope().Lookup(name).(*types.TypeName); ok && im.complete[t.PkgPath()] {
		return obj.Type()
	}
	obj := types.NewTypeName(token.NoPos, pkg, name, nil)
	n := types.NewNamed(obj, nil, nil)
	im.named[t] = n
	if pkg.Scope().Lookup(name) == nil {
		pkg.Scope().Insert(obj)
	}
	n.SetUnderlying(im.structure(t).Underlying())
	if t.Kind() != reflect.Interface {
		im.addMethods(n, t)
		im.addUnexportedMethods(n, t)
	}
	return n
}

// addUnexportedMethods gives n the unexported methods of the interfaces of
// its own package it implements (lab.SGD implements lab.Optimizer, whose
// newSolver method reflect does not list on SGD): reflect knows that t
// implements them, go/types needs the methods.
func (im *Importer) addUnexportedMethods(n *types.Named, t reflect.Type) {
	syms := im.symbols[t.PkgPath()]
	if syms == nil {
		return
	}
	have := map[string]bool{}
	for i := 0; i < n.NumMethods(); i++ {
		have[n.Method(i).Name()] = true
	}
	names := make([]string, 0, len(syms))
	for name := range syms {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := syms[name]
		if !v.IsValid() || v.Kind() != reflect.Ptr || !v.IsNil() || v.CanAddr() {
			continue
		}
		it := v.Type().Elem()
		if it.Kind() != reflect.Interface || it.PkgPath() != t.PkgPath() {
			continue
		}
		var recv types.Type
		switch {
		case t.Implements(it):
			recv = n
		case reflect.PointerTo(t).Implements(it):
			recv = types.NewPointer(n)
		default:
			continue
		}
		for i := 0; i < it.NumMethod(); i++ {
			m := it.Method(i)
			if m.PkgPath == "" || have[m.Name] {
				continue
			}
			have[m.Name] = true
			r := types.NewVar(token.NoPos, n.Obj().Pkg(), "", recv)
			sig := im.signatureWithRecv(m.Type, r)
			n.AddMethod(types.NewFunc(token.NoPos, n.Obj().Pkg(), m.Name, sig))
		}
	}
}

// signatureWithRecv converts the type of an interface method (no receiver
// in its parameters) into a method signature with receiver recv.
func (im *Importer) signatureWithRecv(t reflect.Type, recv *types.Var) *types.Signature {
	var params, results []*types.Var
	for i := 0; i < t.NumIn(); i++ {
		params = append(params, types.NewParam(token.NoPos, nil, "", im.typ(t.In(i))))
	}
	for i := 0; i < t.NumOut(); i++ {
		results = append(results, types.NewParam(token.NoPos, nil, "", im.typ(t.Out(i))))
	}
	return types.NewSignatureType(recv, nil, nil, types.NewTuple(params...), types.NewTuple(results...), t.IsVariadic())
}

// addMethods gives n the exported methods of t and *t, each with its
// receiver: a method of *t only has a pointer receiver.
func (im *Importer) addMethods(n *types.Named, t reflect.Type) {
	pt := reflect.PointerTo(t)
	for i := 0; i < pt.NumMethod(); i++ {
		m := pt.Method(i)
		var recvType types.Type = n
		if _, onValue := t.MethodByName(m.Name); !onValue {
			recvType = types.NewPointer(n)
		}
		recv := types.NewVar(token.NoPos, n.Obj().Pkg(), "", recvType)
		sig := im.signature(m.Type, recv).(*types.Signature)
		n.AddMethod(types.NewFunc(token.NoPos, n.Obj().Pkg(), m.Name, sig))
	}
}

// instance maps an instantiated generic type that compiled code uses
// (iter.Seq[string] from strings.Lines) to the instance of the generic
// type of an interpreted package, when there is one, so that both agree.
func (im *Importer) instance(pkg *types.Package, base string, t reflect.Type) types.Type {
	if _, ok := im.sources[pkg.Path()]; !ok {
		return nil
	}
	src, err := im.load(pkg.Path())
	if err != nil {
		return nil
	}
	obj, ok := src.Scope().Lookup(base).(*types.TypeName)
	if !ok {
		return nil
	}
	gen, ok := obj.Type().(*types.Named)
	if !ok || gen.TypeParams().Len() == 0 {
		return nil
	}
	concrete := im.structure(t)
	args := make([]types.Type, gen.TypeParams().Len())
	if !unify(gen.Underlying(), concrete.Underlying(), gen.TypeParams(), args) {
		return nil
	}
	for _, a := range args {
		if a == nil {
			return nil
		}
	}
	inst, err := types.Instantiate(nil, gen, args, true)
	if err != nil {
		return nil
	}
	im.named[t] = inst.(*types.Named)
	return inst
}

// unify matches the structure of a generic type against a concrete one,
// recording the type arguments it finds.
func unify(gen, con types.Type, tparams *types.TypeParamList, args []types.Type) bool {
	if tp, ok := gen.(*types.TypeParam); ok {
		i := tp.Index()
		if args[i] == nil {
			args[i] = con
			return true
		}
		return types.Identical(args[i], con)
	}
	switch g := gen.(type) {
	case *types.Pointer:
		c, ok := con.(*types.Pointer)
		return ok && unify(g.Elem(), c.Elem(), tparams, args)
	case *types.Slice:
		c, ok := con.(*types.Slice)
		return ok && unify(g.Elem(), c.Elem(), tparams, args)
	case *types.Array:
		c, ok := con.(*types.Array)
		return ok && g.Len() == c.Len() && unify(g.Elem(), c.Elem(), tparams, args)
	case *types.Map:
		c, ok := con.(*types.Map)
		return ok && unify(g.Key(), c.Key(), tparams, args) && unify(g.Elem(), c.Elem(), tparams, args)
	case *types.Chan:
		c, ok := con.(*types.Chan)
		return ok && unify(g.Elem(), c.Elem(), tparams, args)
	case *types.Signature:
		c, ok := con.(*types.Signature)
		if !ok || g.Params().Len() != c.Params().Len() || g.Results().Len() != c.Results().Len() {
			return false
		}
		for i := 0; i < g.Params().Len(); i++ {
			if !unify(g.Params().At(i).Type(), c.Params().At(i).Type(), tparams, args) {
				return false
			}
		}
		for i := 0; i < g.Results().Len(); i++ {
			if !unify(g.Results().At(i).Type(), c.Results().At(i).Type(), tparams, args) {
				return false
			}
		}
		return true
	}
	return types.Identical(gen, con)
}
