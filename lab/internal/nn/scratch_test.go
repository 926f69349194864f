package nn

import "testing"

// The pool hands back buffers of the size asked, reuses what it holds,
// and replaces a too-small buffer instead of keeping it beside the new
// one.
func TestScratchPool(t *testing.T) {
	scratch.mu.Lock()
	saved := scratch.free
	scratch.free = nil
	scratch.mu.Unlock()
	defer func() {
		scratch.mu.Lock()
		scratch.free = saved
		scratch.mu.Unlock()
	}()
	a := getScratch(100)
	if len(a) != 100 {
		t.Fatalf("len %d, want 100", len(a))
	}
	putScratch(a)
	if b := getScratch(50); &b[0] != &a[0] || len(b) != 50 {
		t.Fatal("a smaller request did not reuse the free buffer")
	} else {
		putScratch(b)
	}
	c := getScratch(1000) // replaces the 100
	putScratch(c)
	if n := len(scratch.free); n != 1 || cap(scratch.free[0]) != 1000 {
		t.Fatalf("pool holds %d buffers (first of cap %d), want the one of 1000", n, cap(scratch.free[0]))
	}
	many := getScratches(scratchKeep+5, 10)
	putScratch(many...)
	if len(scratch.free) > scratchKeep {
		t.Fatalf("pool keeps %d buffers, more than %d", len(scratch.free), scratchKeep)
	}
}
