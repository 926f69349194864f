//go:build cgo

package compiled

// cgoEnabled reports whether the kernel was built with cgo, without which
// plugin.Open is not implemented.
const cgoEnabled = true
