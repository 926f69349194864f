// Package jupyter serves the Jupyter messaging protocol over ZeroMQ: it
// binds the five sockets of a connection file, verifies the signature of
// every incoming message, signs every outgoing one, answers heartbeats and
// hands requests to a Handler.
package jupyter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"

	"golab/kernel/internal/wire"
)

// ConnectionInfo is the content of a Jupyter connection file.
type ConnectionInfo struct {
	Transport       string `json:"transport"`
	IP              string `json:"ip"`
	ShellPort       int    `json:"shell_port"`
	ControlPort     int    `json:"control_port"`
	StdinPort       int    `json:"stdin_port"`
	IOPubPort       int    `json:"iopub_port"`
	HBPort          int    `json:"hb_port"`
	Key             string `json:"key"`
	SignatureScheme string `json:"signature_scheme"`
	KernelName      string `json:"kernel_name"`
}

// ReadConnectionFile reads and checks a connection file.
func ReadConnectionFile(path string) (*ConnectionInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading connection file: %w", err)
	}
	var ci ConnectionInfo
	if err := json.Unmarshal(b, &ci); err != nil {
		return nil, fmt.Errorf("connection file %s is not valid JSON: %w", path, err)
	}
	if ci.Transport == "" {
		ci.Transport = "tcp"
	}
	if ci.Transport != "tcp" && ci.Transport != "ipc" {
		return nil, fmt.Errorf("connection file %s: transport %q is not supported (use tcp or ipc)", path, ci.Transport)
	}
	if ci.IP == "" {
		return nil, fmt.Errorf("connection file %s has no ip", path)
	}
	for name, p := range map[string]int{"shell_port": ci.ShellPort, "control_port": ci.ControlPort, "stdin_port": ci.StdinPort, "iopub_port": ci.IOPubPort, "hb_port": ci.HBPort} {
		if p <= 0 || p > 65535 {
			return nil, fmt.Errorf("connection file %s: %s %d is not a port", path, name, p)
		}
	}
	return &ci, nil
}

func (ci *ConnectionInfo) endpoint(port int) string {
	if ci.Transport == "ipc" {
		return guardIPC + "://" + ci.IP + "-" + strconv.Itoa(port)
	}
	host := ci.IP
	if host == "*" {
		host = "" // ZeroMQ's "all interfaces"
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return guardTCP + "://" + host + ":" + strconv.Itoa(port)
}

// Channel names a socket.
type Channel int

// The channels of a kernel.
const (
	Shell Channel = iota
	Control
	Stdin
)

// Handler receives verified requests. HandleShell and HandleControl are
// called from one goroutine per channel; they must not block the caller
// for long on control.
type Handler interface {
	HandleShell(req *wire.Message)
	HandleControl(req *wire.Message)
}

// Server owns the kernel's sockets.
type Server struct {
	info    *ConnectionInfo
	signer  *wire.Signer
	session string
	log     *log.Logger

	ctx    context.Context
	cancel context.CancelFunc

	shell, control, stdin, iopub, hb zmq4.Socket
	sendMu                           [3]sync.Mutex
	iopubMu                          sync.Mutex

	replay *replayGuard

	inputMu sync.Mutex   // one prompt at a time
	pendMu  sync.Mutex   // guards pending
	pending *inputWaiter // the prompt waiting for its input_reply

	// Dropped counts messages rejected for a bad signature or form.
	dropMu  sync.Mutex
	Dropped int
}

// Listen binds the sockets of ci, only to the address and ports it names.
func Listen(ci *ConnectionInfo, logger *log.Logger) (*Server, error) {
	signer, err := wire.NewSigner(ci.SignatureScheme, ci.Key)
	if err != nil {
		return nil, err
	}
	registerTransports()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		info:    ci,
		signer:  signer,
		session: wire.NewID(),
		log:     logger,
		ctx:     ctx,
		cancel:  cancel,
		replay:  newReplayGuard(4096),
	}
	zlog := log.New(logWriter{logger}, "zmq4: ", 0)
	transportLog = log.New(logWriter{logger}, "transport: ", 0)
	opts := []zmq4.Option{zmq4.WithLogger(zlog), zmq4.WithTimeout(10 * time.Second)}
	s.shell = zmq4.NewRouter(ctx, opts...)
	s.control = zmq4.NewRouter(ctx, opts...)
	s.stdin = zmq4.NewRouter(ctx, opts...)
	s.iopub = zmq4.NewPub(ctx, opts...)
	// Heartbeat is a plain echo; a ROUTER echoes to many clients at once,
	// which zmq4's REP does not do reliably.
	s.hb = zmq4.NewRouter(ctx, opts...)
	for _, b := range []struct {
		sock zmq4.Socket
		port int
		name string
	}{{s.shell, ci.ShellPort, "shell"}, {s.control, ci.ControlPort, "control"}, {s.stdin, ci.StdinPort, "stdin"}, {s.iopub, ci.IOPubPort, "iopub"}, {s.hb, ci.HBPort, "hb"}} {
		if err := b.sock.Listen(ci.endpoint(b.port)); err != nil {
			s.Close()
			return nil, fmt.Errorf("binding %s socket: %w", b.name, err)
		}
	}
	return s, nil
}

// Session is the kernel's session id, used in the headers it sends.
func (s *Server) Session() string { return s.session }

// Serve reads the sockets and dispatches until Close.
func (s *Server) Serve(h Handler) {
	go s.heartbeat()
	go s.readLoop(s.stdin, "stdin", s.inputReply)
	go s.readLoop(s.control, "control", h.HandleControl)
	s.readLoop(s.shell, "shell", h.HandleShell)
}

// Close closes every socket.
func (s *Server) Close() {
	s.cancel()
	for _, sock := range []zmq4.Socket{s.shell, s.control, s.stdin, s.iopub, s.hb} {
		if sock != nil {
			_ = sock.Close()
		}
	}
}

func (s *Server) heartbeat() {
	for {
		msg, err := s.hb.Recv()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			continue
		}
		if err := s.hb.Send(msg); err != nil && s.ctx.Err() == nil {
			s.log.Printf("heartbeat: %v", err)
		}
	}
}

func (s *Server) readLoop(sock zmq4.Socket, name string, handle func(*wire.Message)) {
	for {
		zm, err := sock.Recv()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			s.log.Printf("%s: receive: %v", name, err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		m, err := wire.Decode(zm.Frames, s.signer)
		if err == nil && s.signer.Enabled() && !s.replay.fresh(zm.Frames) {
			err = errors.New("replayed message (its signature was seen before)")
		}
		if err != nil {
			s.dropMu.Lock()
			s.Dropped++
			s.dropMu.Unlock()
			s.log.Printf("%s: dropped a message: %v", name, err)
			continue
		}
		handle(m)
	}
}

// Reply sends a reply to req on its channel.
func (s *Server) Reply(ch Channel, req *wire.Message, msgType string, content any) error {
	m, err := s.newMessage(req, msgType, content)
	if err != nil {
		return err
	}
	return s.send(ch, req, m)
}

// send routes m to the peer that sent req, on channel ch.
func (s *Server) send(ch Channel, req, m *wire.Message) error {
	sock := s.shell
	switch ch {
	case Control:
		sock = s.control
	case Stdin:
		sock = s.stdin
	}
	m.Identities = req.Identities
	frames, err := wire.Encode(m, s.signer)
	if err != nil {
		return err
	}
	s.sendMu[ch].Lock()
	defer s.sendMu[ch].Unlock()
	return sock.Send(zmq4.NewMsgFrom(frames...))
}

// Publish sends a message on iopub, as a child of parent (which may be nil).
func (s *Server) Publish(parent *wire.Message, msgType string, content any) error {
	m, err := s.newMessage(parent, msgType, content)
	if err != nil {
		return err
	}
	m.Identities = [][]byte{[]byte("kernel." + s.session + "." + msgType)}
	frames, err := wire.Encode(m, s.signer)
	if err != nil {
		return err
	}
	s.iopubMu.Lock()
	defer s.iopubMu.Unlock()
	return s.iopub.Send(zmq4.NewMsgFrom(frames...))
}

// inputWaiter is a prompt sent as input_request msgID, waiting for the
// input_reply whose parent it is.
type inputWaiter struct {
	msgID string
	reply chan *wire.Message
}

// InputRequest is the content of an input_request.
type InputRequest struct {
	Prompt   string `json:"prompt"`
	Password bool   `json:"password"`
}

// Input asks the front end for a line of input on stdin and waits for the
// input_reply to this very request: a late reply to an earlier prompt (one
// whose cell was interrupted) is dropped, not taken as the answer.
func (s *Server) Input(ctx context.Context, parent *wire.Message, prompt string, password bool) (string, error) {
	s.inputMu.Lock()
	defer s.inputMu.Unlock()
	req, err := s.newMessage(parent, "input_request", InputRequest{Prompt: prompt, Password: password})
	if err != nil {
		return "", err
	}
	w := &inputWaiter{msgID: req.Header.MsgID, reply: make(chan *wire.Message, 1)}
	s.pendMu.Lock()
	s.pending = w
	s.pendMu.Unlock()
	defer func() {
		s.pendMu.Lock()
		if s.pending == w {
			s.pending = nil
		}
		s.pendMu.Unlock()
	}()
	if err := s.send(Stdin, parent, req); err != nil {
		return "", err
	}
	select {
	case m := <-w.reply:
		if m.Invalid != "" {
			return "", fmt.Errorf("bad input_reply: %s", m.Invalid)
		}
		var c struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(m.Content, &c); err != nil {
			return "", fmt.Errorf("bad input_reply: %w", err)
		}
		return c.Value, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// inputReply hands an input_reply to the prompt it answers.
func (s *Server) inputReply(m *wire.Message) {
	if m.Header.MsgType != "input_reply" {
		s.log.Printf("stdin: ignoring %s", m.Header.MsgType)
		return
	}
	parent := m.ParentID()
	s.pendMu.Lock()
	w := s.pending
	if w != nil && w.msgID == parent {
		s.pending = nil
	} else {
		w = nil
	}
	s.pendMu.Unlock()
	if w == nil {
		s.log.Printf("stdin: dropping an input_reply to %q, which no prompt waits for", parent)
		return
	}
	w.reply <- m
}

func (s *Server) newMessage(parent *wire.Message, msgType string, content any) (*wire.Message, error) {
	c, err := json.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("encoding %s content: %w", msgType, err)
	}
	m := &wire.Message{Header: wire.NewHeader(msgType, s.session), Content: c, Metadata: []byte("{}")}
	if parent != nil {
		m.ParentHeader = parent.Parent()
	}
	return m, nil
}

// replayGuard remembers recent signatures: a message signed like one
// already seen is a replay and is dropped.
type replayGuard struct {
	mu   sync.Mutex
	seen map[string]struct{}
	ring []string
	next int
}

func newReplayGuard(n int) *replayGuard {
	return &replayGuard{seen: make(map[string]struct{}, n), ring: make([]string, n)}
}

// fresh records the signature of frames and reports whether it is new.
func (g *replayGuard) fresh(frames [][]byte) bool {
	var sig string
	for i, f := range frames {
		if string(f) == string(wire.Delimiter) && i+1 < len(frames) {
			sig = string(frames[i+1])
			break
		}
	}
	if sig == "" {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.seen[sig]; ok {
		return false
	}
	if old := g.ring[g.next]; old != "" {
		delete(g.seen, old)
	}
	g.ring[g.next] = sig
	g.next = (g.next + 1) % len(g.ring)
	g.seen[sig] = struct{}{}
	return true
}

type logWriter struct{ l *log.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Print(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
