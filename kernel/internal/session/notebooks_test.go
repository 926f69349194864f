package session

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golab/frontend"
)

// notebookCell is a code cell of a test notebook and what it must give
// (kernel/testdata/student_*.ipynb; kernel/tests/test_student_notebooks.py
// checks the same through the kernel and Jupyter).
type notebookCell struct {
	Source string
	Expect struct {
		Result         *string  `json:"result"`
		ResultContains string   `json:"result_contains"`
		NoResult       bool     `json:"no_result"`
		Stdout         *string  `json:"stdout"`
		StdoutContains string   `json:"stdout_contains"`
		MIME           []string `json:"mime"`
		Error          *struct {
			Ename          string `json:"ename"`
			EvalueContains string `json:"evalue_contains"`
			Line           int    `json:"line"`
		} `json:"error"`
		KernelOnly bool `json:"kernel_only"` // needs the kernel (display messages, stdin)
	}
}

func readNotebook(t *testing.T, path string) []notebookCell {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []struct {
			CellType string          `json:"cell_type"`
			Source   json.RawMessage `json:"source"`
			Metadata struct {
				Golab json.RawMessage `json:"golab"`
			} `json:"metadata"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatal(err)
	}
	var out []notebookCell
	for _, c := range nb.Cells {
		if c.CellType != "code" {
			continue
		}
		var nc notebookCell
		var lines []string
		if err := json.Unmarshal(c.Source, &nc.Source); err != nil {
			if err := json.Unmarshal(c.Source, &lines); err != nil {
				t.Fatal(err)
			}
			nc.Source = strings.Join(lines, "")
		}
		if len(c.Metadata.Golab) > 0 {
			if err := json.Unmarshal(c.Metadata.Golab, &nc.Expect); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		out = append(out, nc)
	}
	return out
}

// TestStudentNotebooks runs the student notebooks of kernel/testdata cell
// by cell in a session and checks each cell's expectations.
func TestStudentNotebooks(t *testing.T) {
	paths, _ := filepath.Glob("../../testdata/student_*.ipynb")
	if len(paths) == 0 {
		t.Fatal("no student notebooks in kernel/testdata")
	}
	total := 0
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			h := &recordingHost{}
			defer frontend.Set(h)()
			ts := newTestSession(t)
			for i, c := range readNotebook(t, path) {
				total++
				h.shown = nil
				ts.n++
				res, err := ts.Execute(context.Background(), fmt.Sprintf("In[%d]", ts.n), c.Source)
				out := ts.out.take()
				where := fmt.Sprintf("cell %d %q", i+1, c.Source)
				if len(where) > 90 {
					where = where[:90] + "...\""
				}
				x := c.Expect
				if x.Error != nil {
					e, ok := err.(*Error)
					switch {
					case !ok:
						t.Errorf("%s: want %s containing %q, got %v", where, x.Error.Ename, x.Error.EvalueContains, err)
					case e.Name != x.Error.Ename || !strings.Contains(e.Value, x.Error.EvalueContains):
						t.Errorf("%s: want %s containing %q, got %s: %s", where, x.Error.Ename, x.Error.EvalueContains, e.Name, e.Value)
					case x.Error.Line > 0 && !strings.HasPrefix(e.Value, fmt.Sprintf("%d:", x.Error.Line)):
						t.Errorf("%s: want the error at line %d, got %s", where, x.Error.Line, e.Value)
					}
					if x.Stdout != nil && out != *x.Stdout {
						t.Errorf("%s: stdout %q, want %q", where, out, *x.Stdout)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				text, mimes := "", map[string]bool{}
				if len(res.Values) > 0 {
					var parts []string
					for _, d := range res.Values {
						s, _ := d.Data["text/plain"].(string)
						if len(d.Data) == 0 {
							s = "<nil>"
						}
						parts = append(parts, s)
						for m := range d.Data {
							mimes[m] = true
						}
					}
					text = strings.Join(parts, " ")
				}
				for _, b := range h.shown {
					for m := range b {
						mimes[m] = true
					}
				}
				if x.Result != nil && (len(res.Values) == 0 || text != *x.Result) {
					t.Errorf("%s: result %q, want %q", where, text, *x.Result)
				}
				if x.ResultContains != "" && !strings.Contains(text, x.ResultContains) {
					t.Errorf("%s: result %q, want it to contain %q", where, text, x.ResultContains)
				}
				if x.NoResult && len(res.Values) > 0 {
					t.Errorf("%s: result %q, want none", where, text)
				}
				if x.Stdout != nil && out != *x.Stdout {
					t.Errorf("%s: stdout %q, want %q", where, out, *x.Stdout)
				}
				if x.StdoutContains != "" && !strings.Contains(out, x.StdoutContains) {
					t.Errorf("%s: stdout %q, want it to contain %q", where, out, x.StdoutContains)
				}
				if !x.KernelOnly {
					for _, m := range x.MIME {
						if !mimes[m] {
							t.Errorf("%s: no %s among %v", where, m, mimes)
						}
					}
				}
			}
		})
	}
	t.Logf("%d code cells checked", total)
}
