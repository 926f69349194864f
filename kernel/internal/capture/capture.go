// Package capture redirects the process's standard output (file descriptor
// 1) and Go's os.Stderr into pipes and streams what is written there, so
// that output of interpreted cells and of compiled lab code alike reaches
// the notebook while a cell runs.
//
// File descriptor 2 itself is left alone: the Go runtime writes its fatal
// errors there ("fatal error: out of memory", "concurrent map writes", a
// stack overflow, a panic nobody recovers) and the process dies right
// after, before any reader of a pipe could pass them on. Left on fd 2 they
// reach the kernel's log whole.
package capture

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
	"unicode/utf8"
)

// Sink receives captured text: stream is "stdout" or "stderr".
type Sink func(stream, text string)

// Capture is a running redirection.
type Capture struct {
	// Stdout and Stderr are the original streams, for the kernel's own log.
	Stdout, Stderr *os.File
	streams        []*stream
}

// batchDelay is how long output is gathered before it is sent, so that a
// tight print loop makes a few messages rather than thousands.
const batchDelay = 20 * time.Millisecond

type stream struct {
	name string
	r, w *os.File
	sink Sink

	mu      sync.Mutex
	markers map[string]chan struct{}
	seq     int
	// held says the pump has read bytes it has not yet handed to the
	// sink. Where the pump reads under mu (readLocked), held and the pipe
	// together tell whether anything written is still on its way (see
	// drained).
	held bool
}

func newStream(name string, r, w *os.File, sink Sink) *stream {
	return &stream{name: name, r: r, w: w, sink: sink, markers: map[string]chan struct{}{}}
}

// Start redirects fd 1 and os.Stderr and streams them to sink. It must be
// called before anything keeps a reference to os.Stderr.
func Start(sink Sink) (*Capture, error) {
	c := &Capture{Stderr: os.Stderr}
	var err error
	if c.Stdout, err = dupFile(1, "stdout"); err != nil {
		return nil, err
	}
	for _, name := range []string{"stdout", "stderr"} {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("capture: %w", err)
		}
		if name == "stdout" {
			if err := redirect(int(w.Fd()), 1); err != nil {
				return nil, fmt.Errorf("capture: redirecting stdout: %w", err)
			}
		} else {
			os.Stderr = w
		}
		st := newStream(name, r, w, sink)
		c.streams = append(c.streams, st)
		go st.pump()
	}
	return c, nil
}

// Sync waits until everything written to stdout and stderr before the call
// has been handed to the sink, or until timeout. A stream with nothing on
// its way returns at once; others are sent a marker, which the pump
// answers once all before it is out.
func (c *Capture) Sync(timeout time.Duration) {
	var waits []chan struct{}
	for _, s := range c.streams {
		if !s.drained() {
			waits = append(waits, s.mark())
		}
	}
	if len(waits) == 0 {
		return
	}
	deadline := time.After(timeout)
	for _, w := range waits {
		select {
		case <-w:
		case <-deadline:
			return
		}
	}
}

// mark writes a unique marker into the stream's pipe; the returned channel
// is closed when the pump reaches it, that is once all earlier output is
// out.
func (s *stream) mark() chan struct{} {
	s.mu.Lock()
	s.seq++
	m := fmt.Sprintf("\x00golab-sync-%d\x00", s.seq)
	ch := make(chan struct{})
	s.markers[m] = ch
	s.mu.Unlock()
	if _, err := s.w.Write([]byte(m)); err != nil {
		s.mu.Lock()
		delete(s.markers, m)
		s.mu.Unlock()
		close(ch)
	}
	return ch
}

func (s *stream) pump() {
	buf := make([]byte, 64<<10)
	var pending []byte
	for {
		n, err := s.readLocked(buf)
		pending = append(pending, buf[:n]...)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				s.flush(&pending, true)
				return
			}
		} else if n > 0 && len(pending) < 1<<20 && !bytes.Contains(pending, []byte("\x00golab-sync-")) {
			// Gather more for a short while before sending.
			_ = s.r.SetReadDeadline(time.Now().Add(batchDelay))
			continue
		}
		_ = s.r.SetReadDeadline(time.Time{})
		s.flush(&pending, false)
		s.mu.Lock()
		s.held = len(pending) > 0
		s.mu.Unlock()
	}
}

// flush sends pending output up to any marker, releasing the marker's
// waiter, and keeps an incomplete UTF-8 sequence for later.
func (s *stream) flush(pending *[]byte, all bool) {
	for {
		i := bytes.Index(*pending, []byte("\x00golab-sync-"))
		if i < 0 {
			break
		}
		j := bytes.IndexByte((*pending)[i+1:], 0)
		if j < 0 {
			break // marker not complete yet
		}
		end := i + 1 + j + 1
		s.emit((*pending)[:i])
		m := string((*pending)[i:end])
		*pending = (*pending)[end:]
		s.mu.Lock()
		if ch, ok := s.markers[m]; ok {
			delete(s.markers, m)
			close(ch)
		}
		s.mu.Unlock()
	}
	if i := bytes.Index(*pending, []byte("\x00golab-sync-")); i >= 0 {
		s.emit((*pending)[:i])
		*pending = (*pending)[i:]
		return
	}
	cut := len(*pending)
	if !all {
		cut = completeUTF8(*pending)
	}
	s.emit((*pending)[:cut])
	*pending = append([]byte(nil), (*pending)[cut:]...)
}

func (s *stream) emit(b []byte) {
	if len(b) > 0 {
		s.sink(s.name, string(b))
	}
}

// completeUTF8 returns the length of the prefix of b that does not end in
// the middle of a UTF-8 sequence.
func completeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return len(b)
			}
			return i
		}
	}
	return len(b)
}
