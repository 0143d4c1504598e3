package retrievalbench

import (
	"strings"
	"testing"
)

func TestSplitWindowsBoundaries(t *testing.T) {
	// Lines of 9 bytes: k lines joined take 10k-1 bytes.
	line := strings.Repeat("x", 9)
	lines := make([]string, 5)
	for i := range lines {
		lines[i] = line
	}
	text := strings.Join(lines, "\n")
	tests := []struct {
		max  int
		want [][2]int
	}{
		{19, [][2]int{{1, 2}, {3, 4}, {5, 5}}}, // two lines fill 19 bytes exactly
		{18, [][2]int{{1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}}},
		{49, [][2]int{{1, 5}}},
		{48, [][2]int{{1, 4}, {5, 5}}},
	}
	for _, tt := range tests {
		ws := splitWindows("a.go", text, tt.max)
		var got [][2]int
		for _, w := range ws {
			got = append(got, [2]int{w.StartLine, w.EndLine})
			if len(w.Text) > tt.max {
				t.Errorf("max %d: window %d-%d has %d bytes", tt.max, w.StartLine, w.EndLine, len(w.Text))
			}
		}
		if !equalSpans(got, tt.want) {
			t.Errorf("max %d: windows %v, want %v", tt.max, got, tt.want)
		}
	}
}

func TestSplitWindowsLongLine(t *testing.T) {
	long := strings.Repeat("y", 2500)
	text := "a\nb\n" + long + "\nc"
	ws := splitWindows("a.go", text, WindowBytes)
	want := []window{
		{Path: "a.go", StartLine: 1, EndLine: 2, Text: "a\nb"},
		{Path: "a.go", StartLine: 3, EndLine: 3, Text: long},
		{Path: "a.go", StartLine: 4, EndLine: 4, Text: "c"},
	}
	if len(ws) != len(want) {
		t.Fatalf("got %d windows, want %d", len(ws), len(want))
	}
	for i := range ws {
		if ws[i] != want[i] {
			t.Errorf("window %d = %s:%d-%d %q..., want %s:%d-%d", i, ws[i].Path, ws[i].StartLine, ws[i].EndLine,
				ws[i].Text[:min(len(ws[i].Text), 10)], want[i].Path, want[i].StartLine, want[i].EndLine)
		}
	}
}

// TestSplitWindowsJoin checks that windows cover every line once, in
// order, and that each window's text is its lines joined by "\n",
// including empty lines and a trailing newline.
func TestSplitWindowsJoin(t *testing.T) {
	var b strings.Builder
	for i := range 400 {
		b.WriteString(strings.Repeat("z", i%37))
		b.WriteString("\n")
	}
	text := b.String()
	lines := newCorpusLines([]Doc{{Path: "a.go", Text: text}})
	ws := splitWindows("a.go", text, 200)
	next := 1
	for _, w := range ws {
		if w.StartLine != next {
			t.Fatalf("window starts at line %d, want %d", w.StartLine, next)
		}
		if !lines.matches(w.item()) {
			t.Fatalf("window %d-%d text is not its lines", w.StartLine, w.EndLine)
		}
		next = w.EndLine + 1
	}
	if want := strings.Count(text, "\n") + 1; next != want+1 {
		t.Fatalf("windows end at line %d, want %d", next-1, want)
	}
	if got := len(strings.Join(windowTexts(ws), "\n")); got != len(text) {
		t.Fatalf("joined windows have %d bytes, text %d", got, len(text))
	}
}

func TestPack(t *testing.T) {
	ws := []window{{Path: "a", Tokens: 600}, {Path: "b", Tokens: 500}, {Path: "c", Tokens: 400}, {Path: "d", Tokens: 1}}
	ranked := []*window{&ws[0], &ws[1], &ws[2], &ws[3]}
	var got []string
	for _, it := range pack(ranked, 1000) {
		got = append(got, it.Path)
	}
	// b does not fit after a and is skipped; c fits exactly; d does not.
	if strings.Join(got, "") != "ac" {
		t.Fatalf("pack = %v, want [a c]", got)
	}
}

func TestCorpusLines(t *testing.T) {
	c := newCorpusLines([]Doc{{Path: "a.go", Text: "one\ntwo\n\nfour"}})
	tests := []struct {
		start, end int
		want       string
		ok         bool
	}{
		{1, 1, "one", true},
		{1, 2, "one\ntwo", true},
		{2, 4, "two\n\nfour", true},
		{3, 3, "", true},
		{4, 5, "", false},
		{0, 1, "", false},
	}
	for _, tt := range tests {
		got, ok := c.lines("a.go", tt.start, tt.end)
		if got != tt.want || ok != tt.ok {
			t.Errorf("lines(%d, %d) = %q, %v; want %q, %v", tt.start, tt.end, got, ok, tt.want, tt.ok)
		}
	}
	if c.matches(Item{Path: "a.go", StartLine: 1, EndLine: 2, Content: "one\ntwo\n"}) {
		t.Error("content with an extra newline matches")
	}
}

func equalSpans(a, b [][2]int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func windowTexts(ws []window) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Text
	}
	return out
}
