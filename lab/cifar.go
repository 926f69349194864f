package lab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golab/frontend"
	"golab/lab/internal/download"
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
	// Mapped tells whether the pixels stay in the batch files, mapped
	// read-only, so that every process on the host that loads them shares
	// one copy (the page cache), rather than in this process's memory.
	Mapped bool
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
	// NoMap reads the pixels into this process's memory instead of mapping
	// the batch files (so does GOLAB_MMAP=0 in the environment).
	NoMap bool
}

// LoadCIFAR loads CIFAR-10's binary batches from dir, or when dir is empty
// from $CIFAR10_DIR or the user's cache folder, downloading and verifying
// the official archive if they are missing there. Images stay uint8; they
// are normalized batch by batch during training.
//
// On Linux the pixels are not copied: the batch files are mapped read-only,
// so N kernels on one host share one copy of the 184 MB through the page
// cache. A file is mapped only under a read lease: when another program
// opens it for writing or truncates it, the kernel holds that program back
// until this process has moved the pixels to private memory, so a loaded
// Dataset keeps its images and never faults; the next LoadCIFAR reports the
// changed file. Where no lease can be had (a file of another owner, a
// network file system) a file on a read-only mount is still mapped, and
// any other is read into memory, as on other platforms; CIFAR.Mapped and
// the status line say which.
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
	batches := append(append([]string{}, trainFiles...), testFiles...)
	if missing := missingFiles(dir); len(missing) > 0 {
		if o.NoDownload {
			return nil, fmt.Errorf("lab: CIFAR-10 is not in %s (missing %s). Set CIFAR10_DIR to a folder holding the binary batches, or allow the download of %s", dir, strings.Join(missing, ", "), o.URL)
		}
		a := download.Archive{URL: o.URL, MD5: o.MD5, Name: "cifar-10-binary.tar.gz", Files: batches, Extra: []string{metaFile}}
		if err := a.Fetch(o.Context, dir, o.Out); err != nil {
			return nil, err
		}
	}
	classes := readClasses(dir)
	sums, err := download.ReadSums(dir)
	if err != nil {
		return nil, err
	}
	noMap := ""
	switch {
	case o.NoMap:
		noMap = "NoMap is set"
	case os.Getenv("GOLAB_MMAP") == "0":
		noMap = "GOLAB_MMAP=0"
	}
	var ld loading
	train, err := ld.split("train", dir, trainFiles, classes, sums, noMap)
	if err != nil {
		return nil, err
	}
	test, err := ld.split("test", dir, testFiles, classes, sums, noMap)
	if err != nil {
		return nil, err
	}
	if err := verifyOtherSums(dir, sums); err != nil {
		return nil, err
	}
	if sums != nil {
		fmt.Fprintf(o.Out, "Files already downloaded and verified (%d files in %s)\n", len(sums), dir)
	} else {
		fmt.Fprintf(o.Out, "CIFAR-10 found in %s\n", dir)
	}
	if ld.private == "" {
		fmt.Fprintln(o.Out, "Pixels mapped read-only from the batch files: one copy for every kernel on this host")
	} else {
		fmt.Fprintf(o.Out, "Pixels read into this kernel's memory (%d MB): %s\n", (len(trainFiles)+len(testFiles))*batchImages*ImageBytes/1e6, ld.private)
	}
	return &CIFAR{Train: train, Test: test, Classes: classes, Dir: dir, Mapped: ld.private == ""}, nil
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

// loading gathers one LoadCIFAR's batch files.
type loading struct {
	private string // why some pixels are in private memory; "" when all are mapped
}

// split loads the batch files of one split into a Dataset whose pixels
// stay where the files' records are: mapped, or read into memory.
func (ld *loading) split(name, dir string, files []string, classes []string, sums map[string]string, noMap string) (*Dataset, error) {
	store := pixelStore{perChunk: batchImages, stride: recordBytes, skip: 1}
	labels := make([]uint8, 0, len(files)*batchImages)
	for _, f := range files {
		b, why, err := loadBatch(filepath.Join(dir, f), len(classes), sums[f], sumsFile(dir), noMap)
		if err != nil {
			return nil, err
		}
		if why != "" && ld.private == "" {
			ld.private = why
		}
		store.chunks = append(store.chunks, b.records)
		labels = append(labels, b.labels...)
	}
	return &Dataset{Name: name, Classes: classes, pixels: store, labels: labels}, nil
}

// batchData is one verified batch file: its records (label byte, then
// image) and their labels.
type batchData struct {
	records []byte
	labels  []uint8
	sum     string      // SHA-256, hex; "" until a SHA256SUMS asked for it
	m       *mappedFile // nil when the records are in private memory
}

// fileKey tells whether a path still names the file that was mapped.
type fileKey struct{ fi os.FileInfo }

func (k fileKey) same(o fileKey) bool {
	return os.SameFile(k.fi, o.fi) && k.fi.Size() == o.fi.Size() && k.fi.ModTime().Equal(o.fi.ModTime())
}

// mapped holds the batch files this process has mapped, by absolute path.
// A mapping lives as long as the process (a slice from Image may outlive
// its Dataset), so a second LoadCIFAR of unchanged files reuses it.
var (
	mappedMu sync.Mutex
	mapped   = map[string]*batchData{}
)

// loadBatch opens, checks and maps (or reads) one batch file. why is ""
// when the records are mapped, else the reason they are not.
func loadBatch(path string, classes int, wantSum, sumsPath, noMap string) (b *batchData, why string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("lab: reading CIFAR-10: %w", err)
	}
	defer func() {
		if b == nil || b.m == nil {
			f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return nil, "", fmt.Errorf("lab: reading CIFAR-10: %w", err)
	}
	if fi.Size() != batchBytes {
		return nil, "", fmt.Errorf("lab: CIFAR-10 file %s is %d bytes, but a batch file must be %d bytes (%d records of %d). It is truncated or corrupt: delete it and load again to download a fresh copy", path, fi.Size(), batchBytes, batchImages, recordBytes)
	}
	key := fileKey{fi}
	abs, _ := filepath.Abs(path)
	why = noMap
	if why == "" {
		mappedMu.Lock()
		defer mappedMu.Unlock()
		if old := mapped[abs]; old != nil && old.m.shared() && old.m.key.same(key) {
			// Unchanged since it was mapped and verified: the lease (or the
			// read-only mount) rules out a change in between.
			if err := old.check(path, classes, wantSum, sumsPath); err != nil {
				return nil, "", err
			}
			f.Close()
			return old, "", nil
		}
		if m, reason := mapShared(f, batchBytes, key); m != nil {
			b = &batchData{records: m.data, m: m}
		} else {
			why = reason
		}
	}
	if b == nil {
		b = &batchData{records: make([]byte, batchBytes)}
		if _, err := io.ReadFull(f, b.records); err != nil {
			return nil, "", fmt.Errorf("lab: reading CIFAR-10 file %s: %w", path, err)
		}
	}
	if b.m != nil {
		// Read the labels (and the checksum) through the file, not the
		// mapping: a kernel then maps only the pages of the images it uses.
		b.labels, b.sum, err = scanBatch(io.NewSectionReader(f, 0, batchBytes), wantSum != "")
		if err != nil {
			b.m.release()
			return nil, "", fmt.Errorf("lab: reading CIFAR-10 file %s: %w", path, err)
		}
	} else {
		b.labels, b.sum, _ = scanBatch(bytes.NewReader(b.records), wantSum != "")
	}
	if err := b.check(path, classes, wantSum, sumsPath); err != nil {
		if b.m != nil {
			b.m.release()
		}
		b.m = nil
		return nil, "", err
	}
	if b.m != nil {
		mapped[abs] = b
	}
	return b, why, nil
}

// check verifies the labels, and the checksum when one is wanted.
func (b *batchData) check(path string, classes int, wantSum, sumsPath string) error {
	for r, l := range b.labels {
		if int(l) >= classes {
			return fmt.Errorf("lab: CIFAR-10 file %s is corrupt: record %d has label %d, but there are %d classes", path, r, l, classes)
		}
	}
	if wantSum == "" {
		return nil
	}
	if b.sum == "" {
		_, sum, err := scanBatch(bytes.NewReader(b.records), true)
		if err != nil {
			return err
		}
		b.sum = sum
	}
	if b.sum != wantSum {
		return sumMismatch(path, sumsPath, b.sum, wantSum)
	}
	return nil
}

// scanBatch reads a batch file's records once: their labels and, when
// asked, the SHA-256 of the whole file (hex).
func scanBatch(r io.Reader, withSum bool) ([]uint8, string, error) {
	labels := make([]uint8, batchImages)
	h := sha256.New()
	buf := make([]byte, 256*recordBytes)
	for start := 0; start < batchImages; start += 256 {
		n := min(256, batchImages-start) * recordBytes
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return nil, "", err
		}
		for k := 0; k*recordBytes < n; k++ {
			labels[start+k] = buf[k*recordBytes]
		}
		if withSum {
			h.Write(buf[:n])
		}
	}
	if !withSum {
		return labels, "", nil
	}
	return labels, hex.EncodeToString(h.Sum(nil)), nil
}

func sumMismatch(path, sumsPath, got, want string) error {
	return fmt.Errorf("lab: CIFAR-10 file %s does not match its checksum in %s (sha256 %s, want %s). It is corrupt: delete the folder and load again to download a fresh copy", path, sumsPath, got, want)
}

func sumsFile(dir string) string { return filepath.Join(dir, download.SumsFile) }

// verifyOtherSums checks the files SHA256SUMS lists besides the batches.
func verifyOtherSums(dir string, sums map[string]string) error {
	for name, want := range sums {
		if slices.Contains(trainFiles, name) || slices.Contains(testFiles, name) {
			continue
		}
		got, err := download.SHA256File(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("lab: verifying CIFAR-10: %w", err)
		}
		if got != want {
			return sumMismatch(filepath.Join(dir, name), sumsFile(dir), got, want)
		}
	}
	return nil
}
