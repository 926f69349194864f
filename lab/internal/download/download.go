// Package download fetches a data set's archive over HTTP with a progress
// bar, checks its MD5, unpacks the files wanted from it (and nothing else),
// and records their SHA-256 sums beside them, which Verify checks on every
// later load.
package download

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SumsFile is the file of SHA-256 sums written beside the unpacked files.
const SumsFile = "SHA256SUMS"

// Archive is a .tar.gz to fetch.
type Archive struct {
	URL, MD5 string
	Name     string   // the archive's file name while it is downloaded
	Files    []string // files to unpack, all required; their sums are recorded
	Extra    []string // files to unpack when present
}

// ReadSums reads dir's SHA256SUMS file (Fetch writes it; a copy made by
// hand may have one): file name to hex SHA-256. nil when there is none.
func ReadSums(dir string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, SumsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	sums := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if want, name, ok := strings.Cut(strings.TrimSpace(l), "  "); ok {
			sums[name] = want
		}
	}
	return sums, nil
}

// SHA256File returns the hex SHA-256 of a file's contents.
func SHA256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Fetch downloads the archive into dir, verifies its MD5, unpacks its files
// into dir and records their SHA-256 sums there. ctx cancels the download.
func (a Archive) Fetch(ctx context.Context, dir string, out io.Writer) error {
	o := struct {
		URL, MD5 string
		Out      io.Writer
		Context  context.Context
	}{a.URL, a.MD5, out, ctx}
	offline := func(err error) error {
		return fmt.Errorf("lab: CIFAR-10 is not in %s and downloading %s failed: %v. Set CIFAR10_DIR to a folder holding the binary batches (data_batch_1.bin ... test_batch.bin), or connect to the internet and try again", dir, o.URL, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("lab: making %s: %w", dir, err)
	}
	archive := filepath.Join(dir, a.Name)
	fmt.Fprintf(o.Out, "Downloading %s to %s\n", o.URL, archive)
	req, err := http.NewRequestWithContext(o.Context, http.MethodGet, o.URL, nil)
	if err != nil {
		return offline(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return offline(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return offline(fmt.Errorf("the server answered %s", resp.Status))
	}
	f, err := os.Create(archive)
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	sum := md5.New()
	pw := &progressWriter{out: o.Out, total: resp.ContentLength, start: time.Now()}
	_, err = io.Copy(io.MultiWriter(f, sum, pw), resp.Body)
	pw.finish()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(archive)
		return offline(err)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != o.MD5 {
		os.Remove(archive)
		return fmt.Errorf("lab: the download of %s has MD5 %s but should have %s; the damaged file was deleted. Try again, or fetch the archive by hand and set CIFAR10_DIR", o.URL, got, o.MD5)
	}
	fmt.Fprintf(o.Out, "Verified MD5 %s; unpacking\n", o.MD5)
	if err := a.unpack(archive, dir); err != nil {
		return err
	}
	os.Remove(archive)
	return a.writeSums(dir)
}

// unpack extracts the wanted files of the archive into dir, flattening its
// folders and ignoring anything else, so a hostile archive cannot write
// outside dir.
func (a Archive) unpack(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("lab: %s is not a gzip archive: %w", archive, err)
	}
	want := map[string]bool{}
	for _, n := range a.Extra {
		want[n] = true
	}
	for _, n := range a.Files {
		want[n] = true
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("lab: unpacking %s: %w", archive, err)
		}
		name := filepath.Base(h.Name)
		if h.Typeflag != tar.TypeReg || !want[name] {
			continue
		}
		if err := writeFromReader(filepath.Join(dir, name), tr); err != nil {
			return err
		}
		delete(want, name)
	}
	for _, n := range a.Extra {
		delete(want, n)
	}
	if len(want) > 0 {
		return fmt.Errorf("lab: the archive %s lacks %d of the batch files", archive, len(want))
	}
	return nil
}

func writeFromReader(path string, r io.Reader) error {
	tmp := path + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("lab: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (a Archive) writeSums(dir string) error {
	var b strings.Builder
	for _, n := range a.Files {
		s, err := SHA256File(filepath.Join(dir, n))
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		fmt.Fprintf(&b, "%s  %s\n", s, n)
	}
	return os.WriteFile(filepath.Join(dir, SumsFile), []byte(b.String()), 0o644)
}

// progressWriter prints a text progress bar at most every half second.
type progressWriter struct {
	out   io.Writer
	total int64
	done  int64
	start time.Time
	last  time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if time.Since(p.last) > 500*time.Millisecond {
		p.last = time.Now()
		p.print("\r")
	}
	return len(b), nil
}

func (p *progressWriter) print(prefix string) {
	mb := float64(p.done) / 1e6
	rate := mb / max(time.Since(p.start).Seconds(), 1e-3)
	if p.total > 0 {
		frac := float64(p.done) / float64(p.total)
		bar := strings.Repeat("█", int(frac*30)) + strings.Repeat("░", 30-int(frac*30))
		fmt.Fprintf(p.out, "%s%s %5.1f%%  %.1f/%.1f MB  %.1f MB/s", prefix, bar, 100*frac, mb, float64(p.total)/1e6, rate)
	} else {
		fmt.Fprintf(p.out, "%s%.1f MB  %.1f MB/s", prefix, mb, rate)
	}
}

func (p *progressWriter) finish() {
	p.print("\r")
	fmt.Fprintln(p.out)
}
