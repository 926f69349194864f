package nn

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// parallel runs f(w, lo, hi) over [0, n) on up to GOMAXPROCS goroutines,
// the caller's among them; w numbers the goroutine, for its scratch
// buffers. The items are handed out in chunks as the goroutines come for
// them, rather than split evenly up front: on a shared machine one core
// is often slower for a while, and a fixed split left the other waiting
// for it at every layer. A goroutine may so get several ranges, in any
// order. Nothing here may depend on which goroutine runs which items or
// how many there are: kernels that reduce across items do so over fixed
// shards (see shards) in a fixed order.
//
// The other goroutines are a team that stays awake for a moment between
// calls (see team); a call made while the team is busy (from inside f, or
// from two goroutines at once) starts goroutines of its own.
func parallel(n int, f func(w, lo, hi int)) {
	nw := workers(n)
	if nw <= 1 {
		if n > 0 {
			f(0, 0, n)
		}
		return
	}
	// Chunks of about an eighth of a goroutine's share: small enough to
	// even out, large enough that taking one costs nothing.
	j := &job{f: f, n: n, grain: max(1, n/(8*nw))}
	if theTeam.mu.TryLock() {
		theTeam.run(j, nw)
		theTeam.mu.Unlock()
	} else {
		j.spawn(nw)
	}
	if p := j.caught.Load(); p != nil {
		panic(*p)
	}
}

// A job is one call of parallel: its items go to whichever goroutine asks
// next.
type job struct {
	f        func(w, lo, hi int)
	n, grain int
	next     atomic.Int64
	pending  atomic.Int32        // goroutines other than the caller's still running
	caught   atomic.Pointer[any] // a panic of f, for the caller
}

// work runs chunks of j on goroutine w until none are left. A panic of f
// is kept for the caller (on a worker goroutine it would kill the whole
// process, a notebook's kernel) and ends this goroutine's part.
func (j *job) work(w int) {
	defer func() {
		if r := recover(); r != nil {
			j.caught.CompareAndSwap(nil, &r)
		}
	}()
	for {
		hi := int(j.next.Add(int64(j.grain)))
		lo := hi - j.grain
		if lo >= j.n {
			return
		}
		j.f(w, lo, min(hi, j.n))
	}
}

// spawn runs j on nw−1 new goroutines and the caller's.
func (j *job) spawn(nw int) {
	var wg sync.WaitGroup
	for w := 1; w < nw; w++ {
		wg.Go(func() { j.work(w) })
	}
	j.work(0)
	wg.Wait()
}

// team is parallel's goroutines. Waking a parked goroutine took 112 µs
// on average on the 2-vCPU machine of 2026-11-30 (a training step of
// ImprovedCNN makes about 60 calls), so after a job each member spins
// for teamSpin watching for the next before it parks. At 200 µs the
// serial stretches of a step (the loss, the optimizer's bookkeeping) still
// let the members park: the first op of the backward pass, a 512 × 10
// linear layer, took 0.57 ms, 0.07–0.11 at 1 ms. Alternated steps
// (best, median of 3–4 rounds), 200 µs against 1 ms: ImprovedCNN 57.3,
// 60.0 against 53.0, 58.0 ms; DropoutCNN 60.1, 63.9 against 56.8, 59.9;
// CNNModel 19.2, 19.5 against 16.1, 17.8. At 5 ms ImprovedCNN was slower
// again (57.7, 62.4): a spinning member holds its P from the runtime.
type team struct {
	mu      sync.Mutex // held by the call of parallel using the team
	members []*member
}

var theTeam team

// teamSpin is how long a member stays awake after a job.
const teamSpin = time.Millisecond

type member struct {
	w      int           // the goroutine number f sees
	seq    atomic.Uint64 // jobs handed to this member so far
	done   uint64        // jobs it has run
	job    *job          // the latest, written before seq
	parked atomic.Bool
	wake   chan struct{} // a token after seq moves while parked
}

// run hands j to nw−1 members, runs the caller's part and waits for theirs.
func (t *team) run(j *job, nw int) {
	for len(t.members) < nw-1 {
		m := &member{w: len(t.members) + 1, wake: make(chan struct{}, 1)}
		t.members = append(t.members, m)
		go m.loop()
	}
	j.pending.Store(int32(nw - 1))
	for _, m := range t.members[:nw-1] {
		m.job = j
		m.seq.Add(1)
		if m.parked.Load() {
			select {
			case m.wake <- struct{}{}:
			default:
			}
		}
	}
	j.work(0)
	// The members' last chunks are at most a grain long: spin, and only
	// after teamSpin let the scheduler in (its locks showed in profiles).
	var since time.Time
	for i := 1; j.pending.Load() != 0; i++ {
		if i%256 != 0 {
			continue
		}
		if since.IsZero() {
			since = time.Now()
		} else if time.Since(since) > teamSpin {
			runtime.Gosched()
		}
	}
}

// loop runs the member's jobs as they come, for ever.
func (m *member) loop() {
	for {
		spinUntil := time.Now().Add(teamSpin)
		for i := 1; m.seq.Load() == m.done; i++ {
			if i%256 != 0 || time.Now().Before(spinUntil) {
				continue
			}
			// Park. The dispatcher moves seq, then looks at parked;
			// here parked is set, then seq looked at: one of the two
			// sees the other. A stale token only costs a look at seq.
			m.parked.Store(true)
			if m.seq.Load() == m.done {
				<-m.wake
			}
			m.parked.Store(false)
			spinUntil = time.Now().Add(teamSpin)
		}
		m.done++
		m.runJob(m.job)
	}
}

// runJob runs the member's part of j. Should f end the goroutine
// (runtime.Goexit), the job is still finished and a new goroutine takes
// the member's place.
func (m *member) runJob(j *job) {
	returned := false
	defer func() {
		j.pending.Add(-1)
		if !returned {
			go m.loop()
		}
	}()
	j.work(m.w)
	returned = true
}

// workers is how many goroutines parallel uses for n items.
func workers(n int) int { return max(1, min(runtime.GOMAXPROCS(0), n)) }

// parallelElems is parallel for element-wise kernels over n floats: it
// stays on one goroutine below a size where a second one does not pay.
func parallelElems(n int, f func(lo, hi int)) {
	const minChunk = 1 << 15
	chunks := min(workers(n), max(1, n/minChunk))
	if chunks <= 1 {
		f(0, n)
		return
	}
	parallel(chunks, func(_, lo, hi int) { f(lo*n/chunks, hi*n/chunks) })
}

// maxShards bounds the number of partial sums a batch reduction keeps.
const maxShards = 4

// shards splits a batch of n items into the fixed shards that reductions
// over the batch use: shard s holds items [s·n/k, (s+1)·n/k). The split
// depends only on n, so reduced sums are the same bit for bit whatever the
// number of threads.
func shards(n int) int { return max(1, min(n, maxShards)) }

// perWorker returns buf resized to nw buffers of n floats each, keeping
// the old ones where they are large enough. Call it before parallel.
func perWorker(buf [][]float32, nw, n int) [][]float32 {
	for len(buf) < nw {
		buf = append(buf, nil)
	}
	for w := range nw {
		buf[w] = grow(buf[w], n)
	}
	return buf
}

func grow(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}
