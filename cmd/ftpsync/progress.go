package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pasvport/ftp"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// termWidth is the width of the terminal w, 80 when unknown.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if n, _, err := term.GetSize(int(f.Fd())); err == nil && n > 0 {
			return n
		}
	}
	return 80
}

// meter follows the transfers of a run: the files done and the bytes of
// those under way, for the progress line and for what an interruption
// keeps. On a terminal it draws one line on stderr, redrawn in place (and
// cleared to its end, so a shorter line leaves nothing behind) at most
// ten times a second: a bar for get and put, the run's files, bytes, rate
// and ETA and the file under way for mirror. Elsewhere it draws nothing.
type meter struct {
	w     io.Writer // the terminal; nil: draw nothing
	width int
	name  string // get, put: the file's name; "": a mirror
	now   func() time.Time
	// parts are the sizes of the parts found before the transfers began
	// (see notePart), by path: where a resume starts. The remote parts of
	// mirror up are not looked up: a resume there counts as moved.
	parts map[string]int64

	mu         sync.Mutex
	start      time.Time
	last       time.Time
	drawn      bool
	files      int   // files done
	filesTotal int   // files to copy (mirror: from the plan)
	bytesDone  int64 // bytes of the files done
	bytesTotal int64 // bytes to copy, -1: unknown
	moved      int64 // bytes of the files done moved by this run
	active     map[string]*fileMeter
}

// fileMeter is one transfer under way.
type fileMeter struct {
	base, done, total int64 // base: what the first report found done (a resumed part)
}

// newProgress is the meter of get or put, which it is for the rest of the
// run.
func (e *env) newProgress(name string, o *options) *meter {
	e.meter = e.newMeter(name, o)
	return e.meter
}

func (e *env) newMeter(name string, o *options) *meter {
	m := &meter{name: name, now: time.Now, bytesTotal: -1, active: map[string]*fileMeter{}, parts: map[string]int64{}}
	m.start = m.now()
	if !o.json && isTerminal(e.stderr) {
		m.w, m.width = e.stderr, termWidth(e.stderr)
	}
	return m
}

// plan sets the run's totals.
func (m *meter) plan(files int, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.filesTotal, m.bytesTotal = files, bytes
}

// update is the progress callback of get and put.
func (m *meter) update(done, total int64) { m.updateFile("", done, total) }

// updateFile is the progress callback of a mirror's transfers.
func (m *meter) updateFile(path string, done, total int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.active[path]
	if f == nil {
		f = &fileMeter{base: m.resumedFrom(path, done)}
		m.active[path] = f
	}
	f.done, f.total = done, total
	now := m.now()
	if m.w == nil || now.Sub(m.last) < 100*time.Millisecond && done != total {
		return
	}
	m.last = now
	m.drawLocked()
}

// notePart records size, that of the part of the transfer of path
// before it began.
func (m *meter) notePart(path string, size int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.parts[path] = size
}

// localPart is the size of the part of the local file name, 0 for none.
func localPart(name string) int64 {
	if fi, err := os.Lstat(ftp.PartName(name)); err == nil && fi.Mode().IsRegular() {
		return fi.Size()
	}
	return 0
}

// resumedFrom is where a transfer whose first report says done began: the
// part it resumed, or 0 when it started afresh.
func (m *meter) resumedFrom(path string, done int64) int64 {
	if part := m.parts[path]; part <= done {
		return part
	}
	return 0
}

// finished counts a file done (ok) or ended, and forgets its transfer.
func (m *meter) finished(path string, size int64, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.active[path]
	delete(m.active, path)
	if !ok {
		return
	}
	m.files++
	m.bytesDone += size
	if f != nil {
		m.moved += f.done - f.base
	} else {
		m.moved += size
	}
}

// kept is what an interruption leaves: the files done and the bytes in
// the parts of the transfers under way.
func (m *meter) kept() (files int, parts int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.active {
		parts += f.done
	}
	return m.files, parts
}

// above prints a line of plain output above the progress line.
func (m *meter) above(w io.Writer, line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.drawn {
		io.WriteString(m.w, "\r\033[K")
	}
	io.WriteString(w, line)
	if m.drawn {
		m.drawLocked()
	}
}

// done clears the line of a mirror, or ends a bar's line.
func (m *meter) done() {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case !m.drawn:
	case m.name == "":
		io.WriteString(m.w, "\r\033[K")
	default:
		io.WriteString(m.w, "\n")
	}
	m.drawn = false
}

func (m *meter) drawLocked() {
	elapsed := m.now().Sub(m.start)
	line := ""
	if m.name != "" {
		f := m.active[""]
		line = bar(m.name, f.done, f.total, f.done-f.base, elapsed)
	} else {
		line = m.summaryLocked(elapsed)
	}
	if len(line) >= m.width {
		line = line[:m.width-1]
	}
	io.WriteString(m.w, "\r"+line+"\033[K")
	m.drawn = true
}

// summaryLocked is a mirror's line: "3/120 files  45.2 MiB/1.2 GiB
// 3.1 MiB/s  ETA 0:42  dir/file.iso 45%".
func (m *meter) summaryLocked(elapsed time.Duration) string {
	complete, moved := m.bytesDone, m.moved
	current, pct := "", int64(-1)
	for p, f := range m.active {
		complete += f.done
		moved += f.done - f.base
		if current == "" || p < current {
			current, pct = p, -1
			if f.total > 0 {
				pct = f.done * 100 / f.total
			}
		}
	}
	rate := float64(moved) / max(elapsed.Seconds(), 1e-3)
	s := fmt.Sprintf("%d/%d files  %s", m.files, m.filesTotal, size(complete))
	if m.bytesTotal >= 0 {
		s += "/" + size(m.bytesTotal)
	}
	s += fmt.Sprintf("  %s/s  ETA %s", size(int64(rate)), eta(m.bytesTotal-complete, rate))
	if current != "" {
		s += "  " + safe(current)
		if pct >= 0 {
			s += fmt.Sprintf(" %d%%", pct)
		}
	}
	return s
}

// bar renders "name [=====>    ]  45% 1.2 MiB/2.6 MiB 3.1 MiB/s ETA 0:02":
// the rate is of the bytes moved by this run (not those of a resumed
// part), over the time it took.
func bar(name string, done, total, moved int64, elapsed time.Duration) string {
	const width = 30
	name = safe(name)
	if len(name) > 24 {
		name = name[:21] + "..."
	}
	rate := float64(moved) / max(elapsed.Seconds(), 1e-3)
	if total <= 0 {
		return fmt.Sprintf("%-24s %s %s/s", name, size(done), size(int64(rate)))
	}
	frac := min(float64(done)/float64(total), 1)
	n := int(frac * width)
	b := strings.Repeat("=", n)
	if n < width {
		b += ">" + strings.Repeat(" ", width-n-1)
	}
	return fmt.Sprintf("%-24s [%s] %3.0f%% %s/%s %s/s ETA %s", name, b, frac*100, size(done), size(total), size(int64(rate)), eta(total-done, rate))
}

// eta is the time left to move left bytes at rate, as m:ss.
func eta(left int64, rate float64) string {
	if rate <= 0 || left < 0 {
		return "--:--"
	}
	d := time.Duration(float64(left) / rate * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
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
