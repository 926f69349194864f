package bindings

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"sync"
)

//go:embed docs.json.gz
var docsGz []byte

var (
	docsOnce sync.Once
	docs     map[string]map[string]string
)

// Doc returns the declaration and documentation of a symbol of a bound
// package (name "" for the package, "T.M" for a method), from the index
// generated with the bindings.
func Doc(importPath, name string) (string, bool) {
	docsOnce.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(docsGz))
		if err != nil {
			return
		}
		_ = json.NewDecoder(zr).Decode(&docs)
	})
	d, ok := docs[importPath][name]
	return d, ok && d != ""
}
