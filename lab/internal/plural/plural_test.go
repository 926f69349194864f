package plural

import "testing"

func TestN(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{{0, "0 epochs"}, {1, "1 epoch"}, {2, "2 epochs"}, {-1, "-1 epoch"}, {20, "20 epochs"}} {
		if got := N(c.n, "epoch"); got != c.want {
			t.Errorf("N(%d, epoch) = %q, want %q", c.n, got, c.want)
		}
	}
	if got := Of(3, "class", "classes"); got != "3 classes" {
		t.Errorf("Of(3) = %q", got)
	}
	if got := Of(1, "class", "classes"); got != "1 class" {
		t.Errorf("Of(1) = %q", got)
	}
}
