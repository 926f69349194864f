// Package plural writes counts with their noun, so that no message says
// "1 epochs".
package plural

import "strconv"

// N returns n and noun, with an "s" unless n is 1 or -1: N(1, "epoch") is
// "1 epoch", N(20, "epoch") "20 epochs".
func N(n int, noun string) string { return Of(n, noun, noun+"s") }

// Of returns n with one or many, for nouns whose plural is not noun+"s":
// Of(3, "class", "classes").
func Of(n int, one, many string) string {
	if n == 1 || n == -1 {
		return strconv.Itoa(n) + " " + one
	}
	return strconv.Itoa(n) + " " + many
}
