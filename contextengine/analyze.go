package contextengine

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// maxTermLen bounds indexed terms; longer words are noise (hashes, blobs).
const maxTermLen = 64

// analyze calls emit for each search term of text, in order; the term is
// valid only during the call. Words are runs of letters, digits and '_'.
// A word is lower-cased and kept whole, and compound identifiers also
// yield their parts: NewReader gives newreader, new, reader; max_tokens
// gives max_tokens, max, tokens. Index and query text go through the same
// function so both sides agree.
func analyze(text string, emit func(term []byte)) {
	var w wordAnalyzer
	for i := 0; i < len(text); {
		if c := text[i]; c < utf8.RuneSelf && !asciiWord[c] {
			i++
			continue
		}
		j, ascii := wordEnd(text, i)
		if j == i {
			_, size := utf8.DecodeRuneInString(text[i:])
			i += size
			continue
		}
		w.analyze(text[i:j], ascii, emit)
		i = j
	}
}

// asciiWord marks the ASCII bytes that belong to words.
var asciiWord = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = isWordRune(rune(c))
	}
	return t
}()

// wordEnd returns the end of the word that starts at i (i itself when
// none does) and whether the word is all ASCII.
func wordEnd(text string, i int) (int, bool) {
	ascii := true
	for i < len(text) {
		if c := text[i]; c < utf8.RuneSelf {
			if !asciiWord[c] {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			break
		}
		ascii = false
		i += size
	}
	return i, ascii
}

func isWordRune(r rune) bool {
	return r == '_' || r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') ||
		r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// wordAnalyzer holds the buffers analyze reuses from word to word.
type wordAnalyzer struct {
	buf   []byte
	parts []string
}

// analyze emits the whole word and, for compound identifiers, its parts.
// An all-ASCII word takes a path without Unicode tables.
func (w *wordAnalyzer) analyze(word string, ascii bool, emit func([]byte)) {
	if len(word) > maxTermLen {
		return
	}
	w.buf = appendLower(w.buf[:0], word)
	if len(bytes.Trim(w.buf, "_")) < 2 {
		return
	}
	emit(w.buf)
	w.parts = w.parts[:0]
	if ascii {
		w.parts = appendASCIIParts(w.parts, word)
	} else {
		splitIdentifier(word, func(part string) { w.parts = append(w.parts, part) })
	}
	if len(w.parts) < 2 {
		return
	}
	for _, part := range w.parts {
		if len(part) >= 2 {
			w.buf = appendLower(w.buf[:0], part)
			emit(w.buf)
		}
	}
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

// appendASCIIParts appends the parts of an ASCII identifier, split as
// splitIdentifier splits it.
func appendASCIIParts(parts []string, word string) []string {
	start := -1
	prev := byte(0)
	for i := 0; i < len(word); i++ {
		c := word[i]
		switch {
		case c == '_':
			if start >= 0 {
				parts = append(parts, word[start:i])
			}
			start = -1
		case start < 0:
			start = i
		case isUpper(c) && (isLower(prev) || isDigit(prev) || isUpper(prev) && i+1 < len(word) && isLower(word[i+1])):
			parts = append(parts, word[start:i])
			start = i
		}
		prev = c
	}
	if start >= 0 {
		parts = append(parts, word[start:])
	}
	return parts
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

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

// appendLower appends s lower-cased, as strings.ToLower would.
func appendLower(dst []byte, s string) []byte {
	for i, r := range s {
		switch {
		case r >= utf8.RuneSelf:
			for _, r := range s[i:] {
				dst = utf8.AppendRune(dst, unicode.ToLower(r))
			}
			return dst
		case 'A' <= r && r <= 'Z':
			dst = append(dst, byte(r)+'a'-'A')
		default:
			dst = append(dst, byte(r))
		}
	}
	return dst
}

// queryTerms returns the distinct terms of a query in first-seen order.
func queryTerms(query string) []string {
	seen := make(map[string]bool)
	var terms []string
	analyze(query, func(term []byte) {
		if !seen[string(term)] {
			seen[string(term)] = true
			terms = append(terms, string(term))
		}
	})
	return terms
}
