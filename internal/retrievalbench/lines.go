package retrievalbench

// corpusLines finds the lines of the ingested documents, to check that a
// returned item's content is exactly the lines it claims.
type corpusLines map[string]lineIndex

// lineIndex is a document's text with the offset of each line's start.
type lineIndex struct {
	text   string
	starts []int
}

func newCorpusLines(docs []Doc) corpusLines {
	c := make(corpusLines, len(docs))
	for _, d := range docs {
		starts := []int{0}
		for i := 0; i < len(d.Text); i++ {
			if d.Text[i] == '\n' {
				starts = append(starts, i+1)
			}
		}
		c[d.Path] = lineIndex{text: d.Text, starts: starts}
	}
	return c
}

// lines returns lines start..end (1-based, inclusive) of the document at
// path joined by "\n", and false if there is no such document or range.
func (c corpusLines) lines(path string, start, end int) (string, bool) {
	li, ok := c[path]
	if !ok || start < 1 || end < start || end > len(li.starts) {
		return "", false
	}
	to := len(li.text)
	if end < len(li.starts) {
		to = li.starts[end] - 1 // before the newline that ends line end
	}
	return li.text[li.starts[start-1]:to], true
}

// matches reports whether it's content is exactly the lines it claims.
func (c corpusLines) matches(it Item) bool {
	want, ok := c.lines(it.Path, it.StartLine, it.EndLine)
	return ok && it.Content == want
}
