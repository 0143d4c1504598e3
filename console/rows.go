package console

import (
	"fmt"
	"unicode/utf8"

	"github.com/dustin/go-humanize"

	"github.com/contextlite/cloud/contextengine"
)

// previewBytes bounds the text of a span a page shows, to keep pages light.
const previewBytes = 300

// documentRow is a document as the list shows it.
type documentRow struct {
	ID, Path, Tokens, Size, Updated string
}

// hitRow is a search hit as the results show it.
type hitRow struct {
	DocumentID, Path, Lines, Score, Tokens, Preview string
}

// itemRow is an item of an assembled context as the playground shows it.
type itemRow struct {
	Path, Workspace, Lines, Tokens, Relevance, Recency, Utility, Reason, Preview string
}

func documentRows(docs []contextengine.Document) []documentRow {
	rows := make([]documentRow, len(docs))
	for i, d := range docs {
		rows[i] = documentRow{ID: d.ID, Path: d.Path, Tokens: humanize.Comma(int64(d.Tokens)),
			Size: humanize.IBytes(uint64(max(d.SizeBytes, 0))), Updated: d.UpdatedAt.UTC().Format("2006-01-02 15:04 UTC")}
	}
	return rows
}

func hitRows(hits []contextengine.Hit) []hitRow {
	rows := make([]hitRow, len(hits))
	for i, h := range hits {
		rows[i] = hitRow{DocumentID: h.DocumentID, Path: h.Path, Lines: lines(h.StartLine, h.EndLine),
			Score: score(h.Score), Tokens: humanize.Comma(int64(h.Tokens)), Preview: preview(h.Content)}
	}
	return rows
}

func itemRows(items []contextengine.Item) []itemRow {
	rows := make([]itemRow, len(items))
	for i, it := range items {
		rows[i] = itemRow{Path: it.Path, Workspace: it.Workspace, Lines: lines(it.StartLine, it.EndLine),
			Tokens: humanize.Comma(int64(it.Tokens)), Relevance: score(it.Relevance), Recency: score(it.Recency),
			Utility: score(it.Utility), Reason: it.InclusionReason, Preview: preview(it.Content)}
	}
	return rows
}

func lines(start, end int) string { return fmt.Sprintf("%d–%d", start, end) }

func score(f float64) string { return fmt.Sprintf("%.3f", f) }

// preview returns the start of text, at most previewBytes, cut at a
// character boundary and marked when cut.
func preview(text string) string {
	if len(text) <= previewBytes {
		return text
	}
	cut := previewBytes
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "…"
}
