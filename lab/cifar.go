package lab

import (
	"archive/tar"
	"bufio"
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

	"golab/frontend"
)

// CIFAR-10 as published at https://www.cs.toronto.edu/~kriz/cifar.html.
const (
	CIFARURL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
	CIFARMD5 = "c32a1d4ab5d03f1284b67883e8d87530"

	recordBytes = 1 + ImageBytes
	batchImages = 10000
	batchBytes  = batchImages * recordBytes
)

var (
	trainFiles = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	testFiles  = []string{"test_batch.bin"}
	metaFile   = "batches.meta.txt"
	// DefaultClasses are CIFAR-10's class names, used when batches.meta.txt
	// is absent.
	DefaultClasses = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}
)

// CIFAR is the loaded data set: 50,000 training and 10,000 test images.
type CIFAR struct {
	Train   *Dataset
	Test    *Dataset
	Classes []string
	Dir     string // where the batches were read from
}

// CIFAROptions tune LoadCIFARWith.
type CIFAROptions struct {
	// Dir holds the binary batches. Empty: $CIFAR10_DIR, else a folder in
	// the user's cache directory.
	Dir string
	// URL and MD5 of the archive to download when the batches are missing;
	// empty means CIFARURL and CIFARMD5.
	URL, MD5 string
	// NoDownload turns a missing data set into an error instead of a
	// download.
	NoDownload bool
	// Out receives progress and status lines; default os.Stdout.
	Out io.Writer
	// Context cancels a download; default the running cell's context.
	Context context.Context
}

// LoadCIFAR loads CIFAR-10's binary batches from dir, or when dir is empty
// from $CIFAR10_DIR or the user's cache folder, downloading and verifying
// the official archive if they are missing there. Images stay uint8; they
// are normalized batch by batch during training.
func LoadCIFAR(dir string) (*CIFAR, error) {
	return LoadCIFARWith(CIFAROptions{Dir: dir})
}

// CIFARDir returns the folder LoadCIFAR reads when given no folder.
func CIFARDir() (string, error) {
	if d := os.Getenv("CIFAR10_DIR"); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("lab: no folder for CIFAR-10: $CIFAR10_DIR is unset and there is no user cache directory (%v)", err)
	}
	return filepath.Join(c, "golab", "cifar-10-batches-bin"), nil
}

// LoadCIFARWith is LoadCIFAR with options.
func LoadCIFARWith(o CIFAROptions) (*CIFAR, error) {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.URL == "" {
		o.URL = CIFARURL
	}
	if o.MD5 == "" {
		o.MD5 = CIFARMD5
	}
	if o.Context == nil {
		o.Context = frontend.Context()
	}
	dir := o.Dir
	if dir == "" {
		var err error
		if dir, err = CIFARDir(); err != nil {
			return nil, err
		}
	}
	if missing := missingFiles(dir); len(missing) > 0 {
		if o.NoDownload {
			return nil, fmt.Errorf("lab: CIFAR-10 is not in %s (missing %s). Set CIFAR10_DIR to a folder holding the binary batches, or allow the download of %s", dir, strings.Join(missing, ", "), o.URL)
		}
		if err := downloadCIFAR(o, dir); err != nil {
			return nil, err
		}
	} else if err := verifySums(dir, o.Out); err != nil {
		return nil, err
	}
	classes := readClasses(dir)
	trainPix, trainLab, err := readBatches(dir, trainFiles, len(classes))
	if err != nil {
		return nil, err
	}
	testPix, testLab, err := readBatches(dir, testFiles, len(classes))
	if err != nil {
		return nil, err
	}
	train, _ := NewDataset("train", classes, trainPix, trainLab)
	test, _ := NewDataset("test", classes, testPix, testLab)
	return &CIFAR{Train: train, Test: test, Classes: classes, Dir: dir}, nil
}

func missingFiles(dir string) []string {
	var missing []string
	for _, f := range append(append([]string{}, trainFiles...), testFiles...) {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			missing = append(missing, f)
		}
	}
	return missing
}

func readClasses(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return DefaultClasses
	}
	var names []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	if len(names) != 10 {
		return DefaultClasses
	}
	return names
}

// readBatches reads batch files into one pixel array and one label array,
// checking every file's size and every label.
func readBatches(dir string, files []string, classes int) ([]byte, []uint8, error) {
	pixels := make([]byte, 0, len(files)*batchImages*ImageBytes)
	labels := make([]uint8, 0, len(files)*batchImages)
	for _, name := range files {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("lab: reading CIFAR-10: %w", err)
		}
		if len(b) != batchBytes {
			return nil, nil, fmt.Errorf("lab: CIFAR-10 file %s is %d bytes, but a batch file must be %d bytes (%d records of %d). It is truncated or corrupt: delete it and load again to download a fresh copy", path, len(b), batchBytes, batchImages, recordBytes)
		}
		for r := range batchImages {
			rec := b[r*recordBytes : (r+1)*recordBytes]
			if int(rec[0]) >= classes {
				return nil, nil, fmt.Errorf("lab: CIFAR-10 file %s is corrupt: record %d has label %d, but there are %d classes", path, r, rec[0], classes)
			}
			labels = append(labels, rec[0])
			pixels = append(pixels, rec[1:]...)
		}
	}
	return pixels, labels, nil
}

// verifySums checks the batches against a SHA256SUMS file in the folder,
// when there is one (the download writes it; the shared copy has one).
func verifySums(dir string, out io.Writer) error {
	f, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(out, "CIFAR-10 found in %s\n", dir)
		return nil
	}
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		want, name, ok := strings.Cut(strings.TrimSpace(sc.Text()), "  ")
		if !ok {
			continue
		}
		got, err := sha256File(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("lab: verifying CIFAR-10: %w", err)
		}
		if got != want {
			return fmt.Errorf("lab: CIFAR-10 file %s does not match its checksum in %s (sha256 %s, want %s). It is corrupt: delete the folder and load again to download a fresh copy", filepath.Join(dir, name), filepath.Join(dir, "SHA256SUMS"), got, want)
		}
		n++
	}
	fmt.Fprintf(out, "Files already downloaded and verified (%d files in %s)\n", n, dir)
	return nil
}

func sha256File(path string) (string, error) {
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

// downloadCIFAR fetches the archive, verifies its MD5, unpacks the batches
// into dir and records their SHA-256 sums there.
func downloadCIFAR(o CIFAROptions, dir string) error {
	offline := func(err error) error {
		return fmt.Errorf("lab: CIFAR-10 is not in %s and downloading %s failed: %v. Set CIFAR10_DIR to a folder holding the binary batches (data_batch_1.bin ... test_batch.bin), or connect to the internet and try again", dir, o.URL, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("lab: making %s: %w", dir, err)
	}
	archive := filepath.Join(dir, "cifar-10-binary.tar.gz")
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
	if err := unpackCIFAR(archive, dir); err != nil {
		return err
	}
	os.Remove(archive)
	return writeSums(dir)
}

// unpackCIFAR extracts the batch files (and the class names) of the archive
// into dir, flattening its cifar-10-batches-bin/ folder and ignoring
// anything else, so a hostile archive cannot write outside dir.
func unpackCIFAR(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("lab: %s is not a gzip archive: %w", archive, err)
	}
	want := map[string]bool{metaFile: true}
	for _, n := range append(append([]string{}, trainFiles...), testFiles...) {
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
	delete(want, metaFile)
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

func writeSums(dir string) error {
	var b strings.Builder
	for _, n := range append(append([]string{}, trainFiles...), testFiles...) {
		s, err := sha256File(filepath.Join(dir, n))
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		fmt.Fprintf(&b, "%s  %s\n", s, n)
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o644)
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
