package kernel

import (
	"strings"
	"testing"
	"time"

	"golab/kernel/internal/wire"
)

func TestClientDate(t *testing.T) {
	for _, c := range []struct {
		date string
		prec time.Duration
		ok   bool
	}{
		{"2026-11-29T19:52:03.602Z", time.Millisecond, true},         // JavaScript's toISOString
		{"2026-11-29T19:52:03.602123Z", time.Microsecond, true},      // jupyter_client, the Go client
		{"2026-11-29T19:52:03.602123+00:00", time.Microsecond, true}, // Python's isoformat
		{"2026-11-29T19:52:03.602123456Z", time.Nanosecond, true},    // finer clocks
		{"2026-11-29T19:52:03.6021234567Z", time.Nanosecond, true},   // beyond nanoseconds
		{"2026-11-29T19:52:03Z", time.Second, true},                  // no fraction
		{"2026-11-29T19:52:03.602123", time.Microsecond, true},       // no zone (old clients)
		{"", 0, false},
		{"yesterday", 0, false},
	} {
		_, prec, ok := clientDate(c.date)
		if ok != c.ok || prec != c.prec {
			t.Errorf("clientDate(%q): precision %v, ok %v; want %v, %v", c.date, prec, ok, c.prec, c.ok)
		}
	}
}

// TestBatchStopRules checks each rule of abort.go on requests built by
// hand: the failed request arrived at kernel time k0 and was answered
// after span; its date is d0 on the client's clock.
func TestBatchStopRules(t *testing.T) {
	k0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	d0 := time.Date(2026, 11, 29, 11, 59, 58, 0, time.UTC) // the client's clock is 2 s behind
	const session = "client-a"
	msg := func(session string, date time.Time, layout string) *wire.Message {
		return &wire.Message{Header: wire.Header{MsgID: "r", Session: session, MsgType: "execute_request", Date: date.Format(layout)}}
	}
	const us = "2006-01-02T15:04:05.000000Z07:00"
	const ms = "2006-01-02T15:04:05.000Z07:00"
	newStop := func(span time.Duration, layout string) *batchStop {
		return newBatchStop(msg(session, d0, layout), k0, k0.Add(span))
	}
	after := k0.Add(time.Hour) // arrived long after the error reply

	for _, c := range []struct {
		name    string
		span    time.Duration // the failed request's time in the kernel
		layout  string        // the dates' precision
		arrived time.Time
		session string
		dates   []time.Duration // the requests' dates after d0, in order
		abort   []bool
	}{
		{"queued before the error reply", time.Millisecond, us, k0.Add(500 * time.Microsecond), session,
			[]time.Duration{time.Hour}, []bool{true}},
		{"another session's queued request runs", time.Millisecond, us, k0, "client-b",
			[]time.Duration{0}, []bool{false}},
		{"dated before the reply could arrive, microseconds", 500 * time.Millisecond, us, after, session,
			[]time.Duration{2 * time.Millisecond, 4 * time.Millisecond, 499 * time.Millisecond}, []bool{true, true, true}},
		{"dated after the reply could arrive, microseconds", 2 * time.Millisecond, us, after, session,
			[]time.Duration{2*time.Millisecond + 10*time.Microsecond}, []bool{false}},
		{"microsecond dates get no batch gap", time.Millisecond, us, after, session,
			[]time.Duration{3 * time.Millisecond}, []bool{false}},
		{"millisecond dates: the date's precision counts", 3 * time.Millisecond, ms, after, session,
			// a date of +2 ms stands for [2, 3) ms: before the edge at 3 ms
			[]time.Duration{2 * time.Millisecond}, []bool{true}},
		{"millisecond dates: a batch, gap by gap", time.Millisecond, ms, after, session,
			[]time.Duration{3 * time.Millisecond, 40 * time.Millisecond, 90 * time.Millisecond, 120 * time.Millisecond}, []bool{true, true, true, true}},
		{"millisecond dates: a gap past batchGap ends the batch", time.Millisecond, ms, after, session,
			[]time.Duration{2 * time.Millisecond, 2*time.Millisecond + batchGap + time.Millisecond}, []bool{true, false}},
		{"second dates get no batch gap", time.Millisecond, time.RFC3339, after, session,
			[]time.Duration{0}, []bool{false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStop(c.span, c.layout)
			for i, d := range c.dates {
				why := s.abort(msg(c.session, d0.Add(d), c.layout), c.arrived)
				if (why != "") != c.abort[i] {
					t.Errorf("request %d dated +%v: aborted %v (%q), want %v", i, d, why != "", why, c.abort[i])
				}
			}
		})
	}

	// A request without a date, or with one that does not parse, is
	// aborted only when it was queued before the reply.
	s := newStop(time.Second, us)
	m := &wire.Message{Header: wire.Header{Session: session, Date: "soon"}}
	if why := s.abort(m, after); why != "" {
		t.Errorf("a request dated %q arriving after the reply was aborted: %s", m.Header.Date, why)
	}
	if why := s.abort(m, k0); !strings.Contains(why, "queued") {
		t.Errorf("a request queued before the reply: %q", why)
	}
	var none *batchStop
	if why := none.abort(m, k0); why != "" {
		t.Errorf("no failed cell, yet aborted: %s", why)
	}
}
