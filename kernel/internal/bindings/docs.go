package bindings

// Doc returns the documentation of a symbol of a bound package (name ""
// for the package), from the index generated with the bindings.
func Doc(importPath, name string) (string, bool) { return "", false }
