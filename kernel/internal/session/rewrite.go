package session

import "go/ast"

// rewrite adapts a cell's syntax tree to what yaegi supports.
func (s *Session) rewrite(n ast.Node) {}
