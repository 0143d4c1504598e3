package tokencount

import (
	"unicode"
	"unicode/utf8"
)

// class is the set of o200k_base pattern character classes a rune belongs to.
type class uint8

const (
	upper   class = 1 << iota // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
	lower                     // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
	prefix                    // [^\r\n\p{L}\p{N}]
	punct                     // [^\s\p{L}\p{N}]
	digit                     // \p{N}
	space                     // \s
	newline                   // [\r\n]
)

// classTable holds the classes of the runes of the Basic Multilingual Plane.
type classTable [1 << 16]class

func newClassTable() *classTable {
	t := new(classTable)
	for r := range t {
		t[r] = classify(rune(r))
	}
	return t
}

// at returns the class and width of the rune that starts at s[i].
func (t *classTable) at(s string, i int) (class, int) {
	if b := s[i]; b < utf8.RuneSelf {
		return t[b], 1
	}
	return t.decode(s, i)
}

// decode returns the class and width of the multi-byte rune at s[i].
func (t *classTable) decode(s string, i int) (class, int) {
	r, w := utf8.DecodeRuneInString(s[i:])
	if r < rune(len(t)) {
		return t[r], w
	}
	return classify(r), w
}

// classify returns the classes of r as regexp2, the engine tiktoken-go
// uses, defines them: \s is unicode.IsSpace and \p{X} is unicode.Categories.
func classify(r rune) class {
	isL := unicode.Is(unicode.L, r)
	isN := unicode.Is(unicode.N, r)
	isS := unicode.IsSpace(r)
	isNL := r == '\r' || r == '\n'
	var c class
	if unicode.In(r, unicode.Lu, unicode.Lt, unicode.Lm, unicode.Lo, unicode.M) {
		c |= upper
	}
	if unicode.In(r, unicode.Ll, unicode.Lm, unicode.Lo, unicode.M) {
		c |= lower
	}
	if !isNL && !isL && !isN {
		c |= prefix
	}
	if !isS && !isL && !isN {
		c |= punct
	}
	if isN {
		c |= digit
	}
	if isS {
		c |= space
	}
	if isNL {
		c |= newline
	}
	return c
}
