package kernel_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golab/kernel/internal/compiled"
	"golab/kernel/internal/jupyter"
)

// TestCompiledFunctionInterrupt runs //golab:compile in the kernel binary
// (with make test-kernel, the one make kernel built and prepared): the
// plugin loads into it, sees the cell's context through golab/frontend, and an
// interrupt stops a loop that looks at once; one that never looks gets its
// reply at once too, and the next cell waits for it.
func TestCompiledFunctionInterrupt(t *testing.T) {
	if err := compiled.New(compiled.DefaultConfig(nil)).Unavailable(); err != nil {
		t.Skipf("Go plugins are unavailable here: %v", err)
	}
	p := startKernel(t)
	p.ok("kept := 7")
	code := `import (
	"runtime"
	"time"

	"golab/frontend"
)

//golab:compile
func where() string {
	pc, _, _, _ := runtime.Caller(0)
	return runtime.FuncForPC(pc).Name()
}

// spin counts until the cell is interrupted.
//golab:compile
func spin() int {
	ctx := frontend.Context()
	n := 0
	for ctx.Err() == nil {
		n++
	}
	return n
}

// busy works for d and never looks.
//golab:compile
func busy(d time.Duration) int {
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		n++
	}
	return n
}`
	// Without the build cache make kernel prepares, this build takes minutes.
	id, r, err := p.c.Send(jupyter.Shell, "execute_request", map[string]any{"code": code, "silent": false})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-r:
		if c := content(m); c["status"] != "ok" {
			t.Fatalf("declaring the compiled functions: %v", c)
		}
	case <-time.After(15 * time.Minute):
		t.Fatalf("no reply to the compiled cell\n%s", p.stderr)
	}
	t.Logf("stderr of the cell: %q", streamText(p.outputs(id), "stderr"))
	if got := p.ok("where()"); !strings.HasPrefix(got, "golab.compiled/k") {
		t.Fatalf("where() = %s; want a function of a plugin", got)
	}

	took, rc := interruptAfter(t, p, "kept = spin()", 300*time.Millisecond)
	if rc["ename"] != "Interrupted" || took > time.Second {
		t.Errorf("spin(): reply %v, %v after interrupt_request", rc, took)
	}
	if got := p.ok("kept"); got != "7" {
		t.Errorf("kept = %s after interrupting spin()", got)
	}

	took, rc = interruptAfter(t, p, "kept = busy(2 * time.Second)", 200*time.Millisecond)
	if rc["ename"] != "Interrupted" || took > time.Second {
		t.Errorf("busy(): reply %v, %v after interrupt_request", rc, took)
	}
	start := time.Now()
	if got := p.ok("kept"); got != "7" {
		t.Errorf("kept = %s after interrupting busy()", got)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("the next cell ran %v after the interrupted one, before busy() could have ended", d)
	}
}

// TestCompiledInAnotherHome is a hub's student: HOME is a fresh folder and
// the environment names no Go cache, so go's default caches there are empty
// (and plugins build with GOPROXY=off). The kernel builds with the module
// and build caches it was built from, in seconds, instead of failing over
// to the interpreter.
func TestCompiledInAnotherHome(t *testing.T) {
	if err := compiled.New(compiled.DefaultConfig(nil)).Unavailable(); err != nil {
		t.Skipf("Go plugins are unavailable here: %v", err)
	}
	home := t.TempDir()
	p, _ := launchCmd(t, func(bin, conn string) *exec.Cmd {
		c := exec.Command(bin, "-f", conn)
		for _, kv := range os.Environ() {
			switch k, _, _ := strings.Cut(kv, "="); k {
			case "HOME", "GOMODCACHE", "GOPATH", "GOCACHE", "XDG_CACHE_HOME", "GOLAB_COMPILE_CACHE":
			default:
				c.Env = append(c.Env, kv)
			}
		}
		c.Env = append(c.Env, "HOME="+home)
		return c
	})
	t.Cleanup(p.stop)
	if err := p.c.WaitReady(30 * time.Second); err != nil {
		t.Fatalf("kernel did not start: %v\n%s", err, p.stderr)
	}
	start := time.Now()
	// It imports the lab: its modules (gorgonia, gonum) are in no cache of
	// the fresh home.
	reply, outs := p.run(`import (
	"runtime"

	"golab/lab"
)

//golab:compile
func where() string {
	pc, _, _, _ := runtime.Caller(0)
	return runtime.FuncForPC(pc).Name()
}

//golab:compile
func pixels(d *lab.Dataset) int { return d.Len() * lab.ImageBytes }`)
	if c := content(reply); c["status"] != "ok" {
		t.Fatalf("declaring the compiled function: %v", c)
	}
	took := time.Since(start)
	if got := p.ok("where()"); !strings.HasPrefix(got, compiled.PathPrefix) {
		t.Fatalf("where() = %s in a fresh home; want a function of a plugin (stderr of the cell: %q)", got, streamText(outs, "stderr"))
	}
	if _, err := os.Stat(filepath.Join(home, ".cache", "golab", "compiled")); err != nil {
		t.Errorf("the plugin is not in the user's own cache: %v", err)
	}
	t.Logf("first compile in a fresh home: %v", took)
}
