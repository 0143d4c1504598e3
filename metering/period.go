package metering

import "time"

// Period is a billing period: Start <= t < End.
type Period struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Contains reports whether t falls in p.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// PeriodAt returns the monthly period that holds t: the UTC calendar month
// when anchor is zero, else the month-long period counted from anchor (a
// day missing from a short month becomes its last day, as Stripe does).
func PeriodAt(t, anchor time.Time) Period {
	t = t.UTC()
	if anchor.IsZero() {
		start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return Period{start, start.AddDate(0, 1, 0)}
	}
	anchor = anchor.UTC()
	months := (t.Year()-anchor.Year())*12 + int(t.Month()) - int(anchor.Month())
	start := addMonths(anchor, months)
	for start.After(t) {
		months--
		start = addMonths(anchor, months)
	}
	for end := addMonths(anchor, months+1); !end.After(t); end = addMonths(anchor, months+1) {
		months++
		start = end
	}
	return Period{start, addMonths(anchor, months+1)}
}

// addMonths moves anchor n months, keeping its day of month where the
// target month has it and taking the month's last day where it does not.
func addMonths(anchor time.Time, n int) time.Time {
	first := time.Date(anchor.Year(), anchor.Month()+time.Month(n), 1,
		anchor.Hour(), anchor.Minute(), anchor.Second(), anchor.Nanosecond(), time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(anchor.Day(), last)-1)
}
