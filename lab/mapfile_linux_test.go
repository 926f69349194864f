package lab

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeFixture writes six batch files whose pixels differ from file to
// file and image to image.
func writeFixture(t *testing.T, dir string) {
	t.Helper()
	for k, f := range allBatchFiles() {
		writeBatch(t, filepath.Join(dir, f), batchBytes, func(b []byte) {
			for r := range batchImages {
				rec := b[r*recordBytes : (r+1)*recordBytes]
				rec[0] = byte((r + k) % 10)
				for p := range ImageBytes {
					rec[1+p] = byte(r*31 + p*7 + k*101)
				}
			}
		})
	}
}

// digest hashes every image and label of d, through Image and Batch both.
func digest(d *Dataset) [32]byte {
	h := sha256.New()
	var b *Batch
	for i := range d.Len() {
		h.Write(d.Image(i))
		h.Write([]byte{byte(d.Label(i))})
	}
	for i := 0; i < d.Len(); i += 1000 {
		b = d.Batch([]int{i, i + 1}, b)
		for _, x := range b.X[:64] {
			h.Write([]byte{byte(x * 255)})
		}
	}
	return [32]byte(h.Sum(nil))
}

func TestMappedSetSurvivesTruncateAndRewrite(t *testing.T) {
	dir := t.TempDir()
	writeFixture(t, dir)
	var out bytes.Buffer
	c, err := LoadCIFARWith(CIFAROptions{Dir: dir, NoDownload: true, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Mapped || !strings.Contains(out.String(), "Pixels mapped read-only") {
		t.Fatalf("not mapped: %s", out.String())
	}
	train, test := digest(c.Train), digest(c.Test)
	r, p, k := 1, 5, 1 // image 10,001 is record 1 of the second file
	if c.Train.Image(0)[0] != 0 || c.Train.Image(10001)[p] != byte(r*31+p*7+k*101) {
		t.Fatal("fixture pixels read back wrong")
	}

	// Another program truncates a training file; this one rewrites a
	// second in place (O_TRUNC) and truncates the test file. Each waits
	// for this process to move that file's pixels to private memory.
	t0 := time.Now()
	// (A shell redirect opens with O_TRUNC and blocks; a writer that opens
	// with O_NONBLOCK, like coreutils' truncate, gets EAGAIN until then.)
	sh := exec.Command("sh", "-c", `head -c 1000 /dev/zero > "$0"`, filepath.Join(dir, "data_batch_1.bin"))
	if b, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the other program: %v %s", err, b)
	}
	if err := os.WriteFile(filepath.Join(dir, "data_batch_2.bin"), bytes.Repeat([]byte{7}, batchBytes), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, "test_batch.bin"), 0); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("the writers waited %v: the lease break was not answered (the kernel gave up on us)", d)
	}

	// Only the files being changed were copied; the others stay shared.
	for f, want := range map[string]bool{"data_batch_1.bin": false, "data_batch_3.bin": true, "test_batch.bin": false} {
		abs, _ := filepath.Abs(filepath.Join(dir, f))
		mappedMu.Lock()
		b := mapped[abs]
		mappedMu.Unlock()
		if b == nil || b.m.shared() != want {
			t.Errorf("%s: still shared should be %v", f, want)
		}
	}
	// The loaded sets still hold exactly the images they had: no fault.
	if digest(c.Train) != train || digest(c.Test) != test {
		t.Error("the images of a loaded set changed when their files did")
	}
	// A new load reports the damage.
	_, err = LoadCIFARWith(CIFAROptions{Dir: dir, NoDownload: true, Out: &out})
	if err == nil || !strings.Contains(err.Error(), "data_batch_1.bin is 1000 bytes") {
		t.Errorf("load of a truncated file: %v", err)
	}
}

func TestMappedSetReusedAndSameAsRead(t *testing.T) {
	dir := t.TempDir()
	writeFixture(t, dir)
	a, err := LoadCIFARWith(CIFAROptions{Dir: dir, NoDownload: true, Out: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadCIFARWith(CIFAROptions{Dir: dir, NoDownload: true, Out: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Mapped || !b.Mapped || &a.Train.Image(123)[0] != &b.Train.Image(123)[0] {
		t.Error("a second load of unchanged files does not reuse the mapping")
	}
	var out bytes.Buffer
	r, err := LoadCIFARWith(CIFAROptions{Dir: dir, NoDownload: true, NoMap: true, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if r.Mapped || !strings.Contains(out.String(), "read into this kernel's memory") || !strings.Contains(out.String(), "NoMap") {
		t.Errorf("NoMap load: mapped %v, %q", r.Mapped, out.String())
	}
	if digest(r.Train) != digest(a.Train) || digest(r.Test) != digest(a.Test) {
		t.Error("mapped and read sets differ")
	}
	t.Setenv("GOLAB_MMAP", "0")
	if e, err := LoadCIFARWith(CIFAROptions{Dir: dir, NoDownload: true, Out: &bytes.Buffer{}}); err != nil || e.Mapped {
		t.Errorf("GOLAB_MMAP=0: mapped %v, %v", e != nil && e.Mapped, err)
	}
}

func TestNoLeaseReadsIntoMemory(t *testing.T) {
	dir := t.TempDir()
	writeFixture(t, dir)
	defer func(f func(*os.File) error) { takeLease = f }(takeLease)
	takeLease = func(*os.File) error { return syscall.EACCES }
	var out bytes.Buffer
	c, err := LoadCIFARWith(CIFAROptions{Dir: dir, NoDownload: true, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || st.Flags&statfsRdOnly != 0 {
		t.Skip("the temporary folder is on a read-only mount")
	}
	if c.Mapped || !strings.Contains(out.String(), "no read lease") {
		t.Errorf("without a lease: mapped %v, %q", c.Mapped, out.String())
	}
	// Truncating a file it read is harmless.
	if err := os.Truncate(filepath.Join(dir, "data_batch_3.bin"), 0); err != nil {
		t.Fatal(err)
	}
	r, k := 5000, 2 // image 25,000 is record 5,000 of the third file
	if got, want := c.Train.Image(25000)[0], byte(r*31+k*101); got != want {
		t.Errorf("pixel %d after truncation, want %d", got, want)
	}
}
