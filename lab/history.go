package lab

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
)

// EpochStats are the figures of one finished epoch.
//
// Epochs count from 0, as in the seed assignment's logs ("epoch: 0, steps:
// 0, ..."), everywhere golab shows one: the log lines, Table and HTML,
// BestValAcc, the live training view and the x axis of viz's curves.
type EpochStats struct {
	Epoch        int     `json:"epoch"`      // 0-based, as in the seed's logs
	TrainLoss    float64 `json:"train_loss"` // mean cross-entropy over the epoch
	TrainAcc     float64 `json:"train_acc"`  // percent
	ValLoss      float64 `json:"val_loss"`
	ValAcc       float64 `json:"val_acc"` // percent
	Seconds      float64 `json:"seconds"` // wall time of the epoch, validation included
	ImagesPerSec float64 `json:"images_per_s"`
	LR           float64 `json:"lr,omitempty"` // the learning rate at the epoch's last step, with a schedule
}

// StepLog is one logged point inside an epoch (every LogEvery steps): the
// running loss and accuracy since the start of the epoch.
type StepLog struct {
	Epoch       int     `json:"epoch"`
	Step        int     `json:"step"`
	RunningLoss float64 `json:"train_loss"`
	RunningAcc  float64 `json:"running_acc"` // percent
}

// String formats the log line the way the seed assignment prints it.
func (s StepLog) String() string {
	return fmt.Sprintf("epoch: %d, steps: %d, train_loss: %.3f, running_acc: %.1f %%", s.Epoch, s.Step, s.RunningLoss, s.RunningAcc)
}

// History is what Train returns: per-epoch figures and the logged steps.
type History struct {
	Model  string       `json:"model"` // e.g. "DropoutCNN"
	Label  string       `json:"label"` // the run's configuration, e.g. "DropoutCNN p=0.5"
	Epochs []EpochStats `json:"epochs"`
	Steps  []StepLog    `json:"steps"`
}

// String returns the label of the run.
func (h *History) String() string {
	if h == nil {
		return "<nil History>"
	}
	return h.Label
}

// BestValAcc returns the best validation accuracy and its epoch, or -1 when
// no epoch has finished.
func (h *History) BestValAcc() (acc float64, epoch int) {
	epoch = -1
	for _, e := range h.Epochs {
		if epoch < 0 || e.ValAcc > acc {
			acc, epoch = e.ValAcc, e.Epoch
		}
	}
	return acc, epoch
}

// Seconds is the total wall time of the finished epochs.
func (h *History) Seconds() float64 {
	var s float64
	for _, e := range h.Epochs {
		s += e.Seconds
	}
	return s
}

// Table renders the per-epoch figures as a plain-text table, epochs from 0.
func (h *History) Table() string {
	var b strings.Builder
	lr := false // a column for the learning rate, when a schedule set it
	for _, e := range h.Epochs {
		lr = lr || e.LR != 0
	}
	fmt.Fprintf(&b, "%s\n%5s %10s %9s %8s %7s %8s", h.Label, "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")
	if lr {
		fmt.Fprintf(&b, " %9s", "lr")
	}
	b.WriteString("\n")
	for _, e := range h.Epochs {
		fmt.Fprintf(&b, "%5d %10.3f %8.1f%% %8.3f %6.1f%% %8.1f", e.Epoch, e.TrainLoss, e.TrainAcc, e.ValLoss, e.ValAcc, e.Seconds)
		if lr {
			fmt.Fprintf(&b, " %9.3g", e.LR)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// HTML renders the per-epoch figures as an HTML table, epochs from 0, with
// the epoch of the best validation accuracy in bold. A cell that ends with a
// History shows it.
func (h *History) HTML() string {
	if h == nil {
		return "<p>nil History</p>"
	}
	var b strings.Builder
	b.WriteString(`<table class="golab-history">`)
	if h.Label != "" {
		fmt.Fprintf(&b, "<caption>%s</caption>", html.EscapeString(h.Label))
	}
	b.WriteString("<thead><tr><th>epoch</th><th>train loss</th><th>train acc</th><th>val loss</th><th>val acc</th><th>seconds</th></tr></thead><tbody>")
	_, best := h.BestValAcc()
	for _, e := range h.Epochs {
		row := fmt.Sprintf("<td>%d</td><td>%.3f</td><td>%.1f %%</td><td>%.3f</td><td>%.1f %%</td><td>%.1f</td>",
			e.Epoch, e.TrainLoss, e.TrainAcc, e.ValLoss, e.ValAcc, e.Seconds)
		if e.Epoch == best {
			row = strings.ReplaceAll(strings.ReplaceAll(row, "<td>", "<td><b>"), "</td>", "</b></td>")
		}
		fmt.Fprintf(&b, "<tr>%s</tr>", row)
	}
	if len(h.Epochs) == 0 {
		b.WriteString(`<tr><td colspan="6">no epoch finished yet</td></tr>`)
	}
	b.WriteString("</tbody></table>")
	return b.String()
}

// MarshalIndent returns the History as indented JSON.
func (h *History) MarshalIndent() ([]byte, error) { return json.MarshalIndent(h, "", "  ") }

// decodeHistory reads a saved History and checks that it agrees with its
// run: an object of the run's model and label, epochs numbered 0, 1, 2, …
// each with all its figures, finite and in range, and logged steps inside
// those epochs. want is the number of epochs the run folder committed, or
// -1 when it does not say. The reason is "" when all is well.
func decodeHistory(b []byte, model, label string, want int) (*History, string) {
	fields, reason := object(b)
	if reason != "" {
		return nil, reason
	}
	for _, k := range []string{"model", "label", "epochs"} {
		if _, ok := fields[k]; !ok {
			return nil, fmt.Sprintf("has no %q", k)
		}
	}
	var h History
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Sprintf("does not hold a History (%v)", err)
	}
	if h.Model != model || h.Label != label {
		return nil, fmt.Sprintf("is the History of %q (model %s), not of this run's %q (model %s)", h.Label, h.Model, label, model)
	}
	var epochs []map[string]json.RawMessage
	if err := json.Unmarshal(fields["epochs"], &epochs); err != nil || epochs == nil {
		return nil, fmt.Sprintf("has %s where its list of epochs should be", clipJSON(fields["epochs"]))
	}
	switch {
	case len(h.Epochs) == 0:
		return nil, "holds no finished epoch; a saved run holds at least one"
	case want >= 0 && len(h.Epochs) != want:
		return nil, fmt.Sprintf("holds %d epochs, where the run folder saved %d", len(h.Epochs), want)
	}
	for i, e := range h.Epochs {
		for _, k := range []string{"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds", "images_per_s"} {
			if _, ok := epochs[i][k]; !ok {
				return nil, fmt.Sprintf("lacks the %q of its epoch %d", k, i)
			}
		}
		if e.Epoch != i {
			return nil, fmt.Sprintf("numbers its epoch %d as %d; epochs run 0, 1, 2, … in order", i, e.Epoch)
		}
		if p := figureProblem(map[string]float64{"train_loss": e.TrainLoss, "val_loss": e.ValLoss}, 0, math.MaxFloat64); p != "" {
			return nil, fmt.Sprintf("gives epoch %d %s", i, p)
		}
		if p := figureProblem(map[string]float64{"train_acc": e.TrainAcc, "val_acc": e.ValAcc}, 0, 100); p != "" {
			return nil, fmt.Sprintf("gives epoch %d %s", i, p)
		}
		if p := figureProblem(map[string]float64{"seconds": e.Seconds, "images_per_s": e.ImagesPerSec}, 0, math.MaxFloat64); p != "" {
			return nil, fmt.Sprintf("gives epoch %d %s", i, p)
		}
	}
	for i, s := range h.Steps {
		if s.Epoch < 0 || s.Epoch >= len(h.Epochs) || s.Step < 0 {
			return nil, fmt.Sprintf("logs step %d of epoch %d (entry %d of its steps), outside its %d epochs", s.Step, s.Epoch, i, len(h.Epochs))
		}
		if i > 0 && (s.Epoch < h.Steps[i-1].Epoch || s.Epoch == h.Steps[i-1].Epoch && s.Step <= h.Steps[i-1].Step) {
			return nil, fmt.Sprintf("logs its steps out of order at entry %d (epoch %d, step %d)", i, s.Epoch, s.Step)
		}
		if p := figureProblem(map[string]float64{"train_loss": s.RunningLoss}, 0, math.MaxFloat64); p != "" {
			return nil, fmt.Sprintf("gives its logged step %d of epoch %d %s", s.Step, s.Epoch, p)
		}
		if p := figureProblem(map[string]float64{"running_acc": s.RunningAcc}, 0, 100); p != "" {
			return nil, fmt.Sprintf("gives its logged step %d of epoch %d %s", s.Step, s.Epoch, p)
		}
	}
	return &h, ""
}

// figureProblem names a figure outside [lo, hi], or "" when all are in.
func figureProblem(figs map[string]float64, lo, hi float64) string {
	for _, k := range sortedKeys(figs) {
		if v := figs[k]; !(v >= lo && v <= hi) {
			if hi == math.MaxFloat64 {
				return fmt.Sprintf("%s = %v, where a finite number ≥ %v belongs", k, v, lo)
			}
			return fmt.Sprintf("%s = %v, outside [%v, %v]", k, v, lo, hi)
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
