// Package kernel is the golab Jupyter kernel: it answers the requests the
// jupyter package receives by running cells in a session, streams their
// output, and implements frontend.Frontend so that compiled code (the lab,
// its figures, the display package) can display output and watch for
// interrupts.
package kernel

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"go/parser"
	"io"
	"log"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/traefik/yaegi/interp"

	"golab/frontend"
	"golab/kernel/display"
	"golab/kernel/internal/capture"
	"golab/kernel/internal/jupyter"
	"golab/kernel/internal/session"
	"golab/kernel/internal/wire"
)

// Version is the kernel's version.
const Version = "0.1.0"

// Options configure a Kernel.
type Options struct {
	Exports []interp.Exports // bindings cells may import
	Capture *capture.Capture // stdout/stderr capture; nil: none
	Log     *log.Logger
	// Exit ends the process after a shutdown request; nil: os.Exit.
	Exit func(code int)
}

// Kernel serves one notebook session.
type Kernel struct {
	srv  *jupyter.Server
	sess *session.Session
	log  *log.Logger
	cap  *capture.Capture
	exit func(int)

	queue chan request
	stop  *batchStop // the batch behind the last failed cell; worker only

	mu         sync.Mutex
	cur        *cell
	lastParent *wire.Message

	execCount int
	history   []histEntry
}

// cell is the running cell.
type cell struct {
	parent     *wire.Message
	ctx        context.Context
	cancel     context.CancelFunc
	allowStdin bool
}

// request is a shell request and when it reached the kernel.
type request struct {
	m       *wire.Message
	arrived time.Time
}

type histEntry struct {
	line   int
	input  string
	output string
}

// New makes a kernel on srv: a session with the given bindings. It
// registers the kernel as the process's front end (package frontend).
func New(srv *jupyter.Server, opts Options) (*Kernel, error) {
	k := &Kernel{srv: srv, log: opts.Log, cap: opts.Capture, exit: opts.Exit, queue: make(chan request, 4096)}
	if k.log == nil {
		k.log = log.New(os.Stderr, "golab-kernel: ", log.LstdFlags)
	}
	if k.exit == nil {
		k.exit = os.Exit
	}
	sess, err := session.New(session.Options{
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		Stdin:       &stdinReader{k: k},
		Exports:     opts.Exports,
		CellContext: k.Context,
	})
	if err != nil {
		return nil, err
	}
	k.sess = sess
	frontend.Set(k)
	return k, nil
}

// Run serves requests until shutdown.
func (k *Kernel) Run() {
	k.publish(nil, "status", statusContent{"starting"})
	go k.worker()
	k.srv.Serve(k)
}

// HandleShell queues a shell request; they run one at a time, in order.
func (k *Kernel) HandleShell(m *wire.Message) { k.queue <- request{m, time.Now()} }

// HandleControl answers a control request at once, even while a cell runs.
func (k *Kernel) HandleControl(m *wire.Message) {
	k.publish(m, "status", statusContent{"busy"})
	defer k.publish(m, "status", statusContent{"idle"})
	if m.Invalid != "" {
		k.badRequest(jupyter.Control, m, m.Invalid)
		return
	}
	switch m.Header.MsgType {
	case "interrupt_request":
		k.Interrupt()
		k.reply(jupyter.Control, m, "interrupt_reply", ok)
	case "shutdown_request":
		k.shutdown(jupyter.Control, m)
	case "kernel_info_request":
		k.reply(jupyter.Control, m, "kernel_info_reply", kernelInfo())
	default:
		k.unknown(jupyter.Control, m)
	}
}

func (k *Kernel) worker() {
	for r := range k.queue {
		if r.m.Header.MsgType == "execute_request" && r.m.Invalid == "" && k.stop != nil {
			if why := k.stop.abort(r.m, r.arrived); why != "" {
				k.abort(r.m, why)
				continue
			}
			if r.m.Header.Session == k.stop.session {
				k.stop = nil // the client goes on knowingly: the batch is over
			}
		}
		k.handleShell(r)
	}
}

func (k *Kernel) handleShell(r request) {
	m := r.m
	k.publish(m, "status", statusContent{"busy"})
	defer k.publish(m, "status", statusContent{"idle"})
	if m.Invalid != "" {
		k.badRequest(jupyter.Shell, m, m.Invalid)
		return
	}
	switch m.Header.MsgType {
	case "execute_request":
		k.execute(r)
	case "kernel_info_request":
		k.reply(jupyter.Shell, m, "kernel_info_reply", kernelInfo())
	case "complete_request":
		k.complete(m)
	case "inspect_request":
		k.inspect(m)
	case "is_complete_request":
		k.isComplete(m)
	case "history_request":
		k.historyReply(m)
	case "comm_info_request":
		var req struct {
			TargetName string `json:"target_name"`
		}
		if k.decode(jupyter.Shell, m, &req) {
			k.reply(jupyter.Shell, m, "comm_info_reply", commInfoReply{Status: "ok", Comms: map[string]any{}})
		}
	case "comm_open":
		// No comm targets: close it so the front end does not wait.
		var c struct {
			CommID string `json:"comm_id"`
		}
		if err := json.Unmarshal(m.Content, &c); err != nil || c.CommID == "" {
			k.log.Printf("shell: comm_open without a comm_id: %s", m.Content)
			return
		}
		k.publish(m, "comm_close", commClose{CommID: c.CommID, Data: map[string]any{}})
	case "comm_msg", "comm_close":
	case "shutdown_request":
		k.shutdown(jupyter.Shell, m)
	case "connect_request":
		k.reply(jupyter.Shell, m, "connect_reply", ok)
	default:
		k.unknown(jupyter.Shell, m)
	}
}

// decode parses the content of request m into req. Content of the wrong
// shape for its type is answered with an error reply, and decode reports
// false.
func (k *Kernel) decode(ch jupyter.Channel, m *wire.Message, req any) bool {
	if err := json.Unmarshal(m.Content, req); err != nil {
		k.badRequest(ch, m, "content: "+err.Error())
		return false
	}
	return true
}

// badRequest answers a request whose content is malformed with an error
// reply of the matching type. Messages that are not requests get none (the
// protocol has no reply for them); they are logged.
func (k *Kernel) badRequest(ch jupyter.Channel, m *wire.Message, why string) {
	t := m.Header.MsgType
	k.log.Printf("malformed %s: %s", t, why)
	base, isRequest := strings.CutSuffix(t, "_request")
	if !isRequest {
		return
	}
	r := newErrorReply("BadRequest", t+": "+why, nil)
	if t == "execute_request" {
		n := k.execCount
		r.ExecutionCount = &n
	}
	k.reply(ch, m, base+"_reply", r)
}

// unknown answers a request type the kernel does not implement with an
// error reply, and logs other unknown messages.
func (k *Kernel) unknown(ch jupyter.Channel, m *wire.Message) {
	t := m.Header.MsgType
	base, isRequest := strings.CutSuffix(t, "_request")
	if !isRequest {
		k.log.Printf("ignoring %s", t)
		return
	}
	k.reply(ch, m, base+"_reply", newErrorReply("UnknownRequest", "the golab kernel does not implement "+t, nil))
}

func kernelInfo() kernelInfoReply {
	goVersion := strings.TrimPrefix(runtime.Version(), "go")
	return kernelInfoReply{
		Status:                "ok",
		ProtocolVersion:       wire.ProtocolVersion,
		Implementation:        "golab",
		ImplementationVersion: Version,
		LanguageInfo: languageInfo{
			Name:              "go",
			Version:           goVersion,
			Mimetype:          "text/x-go",
			FileExtension:     ".go",
			PygmentsLexer:     "go",
			CodemirrorMode:    "go",
			NbconvertExporter: "script",
		},
		Banner:   "golab " + Version + ": Go " + goVersion + " on the yaegi interpreter",
		Debugger: false,
		HelpLinks: []helpLink{
			{Text: "Go documentation", URL: "https://go.dev/doc/"},
			{Text: "Go standard library", URL: "https://pkg.go.dev/std"},
		},
	}
}

type executeRequest struct {
	Code            string            `json:"code"`
	Silent          bool              `json:"silent"`
	StoreHistory    *bool             `json:"store_history"`
	UserExpressions map[string]string `json:"user_expressions"`
	AllowStdin      bool              `json:"allow_stdin"`
	StopOnError     *bool             `json:"stop_on_error"`
}

func (k *Kernel) execute(r request) {
	m := r.m
	var req executeRequest
	if !k.decode(jupyter.Shell, m, &req) {
		return
	}
	if sym, ok := pageRequest(req.Code); ok {
		k.page(m, sym, req)
		return
	}
	store := req.StoreHistory == nil || *req.StoreHistory
	if req.Silent {
		store = false
	}
	if store {
		k.execCount++
	}
	count := k.execCount
	if !req.Silent {
		k.publish(m, "execute_input", executeInput{Code: req.Code, ExecutionCount: count})
	}
	name := fmt.Sprintf("In[%d]", count)
	if !store {
		name = "In[-]"
	}

	ctx, cancel := context.WithCancel(context.Background())
	c := &cell{parent: m, ctx: ctx, cancel: cancel, allowStdin: req.AllowStdin}
	k.mu.Lock()
	k.cur, k.lastParent = c, m
	k.mu.Unlock()

	res, err := k.sess.Execute(ctx, name, req.Code)
	var exprs map[string]any
	if err == nil {
		// User expressions run as part of the cell: under its context,
		// so that an interrupt stops them too.
		exprs = k.userExpressions(ctx, req.UserExpressions)
	}
	k.sync()

	k.mu.Lock()
	k.cur = nil
	k.mu.Unlock()
	cancel()

	output := ""
	if err != nil {
		e := asError(err)
		k.publish(m, "error", errorContent{Ename: e.Name, Evalue: e.Value, Traceback: e.Traceback})
		reply := newErrorReply(e.Name, e.Value, e.Traceback)
		reply.ExecutionCount = &count
		if !req.Silent && (req.StopOnError == nil || *req.StopOnError) {
			// Taken before the reply leaves: what arrived until now was
			// sent before the client could know of the error.
			k.stop = newBatchStop(m, r.arrived, time.Now())
		}
		k.reply(jupyter.Shell, m, "execute_reply", reply)
		if store {
			k.history = append(k.history, histEntry{count, req.Code, e.Name + ": " + e.Value})
		}
		return
	}
	if data, meta, ok := resultBundle(res); ok && !req.Silent {
		k.publish(m, "execute_result", executeResult{ExecutionCount: count, Data: data, Metadata: meta})
		output, _ = data[display.MIMETypeText].(string)
	}
	if store {
		k.history = append(k.history, histEntry{count, req.Code, output})
	}
	k.reply(jupyter.Shell, m, "execute_reply", executeReply{Status: "ok", ExecutionCount: count, Payload: []any{}, UserExpressions: exprs})
}

// pageRequest recognizes a help cell, "?name" or "name?", as in IPython.
func pageRequest(code string) (string, bool) {
	c := strings.TrimSpace(code)
	switch {
	case strings.HasPrefix(c, "?"):
		c = strings.TrimSpace(c[1:])
	case strings.HasSuffix(c, "?"):
		c = strings.TrimSpace(c[:len(c)-1])
	default:
		return "", false
	}
	if c == "" || strings.ContainsAny(c, " \t\n(){}[];,") {
		return "", false
	}
	return c, true
}

// page answers a help cell with the symbol's documentation as a pager
// payload, as IPython does for "?name".
func (k *Kernel) page(m *wire.Message, sym string, req executeRequest) {
	store := (req.StoreHistory == nil || *req.StoreHistory) && !req.Silent
	if store {
		k.execCount++
	}
	if !req.Silent {
		k.publish(m, "execute_input", executeInput{Code: req.Code, ExecutionCount: k.execCount})
	}
	text, found := k.sess.Inspect(sym, len(sym))
	if !found {
		text = "no documentation found for " + sym
	}
	if store {
		k.history = append(k.history, histEntry{k.execCount, req.Code, ""})
	}
	k.reply(jupyter.Shell, m, "execute_reply", executeReply{
		Status: "ok", ExecutionCount: k.execCount, UserExpressions: map[string]any{},
		Payload: []any{pagePayload{Source: "page", Data: display.MIMEMap{display.MIMETypeText: text}, Start: 0}},
	})
}

// resultBundle combines the values of a cell into one execute_result
// bundle: a single value as it is; several as their texts side by side,
// with the rich types of the first value that has some.
func resultBundle(res *session.Result) (data, meta map[string]any, ok bool) {
	if res == nil || len(res.Values) == 0 {
		return nil, nil, false
	}
	if len(res.Values) == 1 {
		d := res.Values[0]
		return encodeBundle(d.Data), orEmpty(d.Metadata), true
	}
	var texts []string
	data = map[string]any{}
	meta = map[string]any{}
	rich := false
	for _, d := range res.Values {
		t, _ := d.Data[display.MIMETypeText].(string)
		if len(d.Data) == 0 {
			t = "<nil>"
		}
		texts = append(texts, t)
		if !rich && len(d.Data) > 1 {
			rich = true
			for k, v := range encodeBundle(d.Data) {
				data[k] = v
			}
			meta = orEmpty(d.Metadata)
		}
	}
	data[display.MIMETypeText] = strings.Join(texts, " ")
	return data, meta, true
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// encodeBundle base64-encodes []byte values, as the protocol wants binary
// MIME data.
func encodeBundle(d map[string]any) map[string]any {
	out := make(map[string]any, len(d))
	for k, v := range d {
		if b, ok := v.([]byte); ok {
			out[k] = base64.StdEncoding.EncodeToString(b)
		} else {
			out[k] = v
		}
	}
	return out
}

func asError(err error) *session.Error {
	if e, ok := err.(*session.Error); ok {
		return e
	}
	return &session.Error{Name: "Error", Value: err.Error(), Traceback: []string{err.Error()}}
}

// userExpressions evaluates the expressions a front end asked for after a
// cell, under the cell's context. Each must be an expression: a statement
// there would change the session behind the user's back.
func (k *Kernel) userExpressions(ctx context.Context, exprs map[string]string) map[string]any {
	out := map[string]any{}
	for name, src := range exprs {
		if ctx.Err() != nil {
			out[name] = newErrorReply("Interrupted", "the cell was interrupted", nil)
			continue
		}
		if _, err := parser.ParseExpr(src); err != nil {
			out[name] = newErrorReply("SyntaxError", "a user expression must be a Go expression: "+err.Error(), nil)
			continue
		}
		res, err := k.sess.Execute(ctx, "user_expression", src)
		if err != nil {
			e := asError(err)
			out[name] = newErrorReply(e.Name, e.Value, e.Traceback)
			continue
		}
		data, meta, ok := resultBundle(res)
		if !ok {
			data, meta = display.MIMEMap{display.MIMETypeText: ""}, display.MIMEMap{}
		}
		out[name] = userExpression{Status: "ok", Data: data, Metadata: meta}
	}
	return out
}

// abort answers an execute_request of the batch behind a failed cell
// (abort.go) with an "aborted" status, as stop_on_error asks. The reply has
// no execution count: the cell did not run, and front ends show it so.
func (k *Kernel) abort(m *wire.Message, why string) {
	k.publish(m, "status", statusContent{"busy"})
	k.reply(jupyter.Shell, m, "execute_reply", abortedReply{Status: "aborted"})
	k.publish(m, "status", statusContent{"idle"})
	k.log.Printf("aborted execute_request %s after the error of %s: %s", m.Header.MsgID, k.stop.failedID, why)
}

func (k *Kernel) shutdown(ch jupyter.Channel, m *wire.Message) {
	var req struct {
		Restart bool `json:"restart"`
	}
	if !k.decode(ch, m, &req) {
		return
	}
	k.Interrupt()
	k.reply(ch, m, "shutdown_reply", shutdownReply{Status: "ok", Restart: req.Restart})
	k.publish(m, "status", statusContent{"idle"})
	// Let the reply leave before the sockets close.
	time.Sleep(100 * time.Millisecond)
	k.srv.Close()
	k.exit(0)
}

// Interrupt cancels the running cell, if any.
func (k *Kernel) Interrupt() {
	k.mu.Lock()
	c := k.cur
	k.mu.Unlock()
	if c != nil {
		c.cancel()
	}
}

func (k *Kernel) reply(ch jupyter.Channel, m *wire.Message, msgType string, content any) {
	if err := k.srv.Reply(ch, m, msgType, content); err != nil {
		k.log.Printf("sending %s: %v", msgType, err)
	}
}

func (k *Kernel) publish(parent *wire.Message, msgType string, content any) {
	if err := k.srv.Publish(parent, msgType, content); err != nil {
		k.log.Printf("publishing %s: %v", msgType, err)
	}
}

// sync waits until the captured output written so far has been published.
func (k *Kernel) sync() {
	if k.cap != nil {
		k.cap.Sync(2 * time.Second)
	}
}

// Stream publishes captured output on the running cell, or on the last
// one when none runs. It is the capture's sink.
func (k *Kernel) Stream(name, text string) {
	k.mu.Lock()
	parent := k.lastParent
	if k.cur != nil {
		parent = k.cur.parent
	}
	k.mu.Unlock()
	k.publish(parent, "stream", streamContent{Name: name, Text: text})
}

// Context is the running cell's context, cancelled on interrupt; outside a
// cell it is context.Background. It implements frontend.Frontend.
func (k *Kernel) Context() context.Context {
	if ctx := k.sess.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// Display sends display_data, or update_display_data when b.Update is set,
// on the running cell. It implements frontend.Frontend.
func (k *Kernel) Display(b frontend.Bundle) error {
	if len(b.Data) == 0 {
		return fmt.Errorf("display: empty bundle")
	}
	transient := b.Transient
	if b.ID != "" {
		transient = map[string]any{"display_id": b.ID}
		for key, v := range b.Transient {
			if key != "display_id" {
				transient[key] = v
			}
		}
	}
	k.sync()
	msgType := "display_data"
	if b.Update {
		msgType = "update_display_data"
		if id, _ := transient["display_id"].(string); id == "" {
			return fmt.Errorf("display: update without a display_id")
		}
	}
	k.mu.Lock()
	parent := k.lastParent
	if k.cur != nil {
		parent = k.cur.parent
	}
	k.mu.Unlock()
	return k.srv.Publish(parent, msgType, displayData{Data: encodeBundle(b.Data), Metadata: orEmpty(b.Metadata), Transient: orEmpty(transient)})
}

// ClearOutput clears the running cell's output. It implements
// frontend.Frontend.
func (k *Kernel) ClearOutput(wait bool) error {
	k.sync()
	k.mu.Lock()
	parent := k.lastParent
	if k.cur != nil {
		parent = k.cur.parent
	}
	k.mu.Unlock()
	return k.srv.Publish(parent, "clear_output", clearOutput{Wait: wait})
}

// stdinReader reads lines from the front end through input_request.
type stdinReader struct {
	k   *Kernel
	mu  sync.Mutex
	buf []byte
}

func (r *stdinReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) == 0 {
		r.k.mu.Lock()
		c := r.k.cur
		r.k.mu.Unlock()
		if c == nil || !c.allowStdin {
			return 0, io.EOF
		}
		r.k.sync()
		line, err := r.k.srv.Input(c.ctx, c.parent, "", false)
		if err != nil {
			return 0, io.EOF
		}
		r.buf = []byte(line + "\n")
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}
