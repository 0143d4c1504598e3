package console

import (
	"html/template"
	"time"

	"github.com/dustin/go-humanize"
)

// Chart geometry, in SVG user units.
const (
	chartWidth  = 600
	chartHeight = 120
	chartTop    = 16 // room for the maximum's label
)

// dayValue is one day's total.
type dayValue struct {
	Day   time.Time
	Value int64
}

// chart is a bar chart of values per day, drawn as inline SVG.
type chart struct {
	Title  string
	Max    string // the largest value, labelled at the top
	Width  int
	Height int
	Bars   []bar
	Total  string
}

// bar is one day's bar; Label is its accessible text.
type bar struct {
	X, Y, W, H int
	Label      string
}

// newChart lays out the bars of days.
func newChart(title string, days []dayValue) chart {
	c := chart{Title: title, Width: chartWidth, Height: chartHeight}
	var top, total int64
	for _, d := range days {
		top, total = max(top, d.Value), total+d.Value
	}
	c.Max, c.Total = humanize.Comma(top), humanize.Comma(total)
	if len(days) == 0 {
		return c
	}
	slot := chartWidth / len(days)
	for i, d := range days {
		h := 0
		if top > 0 {
			h = int(d.Value * (chartHeight - chartTop) / top)
		}
		c.Bars = append(c.Bars, bar{X: i * slot, Y: chartHeight - h, W: max(slot-2, 1), H: h,
			Label: d.Day.Format("Jan 2") + ": " + humanize.Comma(d.Value)})
	}
	return c
}

// funcs are the templates' functions.
var funcs = template.FuncMap{
	"ptr":  func(t time.Time) *time.Time { return &t },
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"datetime": func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
}
