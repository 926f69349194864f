package lab

import (
	"strings"
	"testing"
)

func TestHistoryHTML(t *testing.T) {
	h := &History{Label: "DropoutCNN p=0.5 <test>", Epochs: []EpochStats{
		{Epoch: 0, TrainLoss: 2.1, TrainAcc: 20, ValLoss: 1.9, ValAcc: 30, Seconds: 50},
		{Epoch: 1, TrainLoss: 1.6, TrainAcc: 40, ValLoss: 1.5, ValAcc: 45.5, Seconds: 51},
		{Epoch: 2, TrainLoss: 1.4, TrainAcc: 50, ValLoss: 1.6, ValAcc: 44, Seconds: 49.5},
	}}
	got := h.HTML()
	for _, want := range []string{
		"<caption>DropoutCNN p=0.5 &lt;test&gt;</caption>",
		"<th>epoch</th>",
		"<tr><td>0</td><td>2.100</td><td>20.0 %</td><td>1.900</td><td>30.0 %</td><td>50.0</td></tr>",
		"<tr><td><b>1</b></td><td><b>1.600</b></td>", // the best validation accuracy, in bold
		"<td>44.0 %</td><td>49.5</td></tr>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("HTML() lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "<tr>"); n != 4 {
		t.Errorf("HTML() has %d rows, want a header and 3 epochs", n)
	}
	empty := (&History{Label: "x"}).HTML()
	if !strings.Contains(empty, "no epoch finished yet") {
		t.Errorf("an empty History renders as %q", empty)
	}
	var nilH *History
	if s := nilH.HTML(); s == "" {
		t.Error("a nil History renders as nothing")
	}
}
