package jupyter

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"

	"golab/kernel/internal/wire"
)

// Client is a minimal Jupyter client, for the kernel's tests and
// benchmarks: it talks to a kernel over shell, control, stdin and iopub.
type Client struct {
	Info    *ConnectionInfo
	Signer  *wire.Signer
	session string

	ctx                          context.Context
	cancel                       context.CancelFunc
	shell, control, stdin, iopub zmq4.Socket
	hb                           zmq4.Socket

	mu      sync.Mutex
	replies map[string]chan *wire.Message // by parent msg_id
	iopubCh chan *wire.Message
	stdinCh chan *wire.Message
}

// NewConnectionInfo picks free local ports and a random key.
func NewConnectionInfo() (*ConnectionInfo, error) {
	ci := &ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", Key: wire.NewID(), SignatureScheme: "hmac-sha256"}
	ports := make([]int, 5)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	ci.ShellPort, ci.ControlPort, ci.StdinPort, ci.IOPubPort, ci.HBPort = ports[0], ports[1], ports[2], ports[3], ports[4]
	return ci, nil
}

// WriteFile writes ci as a connection file in dir and returns its path.
func (ci *ConnectionInfo) WriteFile(dir string) (string, error) {
	b, err := json.Marshal(ci)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "kernel-"+strconv.Itoa(ci.ShellPort)+".json")
	return p, os.WriteFile(p, b, 0o600)
}

// Dial connects to the kernel of ci.
func Dial(ci *ConnectionInfo) (*Client, error) {
	signer, err := wire.NewSigner(ci.SignatureScheme, ci.Key)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{Info: ci, Signer: signer, session: wire.NewID(), ctx: ctx, cancel: cancel,
		replies: map[string]chan *wire.Message{}, iopubCh: make(chan *wire.Message, 4096), stdinCh: make(chan *wire.Message, 16)}
	id := zmq4.SocketIdentity(c.session)
	opts := []zmq4.Option{zmq4.WithID(id), zmq4.WithDialerRetry(50 * time.Millisecond), zmq4.WithDialerMaxRetries(200)}
	c.shell = zmq4.NewDealer(ctx, opts...)
	c.control = zmq4.NewDealer(ctx, opts...)
	c.stdin = zmq4.NewDealer(ctx, opts...)
	c.iopub = zmq4.NewSub(ctx, zmq4.WithDialerRetry(50*time.Millisecond), zmq4.WithDialerMaxRetries(200))
	c.hb = zmq4.NewReq(ctx, zmq4.WithDialerRetry(50*time.Millisecond), zmq4.WithDialerMaxRetries(200))
	ep := func(port int) string { return "tcp://" + ci.IP + ":" + strconv.Itoa(port) }
	for _, d := range []struct {
		s    zmq4.Socket
		port int
	}{{c.iopub, ci.IOPubPort}, {c.shell, ci.ShellPort}, {c.control, ci.ControlPort}, {c.stdin, ci.StdinPort}, {c.hb, ci.HBPort}} {
		if err := d.s.Dial(ep(d.port)); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.iopub.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		c.Close()
		return nil, err
	}
	go c.read(c.shell, nil)
	go c.read(c.control, nil)
	go c.read(c.stdin, c.stdinCh)
	go c.read(c.iopub, c.iopubCh)
	return c, nil
}

// Close closes the client's sockets.
func (c *Client) Close() {
	c.cancel()
	for _, s := range []zmq4.Socket{c.shell, c.control, c.stdin, c.iopub, c.hb} {
		if s != nil {
			_ = s.Close()
		}
	}
}

func (c *Client) read(s zmq4.Socket, ch chan *wire.Message) {
	for {
		zm, err := s.Recv()
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			continue
		}
		m, err := wire.Decode(zm.Frames, c.Signer)
		if err != nil {
			continue
		}
		if ch != nil {
			ch <- m
			continue
		}
		c.mu.Lock()
		r := c.replies[m.ParentID()]
		c.mu.Unlock()
		if r != nil {
			r <- m
		}
	}
}

// Send sends a request on shell or control and returns its msg_id and a
// channel that receives its reply.
func (c *Client) Send(ch Channel, msgType string, content any) (string, <-chan *wire.Message, error) {
	m, err := c.NewRequest(msgType, content)
	if err != nil {
		return "", nil, err
	}
	r, err := c.SendMessage(ch, m)
	return m.Header.MsgID, r, err
}

// NewRequest makes a request of this client's session, dated now; a test
// may change its header before sending it with SendMessage.
func (c *Client) NewRequest(msgType string, content any) (*wire.Message, error) {
	b, err := json.Marshal(content)
	if err != nil {
		return nil, err
	}
	return &wire.Message{Header: wire.NewHeader(msgType, c.session), Content: b}, nil
}

// SendMessage signs and sends request m on shell or control and returns a
// channel that receives its reply.
func (c *Client) SendMessage(ch Channel, m *wire.Message) (<-chan *wire.Message, error) {
	frames, err := wire.Encode(m, c.Signer)
	if err != nil {
		return nil, err
	}
	r := make(chan *wire.Message, 1)
	c.mu.Lock()
	c.replies[m.Header.MsgID] = r
	c.mu.Unlock()
	return r, c.SendRaw(ch, frames)
}

// Frames builds the signed frames of a request.
func (c *Client) Frames(msgType string, content any) ([][]byte, string, error) {
	m, err := c.NewRequest(msgType, content)
	if err != nil {
		return nil, "", err
	}
	frames, err := wire.Encode(m, c.Signer)
	return frames, m.Header.MsgID, err
}

// SendRaw sends frames as they are, on shell, control or stdin.
func (c *Client) SendRaw(ch Channel, frames [][]byte) error {
	s := c.shell
	switch ch {
	case Control:
		s = c.control
	case Stdin:
		s = c.stdin
	}
	return s.Send(zmq4.NewMsgFrom(frames...))
}

// Request sends a request and waits for its reply.
func (c *Client) Request(ch Channel, msgType string, content any, timeout time.Duration) (*wire.Message, error) {
	_, r, err := c.Send(ch, msgType, content)
	if err != nil {
		return nil, err
	}
	select {
	case m := <-r:
		return m, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("no %s reply within %s", msgType, timeout)
	}
}

// WaitReady returns once the kernel answers kernel_info_request and its
// iopub messages reach this client. A SUB socket subscribes some time after
// it connects, and what the kernel publishes before then is lost, so the
// request is repeated until its busy or idle status arrives, as
// jupyter_client does. Messages on iopub until then are dropped.
func (c *Client) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		id, r, err := c.Send(Shell, "kernel_info_request", map[string]any{})
		if err != nil {
			return err
		}
		select {
		case <-r:
		case <-time.After(time.Until(deadline)):
			return fmt.Errorf("no kernel_info_reply within %s", timeout)
		}
		wait := time.After(500 * time.Millisecond)
	drain:
		for {
			select {
			case m := <-c.iopubCh:
				if m.ParentID() == id {
					return nil
				}
			case <-wait:
				break drain
			}
		}
	}
	return fmt.Errorf("no iopub message within %s", timeout)
}

// Heartbeat sends a ping and waits for its echo.
func (c *Client) Heartbeat(timeout time.Duration) error {
	done := make(chan error, 1)
	go func() {
		if err := c.hb.Send(zmq4.NewMsgString("ping")); err != nil {
			done <- err
			return
		}
		m, err := c.hb.Recv()
		if err == nil && string(m.Bytes()) != "ping" {
			err = fmt.Errorf("heartbeat echoed %q", m.Bytes())
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("no heartbeat within %s", timeout)
	}
}

// IOPub returns the next iopub message, or nil after timeout.
func (c *Client) IOPub(timeout time.Duration) *wire.Message {
	select {
	case m := <-c.iopubCh:
		return m
	case <-time.After(timeout):
		return nil
	}
}

// StdinRequest returns the next message the kernel sent on stdin.
func (c *Client) StdinRequest(timeout time.Duration) *wire.Message {
	select {
	case m := <-c.stdinCh:
		return m
	case <-time.After(timeout):
		return nil
	}
}

// ReplyInput answers the input_request req (its parent header says which).
func (c *Client) ReplyInput(req *wire.Message, value string) error {
	b, err := json.Marshal(map[string]any{"value": value})
	if err != nil {
		return err
	}
	m := &wire.Message{Header: wire.NewHeader("input_reply", c.session), Content: b}
	if req != nil {
		m.ParentHeader = req.Parent()
	}
	frames, err := wire.Encode(m, c.Signer)
	if err != nil {
		return err
	}
	return c.SendRaw(Stdin, frames)
}
