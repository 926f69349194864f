package compiled

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
)

// Recorded by make kernel (-ldflags -X): the GOROOT of the toolchain that
// built the kernel, the folder of its module, and the module and build
// caches it was built from. Without them (go test, a plain go build) the
// toolchain is the go command on PATH when its version is the kernel's,
// the module is where this file was compiled from, and the caches are the
// environment's.
var (
	goRoot     string
	moduleRoot string
	modCache   string
	buildCache string
)

// Config says where and how plugins are built. DefaultConfig describes the
// running kernel; tests change fields to stand for other machines.
type Config struct {
	GoVersion  string // runtime.Version() of the kernel
	GoRoot     string // the toolchain plugins are built with; "" when none was found
	ModulePath string // the kernel's module ("golab")
	ModuleRoot string // its folder
	CacheDir   string // where plugins are kept
	// The module and build caches go build uses when the environment
	// names none ("" leaves go's defaults): those the kernel was built
	// from, which hold every module it needs and the packages
	// prepare-compile built, also for a user whose HOME is not the
	// builder's (a JupyterHub user's home, say).
	ModCache   string
	BuildCache string
	GOOS       string
	GOARCH     string
	Cgo        bool              // the kernel was built with cgo
	Settings   map[string]string // the kernel's build settings (debug.BuildInfo)
	ExeID      string            // identifies the kernel binary
	Env        []string          // the environment go build starts from
	// Off, when set, says why compiling is not possible here
	// (GOLAB_COMPILE=off, no toolchain found).
	Off string
}

// DefaultConfig describes the running kernel in the environment env (the
// cells' environment; os.Environ() when nil). GOLAB_COMPILE=off switches
// compiling off; GOLAB_COMPILE_CACHE names the plugin cache (default:
// golab/compiled in the user's cache folder).
func DefaultConfig(env []string) Config {
	if env == nil {
		env = os.Environ()
	}
	c := Config{
		GoVersion: runtime.Version(),
		GOOS:      runtime.GOOS,
		GOARCH:    runtime.GOARCH,
		Cgo:       cgoEnabled,
		Settings:  map[string]string{},
		Env:       env,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		c.ModulePath = bi.Main.Path
		for _, s := range bi.Settings {
			c.Settings[s.Key] = s.Value
		}
	}
	if c.ModulePath == "" {
		c.ModulePath = "golab"
	}
	c.ModuleRoot = moduleRoot
	if c.ModuleRoot == "" {
		c.ModuleRoot = sourceModuleRoot()
	}
	c.CacheDir = getenv(env, "GOLAB_COMPILE_CACHE")
	if c.CacheDir == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			c.CacheDir = filepath.Join(dir, "golab", "compiled")
		}
	}
	c.ExeID = executableID()
	switch v := strings.ToLower(getenv(env, "GOLAB_COMPILE")); v {
	case "off", "0", "false", "no":
		c.Off = "compiling is switched off (GOLAB_COMPILE=" + v + ")"
		return c
	}
	c.ModCache, c.BuildCache = builderCaches(env, modCache, buildCache)
	root, why := findGoRoot(env, c.GoVersion, c.ModCache)
	c.GoRoot = root
	if root == "" {
		c.Off = why
	}
	return c
}

// sourceModuleRoot is the module folder this package was compiled in, when
// the binary keeps source paths (it does unless built with -trimpath).
func sourceModuleRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(file)))) // kernel/internal/compiled/config.go
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return ""
	}
	return root
}

// findGoRoot finds the toolchain of version want: the one recorded at
// build time, else the go command on env's PATH (asked for want's
// toolchain, which it runs when its own version differs and want is in
// its cache: modCache when set, where a toolchain go downloaded for the
// builder is). It returns "" and why when there is none.
func findGoRoot(env []string, want, modCache string) (string, string) {
	if goRoot != "" {
		if v, err := rootVersion(goRoot, env); err == nil && v == want {
			return goRoot, ""
		}
	}
	goCmd := lookPath("go", getenv(env, "PATH"))
	if goCmd == "" {
		if goRoot != "" {
			return "", fmt.Sprintf("no Go toolchain: %s, which built the kernel (%s), is gone, and there is no go command on PATH", goRoot, want)
		}
		return "", fmt.Sprintf("no Go toolchain: no go command on PATH (%s built the kernel, and plugins need the same)", want)
	}
	cmd := exec.Command(goCmd, "env", "GOROOT", "GOVERSION")
	cmd.Env = append(withoutKeys(env, "GOTOOLCHAIN", "GOFLAGS", "GOPROXY", "GOROOT"), "GOTOOLCHAIN="+want, "GOPROXY=off")
	if modCache != "" {
		cmd.Env = append(cmd.Env, "GOMODCACHE="+modCache)
	}
	out, err := cmd.Output()
	lines := strings.Fields(string(out))
	if err != nil || len(lines) != 2 {
		return "", fmt.Sprintf("no Go toolchain: %s cannot run %s (which built the kernel, and plugins need the same)", goCmd, want)
	}
	if lines[1] != want {
		return "", fmt.Sprintf("no Go toolchain: the go command on PATH is %s, the kernel was built with %s, and plugins need the same", lines[1], want)
	}
	return lines[0], ""
}

// builderCaches returns the recorded module and build caches go build is to
// use in env: a module cache when env sets neither GOMODCACHE nor GOPATH
// and the folder exists (plugins build with GOPROXY=off, so they need the
// modules the kernel was built from, which a fresh home lacks), and a build
// cache when env sets no GOCACHE and this user can write to it (else go's
// default, which makes the first build take minutes instead of seconds).
func builderCaches(env []string, mod, build string) (string, string) {
	if mod != "" && (getenv(env, "GOMODCACHE") != "" || getenv(env, "GOPATH") != "" || !isDir(mod)) {
		mod = ""
	}
	if build != "" && (getenv(env, "GOCACHE") != "" || !writable(build)) {
		build = ""
	}
	return mod, build
}

func isDir(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

// writable reports whether a file can be made in dir.
func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".golab-probe-")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

// rootVersion is the version of the toolchain at root.
func rootVersion(root string, env []string) (string, error) {
	if data, err := os.ReadFile(filepath.Join(root, "VERSION")); err == nil {
		if v, _, _ := strings.Cut(string(data), "\n"); strings.HasPrefix(v, "go") {
			return strings.TrimSpace(v), nil
		}
	}
	cmd := exec.Command(filepath.Join(root, "bin", "go"), "env", "GOVERSION")
	cmd.Env = append(withoutKeys(env, "GOTOOLCHAIN", "GOROOT"), "GOTOOLCHAIN=local")
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// lookPath finds an executable in the folders of path.
func lookPath(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if runtime.GOOS == "windows" {
			p += ".exe"
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// getenv is the last value of key in env.
func getenv(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// withoutKeys returns env without the given variables.
func withoutKeys(env []string, keys ...string) []string {
	drop := map[string]bool{}
	for _, k := range keys {
		drop[k] = true
	}
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return out
}

func (c *Config) goCommand() string { return filepath.Join(c.GoRoot, "bin", "go") }

// flags are the go build flags of a plugin: those of the kernel's build
// settings that change compiled code (a package compiled otherwise is
// another version of it, and plugin.Open refuses it), without debug
// information (it halves the link).
func (c *Config) flags() []string {
	flags := []string{"-buildmode=plugin", "-buildvcs=false", "-ldflags=-s -w"}
	for _, k := range []string{"-tags", "-gcflags", "-asmflags", "-pgo"} {
		if v := c.Settings[k]; v != "" {
			flags = append(flags, k+"="+v)
		}
	}
	for _, k := range []string{"-trimpath", "-race", "-msan", "-asan"} {
		if c.Settings[k] == "true" {
			flags = append(flags, k)
		}
	}
	return flags
}

// envSettingRE matches the build settings that are environment variables
// (CGO_ENABLED, CGO_CFLAGS, GOAMD64, GOEXPERIMENT, ...).
var envSettingRE = regexp.MustCompile(`^(CGO_[A-Z]+|GO[A-Z0-9]+)$`)

// settingsEnv are the kernel's build settings that go build takes from the
// environment, as KEY=value, sorted.
func (c *Config) settingsEnv() []string {
	var out []string
	for k, v := range c.Settings {
		if envSettingRE.MatchString(k) {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

// buildEnv is the environment of go build: the cells' environment without
// what would change the build (another toolchain, workspace, proxy, flags,
// target), then the builder's caches where the environment names none,
// then the kernel's own settings. GOPROXY=off: every module is in the
// builder's module cache since the kernel was built from it, and a kernel
// never downloads.
func (c *Config) buildEnv() []string {
	var keep []string
	for _, kv := range c.Env {
		k, _, _ := strings.Cut(kv, "=")
		if envSettingRE.MatchString(k) && k != "GOPATH" && k != "GOMODCACHE" && k != "GOCACHE" && k != "GOTMPDIR" && k != "GOENV" {
			continue
		}
		keep = append(keep, kv)
	}
	keep = append(keep, "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=", "GOPROXY=off", "GO111MODULE=on", "GOROOT="+c.GoRoot)
	if c.ModCache != "" {
		keep = append(keep, "GOMODCACHE="+c.ModCache)
	}
	if c.BuildCache != "" {
		keep = append(keep, "GOCACHE="+c.BuildCache)
	}
	return append(keep, c.settingsEnv()...)
}

// executableID identifies the running binary: its Go build ID, or the hash
// of its bytes where that cannot be read.
func executableID() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if f, err := elf.Open(exe); err == nil {
		defer f.Close()
		if s := f.Section(".note.go.buildid"); s != nil {
			if data, err := s.Data(); err == nil {
				return "elf:" + hex.EncodeToString(data)
			}
		}
	}
	f, err := os.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
