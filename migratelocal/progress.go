package migratelocal

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a one-line text progress bar, redrawn in place.
type progress struct {
	w     io.Writer // nil: draw nothing
	total int
	start time.Time
	base  int // documents done before this run, not counted in the rate
}

// newProgress returns a bar for total documents of which done are done.
func newProgress(w io.Writer, total, done int) *progress {
	return &progress{w: w, total: total, start: time.Now(), base: done}
}

// update redraws the bar with done documents done.
func (p *progress) update(done int) {
	if p.w == nil {
		return
	}
	const width = 30
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(done)/float64(p.total), 1)
	}
	filled := int(frac * width)
	rate := 0.0
	if secs := time.Since(p.start).Seconds(); secs > 0 {
		rate = float64(done-p.base) / secs
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d %5.1f%% %.1f docs/s ",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, p.total, frac*100, rate)
}

// finish ends the bar's line.
func (p *progress) finish() {
	if p.w != nil {
		fmt.Fprintln(p.w)
	}
}
