// Package torchref finds a Python with PyTorch and runs golab's PyTorch
// reference, torchref.py beside this file, for the parity and safetensors
// interop tests and for make bench.
package torchref

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// Env is the environment variable that names the Python to use.
const Env = "TORCH_PYTHON"

// DebianVenv is the virtual environment `make torch-env` creates in the
// repository: Debian's /usr/bin/python3 and python3-torch, plus the pinned
// safetensors package.
const DebianVenv = ".venv-torch-debian"

// Dir returns the folder that holds torchref.py.
func Dir() string {
	if d := os.Getenv("TORCHREF_DIR"); d != "" { // for binaries built with -trimpath
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Script returns the path of torchref.py.
func Script() string { return filepath.Join(Dir(), "torchref.py") }

// Root returns the repository's root folder.
func Root() string { return filepath.Dir(filepath.Dir(Dir())) }

// NotFoundError says why no Python could import the modules asked for.
type NotFoundError struct {
	Modules  []string
	Tried    []string // each candidate and what it lacked
	Explicit bool     // $TORCH_PYTHON was set and is unusable
}

func (e *NotFoundError) Error() string {
	mods := strings.Join(e.Modules, " and ")
	if e.Explicit {
		return fmt.Sprintf("$%s is %s", Env, e.Tried[0])
	}
	return fmt.Sprintf("no Python with %s found (tried %s): run 'make torch-env', or set %s to a Python that has them",
		mods, strings.Join(e.Tried, ", "), Env)
}

type found struct {
	python string
	err    error
}

var (
	mu    sync.Mutex
	cache = map[string]found{}
)

// FindPython returns a Python that imports all of modules: $TORCH_PYTHON
// when set (an error with Explicit set when it cannot), else the first
// that can of the repository's .venv-torch-debian, python3 on the PATH and
// Debian's /usr/bin/python3. The answer is cached for the process.
func FindPython(modules ...string) (string, error) {
	key := strings.Join(modules, ",")
	mu.Lock()
	defer mu.Unlock()
	if f, ok := cache[key]; ok {
		return f.python, f.err
	}
	py, err := findPython(modules)
	cache[key] = found{py, err}
	return py, err
}

func findPython(modules []string) (string, error) {
	if p := os.Getenv(Env); p != "" {
		if why := lacks(p, modules); why != "" {
			return "", &NotFoundError{Modules: modules, Tried: []string{fmt.Sprintf("%s, which %s", p, why)}, Explicit: true}
		}
		return p, nil
	}
	e := &NotFoundError{Modules: modules}
	for _, p := range []string{filepath.Join(Root(), DebianVenv, "bin", "python"), "python3", "/usr/bin/python3"} {
		why := lacks(p, modules)
		if why == "" {
			return p, nil
		}
		e.Tried = append(e.Tried, fmt.Sprintf("%s (%s)", p, why))
	}
	return "", e
}

// lacks returns why python cannot import modules, or "".
func lacks(python string, modules []string) string {
	if strings.ContainsRune(python, os.PathSeparator) {
		if _, err := os.Stat(python); err != nil {
			return "does not exist"
		}
	} else if _, err := exec.LookPath(python); err != nil {
		return "is not on the PATH"
	}
	code := "import importlib, sys\nfor m in sys.argv[1:]:\n    try: importlib.import_module(m)\n" +
		"    except Exception as e: print(m, '-', type(e).__name__); break\n"
	out, err := exec.Command(python, append([]string{"-c", code}, modules...)...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("fails to start: %v", err)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		m, what, _ := strings.Cut(s, " - ")
		return fmt.Sprintf("cannot import %s: %s", m, what)
	}
	return ""
}

// Run runs torchref.py with python and args and returns its standard
// output; a failure's error holds the end of its standard error.
func Run(python string, args ...string) ([]byte, error) {
	cmd := exec.Command(python, append([]string{Script()}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s torchref.py %s: %v: %s", python, strings.Join(args, " "), err, tail(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// IsNotFound reports whether err says no usable Python was found without
// $TORCH_PYTHON being set: a reason to skip a test rather than fail it.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf) && !nf.Explicit
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 1500 {
		s = "…" + s[len(s)-1500:]
	}
	return s
}
