package contextengine

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxTermLen bounds indexed terms; longer words are noise (hashes, blobs).
const maxTermLen = 64

// analyze calls emit for each search term of text, in order. Words are runs
// of letters, digits and '_'. A word is lower-cased and kept whole, and
// compound identifiers also yield their parts: NewReader gives newreader,
// new, reader; max_tokens gives max_tokens, max, tokens. Index and query
// text go through the same function so both sides agree.
func analyze(text string, emit func(term string)) {
	var buf []byte
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			i += size
			continue
		}
		j := i + size
		for j < len(text) {
			r, size := utf8.DecodeRuneInString(text[j:])
			if !isWordRune(r) {
				break
			}
			j += size
		}
		buf = analyzeWord(text[i:j], buf, emit)
		i = j
	}
}

func isWordRune(r rune) bool {
	return r == '_' || r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') ||
		r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// analyzeWord emits the whole word and, for compound identifiers, its parts.
func analyzeWord(word string, buf []byte, emit func(string)) []byte {
	if len(word) > maxTermLen {
		return buf
	}
	whole := strings.ToLower(word)
	if len(strings.Trim(whole, "_")) < 2 {
		return buf
	}
	emit(whole)
	parts := 0
	splitIdentifier(word, func(part string) { parts++ })
	if parts < 2 {
		return buf
	}
	splitIdentifier(word, func(part string) {
		if len(part) < 2 {
			return
		}
		buf = appendLower(buf[:0], part)
		emit(string(buf))
	})
	return buf
}

// splitIdentifier calls emit for the parts of an identifier split at '_'
// and at case changes: HTTPServer gives HTTP, Server; parseJSON2 gives
// parse, JSON2.
func splitIdentifier(word string, emit func(string)) {
	start := -1
	prev := rune(0)
	for i, r := range word {
		if r == '_' {
			if start >= 0 {
				emit(word[start:i])
			}
			start, prev = -1, r
			continue
		}
		if start < 0 {
			start, prev = i, r
			continue
		}
		if boundary(prev, r, word[i+utf8.RuneLen(r):]) {
			emit(word[start:i])
			start = i
		}
		prev = r
	}
	if start >= 0 {
		emit(word[start:])
	}
}

// boundary reports whether a new identifier part starts at r.
func boundary(prev, r rune, rest string) bool {
	if unicode.IsUpper(r) {
		if unicode.IsLower(prev) || unicode.IsDigit(prev) {
			return true
		}
		// An acronym ends before its last capital when a lower-case run
		// follows: HTTPServer splits before the S.
		next, _ := utf8.DecodeRuneInString(rest)
		return unicode.IsUpper(prev) && unicode.IsLower(next)
	}
	return false
}

func appendLower(dst []byte, s string) []byte {
	for _, r := range s {
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
	}
	return dst
}

// analyzedText returns the terms of text joined by spaces, as indexed.
func analyzedText(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	analyze(text, func(term string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(term)
	})
	return b.String()
}

// queryTerms returns the distinct terms of a query in first-seen order.
func queryTerms(query string) []string {
	seen := make(map[string]bool)
	var terms []string
	analyze(query, func(term string) {
		if !seen[term] {
			seen[term] = true
			terms = append(terms, term)
		}
	})
	return terms
}

// matchExpression builds an FTS5 MATCH expression from analyzed terms. Terms
// contain only letters, digits and '_', and are quoted anyway, so no user
// text can change the expression's syntax. A positive workspace id limits
// matches to that workspace's column value.
func matchExpression(terms []string, workspaceID int64) string {
	var b strings.Builder
	b.WriteString("{path body} : (")
	for i, t := range terms {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(t, `"`, `""`))
		b.WriteByte('"')
	}
	b.WriteByte(')')
	if workspaceID > 0 {
		b.WriteString(` AND ws : "`)
		b.WriteString(workspaceTerm(workspaceID))
		b.WriteByte('"')
	}
	return b.String()
}
