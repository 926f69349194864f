package session

import (
	"fmt"
	"reflect"
	"runtime"
	"testing"
)

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMemoryPerCell guards against the session keeping each cell's code:
// yaegi keeps every syntax tree and scope for its debugger unless the
// session drops them (see roots.go).
func TestMemoryPerCell(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory over 400 cells")
	}
	ts := newTestSession(t)
	var h0 uint64
	const n = 400
	for i := 0; i < 200+n; i++ {
		if i == 200 {
			h0 = liveHeap()
		}
		ts.ok(fmt.Sprintf("v := %d\nv + 1", i), fmt.Sprint(i+1))
	}
	h1 := liveHeap()
	runtime.KeepAlive(ts)
	t.Logf("live heap %d KB -> %d KB", h0>>10, h1>>10)
	per := float64(int64(h1)-int64(h0)) / n
	t.Logf("live heap growth: %.2f KB per cell", per/1024)
	if per > 8<<10 {
		t.Errorf("live heap grows by %.1f KB per trivial cell; want under 8 KB", per/1024)
	}
}

// globalFrameLen is the length of yaegi's global frame, or -1 on a yaegi
// whose layout differs.
func globalFrameLen(s *Session) (n int) {
	defer func() {
		if recover() != nil {
			n = -1
		}
	}()
	return reflect.ValueOf(s.in).Elem().FieldByName("frame").Elem().FieldByName("data").Len()
}

// TestCellsDoNotGrowTheGlobalFrame: a cell's statements must not take
// slots of yaegi's global frame for good. A function literal at top level
// did (two slots a cell), and each cell copied the whole frame twice, so
// that every cell cost more than the one before.
func TestCellsDoNotGrowTheGlobalFrame(t *testing.T) {
	ts := newTestSession(t)
	ts.ok("1 + 1", "2")
	n0 := globalFrameLen(ts.Session)
	if n0 < 0 {
		t.Skip("another yaegi layout")
	}
	for i := 0; i < 100; i++ {
		ts.ok("1 + 1", "2")
		ts.ok(fmt.Sprintf("w := %d\nw * 2", i), fmt.Sprint(2*i))
	}
	if n := globalFrameLen(ts.Session); n > n0+2 {
		t.Errorf("yaegi's global frame grew from %d to %d slots over 200 cells (one variable defined again); want it flat", n0, n)
	}
}
