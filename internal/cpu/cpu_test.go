package cpu

import (
	"testing"
	"time"
)

func TestParseISA(t *testing.T) {
	for s, want := range map[string]ISA{"go": Generic, "purego": Generic, "AVX2": AVX2, " avx512 ": AVX512, "avx-512": AVX512} {
		got, err := ParseISA(s)
		if err != nil || got != want {
			t.Errorf("ParseISA(%q) = %v, %v; want %v", s, got, err, want)
		}
		if back, _ := ParseISA(got.String()); back != got {
			t.Errorf("%v does not round-trip through String", got)
		}
	}
	if _, err := ParseISA("sse"); err == nil {
		t.Error("ParseISA(sse): no error")
	}
}

func TestLevel(t *testing.T) {
	cases := []struct {
		det  ISA
		env  string
		want ISA
		note bool
	}{
		{AVX512, "", AVX512, false},
		{AVX512, "avx2", AVX2, true},
		{AVX512, "go", Generic, true},
		{AVX2, "avx512", AVX2, true}, // cannot ask for more
		{AVX2, "bogus", AVX2, true},
		{Generic, "avx2", Generic, true},
	}
	for _, c := range cases {
		got, note := level(c.det, c.env)
		if got != c.want || (note != "") != c.note {
			t.Errorf("level(%v, %q) = %v, %q; want %v (note: %v)", c.det, c.env, got, note, c.want, c.note)
		}
	}
	if Level > Detected {
		t.Errorf("Level %v above Detected %v", Level, Detected)
	}
	if Describe() == "" {
		t.Error("Describe is empty")
	}
}

func TestMeasurePeak(t *testing.T) {
	for isa := AVX2; isa <= Detected; isa++ {
		p, err := MeasurePeak(isa, 1, 20*time.Millisecond, 2)
		if err != nil {
			t.Fatal(err)
		}
		// Any AVX2 core does at least 8 lanes × 2 operations per ns at
		// 1 GHz, even shared; and no core reaches 1 TFLOP/s.
		if p.GFLOPS < 4 || p.GFLOPS > 1000 {
			t.Errorf("%v peak on 1 thread: %.1f GFLOP/s is implausible", isa, p.GFLOPS)
		}
		if p.GFLOPSWall > 1.5*p.GFLOPS {
			t.Errorf("%v: wall-time rate %.1f above the CPU-time rate %.1f", isa, p.GFLOPSWall, p.GFLOPS)
		}
		t.Logf("%v, 1 thread: %.1f GFLOP/s (%.1f by the wall clock)", isa, p.GFLOPS, p.GFLOPSWall)
	}
	if _, err := MeasurePeak(Detected+1, 1, time.Millisecond, 1); err == nil {
		t.Error("MeasurePeak above Detected: no error")
	}
	if _, err := MeasurePeak(Generic, 1, time.Millisecond, 1); err == nil {
		t.Error("MeasurePeak(Generic): no error")
	}
}
