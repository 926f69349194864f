package jupyter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"
)

// Guarded transports wrap tcp and ipc so that no client can wedge a socket.
//
// zmq4 runs the ZMTP handshake of each new connection inside its accept
// loop, with no deadline: a client that connects and stalls mid-handshake
// would block every later connection for good. The guard's listener does
// the client's half of the handshake first, in a goroutine per connection
// and under a deadline: it sends the server greeting and reads the
// client's greeting and READY command. Only a connection that got this far
// reaches zmq4, which then replays the handshake from memory and never
// waits on the network. Every write has a deadline too, so a peer that
// stops reading is dropped instead of blocking sends to everyone else.
const (
	guardTCP = "golab+tcp"
	guardIPC = "golab+ipc"
)

// Deadlines of guarded connections; variables so tests can shorten them.
var (
	handshakeTimeout = 10 * time.Second
	writeTimeout     = 20 * time.Second
)

// transportLog receives handshake failures; Listen points it at the
// kernel's log.
var transportLog = log.New(io.Discard, "", 0)

var registerOnce sync.Once

func registerTransports() {
	registerOnce.Do(func() {
		// Errors mean "already registered", which is fine.
		_ = zmq4.RegisterTransport(guardTCP, guard{network: "tcp"})
		_ = zmq4.RegisterTransport(guardIPC, guard{network: "unix"})
	})
}

type guard struct{ network string }

func (g guard) Dial(ctx context.Context, dialer transport.Dialer, addr string) (net.Conn, error) {
	return dialer.DialContext(ctx, g.network, addr)
}

func (g guard) Listen(ctx context.Context, addr string) (net.Listener, error) {
	l, err := net.Listen(g.network, addr)
	if err != nil {
		return nil, err
	}
	gl := &guardListener{Listener: l, ready: make(chan net.Conn), done: make(chan struct{})}
	go gl.acceptLoop()
	return gl, nil
}

func (g guard) Addr(ep string) (string, error) { return ep, nil }

type guardListener struct {
	net.Listener
	ready     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func (l *guardListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go l.prepare(c)
	}
}

// prepare runs the client's half of the handshake on c and, if it
// completes in time, queues c for zmq4.
func (l *guardListener) prepare(c net.Conn) {
	pre, err := preHandshake(c)
	if err != nil {
		transportLog.Printf("dropping connection from %s: %v", c.RemoteAddr(), err)
		c.Close()
		return
	}
	select {
	case l.ready <- &guardConn{Conn: c, prefix: pre, swallow: len(serverGreeting)}:
	case <-l.done:
		c.Close()
	}
}

func (l *guardListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *guardListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// serverGreeting is the ZMTP 3.0 greeting zmq4 sends as a listener with
// the NULL mechanism.
var serverGreeting = func() []byte {
	g := make([]byte, 64)
	g[0], g[9] = 0xFF, 0x7F
	g[10], g[11] = 3, 0
	copy(g[12:32], "NULL")
	return g
}()

// preHandshake sends the server greeting and reads the client's greeting
// and first command (READY), returning the bytes read.
func preHandshake(c net.Conn) ([]byte, error) {
	if err := c.SetDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		return nil, err
	}
	if _, err := c.Write(serverGreeting); err != nil {
		return nil, fmt.Errorf("sending greeting: %w", err)
	}
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, c, 64); err != nil {
		return nil, fmt.Errorf("reading greeting: %w", err)
	}
	if g := buf.Bytes(); g[0] != 0xFF || g[9] != 0x7F {
		return nil, errors.New("not a ZMTP greeting")
	}
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, fmt.Errorf("reading handshake command: %w", err)
	}
	buf.Write(hdr[:])
	if hdr[0]&0x04 == 0 {
		return nil, errors.New("handshake frame is not a command")
	}
	size := uint64(hdr[1])
	if hdr[0]&0x02 != 0 {
		var rest [7]byte
		if _, err := io.ReadFull(c, rest[:]); err != nil {
			return nil, fmt.Errorf("reading handshake command: %w", err)
		}
		buf.Write(rest[:])
		size = binary.BigEndian.Uint64(append([]byte{hdr[1]}, rest[:]...))
	}
	if size > 1<<16 {
		return nil, fmt.Errorf("handshake command of %d bytes", size)
	}
	if _, err := io.CopyN(&buf, c, int64(size)); err != nil {
		return nil, fmt.Errorf("reading handshake command: %w", err)
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// guardConn replays the bytes read during the pre-handshake, drops zmq4's
// own greeting (already sent), and puts a deadline on every write.
//
// It also batches: zmq4 writes each frame's header and body with a write
// of its own (14 for a Jupyter message) and reads a frame's header in
// pieces. Sent one TCP segment each, a message reaches a libzmq client
// (pyzmq) as a burst of small packets, each waking its I/O thread: on a
// busy machine the trivial cell's round trip from Python took 7 ms, against
// 1 ms from a Go client. The writer keeps the frames of a message and
// sends them in one write when its last frame is complete; reads go
// through a buffer.
type guardConn struct {
	net.Conn
	mu      sync.Mutex
	prefix  []byte
	swallow int
	rd      *bufio.Reader

	wmu    sync.Mutex
	out    []byte // frames of the message being written
	parser frameParser
}

func (c *guardConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		c.mu.Unlock()
		return n, nil
	}
	if c.rd == nil {
		c.rd = bufio.NewReaderSize(c.Conn, 32<<10)
	}
	rd := c.rd
	c.mu.Unlock()
	return rd.Read(p)
}

// maxPending is how much of a message the writer holds before it sends
// what it has: past this size a message is bandwidth-bound anyway.
const maxPending = 256 << 10

func (c *guardConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	skip := 0
	if c.swallow > 0 {
		skip = min(c.swallow, len(p))
		c.swallow -= skip
	}
	c.mu.Unlock()
	if skip == len(p) {
		return len(p), nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.out = append(c.out, p[skip:]...)
	if !c.parser.feed(p[skip:]) && len(c.out) < maxPending {
		return len(p), nil // the message goes on
	}
	out := c.out
	c.out = c.out[:0]
	_ = c.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.Conn.Write(out); err != nil {
		return skip, err
	}
	if cap(c.out) > maxPending {
		c.out = nil // do not keep a large buffer
	}
	return len(p), nil
}

// frameParser follows the ZMTP 3 frames written to a connection and tells
// when a message (or a command) ends.
type frameParser struct {
	state int // 0: flags; 1: size bytes; 2: body
	flags byte
	need  int    // size bytes still to read, or body bytes
	size  uint64 // size being read
}

// feed takes written bytes and reports whether they end a message.
func (f *frameParser) feed(p []byte) (ended bool) {
	for len(p) > 0 {
		switch f.state {
		case 0:
			f.flags = p[0]
			p = p[1:]
			f.size, f.need = 0, 1
			if f.flags&0x02 != 0 { // long frame
				f.need = 8
			}
			f.state = 1
		case 1:
			f.size = f.size<<8 | uint64(p[0])
			p = p[1:]
			f.need--
			if f.need == 0 {
				f.state = 2
				if f.size == 0 {
					ended = f.frameDone() || ended
				}
			}
		case 2:
			n := uint64(len(p))
			if n > f.size {
				n = f.size
			}
			p = p[n:]
			f.size -= n
			if f.size == 0 {
				ended = f.frameDone() || ended
			}
		}
	}
	return ended
}

// frameDone ends a frame: the message ends with a frame without the MORE
// flag, and a command is a message of its own.
func (f *frameParser) frameDone() bool {
	f.state = 0
	return f.flags&0x01 == 0 || f.flags&0x04 != 0
}
