//go:build !cgo

package compiled

const cgoEnabled = false
