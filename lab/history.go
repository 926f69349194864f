package lab

import (
	"encoding/json"
	"fmt"
	"html"
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
	fmt.Fprintf(&b, "%s\n%5s %10s %9s %8s %7s %8s\n", h.Label, "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")
	for _, e := range h.Epochs {
		fmt.Fprintf(&b, "%5d %10.3f %8.1f%% %8.3f %6.1f%% %8.1f\n", e.Epoch, e.TrainLoss, e.TrainAcc, e.ValLoss, e.ValAcc, e.Seconds)
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
