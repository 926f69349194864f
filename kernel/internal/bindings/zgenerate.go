package bindings

// The directive lives in the last file go generate reads, because the
// generator adds and removes files of this package.

//go:generate go run ./gen
