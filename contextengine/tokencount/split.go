package tokencount

import "unicode/utf8"

// This file splits text into pieces as the o200k_base pattern does under
// regexp2's backtracking semantics, trying its alternatives in order:
//
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	\p{N}{1,3}
//	 ?[^\s\p{L}\p{N}]+[\r\n/]*
//	\s*[\r\n]+
//	\s+(?!\S)
//	\s+
//
// Every rune starts a match of some alternative, so pieces tile the text.

// pieceEnd returns the end of the piece that starts at s[i], i < len(s).
func (t *classTable) pieceEnd(s string, i int) int {
	c, w := t.at(s, i)
	if c&letter != 0 || c&prefix != 0 && i+w < len(s) && t.startsWord(s, i+w) {
		return t.word(s, i, c, w)
	}
	if c&digit != 0 {
		return t.digits(s, i)
	}
	if end, ok := t.punctuation(s, i); ok {
		return end
	}
	return t.spaces(s, i)
}

// letter is the class of the runes that words, the first two
// alternatives, match at their start if they have no prefix.
const letter = upper | lower

// startsWord reports whether the rune at s[i] is a letter.
func (t *classTable) startsWord(s string, i int) bool {
	c, _ := t.at(s, i)
	return c&letter != 0
}

// word matches the first two alternatives at s[i], whose rune has class c
// and width w, given that one of them matches: each alternative tries its
// optional prefix rune first, then no prefix.
func (t *classTable) word(s string, i int, c class, w int) int {
	if c&prefix != 0 {
		if end, ok := t.lowerWord(s, i+w); ok {
			return end
		}
	}
	if end, ok := t.lowerWord(s, i); ok {
		return end
	}
	if c&prefix != 0 {
		if end, ok := t.upperWord(s, i+w); ok {
			return end
		}
	}
	end, _ := t.upperWord(s, i)
	return end
}

// lowerWord matches upper*lower+contraction? at s[i]. The greedy upper run
// backtracks when no lower rune follows it: the match then ends after the
// last rune of the run that is in both classes.
func (t *classTable) lowerWord(s string, i int) (int, bool) {
	k := t.span(s, i, upper)
	end := t.span(s, k, lower)
	if end == k {
		end = t.lastEnd(s, i, k, lower)
		if end < 0 {
			return 0, false
		}
	}
	return contraction(s, end), true
}

// lastEnd returns the end of the last rune of class c in s[i:k], or -1.
func (t *classTable) lastEnd(s string, i, k int, c class) int {
	end := -1
	for i < k {
		ci, w := t.at(s, i)
		i += w
		if ci&c != 0 {
			end = i
		}
	}
	return end
}

// upperWord matches upper+lower*contraction? at s[i].
func (t *classTable) upperWord(s string, i int) (int, bool) {
	k := t.span(s, i, upper)
	if k == i {
		return 0, false
	}
	return contraction(s, t.span(s, k, lower)), true
}

// span returns the end of the run of runes of class c that starts at s[i].
func (t *classTable) span(s string, i int, c class) int {
	for i < len(s) {
		if b := s[i]; b < utf8.RuneSelf {
			if t[b]&c == 0 {
				break
			}
			i++
			continue
		}
		ci, w := t.decode(s, i)
		if ci&c == 0 {
			break
		}
		i += w
	}
	return i
}

// contraction returns the end of the contraction ('s 't 're 've 'm 'll 'd,
// in any case) at s[i], or i if there is none.
func contraction(s string, i int) int {
	if i+1 >= len(s) || s[i] != '\'' {
		return i
	}
	switch s[i+1] | 0x20 {
	case 's', 't', 'm', 'd':
		return i + 2
	case 'r', 'v':
		if i+2 < len(s) && s[i+2]|0x20 == 'e' {
			return i + 3
		}
	case 'l':
		if i+2 < len(s) && s[i+2]|0x20 == 'l' {
			return i + 3
		}
	}
	return i
}

// digits matches \p{N}{1,3} at s[i].
func (t *classTable) digits(s string, i int) int {
	for range 3 {
		if i == len(s) {
			break
		}
		c, w := t.at(s, i)
		if c&digit == 0 {
			break
		}
		i += w
	}
	return i
}

// punctuation matches " ?[^\s\p{L}\p{N}]+[\r\n/]*" at s[i].
func (t *classTable) punctuation(s string, i int) (int, bool) {
	if s[i] == ' ' {
		i++
	}
	end := t.span(s, i, punct)
	if end == i {
		return 0, false
	}
	for end < len(s) && (s[end] == '\r' || s[end] == '\n' || s[end] == '/') {
		end++
	}
	return end, true
}

// spaces matches the whitespace alternatives at s[i]: up to the last line
// break of the run if it has one, else the whole run at the end of the text
// or if it is a single rune, else the run without its last rune.
func (t *classTable) spaces(s string, i int) int {
	end, last, lastBreak := i, i, -1
	for end < len(s) {
		c, w := t.at(s, end)
		if c&space == 0 {
			break
		}
		last = end
		end += w
		if c&newline != 0 {
			lastBreak = end
		}
	}
	switch {
	case lastBreak >= 0:
		return lastBreak
	case end == len(s) || last == i:
		return end
	}
	return last
}
