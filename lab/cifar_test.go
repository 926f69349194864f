package lab

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedCIFAR returns the shared CIFAR-10 folder, or skips the test.
func sharedCIFAR(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CIFAR10_DIR")
	if dir == "" {
		dir = "../../shared/cifar-10-batches-bin"
	}
	if len(missingFiles(dir)) > 0 {
		t.Skipf("CIFAR-10 is not in %s (set CIFAR10_DIR to run this test)", dir)
	}
	return dir
}

func TestLoadSharedCIFAR(t *testing.T) {
	dir := sharedCIFAR(t)
	var out bytes.Buffer
	c, err := LoadCIFARWith(CIFAROptions{Dir: dir, NoDownload: true, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.Len() != 50000 || c.Test.Len() != 10000 || len(c.Classes) != 10 {
		t.Fatalf("loaded %d/%d images, %d classes", c.Train.Len(), c.Test.Len(), len(c.Classes))
	}
	if !strings.Contains(out.String(), "verified") {
		t.Errorf("no verification message: %q", out.String())
	}
	// The shared copy's statistics, as its README gives them.
	mean, std, err := ChannelStats(c.Train)
	if err != nil {
		t.Fatal(err)
	}
	wantMean := [3]float64{0.49125038, 0.48209027, 0.44652094}
	wantStd := [3]float64{0.24523161, 0.24278155, 0.26062877}
	for ch := range 3 {
		if math.Abs(mean[ch]-wantMean[ch]) > 1e-7 || math.Abs(std[ch]-wantStd[ch]) > 1e-7 {
			t.Errorf("channel %d: mean %.8f std %.8f, want %.8f %.8f", ch, mean[ch], std[ch], wantMean[ch], wantStd[ch])
		}
	}
	train, val, err := c.Train.Split(1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 49000 || val.Len() != 1000 {
		t.Errorf("split %d/%d, want 49000/1000", train.Len(), val.Len())
	}
}

func TestLearnsRealSubset(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	dir := sharedCIFAR(t)
	c, err := LoadCIFARWith(CIFAROptions{Dir: dir, NoDownload: true, Out: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := c.Train.Normalize(CIFARMean, CIFARStd)
	train, val, _ := all.Split(500, 1)
	train = train.Head(3000)
	m := smallModel(t, 1)
	cfg := quiet()
	cfg.Epochs, cfg.Optimizer = 3, SGD{LR: 0.01, Momentum: 0.9}
	h, err := Train(m, train, val, cfg)
	if err != nil {
		t.Fatal(err)
	}
	first, last := h.Epochs[0], h.Epochs[len(h.Epochs)-1]
	if !(last.TrainLoss < first.TrainLoss-0.1) || last.ValAcc < 25 {
		t.Errorf("no clear learning on real images (chance is 10%%):\n%s", h.Table())
	}
}

func writeBatch(t *testing.T, path string, size int, mutate func([]byte)) {
	t.Helper()
	b := make([]byte, size)
	if mutate != nil {
		mutate(b)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func allBatchFiles() []string { return append(append([]string{}, trainFiles...), testFiles...) }

func TestTruncatedBatch(t *testing.T) {
	dir := t.TempDir()
	for _, f := range allBatchFiles() {
		writeBatch(t, filepath.Join(dir, f), 0, nil)
	}
	writeBatch(t, filepath.Join(dir, "data_batch_1.bin"), 1234, nil)
	_, err := LoadCIFARWith(CIFAROptions{Dir: dir, NoDownload: true, Out: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "data_batch_1.bin is 1234 bytes") || !strings.Contains(err.Error(), "must be 30730000 bytes") {
		t.Errorf("truncated batch: %v", err)
	}
}

func TestCorruptLabel(t *testing.T) {
	dir := t.TempDir()
	for _, f := range allBatchFiles() {
		writeBatch(t, filepath.Join(dir, f), 0, nil)
	}
	writeBatch(t, filepath.Join(dir, "data_batch_1.bin"), batchBytes, func(b []byte) { b[5*recordBytes] = 200 })
	_, err := LoadCIFARWith(CIFAROptions{Dir: dir, NoDownload: true, Out: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "record 5 has label 200") {
		t.Errorf("corrupt label: %v", err)
	}
}

func TestChecksumMismatchDeletesDownload(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("not the archive"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	_, err := LoadCIFARWith(CIFAROptions{Dir: dir, URL: srv.URL, Out: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "MD5") || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("checksum mismatch: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cifar-10-binary.tar.gz")); !os.IsNotExist(err) {
		t.Errorf("the damaged download is still there (%v)", err)
	}
}

func TestOfflineNamesTheWayOut(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/cifar-10-binary.tar.gz"
	srv.Close() // nothing listens any more: like being offline
	_, err := LoadCIFARWith(CIFAROptions{Dir: t.TempDir(), URL: url, Out: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "CIFAR10_DIR") || !strings.Contains(err.Error(), url) {
		t.Errorf("offline: %v", err)
	}
	_, err = LoadCIFARWith(CIFAROptions{Dir: t.TempDir(), NoDownload: true, Out: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "CIFAR10_DIR") || !strings.Contains(err.Error(), CIFARURL) {
		t.Errorf("missing data without download: %v", err)
	}
}

func TestDownloadVerifyUnpack(t *testing.T) {
	// A miniature of the official archive: the real layout, blank images.
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	add := func(name string, data []byte) {
		tw.WriteHeader(&tar.Header{Name: "cifar-10-batches-bin/" + name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	batch := make([]byte, batchBytes)
	for r := range batchImages {
		batch[r*recordBytes] = byte(r % 10)
	}
	for _, f := range allBatchFiles() {
		add(f, batch)
	}
	add(metaFile, []byte(strings.Join(DefaultClasses, "\n")+"\n\n"))
	add("../../evil.txt", []byte("must not escape"))
	tw.Close()
	gz.Close()
	sum := md5.Sum(buf.Bytes())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(buf.Bytes()) }))
	defer srv.Close()

	root := t.TempDir()
	dir := filepath.Join(root, "cache", "cifar")
	var out bytes.Buffer
	c, err := LoadCIFARWith(CIFAROptions{Dir: dir, URL: srv.URL, MD5: hex.EncodeToString(sum[:]), Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.Len() != 50000 || c.Train.Label(13) != 3 {
		t.Errorf("unpacked set: %d images, label(13) = %d", c.Train.Len(), c.Train.Label(13))
	}
	if !strings.Contains(out.String(), "Verified MD5") {
		t.Errorf("no verification message:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(root, "evil.txt")); err == nil {
		t.Error("an archive entry escaped the data folder")
	}
	out.Reset()
	if _, err := LoadCIFARWith(CIFAROptions{Dir: dir, URL: "http://127.0.0.1:1/", Out: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Files already downloaded and verified") {
		t.Errorf("second load: %q", out.String())
	}
	// A file damaged after the download is caught by its recorded sum.
	f, _ := os.OpenFile(filepath.Join(dir, "test_batch.bin"), os.O_WRONLY, 0)
	f.WriteAt([]byte{9}, 100)
	f.Close()
	if _, err := LoadCIFARWith(CIFAROptions{Dir: dir, NoDownload: true, Out: &out}); err == nil || !strings.Contains(err.Error(), "test_batch.bin does not match its checksum") {
		t.Errorf("damaged file: %v", err)
	}
}
