package capture

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// pipeStream starts a stream on a fresh pipe (not fd 1) whose sink
// collects the text.
func pipeStream(t *testing.T) (*Capture, *stream, func() string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got strings.Builder
	st := newStream("stdout", r, w, func(_, text string) {
		mu.Lock()
		got.WriteString(text)
		mu.Unlock()
	})
	go st.pump()
	t.Cleanup(func() { w.Close(); r.Close() })
	return &Capture{streams: []*stream{st}}, st, func() string {
		mu.Lock()
		defer mu.Unlock()
		return got.String()
	}
}

// TestSyncDeliversEarlierOutput: whatever was written before Sync has
// reached the sink when it returns, whether Sync takes the fast path or
// sends a marker.
func TestSyncDeliversEarlierOutput(t *testing.T) {
	c, st, got := pipeStream(t)
	var want strings.Builder
	for i := 0; i < 2000; i++ {
		if i%3 != 0 { // some rounds write nothing: the fast path
			line := strings.Repeat("x", i%97) + "\n"
			if _, err := st.w.WriteString(line); err != nil {
				t.Fatal(err)
			}
			want.WriteString(line)
		}
		c.Sync(5 * time.Second)
		if g := got(); g != want.String() {
			t.Fatalf("round %d: sink has %d bytes after Sync, want %d", i, len(g), want.Len())
		}
	}
}

// TestSyncFastPath: with nothing on its way, Sync sends no marker; with
// bytes in the pipe it does not take the fast path.
func TestSyncFastPath(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the fast path needs FIONREAD on a pipe (Linux)")
	}
	c, st, got := pipeStream(t)
	c.Sync(5 * time.Second)
	st.mu.Lock()
	seq := st.seq
	st.mu.Unlock()
	if seq != 0 {
		t.Fatalf("Sync on an idle stream sent %d markers, want 0", seq)
	}

	// Bytes in the pipe that the pump has not read: not drained.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	idle := newStream("stdout", r, w, func(string, string) {})
	if !idle.drained() {
		t.Fatal("an empty pipe is not drained")
	}
	w.WriteString("pending")
	if idle.drained() {
		t.Fatal("a pipe with unread bytes is drained")
	}
	// Bytes the pump read and holds back (a batch, or half a rune): not
	// drained.
	idle.mu.Lock()
	idle.held = true
	idle.mu.Unlock()
	buf := make([]byte, 16)
	r.Read(buf)
	if idle.drained() {
		t.Fatal("a stream holding bytes is drained")
	}

	st.w.WriteString("é"[:1]) // half a rune: held by the pump
	deadline := time.Now().Add(5 * time.Second)
	for {
		st.mu.Lock()
		held := st.held
		st.mu.Unlock()
		if held || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if st.drained() {
		t.Fatal("the pump holds half a rune, yet the stream is drained")
	}
	st.w.WriteString("é"[1:])
	c.Sync(5 * time.Second)
	if got() != "é" {
		t.Fatalf("sink has %q, want %q", got(), "é")
	}
}
