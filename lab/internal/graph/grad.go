package graph

import (
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// A kernel's Backward overwrites the gradients of its parameters, which
// the backward program must add into the parameters' gradient buffers (the
// caller clears them when it wants, as PyTorch's zero_grad). When a buffer
// is clear, as it is in every training step, adding is writing: the
// Backward then writes straight into it. Only when a gradient must be
// added to one already there does it go through a scratch buffer, made on
// first need and shared by the graphs of a model (Scratch). A step thus
// needs no scratch at all, where it took one buffer per parameter per graph
// (17 MB a graph for ImprovedCNN's 4.27 M weights). Checking that a buffer
// is clear, and making its −0s +0 after (as adding to +0 does), cost what
// adding the scratch did: 0.52–0.66 s against 0.57–0.64 s over 100 of
// ImprovedCNN's steps (bench -child improved -cpuprofile, 2026-11-30).

// Scratch holds the gradient scratch of a model's parameters, for all the
// model's training graphs: one buffer per parameter (keyed by its gradient
// buffer), made when a Backward first adds a gradient to one that is not
// clear. Between Backward runs a scratch buffer holds nothing, so graphs
// that never run at the same time can share them. The zero value is ready
// for use. A Scratch is not safe for concurrent use, and the graphs that
// share one must never run at the same time.
type Scratch struct {
	bufs map[scratchKey][]float32
	// clear: the caller has just cleared every gradient buffer, for the
	// next Backward of a program sharing this Scratch (AssumeClear).
	clear bool
}

// AssumeClear tells the next Backward of a program sharing s that every
// parameter's gradient buffer is clear: the caller has just cleared them
// all, and nothing can write them before that Backward. It then writes
// into them without checking them (a pass over every gradient, 17 MB for
// ImprovedCNN). Backward forgets it when it returns.
func (s *Scratch) AssumeClear() { s.clear = true }

// scratchKey names a parameter by its gradient buffer.
type scratchKey struct {
	grad *float32
	n    int
}

// buffer returns the scratch of the parameter k names.
func (s *Scratch) buffer(k scratchKey) []float32 {
	if s.bufs == nil {
		s.bufs = map[scratchKey][]float32{}
	}
	buf, ok := s.bufs[k]
	if !ok {
		buf = make([]float32, k.n)
		s.bufs[k] = buf
	}
	return buf
}

// gradSink is where a kernel's Backward writes the gradient of one of its
// inputs other than input 0, for the op after it to hand on: a parameter
// (acc set), or another leaf whose gradient is wanted.
type gradSink struct {
	acc     []float32 // the parameter's gradient buffer, or nil
	n       int       // the gradient's size
	shared  *Scratch  // where a parameter's scratch comes from; nil: its own
	scratch []float32 // made on first need
	direct  bool      // the last Backward wrote into acc, which was clear
	assumed bool      // and was told so (AssumeClear)
	plain   bool      // tests: always through the scratch
}

// target returns the buffer for this run's Backward: acc itself when it is
// clear, else the scratch. A parameter is read by one op of a graph
// (Apply), so only one gradient op of the graph writes its scratch.
func (s *gradSink) target() []float32 {
	s.assumed = s.acc != nil && !s.plain && s.shared != nil && s.shared.clear
	s.direct = s.assumed || s.acc != nil && !s.plain && isClear(s.acc)
	if s.direct {
		return s.acc
	}
	if s.scratch == nil {
		if s.shared != nil && len(s.acc) > 0 {
			s.scratch = s.shared.buffer(scratchKey{&s.acc[0], s.n})
		} else {
			s.scratch = make([]float32, s.n)
		}
	}
	return s.scratch
}

// add adds the gradient of the last Backward into acc. Written into acc
// directly, it only needs its −0s made +0, which is what adding it to a
// clear buffer gives: so both ways give the same bits. After AssumeClear
// (a training step, whose update reads the gradients at once) the −0s
// stay: an update moves no weight by either zero, the momentum sums
// v·μ + g give +0 for both, and PyTorch's own gradients, assigned after a
// zero_grad that sets them to None, keep theirs too. The pass over every
// gradient it saves was 2.8 % of ImprovedCNN's step (2026-11-30).
func (s *gradSink) add() {
	if s.direct {
		if !s.assumed {
			plusZero(s.acc)
		}
		return
	}
	for j, v := range s.scratch {
		s.acc[j] += v
	}
}

// negZero is the bits of −0.
const negZero = 1 << 31

// words returns a's values two by two as 64-bit words, and the values left
// after them: gradient buffers are large, and checking them a word at a
// time (four words a branch) keeps the checks cheaper than the addition of
// a scratch they replace. Only an 8-byte aligned a has words.
func words(a []float32) ([]uint64, []float32) {
	if len(a) < 2 || uintptr(unsafe.Pointer(unsafe.SliceData(a)))%8 != 0 {
		return nil, a
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(a))), len(a)/2), a[len(a)/2*2:]
}

// isClear reports whether every value of a is +0, as clear(a) leaves it.
func isClear(a []float32) bool { return inParts(a, isClearPart) }

func isClearPart(a []float32) bool {
	w, rest := words(a)
	i := 0
	for ; i+4 <= len(w); i += 4 {
		q := w[i : i+4 : i+4]
		if q[0]|q[1]|q[2]|q[3] != 0 {
			return false
		}
	}
	for _, v := range w[i:] {
		if v != 0 {
			return false
		}
	}
	for _, v := range rest {
		if math.Float32bits(v) != 0 {
			return false
		}
	}
	return true
}

// partMin is the smallest part inParts gives a goroutine of its own.
const partMin = 1 << 16

// inParts runs f over parts of a, on up to GOMAXPROCS goroutines when a is
// large, and reports whether every f did. The scans over a training
// step's gradient buffers (17 MB for ImprovedCNN) were a serial stretch
// that left the second core idle. Parts start at multiples of 16 floats,
// so each is as aligned as a for words.
func inParts(a []float32, f func([]float32) bool) bool {
	n := min(runtime.GOMAXPROCS(0), len(a)/partMin)
	if n <= 1 {
		return f(a)
	}
	bound := func(i int) int { return i * len(a) / n &^ 15 }
	ok := make([]bool, n)
	var wg sync.WaitGroup
	wg.Add(n - 1)
	for i := 1; i < n; i++ {
		go func() {
			defer wg.Done()
			hi := len(a)
			if i < n-1 {
				hi = bound(i + 1)
			}
			ok[i] = f(a[bound(i):hi])
		}()
	}
	ok[0] = f(a[:bound(1)])
	wg.Wait()
	for _, v := range ok {
		if !v {
			return false
		}
	}
	return true
}

// plusZero makes every −0 of a +0.
func plusZero(a []float32) {
	inParts(a, func(p []float32) bool { plusZeroPart(p); return true })
}

func plusZeroPart(a []float32) {
	// A −0 half of a word v is a zero half of x = v ^ lanes, which the
	// classic zero-lane test (x − ones) &^ x & lanes finds (or a false
	// alarm in the half above it, which fixNegZero sorts out).
	const lanes = negZero | negZero<<32
	const ones = 1 | 1<<32
	w, rest := words(a)
	i := 0
	for ; i+4 <= len(w); i += 4 {
		q := w[i : i+4 : i+4]
		x0, x1, x2, x3 := q[0]^lanes, q[1]^lanes, q[2]^lanes, q[3]^lanes
		if ((x0-ones)&^x0|(x1-ones)&^x1|(x2-ones)&^x2|(x3-ones)&^x3)&lanes != 0 {
			fixNegZero(a[2*i : 2*i+8])
		}
	}
	fixNegZero(a[2*i : 2*len(w)])
	fixNegZero(rest)
}

func fixNegZero(a []float32) {
	for j, v := range a {
		if math.Float32bits(v) == negZero {
			a[j] = 0
		}
	}
}
