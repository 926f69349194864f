package jupyter

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// frame encodes one ZMTP 3 frame.
func frame(body []byte, more, command bool) []byte {
	var flags byte
	if more {
		flags |= 0x01
	}
	if command {
		flags |= 0x04
	}
	if len(body) > 255 {
		flags |= 0x02
		hdr := make([]byte, 9)
		hdr[0] = flags
		binary.BigEndian.PutUint64(hdr[1:], uint64(len(body)))
		return append(hdr, body...)
	}
	return append([]byte{flags, byte(len(body))}, body...)
}

func TestFrameParserEndsMessages(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 300)
	msg := append(append(append([]byte(nil), frame([]byte("id"), true, false)...), frame(nil, true, false)...), frame(long, false, false)...)
	cmd := frame([]byte("\x05READY"), false, true)
	// However the bytes are split, the message ends with its last byte.
	for _, step := range []int{1, 2, 3, 7, 64, len(msg)} {
		var f frameParser
		for i := 0; i < len(msg); i += step {
			end := min(i+step, len(msg))
			if got := f.feed(msg[i:end]); got != (end == len(msg)) {
				t.Fatalf("step %d: feed(%d..%d) reported end %v", step, i, end, got)
			}
		}
		if !f.feed(cmd) {
			t.Errorf("step %d: a command did not end a message", step)
		}
	}
}

// TestGuardConnBatchesAMessage checks that the frames of a message written
// one by one leave in one write, when the message is complete.
func TestGuardConnBatchesAMessage(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &guardConn{Conn: a}
	got := make(chan []byte, 4)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := b.Read(buf)
			if err != nil {
				return
			}
			got <- append([]byte(nil), buf[:n]...)
		}
	}()
	frames := [][]byte{frame([]byte("a"), true, false), frame([]byte("bc"), true, false), frame([]byte("def"), false, false)}
	for i, f := range frames {
		// zmq4 writes a frame's header and body apart.
		hdr, body := f[:2], f[2:]
		for _, part := range [][]byte{hdr, body} {
			if _, err := c.Write(part); err != nil {
				t.Fatal(err)
			}
		}
		if i < len(frames)-1 {
			select {
			case w := <-got:
				t.Fatalf("wrote %q before the message was complete", w)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	select {
	case w := <-got:
		if want := bytes.Join(frames, nil); !bytes.Equal(w, want) {
			t.Errorf("wrote %q, want %q in one write", w, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the message was not written")
	}
}
