package session

import (
	"go/ast"
	"go/parser"
	"go/token"
)

// universe holds Go's predeclared identifiers.
var universe = map[string]bool{}

// keywords are Go's keywords, offered by completion.
var keywords = []string{
	"break", "case", "chan", "const", "continue", "default", "defer", "else",
	"fallthrough", "for", "func", "go", "goto", "if", "import", "interface",
	"map", "package", "range", "return", "select", "struct", "switch", "type", "var",
}

// predeclared are Go's predeclared identifiers.
var predeclared = []string{
	"any", "bool", "byte", "comparable", "complex64", "complex128", "error",
	"float32", "float64", "int", "int8", "int16", "int32", "int64", "rune",
	"string", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
	"true", "false", "iota", "nil",
	"append", "cap", "clear", "close", "complex", "copy", "delete", "imag",
	"len", "make", "max", "min", "new", "panic", "print", "println", "real", "recover",
}

func init() {
	for _, n := range predeclared {
		universe[n] = true
	}
}

func parserParse(fset *token.FileSet, src string) (*ast.File, error) {
	return parser.ParseFile(fset, wrapName, src, 0)
}
