package contextengine

import (
	"path"
	"strings"
	"unicode/utf8"
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
// declarations and blank-line blocks for code; for prose, paragraphs and
// fenced blocks, with sections and descriptions (Markdown, reStructuredText
// and AsciiDoc headings, reStructuredText directives) as heads. Language
// is a hint ("go", "markdown", ...); when empty it is guessed from the
// path's extension.
func ChunkDocument(docPath, language, content string) []Chunk {
	lines := strings.Split(content, "\n")
	if len(lines) > 1 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1] // a final newline ends the last line
	}
	starts := lineStarts(content)
	span := func(start, end int) string { // lines[start:end] joined by "\n"
		return content[starts[start] : starts[end-1]+len(lines[end-1])]
	}
	var chunks []Chunk
	for _, b := range documentBlocks(docPath, language, lines) {
		chunks = packBlock(chunks, lines, b, span)
	}
	kept := chunks[:0]
	for _, c := range chunks {
		if strings.TrimSpace(c.Text) != "" {
			kept = append(kept, c)
		}
	}
	return kept
}

// block is a half-open range of lines; head marks a declaration or heading,
// prefix a prose block that belongs to the head right after it (an index
// entry or link target before a section or directive).
type block struct {
	start, end int
	head       bool
	prefix     bool
}

// documentBlocks cuts the lines of a document into blocks by its kind:
// code at declarations, prose at its structure.
func documentBlocks(docPath, language string, lines []string) []block {
	if isProse(docPath, language) {
		return splitProse(lines, proseFormatOf(docPath, language))
	}
	return splitBlocks(lines)
}

// splitBlocks cuts code at blank lines. A block that starts at column 0
// after a blank line is a head.
func splitBlocks(lines []string) []block {
	var blocks []block
	start := 0
	for i := 1; i <= len(lines); i++ {
		if i < len(lines) && !(blank(lines[i-1]) && !blank(lines[i])) {
			continue
		}
		blocks = append(blocks, block{start: start, end: i, head: isHead(lines[start])})
		start = i
	}
	return blocks
}

func isHead(line string) bool {
	if line == "" || line[0] == ' ' || line[0] == '\t' {
		return false
	}
	switch line[0] {
	case '}', ')', ']':
		return false
	}
	return true
}

func blank(line string) bool { return strings.TrimSpace(line) == "" }

// packBlock appends block b to chunks: into the last chunk when it fits and
// is not a new head past the target, as a new chunk otherwise, cut at line
// boundaries when the block alone exceeds chunkMax.
func packBlock(chunks []Chunk, lines []string, b block, span func(start, end int) string) []Chunk {
	size := spanBytes(lines, b.start, b.end)
	if n := len(chunks); n > 0 {
		last := &chunks[n-1]
		merged := len(last.Text) + 1 + size
		if merged <= chunkMax && (!b.head || len(last.Text) < chunkTarget/2 || allBlank(lines, b.start, b.end)) {
			last.Head = last.Head || b.head && len(last.Text) < chunkTarget/2
			last.EndLine = b.end
			last.Text = span(last.StartLine-1, b.end)
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
		chunks = append(chunks, Chunk{StartLine: start + 1, EndLine: end, Text: span(start, end), Head: b.head && start == b.start})
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
	case "markdown", "md", "text", "txt", "rst", "restructuredtext", "asciidoc", "adoc", "prose":
		return true
	case "":
	default:
		return false
	}
	switch strings.ToLower(path.Ext(docPath)) {
	case ".md", ".markdown", ".txt", ".rst", ".rest", ".adoc", ".asciidoc", "":
		return true
	}
	return false
}

// proseFormat selects the structure rules of a prose document.
type proseFormat int

const (
	proseText     proseFormat = iota // unknown markup: Markdown and reStructuredText rules both apply
	proseMarkdown                    // ATX and setext headings, fenced code, front matter
	proseRST                         // adorned section titles, explicit markup (directives, targets)
	proseAsciiDoc                    // = and # headings, delimited blocks
)

func (f proseFormat) markdown() bool { return f == proseText || f == proseMarkdown }
func (f proseFormat) rst() bool      { return f == proseText || f == proseRST }

// proseFormatOf picks the format from the language, else from the path.
func proseFormatOf(docPath, language string) proseFormat {
	switch strings.ToLower(language) {
	case "markdown", "md":
		return proseMarkdown
	case "rst", "restructuredtext":
		return proseRST
	case "asciidoc", "adoc":
		return proseAsciiDoc
	}
	p := strings.ToLower(docPath)
	for _, s := range []struct {
		ext string
		f   proseFormat
	}{{".md", proseMarkdown}, {".markdown", proseMarkdown}, {".rst", proseRST}, {".rest", proseRST},
		{".rst.txt", proseRST}, {".adoc", proseAsciiDoc}, {".asciidoc", proseAsciiDoc}} {
		if strings.HasSuffix(p, s.ext) {
			return s.f
		}
	}
	return proseText
}

// splitProse cuts prose into blocks at blank lines, except inside fenced or
// delimited blocks, and starts a head block at every heading and, in
// reStructuredText, at every directive that begins a description
// (function, class, a method nested in its class, ...). A heading's
// adornment lines stay in its block; an index entry, link target or anchor
// before a head starts the head's block. Markdown and AsciiDoc headings also cut a block where there is
// no blank line before them; reStructuredText titles and directives need one.
func splitProse(lines []string, f proseFormat) []block {
	var blocks []block
	newBlock := func(i int) *block {
		blocks = append(blocks, block{start: i})
		return &blocks[len(blocks)-1]
	}
	unclosed := map[string]int{} // fences without a closing line: kind → shortest opening
	para := 0                    // first line of the current paragraph
	for i := 0; i < len(lines); {
		line := lines[i]
		if blank(line) {
			i++
			continue
		}
		afterBlank := i == 0 || blank(lines[i-1])
		if afterBlank {
			newBlock(i)
			para = i
		}
		cur := &blocks[len(blocks)-1]
		if end := fenceEnd(lines, i, f, unclosed); end > i {
			i = end + 1 // the whole fence stays in the current block
			para = i
			continue
		}
		if afterBlank && f.rst() {
			if n := rstTitle(lines, i); n > 0 {
				cur.head = true
				i += n
				para = i
				continue
			}
			cur.head, cur.prefix = rstMarkup(line)
		}
		if f.markdown() && atxHeading(line) || f == proseAsciiDoc && (atxHeading(line) || adocHeading(line)) {
			if !afterBlank && !allAnchors(lines[cur.start:i], f) {
				cur = newBlock(i)
			}
			cur.head = true
			i++
			para = i
			continue
		}
		if f.markdown() && i+1 < len(lines) && setextTitle(line) && setextUnderline(lines[i+1]) {
			if para > cur.start {
				cur = newBlock(para) // the heading is the paragraph the underline ends
			}
			cur.head = true
			i += 2
			para = i
			continue
		}
		i++
	}
	if len(blocks) == 0 {
		return nil
	}
	blocks[0].start = 0 // leading blank lines go with the first block
	for k := range blocks {
		if k+1 < len(blocks) {
			blocks[k].end = blocks[k+1].start
		} else {
			blocks[k].end = len(lines)
		}
		b := &blocks[k]
		if !b.head && !b.prefix && f != proseRST && allAnchors(lines[b.start:b.end], f) {
			b.prefix = true
		}
	}
	// A prefix hands the head on: it and the head block after it are one
	// section, which starts at the prefix. A prefix before no head is text.
	for k := len(blocks) - 1; k >= 0; k-- {
		if b := &blocks[k]; b.prefix {
			b.head = k+1 < len(blocks) && blocks[k+1].head
			if b.head {
				blocks[k+1].head = false
			}
		}
	}
	return blocks
}

// fenceEnd returns the closing line of the fence that line i opens, or -1
// when line i opens none or the fence is never closed (then it is text, as
// a stray fence must not swallow the rest of the document). unclosed
// remembers fences found unclosed so that a later one is not looked up again.
func fenceEnd(lines []string, i int, f proseFormat, unclosed map[string]int) int {
	line := strings.TrimRight(lines[i], " \t\r")
	var kind string
	var closes func(string) bool
	switch trimmed := strings.TrimLeft(line, " \t"); {
	case i == 0 && f.markdown() && line == "---": // YAML front matter
		kind, closes = "---", func(l string) bool { return l == "---" || l == "..." }
	case (f.markdown() || f == proseAsciiDoc) && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")):
		c := trimmed[0]
		n := len(trimmed) - len(strings.TrimLeft(trimmed, trimmed[:1]))
		if c == '`' && strings.Contains(trimmed[n:], "`") {
			return -1
		}
		kind = trimmed[:1]
		if m, ok := unclosed[kind]; ok && n >= m {
			return -1
		}
		closes = func(l string) bool {
			l = strings.TrimLeft(l, " \t")
			return len(l) >= n && strings.Trim(l, kind) == ""
		}
		if end := findClose(lines, i, closes); end > 0 {
			return end
		}
		if m, ok := unclosed[kind]; !ok || n < m {
			unclosed[kind] = n
		}
		return -1
	case f == proseAsciiDoc && line == trimmed && adocDelimiter(line):
		kind, closes = line, func(l string) bool { return l == line }
	default:
		return -1
	}
	if _, ok := unclosed[kind]; ok {
		return -1
	}
	if end := findClose(lines, i, closes); end > 0 {
		return end
	}
	unclosed[kind] = 0
	return -1
}

// findClose returns the first line after i that closes, -1 if none does.
func findClose(lines []string, i int, closes func(string) bool) int {
	for j := i + 1; j < len(lines); j++ {
		if closes(strings.TrimRight(lines[j], " \t\r")) {
			return j
		}
	}
	return -1
}

// adocDelimiter reports an AsciiDoc delimited block line: four or more of
// one of - . = * _ + / (listing, literal, example, sidebar, quote,
// passthrough, comment), or a table's |===.
func adocDelimiter(line string) bool {
	if strings.HasPrefix(line, "|===") {
		return strings.Trim(line[1:], "=") == ""
	}
	return len(line) >= 4 && strings.ContainsRune("-.=*_+/", rune(line[0])) && strings.Trim(line, line[:1]) == ""
}

// rstAdornment reports a line of one punctuation character repeated, at
// least three, the over- or underline of a reStructuredText title, and its
// length.
func rstAdornment(line string) (byte, int) {
	line = strings.TrimRight(line, " \t\r")
	if len(line) < 3 || !strings.ContainsRune("=-~^\"'*+#:._`", rune(line[0])) || strings.Trim(line, line[:1]) != "" {
		return 0, 0
	}
	return line[0], len(line)
}

// rstTitle returns the number of lines of the reStructuredText section
// title at line i, 0 if there is none: a title line at column 0 with an
// underline at least as long, or a title between an overline and an
// identical underline.
func rstTitle(lines []string, i int) int {
	title := func(l string) int {
		if c, _ := rstAdornment(l); c != 0 || blank(l) {
			return -1
		}
		return utf8.RuneCountInString(strings.TrimSpace(l))
	}
	if c, n := rstAdornment(lines[i]); c != 0 {
		if i+2 < len(lines) {
			c2, n2 := rstAdornment(lines[i+2])
			if t := title(lines[i+1]); c2 == c && n2 == n && t >= 0 && t <= n {
				return 3
			}
		}
		return 0
	}
	if t := lines[i]; t[0] == ' ' || t[0] == '\t' || i+1 >= len(lines) {
		return 0
	}
	if c, n := rstAdornment(lines[i+1]); c != 0 && n >= title(lines[i]) {
		return 2
	}
	return 0
}

// rstMarkup classifies a reStructuredText explicit markup line. At column
// 0, a directive that describes something (function, class, module, a
// custom one) is a head; nested in another directive, only the standard
// object descriptions are (a method inside its class), as other nested
// directives are mostly notes on the text around them. Index entries,
// internal link targets and directives that set the context of what
// follows are prefixes; the other directives (notes, code, images, ...)
// and comments are text.
func rstMarkup(line string) (head, prefix bool) {
	line = strings.TrimRight(line, " \t\r")
	t := strings.TrimLeft(line, " \t")
	nested := len(t) < len(line)
	if !strings.HasPrefix(t, ".. ") {
		return false, false
	}
	rest := t[3:]
	if strings.HasPrefix(rest, "_") {
		return false, strings.HasSuffix(rest, ":") // .. _label: (not .. _name: URL)
	}
	k := strings.Index(rest, "::")
	if k <= 0 || k+2 < len(rest) && rest[k+2] != ' ' && rest[k+2] != '\t' {
		return false, false
	}
	name := strings.ToLower(rest[:k])
	if strings.ContainsAny(name, " \t|[") {
		return false, false
	}
	name = name[strings.LastIndexByte(name, ':')+1:] // py:function → function
	switch {
	case rstPrefixDirectives[name]:
		return false, true
	case nested:
		return rstObjectDirectives[name] || strings.HasSuffix(name, "function") || strings.HasSuffix(name, "method"), false
	}
	return !rstTextDirectives[name], false
}

// rstPrefixDirectives set up what follows them.
var rstPrefixDirectives = wordSet(`index highlight currentmodule default-domain`)

// rstObjectDirectives are the object descriptions of the standard Sphinx
// domains (Python, C, C++, JavaScript, reST, standard).
var rstObjectDirectives = wordSet(`function class method attribute property data exception
	decorator decoratormethod classmethod staticmethod type module macro member var struct
	union enum enum-struct enum-class enumerator concept alias directive role option
	cmdoption envvar program describe object confval`)

// rstTextDirectives are the standard docutils and Sphinx directives that
// are part of the surrounding text rather than the start of a description.
var rstTextDirectives = wordSet(`attention caution danger error hint important note tip warning
	admonition seealso todo versionadded versionchanged versionremoved deprecated
	code code-block sourcecode literalinclude parsed-literal doctest testcode testoutput
	testsetup testcleanup math image figure graphviz digraph graph plot
	table csv-table list-table tabularcolumns hlist centered only ifconfig include raw
	meta role default-role contents sectnum section-numbering header footer target-notes
	container compound epigraph highlights pull-quote line-block sidebar topic
	sectionauthor moduleauthor codeauthor toctree autosummary`)

func wordSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// atxHeading reports a Markdown "# Title" heading (one to six #, then a
// space, at most three spaces in).
func atxHeading(line string) bool {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return false
	}
	n := len(t) - len(strings.TrimLeft(t, "#"))
	return n >= 1 && n <= 6 && n < len(t) && (t[n] == ' ' || t[n] == '\t') && !blank(t[n:])
}

// adocHeading reports an AsciiDoc "== Title" heading.
func adocHeading(line string) bool {
	n := len(line) - len(strings.TrimLeft(line, "="))
	return n >= 1 && n <= 6 && n < len(line) && (line[n] == ' ' || line[n] == '\t') && !blank(line[n:])
}

// setextTitle reports a line that a Markdown setext underline below turns
// into a heading: paragraph text at column 0, not a list item or quote.
func setextTitle(line string) bool {
	t := line
	if t == "" || t[0] == ' ' || t[0] == '\t' || t[0] == '>' {
		return false
	}
	if len(t) > 1 && strings.ContainsRune("-*+", rune(t[0])) && (t[1] == ' ' || t[1] == '\t') {
		return false
	}
	digits := len(t) - len(strings.TrimLeft(t, "0123456789"))
	return !(digits > 0 && digits+1 < len(t) && (t[digits] == '.' || t[digits] == ')') && t[digits+1] == ' ')
}

// setextUnderline reports a Markdown setext underline: = or - repeated.
func setextUnderline(line string) bool {
	t := strings.TrimLeft(strings.TrimRight(line, " \t\r"), " ")
	return len(line)-len(strings.TrimLeft(line, " ")) <= 3 && t != "" && (t[0] == '=' || t[0] == '-') && strings.Trim(t, t[:1]) == ""
}

// allAnchors reports whether the non-blank lines are all anchors that name
// the next section: HTML <a name> in Markdown, [[id]] or [attributes] in
// AsciiDoc. There must be at least one.
func allAnchors(lines []string, f proseFormat) bool {
	seen := false
	for _, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
			continue
		case f == proseAsciiDoc && strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
		case f.markdown() && strings.HasPrefix(l, "<a ") && (strings.HasSuffix(l, "</a>") || strings.HasSuffix(l, "/>")):
		default:
			return false
		}
		seen = true
	}
	return seen
}
