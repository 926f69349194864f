package lab

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGoDocShowsTrainExample checks that `go doc golab/lab Train` shows an
// example, which go doc only prints from the doc comment (not from Example
// functions).
func TestGoDocShowsTrainExample(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(gobin, "doc", "golab/lab", "Train").CombinedOutput()
	if err != nil {
		t.Fatalf("go doc: %v\n%s", err, out)
	}
	for _, want := range []string{"lab.Train(model, train, val, lab.Config{", "lab.LoadCIFAR", "models.CNNModel()"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("go doc golab/lab Train does not show %q:\n%s", want, out)
		}
	}
}
