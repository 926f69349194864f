package session

// DocLookup, when set, returns the documentation of a symbol of a bound
// package (name "" for the package itself). The kernel sets it from the
// documentation index generated with the bindings.
var DocLookup func(importPath, name string) (string, bool)

func symbolDoc(p, name string) (string, bool) {
	if DocLookup == nil {
		return "", false
	}
	return DocLookup(p, name)
}

func packageDoc(p string) string {
	d, _ := symbolDoc(p, "")
	return d
}
