package session

import (
	"context"
	"testing"
)

// BenchmarkTrivialCell measures Execute of `1 + 1` in a session that has
// some declarations.
func BenchmarkTrivialCell(b *testing.B) {
	ts := newTestSession(&testing.T{})
	for _, c := range []string{"import \"strings\"", "type P struct{ X, Y int }", "func f(p P) int { return p.X }", "x := 3", "var names = []string{\"a\"}"} {
		if _, err := ts.Execute(context.Background(), "In[0]", c); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ts.Execute(context.Background(), "In[1]", "1 + 1"); err != nil {
			b.Fatal(err)
		}
	}
}
