package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

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
	batches := append(append([]string{}, trainFiles...), testFiles...)
	if missing := missingFiles(dir); len(missing) > 0 {
		if o.NoDownload {
			return nil, fmt.Errorf("lab: CIFAR-10 is not in %s (missing %s). Set CIFAR10_DIR to a folder holding the binary batches, or allow the download of %s", dir, strings.Join(missing, ", "), o.URL)
		}
		a := download.Archive{URL: o.URL, MD5: o.MD5, Name: "cifar-10-binary.tar.gz", Files: batches, Extra: []string{metaFile}}
		if err := a.Fetch(o.Context, dir, o.Out); err != nil {
			return nil, err
		}
	} else if err := download.Verify(dir, o.Out); err != nil {
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
