package contextengine

import (
	"path"
	"strings"
)

// Chunk sizes in bytes: chunks grow to chunkTarget on natural boundaries and
// only blocks longer than chunkMax are cut inside.
const (
	chunkTarget = 1536
	chunkMax    = 2048
)

// Chunk is a span of whole lines of a document.
type Chunk struct {
	StartLine int    // 1-based, inclusive
	EndLine   int    // 1-based, inclusive
	Text      string // exactly lines StartLine..EndLine joined by "\n"
	Head      bool   // starts a declaration or section; later chunks until the next head continue it
}

// ChunkDocument splits content into chunks on natural boundaries: top-level
// declarations and blank-line blocks for code, headings and paragraphs for
// prose. Language is a hint ("go", "markdown", ...); when empty it is
// guessed from the path's extension.
func ChunkDocument(docPath, language, content string) []Chunk {
	lines := strings.Split(content, "\n")
	if len(lines) > 1 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1] // a final newline ends the last line
	}
	prose := isProse(docPath, language)
	var chunks []Chunk
	for _, b := range splitBlocks(lines, prose) {
		chunks = packBlock(chunks, lines, b)
	}
	kept := chunks[:0]
	for _, c := range chunks {
		if strings.TrimSpace(c.Text) != "" {
			kept = append(kept, c)
		}
	}
	return kept
}

// block is a half-open range of lines; head marks a declaration or heading.
type block struct {
	start, end int
	head       bool
}

// splitBlocks cuts lines at blank lines. A block that starts at column 0
// after a blank line (code) or with a heading (prose) is a head.
func splitBlocks(lines []string, prose bool) []block {
	var blocks []block
	start := 0
	for i := 1; i <= len(lines); i++ {
		if i < len(lines) && !(blank(lines[i-1]) && !blank(lines[i])) && !(prose && isHeading(lines[i])) {
			continue
		}
		blocks = append(blocks, block{start: start, end: i, head: isHead(lines[start], prose)})
		start = i
	}
	return blocks
}

func isHead(line string, prose bool) bool {
	if prose {
		return isHeading(line)
	}
	if line == "" || line[0] == ' ' || line[0] == '\t' {
		return false
	}
	switch line[0] {
	case '}', ')', ']':
		return false
	}
	return true
}

func isHeading(line string) bool {
	return strings.HasPrefix(line, "#") && strings.TrimLeft(line, "#") != "" && strings.TrimLeft(line, "#")[0] == ' '
}

func blank(line string) bool { return strings.TrimSpace(line) == "" }

// packBlock appends block b to chunks: into the last chunk when it fits and
// is not a new head past the target, as a new chunk otherwise, cut at line
// boundaries when the block alone exceeds chunkMax.
func packBlock(chunks []Chunk, lines []string, b block) []Chunk {
	size := spanBytes(lines, b.start, b.end)
	if n := len(chunks); n > 0 {
		last := &chunks[n-1]
		merged := len(last.Text) + 1 + size
		if merged <= chunkMax && (!b.head || len(last.Text) < chunkTarget/2 || allBlank(lines, b.start, b.end)) {
			last.Head = last.Head || b.head && len(last.Text) < chunkTarget/2
			last.EndLine = b.end
			last.Text = strings.Join(lines[last.StartLine-1:b.end], "\n")
			return chunks
		}
	}
	start := b.start
	for start < b.end {
		end, n := start, 0
		for end < b.end && (end == start || n+1+len(lines[end]) <= chunkMax) {
			n += len(lines[end]) + 1
			end++
		}
		chunks = append(chunks, Chunk{StartLine: start + 1, EndLine: end, Text: strings.Join(lines[start:end], "\n"), Head: b.head && start == b.start})
		start = end
	}
	return chunks
}

func spanBytes(lines []string, start, end int) int {
	n := end - start - 1
	for _, l := range lines[start:end] {
		n += len(l)
	}
	return n
}

func allBlank(lines []string, start, end int) bool {
	for _, l := range lines[start:end] {
		if !blank(l) {
			return false
		}
	}
	return true
}

// isProse reports whether a document is prose rather than code.
func isProse(docPath, language string) bool {
	switch strings.ToLower(language) {
	case "markdown", "md", "text", "txt", "rst", "asciidoc", "prose":
		return true
	case "":
	default:
		return false
	}
	switch strings.ToLower(path.Ext(docPath)) {
	case ".md", ".markdown", ".txt", ".rst", ".adoc", "":
		return true
	}
	return false
}
