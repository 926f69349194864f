package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/traefik/yaegi/extract"
)

// stdPackages are the standard packages cells may import as compiled
// code: yaegi's own list, plus what later Go versions added. The generic
// packages (cmp, iter, maps, slices) have nothing a binding can hold; the
// kernel interprets them (kernel/internal/polyfill).
var stdPackages = []string{
	"archive/tar", "archive/zip", "bufio", "bytes",
	"compress/bzip2", "compress/flate", "compress/gzip", "compress/lzw", "compress/zlib",
	"container/heap", "container/list", "container/ring", "context",
	"crypto", "crypto/aes", "crypto/cipher", "crypto/des", "crypto/dsa", "crypto/ecdh", "crypto/ecdsa",
	"crypto/ed25519", "crypto/elliptic", "crypto/hmac", "crypto/md5", "crypto/mlkem", "crypto/rand",
	"crypto/rc4", "crypto/rsa", "crypto/sha1", "crypto/sha256", "crypto/sha3", "crypto/sha512",
	"crypto/subtle", "crypto/tls", "crypto/x509", "crypto/x509/pkix",
	"database/sql", "database/sql/driver",
	"debug/buildinfo", "debug/dwarf", "debug/elf", "debug/gosym", "debug/macho", "debug/pe", "debug/plan9obj",
	"encoding", "encoding/ascii85", "encoding/asn1", "encoding/base32", "encoding/base64", "encoding/binary",
	"encoding/csv", "encoding/gob", "encoding/hex", "encoding/json", "encoding/pem", "encoding/xml",
	"errors", "expvar", "flag", "fmt",
	"go/ast", "go/build", "go/build/constraint", "go/constant", "go/doc", "go/doc/comment", "go/format",
	"go/importer", "go/parser", "go/printer", "go/scanner", "go/token", "go/types", "go/version",
	"hash", "hash/adler32", "hash/crc32", "hash/crc64", "hash/fnv", "hash/maphash",
	"html", "html/template",
	"image", "image/color", "image/color/palette", "image/draw", "image/gif", "image/jpeg", "image/png",
	"index/suffixarray", "io", "io/fs", "io/ioutil", "log", "log/slog", "log/syslog",
	"math", "math/big", "math/bits", "math/cmplx", "math/rand", "math/rand/v2",
	"mime", "mime/multipart", "mime/quotedprintable",
	"net", "net/http", "net/http/cgi", "net/http/cookiejar", "net/http/fcgi", "net/http/httptest",
	"net/http/httptrace", "net/http/httputil", "net/mail", "net/netip", "net/rpc", "net/rpc/jsonrpc",
	"net/smtp", "net/textproto", "net/url",
	"os", "os/signal", "os/user", "path", "path/filepath", "reflect", "regexp", "regexp/syntax",
	"runtime", "runtime/debug", "runtime/metrics", "runtime/pprof", "runtime/trace",
	"sort", "strconv", "strings", "sync", "sync/atomic",
	"testing", "testing/fstest", "testing/iotest", "testing/quick", "testing/slogtest",
	"text/scanner", "text/tabwriter", "text/template", "text/template/parse",
	"time", "unicode", "unicode/utf16", "unicode/utf8",
}

// stdExclude names symbols left out of a package's bindings: their
// interface wrappers would need an internal package (Go 1.27's
// encoding/json.Options has a method whose parameter type is internal).
var stdExclude = map[string][]string{"encoding/json": {"^Options$"}}

// osTags are the build constraints some packages need beyond the Go
// version.
var osTags = map[string]string{"log/syslog": " && !windows && !plan9"}

// goMinor returns the minor version of the running toolchain (26 for
// go1.26.8): go run uses the toolchain in use, GOTOOLCHAIN included.
func goMinor() (int, error) {
	v := strings.TrimPrefix(runtime.Version(), "go")
	parts := strings.Split(v, ".")
	if len(parts) < 2 || !strings.HasPrefix(runtime.Version(), "go1.") {
		return 0, fmt.Errorf("cannot bind the standard library of %s: a released Go 1.x is needed", runtime.Version())
	}
	minor := strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' })
	if i := strings.IndexAny(minor, "abcdefghijklmnopqrstuvwxyz"); i >= 0 {
		minor = minor[:i]
	}
	return strconv.Atoi(minor)
}

// stdFile names the bindings file of a standard package for a Go minor
// version.
func stdFile(minor int, pkg string) string {
	return fmt.Sprintf("go1_%d_%s.go", minor, strings.ReplaceAll(pkg, "/", "_"))
}

// generateStdlib writes the standard library bindings of the running Go
// into dir, unless they are there already, and sets the build constraints
// of every version's files so that each toolchain builds exactly one set.
func generateStdlib(dir string, force bool) error {
	minor, err := goMinor()
	if err != nil {
		return err
	}
	h := sha256.New()
	fmt.Fprintf(h, "stdlib gen v3\ngo1.%d\n%s\n%v\n", minor, strings.Join(stdPackages, "\n"), stdExclude)
	stamp := fmt.Sprintf("%x\n", h.Sum(nil))
	stampPath := filepath.Join(dir, fmt.Sprintf("go1_%d.stamp", minor))
	want := map[string]bool{}
	for _, p := range stdPackages {
		want[stdFile(minor, p)] = true
	}
	if old, err := os.ReadFile(stampPath); err == nil && string(old) == stamp && allExist(dir, want) && !force {
		fmt.Printf("stdlib: go1.%d, %d packages, up to date\n", minor, len(stdPackages))
		return fixBuildTags(dir)
	}

	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 2)
		mu   sync.Mutex
		errs []error
	)
	for _, p := range stdPackages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := extractStd(dir, minor, p); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Remove this version's files of packages no longer bound.
	prefix := fmt.Sprintf("go1_%d_", minor)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && strings.HasSuffix(e.Name(), ".go") && !want[e.Name()] {
			log.Printf("removing %s: no longer bound", e.Name())
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := fixBuildTags(dir); err != nil {
		return err
	}
	fmt.Printf("stdlib: go1.%d, %d packages bound\n", minor, len(stdPackages))
	return os.WriteFile(stampPath, []byte(stamp), 0o644)
}

// extractStd writes the bindings of one standard package.
func extractStd(dir string, minor int, pkg string) error {
	ext := extract.Extractor{Dest: "stdlib", Exclude: stdExclude[pkg]}
	var buf bytes.Buffer
	if _, err := ext.Extract(pkg, "", &buf); err != nil {
		return fmt.Errorf("extract %s: %w", pkg, err)
	}
	src := buf.String()
	if m := regexp.MustCompile(`"[^"]*/internal(/[^"]*)?"`).FindString(src); m != "" {
		return fmt.Errorf("extract %s: the bindings import %s; add the symbols that need it to stdExclude in %s", pkg, m, "kernel/internal/bindings/gen/stdlib.go")
	}
	// The extractor hands log.New and log.Logger to a wrapper type of
	// yaegi's own; the kernel keeps the real ones (only the Fatal
	// functions are restricted), so that log.Default() and log.New()
	// agree on the type.
	src = strings.ReplaceAll(src, "reflect.ValueOf(logNew)", "reflect.ValueOf(log.New)")
	src = strings.ReplaceAll(src, "(*logLogger)(nil)", "(*log.Logger)(nil)")
	// The build constraint is set by fixBuildTags; drop the extractor's.
	var lines []string
	for _, l := range strings.Split(src, "\n") {
		if strings.HasPrefix(l, "// +build") || strings.HasPrefix(l, "//go:build") {
			continue
		}
		lines = append(lines, l)
		if strings.HasPrefix(l, "// Code generated") {
			lines = append(lines, "", "//go:build go1."+strconv.Itoa(minor)+osTags[pkg])
		}
	}
	out, err := formatBindings([]byte(strings.Join(lines, "\n")))
	if err != nil {
		return fmt.Errorf("format bindings of %s: %w", pkg, err)
	}
	path := filepath.Join(dir, stdFile(minor, pkg))
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, out) {
		return nil
	}
	return os.WriteFile(path, out, 0o644)
}

var stdFileRE = regexp.MustCompile(`^go1_(\d+)_(.+)\.go$`)

// fixBuildTags gives the files of each Go version the constraint
// go1.V && !go1.W, W being the next version that has files: the newest
// set also serves newer toolchains until make kernel runs with them.
func fixBuildTags(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	versions := map[int]bool{}
	for _, e := range entries {
		if m := stdFileRE.FindStringSubmatch(e.Name()); m != nil {
			v, _ := strconv.Atoi(m[1])
			versions[v] = true
		}
	}
	var sorted []int
	for v := range versions {
		sorted = append(sorted, v)
	}
	sort.Ints(sorted)
	next := map[int]int{}
	for i, v := range sorted {
		if i+1 < len(sorted) {
			next[v] = sorted[i+1]
		}
	}
	for _, e := range entries {
		m := stdFileRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		v, _ := strconv.Atoi(m[1])
		tag := "//go:build go1." + m[1]
		if w, ok := next[v]; ok {
			tag += " && !go1." + strconv.Itoa(w)
		}
		for p, extra := range osTags {
			if strings.ReplaceAll(p, "/", "_") == m[2] {
				tag += extra
			}
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lines := strings.Split(string(b), "\n")
		changed := false
		for i, l := range lines {
			if strings.HasPrefix(l, "//go:build") {
				if l != tag {
					lines[i] = tag
					changed = true
				}
				break
			}
		}
		if changed {
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// symbolsRE matches the line that opens the extractor's map of symbols.
var symbolsRE = regexp.MustCompile(`^\tSymbols\[("[^"]*")\] = map\[string\]reflect\.Value\{$`)

// formatBindings formats generated bindings with the symbols set one
// assignment each, rather than in one map literal: gofmt aligns the values
// of a literal's keys, and Go 1.26 and 1.27 align long ones differently,
// so a file generated with one would not pass the other's gofmt.
func formatBindings(src []byte) ([]byte, error) {
	src, err := format.Source(src)
	if err != nil {
		return nil, err
	}
	var out []string
	inMap := false
	for _, l := range strings.Split(string(src), "\n") {
		switch {
		case !inMap && symbolsRE.MatchString(l):
			key := symbolsRE.FindStringSubmatch(l)[1]
			out = append(out, "\tm := map[string]reflect.Value{}", "\tSymbols["+key+"] = m")
			inMap = true
		case inMap && l == "\t}":
			inMap = false
		case inMap && strings.HasPrefix(l, "\t\t\""):
			k, v, ok := strings.Cut(strings.TrimPrefix(l, "\t\t"), ":")
			if !ok {
				return nil, fmt.Errorf("unexpected bindings line %q", l)
			}
			out = append(out, "\tm["+k+"] = "+strings.TrimSuffix(strings.TrimSpace(v), ","))
		case inMap:
			out = append(out, strings.TrimPrefix(l, "\t"))
		default:
			out = append(out, l)
		}
	}
	return format.Source([]byte(strings.Join(out, "\n")))
}
