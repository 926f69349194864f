package kernel

import (
	"fmt"
	"strings"
	"time"

	"golab/kernel/internal/wire"
)

// Stopping a batch at a failed cell.
//
// JupyterLab's and Notebook 7's Run All send every cell's execute_request
// with stop_on_error at once, without waiting for replies; when one cell
// fails, the rest must not run: the client sent them before it could know
// of the error. The kernel's queue alone does not hold the batch: the Jupyter
// server forwards Run All's requests in bursts, so after a cell that fails in
// a millisecond most of them arrive later. A request the client sends after
// it received the error reply is a new decision (a person re-running a cell,
// nbclient or a test going on) and runs.
//
// A request of the failed request's session (a client's id; requests of
// other sessions always run) is aborted when
//
//  1. it reached the kernel before the error reply was sent; or
//  2. its header date, plus the date's precision, is no later than the
//     failed request's date plus the time that request spent in the kernel
//     (arrival to error reply): the client cannot have had the reply before
//     then. Both dates are the client's clock; only their difference is
//     used. This alone holds a batch behind a cell that fails after some
//     time; or
//  3. its date has millisecond precision, as a browser's do, and is at
//     most batchGap after the date of the previous request of the batch
//     (the failed one or one aborted).
//
// Rules 1 and 2 never abort a request sent after the error reply reached
// the client. Rule 3 is for a cell that fails faster than the Jupyter
// server forwards the batch: its dates are 1–4 ms apart (JupyterLab 4.6 and
// Notebook 7.6, 20 and 30 cells, gaps of up to 19 ms on a loaded machine),
// while a person reacts to an error in a tenth of a second or more.
// Clients with microsecond dates (jupyter_client: nbclient,
// jupyter_kernel_test; the Go client of the tests) get rules 1 and 2 only.
// The first execute_request of the session that runs ends the batch.

// batchGap is the largest gap between the dates of two requests of one
// batch with millisecond dates (rule 3).
const batchGap = 50 * time.Millisecond

// batchStop is the batch behind a failed execute_request.
type batchStop struct {
	session  string
	failedID string
	replied  time.Time // kernel clock: the error reply was sent after this
	edge     time.Time // client clock: the client cannot have had the reply before this
	failed   time.Time // client clock: the failed request's date
	last     time.Time // client clock: the date of the batch's latest request
	dated    bool      // the failed request's date parsed
}

// newBatchStop records a failed request m, which arrived at the kernel at
// arrived; replied is taken just before its error reply is sent.
func newBatchStop(m *wire.Message, arrived, replied time.Time) *batchStop {
	s := &batchStop{session: m.Header.Session, failedID: m.Header.MsgID, replied: replied}
	if d, _, ok := clientDate(m.Header.Date); ok {
		s.dated = true
		s.edge = d.Add(replied.Sub(arrived))
		s.failed, s.last = d, d
	}
	return s
}

// abort says why the execute_request m, which arrived at arrived, belongs
// to the batch and is aborted; "" means it runs, and ends the batch when it
// is of the batch's session.
func (s *batchStop) abort(m *wire.Message, arrived time.Time) string {
	if s == nil || m.Header.Session != s.session {
		return ""
	}
	if arrived.Before(s.replied) {
		return "it was queued before the error reply"
	}
	d, prec, ok := clientDate(m.Header.Date)
	if !ok || !s.dated {
		return ""
	}
	why := ""
	switch {
	case !d.Add(prec).After(s.edge):
		why = fmt.Sprintf("it was sent %s after the failed request, before the error reply could reach the client", d.Sub(s.failed))
	case prec == time.Millisecond && d.Sub(s.last) <= batchGap:
		why = fmt.Sprintf("it was sent %s after the batch's previous request (%s after the failed one)", d.Sub(s.last), d.Sub(s.failed))
	default:
		return ""
	}
	if d.After(s.last) {
		s.last = d
	}
	return why
}

// clientDate parses the date of a message header and tells its precision,
// the unit of its last digit: a date is a clock reading cut to that unit,
// so the time it stands for lies in [date, date+precision). Dates without
// a zone (old clients) are read as UTC; only differences are used.
func clientDate(s string) (t time.Time, prec time.Duration, ok bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if t, err = time.Parse("2006-01-02T15:04:05.999999999", s); err != nil {
			return time.Time{}, 0, false
		}
	}
	prec = time.Second
	if i := strings.IndexByte(s, '.'); i >= 0 {
		for _, c := range s[i+1:] {
			if c < '0' || c > '9' || prec == time.Nanosecond {
				break
			}
			prec /= 10
		}
	}
	return t, prec, true
}
