package kernel_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golab/kernel/internal/jupyter"
	"golab/kernel/internal/wire"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// kernelBin returns the kernel binary: $GOLAB_KERNEL_BIN, or one built for
// the test run.
func kernelBin(t testing.TB) string {
	if p := os.Getenv("GOLAB_KERNEL_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "golab-kernel-test")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "golab-kernel")
		// Record the Go caches as make kernel does (TestCompiledInAnotherHome).
		caches, err := exec.Command("go", "env", "GOMODCACHE", "GOCACHE").Output()
		if err != nil {
			buildErr = err
			return
		}
		c := strings.Fields(string(caches))
		if len(c) != 2 {
			buildErr = fmt.Errorf("go env GOMODCACHE GOCACHE printed %q", caches)
			return
		}
		ldflags := fmt.Sprintf("-X 'golab/kernel/internal/compiled.modCache=%s' -X 'golab/kernel/internal/compiled.buildCache=%s'", c[0], c[1])
		out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", builtBin, "golab/kernel/cmd/golab-kernel").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building the kernel: %v", buildErr)
	}
	return builtBin
}

// proc is a kernel process and a client connected to it.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	c      *jupyter.Client
	ci     *jupyter.ConnectionInfo
	stderr *syncBuffer
	exited chan struct{} // closed when the process has exited
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startKernel starts a kernel with the test bindings and waits until it
// answers kernel_info_request and its iopub messages reach the client.
func startKernel(t testing.TB) *proc {
	t.Helper()
	p, _ := launch(t)
	t.Cleanup(p.stop)
	if err := p.c.WaitReady(30 * time.Second); err != nil {
		t.Fatalf("kernel did not start: %v\n%s", err, p.stderr)
	}
	return p
}

// launch starts a kernel and returns when the process runs.
func launch(t testing.TB) (*proc, time.Time) {
	t.Helper()
	return launchCmd(t, func(bin, conn string) *exec.Cmd { return exec.Command(bin, "-f", conn) })
}

// launchCmd starts a kernel with the command cmd makes from the kernel
// binary and the connection file.
func launchCmd(t testing.TB, cmd func(bin, conn string) *exec.Cmd) (*proc, time.Time) {
	t.Helper()
	bin := kernelBin(t)
	ci, err := jupyter.NewConnectionInfo()
	if err != nil {
		t.Fatal(err)
	}
	path, err := ci.WriteFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, ci: ci, stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = cmd(bin, path)
	if p.cmd.Env == nil {
		p.cmd.Env = os.Environ()
	}
	p.cmd.Env = append(p.cmd.Env, "GOLAB_KERNEL_TEST=1")
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = p.stderr
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	if p.c, err = jupyter.Dial(ci); err != nil {
		p.cmd.Process.Kill()
		t.Fatal(err)
	}
	return p, start
}

func (p *proc) stop() {
	p.c.Close()
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// run executes code and returns the reply and the iopub messages of the
// request, up to its idle status.
func (p *proc) run(code string, extra ...map[string]any) (*wire.Message, []*wire.Message) {
	p.t.Helper()
	content := map[string]any{"code": code, "silent": false, "store_history": true, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true}
	for _, e := range extra {
		for k, v := range e {
			content[k] = v
		}
	}
	id, r, err := p.c.Send(jupyter.Shell, "execute_request", content)
	if err != nil {
		p.t.Fatal(err)
	}
	var reply *wire.Message
	select {
	case reply = <-r:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("no execute_reply for %q\n%s", code, p.stderr)
	}
	return reply, p.outputs(id)
}

// outputs collects the iopub messages of request id up to its idle status.
func (p *proc) outputs(id string) []*wire.Message {
	var out []*wire.Message
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		m := p.c.IOPub(time.Second)
		if m == nil {
			continue
		}
		if parentID(m) != id {
			continue
		}
		if m.Header.MsgType == "status" && content(m)["execution_state"] == "idle" {
			return out
		}
		out = append(out, m)
	}
	p.t.Fatalf("no idle status for request %s", id)
	return nil
}

func parentID(m *wire.Message) string { return m.ParentID() }

func content(m *wire.Message) map[string]any {
	var c map[string]any
	_ = json.Unmarshal(m.Content, &c)
	return c
}

// result returns the text/plain of the execute_result among outputs.
func result(outs []*wire.Message) (string, bool) {
	for _, m := range outs {
		if m.Header.MsgType == "execute_result" {
			data, _ := content(m)["data"].(map[string]any)
			s, _ := data["text/plain"].(string)
			return s, true
		}
	}
	return "", false
}

// streamText joins the text of the stream messages of one stream.
func streamText(outs []*wire.Message, name string) string {
	var b bytes.Buffer
	for _, m := range outs {
		if c := content(m); m.Header.MsgType == "stream" && c["name"] == name {
			b.WriteString(c["text"].(string))
		}
	}
	return b.String()
}

// ok checks that a cell succeeded and returns its result text.
func (p *proc) ok(code string) string {
	p.t.Helper()
	reply, outs := p.run(code)
	if st := content(reply)["status"]; st != "ok" {
		p.t.Fatalf("cell %q: status %v: %v", code, st, content(reply)["evalue"])
	}
	s, _ := result(outs)
	return s
}

// iopubOf collects the iopub messages of the requests ids, each up to its
// idle status, when their messages interleave.
func (p *proc) iopubOf(ids ...string) map[string][]*wire.Message {
	p.t.Helper()
	out := map[string][]*wire.Message{}
	open := map[string]bool{}
	for _, id := range ids {
		open[id] = true
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(open) > 0 && time.Now().Before(deadline) {
		m := p.c.IOPub(time.Second)
		if m == nil || !open[parentID(m)] {
			continue
		}
		id := parentID(m)
		if m.Header.MsgType == "status" && content(m)["execution_state"] == "idle" {
			delete(open, id)
			continue
		}
		out[id] = append(out[id], m)
	}
	if len(open) > 0 {
		p.t.Fatalf("no idle status for %d requests", len(open))
	}
	return out
}
