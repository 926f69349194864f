package session

import (
	"go/scanner"
	"go/token"
	"strings"
)

// unitKind classifies one top-level piece of a cell.
type unitKind int

const (
	unitImport unitKind = iota
	unitDecl            // const, var, type, func or method declaration
	unitStmt
)

// unit is one top-level declaration or statement of a cell, as byte offsets.
type unit struct {
	kind       unitKind
	start, end int
}

// splitResult is a cell cut into units. depth is the bracket depth at the
// end of the cell (above 0 when the cell is unfinished) and open reports an
// unterminated string or comment.
type splitResult struct {
	units []unit
	depth int
	open  bool
	err   *scanner.Error
}

// split cuts src into top-level units with Go's scanner, so that a cell can
// mix imports, declarations and statements. A unit ends at a semicolon
// (written or automatic) outside brackets; a comment right before a unit
// belongs to it.
func split(src string) splitResult {
	var res splitResult
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(file, []byte(src), func(pos token.Position, msg string) {
		if res.err == nil {
			res.err = &scanner.Error{Pos: pos, Msg: msg}
		}
		if strings.Contains(msg, "not terminated") {
			res.open = true
		}
	}, scanner.ScanComments)

	depth := 0
	start, comment, commentEnd := -1, -1, -1
	var toks []token.Token
	end := func(at int) {
		if start >= 0 {
			res.units = append(res.units, unit{kind: classify(toks), start: start, end: at})
		}
		start, comment, toks = -1, -1, toks[:0]
	}
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		off := file.Offset(pos)
		if tok == token.COMMENT {
			if start < 0 {
				if comment < 0 || strings.Contains(src[commentEnd:off], "\n\n") {
					comment = off
				}
				commentEnd = off + len(lit)
			}
			continue
		}
		if start < 0 {
			if tok == token.SEMICOLON {
				comment = -1
				continue
			}
			start = off
			if comment >= 0 && !strings.Contains(src[commentEnd:off], "\n\n") {
				start = comment
			}
		}
		switch tok {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth--
		}
		if tok == token.SEMICOLON && depth <= 0 {
			if lit == "\n" {
				end(off)
			} else {
				end(off + 1)
			}
			continue
		}
		toks = append(toks, tok)
	}
	end(len(src))
	res.depth = depth
	return res
}

// classify names the kind of a unit from its first tokens.
func classify(toks []token.Token) unitKind {
	if len(toks) == 0 {
		return unitStmt
	}
	switch toks[0] {
	case token.IMPORT:
		return unitImport
	case token.CONST, token.VAR, token.TYPE:
		return unitDecl
	case token.FUNC:
		if len(toks) > 1 && toks[1] == token.IDENT {
			return unitDecl
		}
		if len(toks) > 1 && toks[1] == token.LPAREN {
			// A method has a receiver, then its name and parameters; a
			// function literal has parameters, then results or a body.
			depth := 0
			for i := 1; i < len(toks); i++ {
				switch toks[i] {
				case token.LPAREN:
					depth++
				case token.RPAREN:
					depth--
				}
				if depth == 0 {
					if i+2 < len(toks) && toks[i+1] == token.IDENT && (toks[i+2] == token.LPAREN || toks[i+2] == token.LBRACK) {
						return unitDecl
					}
					return unitStmt
				}
			}
		}
	}
	return unitStmt
}

// blank returns src with every byte outside the units of the given kinds
// replaced by a space, newlines kept, so that positions do not move.
func blank(src string, units []unit, keep func(unitKind) bool) string {
	b := []byte(src)
	out := make([]byte, len(b))
	for i, c := range b {
		if c == '\n' || c == '\r' {
			out[i] = c
		} else {
			out[i] = ' '
		}
	}
	for _, u := range units {
		if keep(u.kind) {
			copy(out[u.start:u.end], b[u.start:u.end])
		}
	}
	return string(out)
}
