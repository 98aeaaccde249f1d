package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pasvport/ftp"
)

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress draws a bar for one transfer on a terminal (stderr), with bytes,
// rate and ETA, at most ten times a second; elsewhere it draws nothing.
type progress struct {
	w     io.Writer // nil: no bar
	name  string
	start time.Time
	mu    sync.Mutex
	last  time.Time
	drawn bool
}

func (e *env) newProgress(name string, o *options) *progress {
	p := &progress{name: name, start: time.Now()}
	if !o.json && isTerminal(e.stderr) {
		p.w = e.stderr
	}
	return p
}

// update is the ftp.WithProgress callback.
func (p *progress) update(done, total int64) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && done != total {
		return
	}
	p.last = now
	p.drawn = true
	fmt.Fprint(p.w, "\r"+bar(p.name, done, total, now.Sub(p.start)))
}

// done ends the bar's line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// bar renders "name [=====>    ]  45% 1.2 MiB/2.6 MiB 3.1 MiB/s ETA 0:02".
func bar(name string, done, total int64, elapsed time.Duration) string {
	const width = 30
	if len(name) > 24 {
		name = name[:21] + "..."
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	if total <= 0 {
		return fmt.Sprintf("%-24s %s %s/s", name, size(done), size(int64(rate)))
	}
	frac := min(float64(done)/float64(total), 1)
	n := int(frac * width)
	b := strings.Repeat("=", n)
	if n < width {
		b += ">" + strings.Repeat(" ", width-n-1)
	}
	eta := "--:--"
	if rate > 0 {
		left := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
		eta = fmt.Sprintf("%d:%02d", int(left.Minutes()), int(left.Seconds())%60)
	}
	return fmt.Sprintf("%-24s [%s] %3.0f%% %s/%s %s/s ETA %s ", name, b, frac*100, size(done), size(total), size(int64(rate)), eta)
}

// size formats a byte count.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// status prints a line per mirror action (plain output) and, on a
// terminal, a running count on stderr.
type status struct {
	e     *env
	json  bool
	term  bool
	start time.Time
	mu    sync.Mutex
	files int
	bytes int64
	fails int
}

func (e *env) newStatus(o *options) *status {
	return &status{e: e, json: o.json, term: !o.json && isTerminal(e.stderr), start: time.Now()}
}

func (s *status) action(a ftp.MirrorAction, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.fails++
	} else if a.Op == ftp.OpCopy {
		s.files++
		s.bytes += a.Size
	}
	if s.json {
		return
	}
	if s.term {
		fmt.Fprint(s.e.stderr, "\r\033[K")
	}
	switch {
	case err != nil:
		fmt.Fprintf(s.e.stdout, "FAILED %s %s: %v\n", a.Op, a.Path, err)
	case a.Op == ftp.OpCopy:
		fmt.Fprintf(s.e.stdout, "%s %s (%d bytes, %s)\n", a.Op, a.Path, a.Size, a.Reason)
	default:
		fmt.Fprintf(s.e.stdout, "%s %s\n", a.Op, a.Path)
	}
	if s.term {
		rate := float64(s.bytes) / max(time.Since(s.start).Seconds(), 1e-3)
		fmt.Fprintf(s.e.stderr, "%d files, %s, %s/s, %d failed", s.files, size(s.bytes), size(int64(rate)), s.fails)
	}
}

func (s *status) done() {
	if s.term {
		fmt.Fprint(s.e.stderr, "\r\033[K")
	}
}
