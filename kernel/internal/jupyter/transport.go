package jupyter

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"
)

// Guarded transports wrap tcp and ipc so that no client can wedge a socket.
// zmq4 runs the ZMTP handshake of each new connection inside its accept
// loop, with no deadline: a client that connects and stalls mid-handshake
// would block every later connection. The guard gives the handshake a
// deadline, and every write one too, so that a peer that stops reading is
// dropped instead of blocking sends to everyone else.
const (
	guardTCP = "golab+tcp"
	guardIPC = "golab+ipc"
)

// Deadlines of guarded connections; variables so tests can shorten them.
var (
	handshakeTimeout = 10 * time.Second
	writeTimeout     = 20 * time.Second
)

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
	return &guardListener{Listener: l}, nil
}

func (g guard) Addr(ep string) (string, error) { return ep, nil }

type guardListener struct{ net.Listener }

func (l *guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(handshakeTimeout))
	return &guardConn{Conn: c}, nil
}

// guardConn follows the incoming side of the ZMTP handshake (a 64-byte
// greeting, then one command: the READY of the NULL mechanism) and lifts
// the read deadline once it is complete.
type guardConn struct {
	net.Conn
	mu    sync.Mutex
	ready bool
	seen  int    // bytes of the greeting read so far
	hdr   []byte // header bytes of the command being read
	body  uint64 // body bytes of the command still to read
}

const greetingSize = 64

func (c *guardConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if !c.ready && n > 0 {
		c.follow(p[:n])
		if c.ready {
			_ = c.Conn.SetReadDeadline(time.Time{})
		}
	}
	c.mu.Unlock()
	return n, err
}

// follow consumes handshake bytes.
func (c *guardConn) follow(b []byte) {
	for len(b) > 0 && !c.ready {
		if c.seen < greetingSize {
			k := min(greetingSize-c.seen, len(b))
			c.seen += k
			b = b[k:]
			continue
		}
		if c.body > 0 {
			k := uint64(len(b))
			if k > c.body {
				k = c.body
			}
			c.body -= k
			b = b[k:]
			if c.body == 0 {
				c.ready = true
			}
			continue
		}
		c.hdr = append(c.hdr, b[0])
		b = b[1:]
		long := c.hdr[0]&0x02 != 0
		need := 2
		if long {
			need = 9
		}
		if len(c.hdr) < need {
			continue
		}
		var size uint64
		for _, x := range c.hdr[1:need] {
			size = size<<8 | uint64(x)
		}
		c.hdr = c.hdr[:0]
		c.body = size
		if size == 0 {
			c.ready = true
		}
	}
}

func (c *guardConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.Conn.Write(p)
}
