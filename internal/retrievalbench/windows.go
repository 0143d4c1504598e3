package retrievalbench

import (
	"runtime"
	"strings"
	"sync"

	"github.com/contextlite/cloud/contextengine"
)

// WindowBytes is the most bytes a baseline window holds, unless a single
// line is longer.
const WindowBytes = 2000

// window is a baseline unit: consecutive lines of a document.
type window struct {
	Path      string
	StartLine int // 1-based, inclusive
	EndLine   int
	Text      string // lines StartLine..EndLine joined by "\n"
	Tokens    int    // exact o200k_base count of Text
}

// item returns w as a returned item.
func (w *window) item() Item {
	return Item{Path: w.Path, StartLine: w.StartLine, EndLine: w.EndLine, Tokens: w.Tokens, Content: w.Text}
}

// splitWindows cuts text into windows of consecutive lines. A new window
// starts when the next line would take the current one past maxBytes
// (lines joined by "\n"); a line is never split, so a line longer than
// maxBytes is a window of its own.
func splitWindows(path, text string, maxBytes int) []window {
	var out []window
	lines := strings.Split(text, "\n")
	start, size := 0, 0 // first line of the open window and its joined length
	for i, line := range lines {
		if i > start && size+1+len(line) > maxBytes {
			out = append(out, window{Path: path, StartLine: start + 1, EndLine: i, Text: strings.Join(lines[start:i], "\n")})
			start, size = i, 0
		}
		if i > start {
			size++
		}
		size += len(line)
	}
	out = append(out, window{Path: path, StartLine: start + 1, EndLine: len(lines), Text: strings.Join(lines[start:], "\n")})
	return out
}

// buildWindows splits every document into windows of at most WindowBytes
// and counts their tokens, using every CPU.
func buildWindows(docs []Doc, tokens contextengine.TokenCounter) []window {
	var ws []window
	for _, d := range docs {
		ws = append(ws, splitWindows(d.Path, d.Text, WindowBytes)...)
	}
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for k := range workers {
		wg.Go(func() {
			for i := k; i < len(ws); i += workers {
				ws[i].Tokens = tokens.Count(ws[i].Text)
			}
		})
	}
	wg.Wait()
	return ws
}

// pack takes the windows in rank order, each one whose tokens fit what is
// left of budget, skipping the others.
func pack(ranked []*window, budget int) []Item {
	var out []Item
	left := budget
	for _, w := range ranked {
		if w.Tokens <= left {
			out = append(out, w.item())
			left -= w.Tokens
		}
	}
	return out
}
