package latproxy

import (
	"fmt"
	"strings"
	"time"
)

// ClientTime is when the client saw e: it sent what goes up when the
// proxy read it, and received what comes down when the proxy delivered it.
// ServerTime is the same for the server.
func (e Event) ClientTime() time.Time {
	if e.Kind == Open || (e.Dir == Up && e.Kind != Dial) {
		return e.Sent
	}
	return e.Arrived
}

// ServerTime is when the server saw e (see ClientTime).
func (e Event) ServerTime() time.Time {
	if e.Kind == Open {
		return e.Sent
	}
	if e.Dir == Up || e.Kind == Dial {
		return e.Arrived
	}
	return e.Sent
}

// FormatTrace writes events as a table: the client's and the server's time
// of each, in ms since origin and, with rtt > 0, in round trips.
func FormatTrace(evs []Event, origin time.Time, rtt time.Duration) string {
	var b strings.Builder
	if rtt > 0 {
		fmt.Fprintf(&b, "%10s %7s %10s %6s %4s  %s\n", "client ms", "RTT", "server ms", "conn", "dir", "event")
	} else {
		fmt.Fprintf(&b, "%10s %10s %6s %4s  %s\n", "client ms", "server ms", "conn", "dir", "event")
	}
	ms := func(t time.Time) float64 { return float64(t.Sub(origin)) / float64(time.Millisecond) }
	for _, e := range evs {
		what := e.Text
		kind := "ctl"
		if !e.Control {
			kind = "data"
		}
		switch e.Kind {
		case Line:
		case Open:
			what = kind + " connection to " + e.Text
		case Dial:
			what = kind + " connection reaches the server"
		case Data:
			what = fmt.Sprintf("first data (%d B)", e.Bytes)
		case FIN:
			what = fmt.Sprintf("FIN after %d B", e.Bytes)
		case Reset:
			what = "reset: " + e.Text
		case Close:
			what = kind + " connection closed"
		}
		dir := e.Dir.String()
		if e.Kind == Open || e.Kind == Dial || e.Kind == Close {
			dir = ""
		}
		c := ms(e.ClientTime())
		if rtt > 0 {
			fmt.Fprintf(&b, "%10.1f %7.2f %10.1f %6s %4s  %s\n", c, c/(float64(rtt)/float64(time.Millisecond)), ms(e.ServerTime()), fmt.Sprintf("#%d", e.Conn), dir, what)
		} else {
			fmt.Fprintf(&b, "%10.1f %10.1f %6s %4s  %s\n", c, ms(e.ServerTime()), fmt.Sprintf("#%d", e.Conn), dir, what)
		}
	}
	return b.String()
}
