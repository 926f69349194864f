package torchref

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"golab/lab"
)

// TestSplitMatchesLab checks that the reference holds out the same
// validation images as lab.Dataset.Split and shuffles an epoch as lab.Train
// does (Go's PCG and Perm, re-implemented in cifar.py).
func TestSplitMatchesLab(t *testing.T) {
	py, err := FindPython("torch")
	if IsNotFound(err) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	const n, val, seed, epoch = 3000, 300, 7, 3
	// Image i carries i in its first two bytes, so a view tells which
	// images it holds.
	pix := make([]byte, n*lab.ImageBytes)
	labels := make([]uint8, n)
	for i := range n {
		pix[i*lab.ImageBytes], pix[i*lab.ImageBytes+1] = byte(i>>8), byte(i)
	}
	d, err := lab.NewDataset("synthetic", lab.DefaultClasses, pix, labels)
	if err != nil {
		t.Fatal(err)
	}
	train, valSet, err := d.Split(val, seed)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(s *lab.Dataset, k int) []int {
		out := make([]int, k)
		for i := range out {
			img := s.Image(i)
			out[i] = int(img[0])<<8 | int(img[1])
		}
		return out
	}
	out, err := Run(py, "split", "--n", "3000", "--val", "300", "--seed", "7", "--epoch", "3")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Val        []int `json:"val"`
		TrainHead  []int `json:"train_head"`
		EpochOrder []int `json:"epoch_order_head"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := ids(valSet, val); !slices.Equal(got.Val, want) {
		t.Errorf("validation images differ:\nreference %v…\nlab       %v…", got.Val[:10], want[:10])
	}
	if want := ids(train, 20); !slices.Equal(got.TrainHead, want) {
		t.Errorf("training images differ:\nreference %v\nlab       %v", got.TrainHead, want)
	}
	// lab.Train's order in an epoch: rand.NewPCG(cfg.Seed, epoch).Perm.
	if want := rand.New(rand.NewPCG(seed, epoch)).Perm(n - val)[:20]; !slices.Equal(got.EpochOrder, want) {
		t.Errorf("epoch order differs:\nreference %v\nGo        %v", got.EpochOrder, want)
	}
}

// TestFindPythonExplicit checks that an unusable $TORCH_PYTHON is an error
// that names it, not a reason to skip.
func TestFindPythonExplicit(t *testing.T) {
	t.Setenv(Env, "/nonexistent/python")
	_, err := findPython([]string{"torch"})
	if err == nil || IsNotFound(err) {
		t.Fatalf("got %v, want an explicit error", err)
	}
	if !strings.Contains(err.Error(), "/nonexistent/python, which does not exist") {
		t.Errorf("the error should name the Python and what is wrong: %v", err)
	}
}

// TestFindPythonNone checks the message of a search that finds nothing: one
// line naming every Python tried and how to set one.
func TestFindPythonNone(t *testing.T) {
	t.Setenv(Env, "")
	_, err := findPython([]string{"no_such_module_golab"})
	if !IsNotFound(err) {
		t.Fatalf("got %v, want a not-found error", err)
	}
	msg := err.Error()
	for _, want := range []string{DebianVenv, "python3", "/usr/bin/python3", "TORCH_PYTHON", "make torch-env"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("the message should be one line: %q", msg)
	}
}
