package tokencount

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// tricky are strings that exercise each alternative of the pattern and
// the backtracking between them.
var tricky = []string{
	"",
	"a",
	" ",
	"hello world",
	"Hello World HELLO wORLD",
	"don't I'm you're we've they'll he'd it's",
	"DON'T I'M YOU'RE WE'VE THEY'LL HE'D IT'S",
	"x'S x'Re x'vE x'LL x'lL 'll 're 's ' ''s '",
	"CamelCaseIdent camelCase HTTPServer ID2Name",
	"line one\r\nline two\r\n\r\n",
	"\r\r\n\n\r",
	"trailing spaces   ",
	"trailing spaces   \n",
	"  leading and   inner   spaces",
	"\ttabs\t\tand\t \ttabs\t",
	"func main() {\n\tfmt.Println(\"hi\")\n}\n",
	"\n\t\t\treturn nil\n\t\t}\n",
	"// comment\n/* block */ //\n//\n/// x",
	"12 123 1234 12345 1234567890 3.14159 1e10 0x1F",
	"٣٤٥٦ ½¼ Ⅻ 12½",
	"emoji 😀😃 👍🏽 👨‍👩‍👧 🇩🇪!",
	"中文字符测试，你好世界。日本語のテキスト、カタカナ",
	"한국어 텍스트",
	"e\u0301 a\u0308b \u0301\u0301x Ä \u0300",
	"ǅungla ǈ ᵃB ʰi Aᵃ's",
	"<|endoftext|> <|endofprompt|><|fim_prefix|>",
	"\xff\xfe invalid \xc3 bytes \xe2\x82",
	"\x00\x01\x02 control \x7f",
	"nbsp\u00a0here \u00a0\u00a0x \u2003em\u3000ideo\u2028sep\u0085nel",
	"mixed   .punct!!!   ?? ...\n\n//path/to/file\r\n//",
	"a  b   c\t\td",
	"  \n  \n  x",
	"x   ",
	"=====================================================",
	"\u00e9t\u00e9 \u00c9T\u00c9 na\u00efve caf\u00e9",
	"Ελληνικά Русский текст עברית العربية",
	"'s'S",
	" 's 123's A's ÀB'S ǅ'LL .'ve",
	"\u0301ABC \u0301abc x\u0301\u0301 .\u0301A ABC\u0301. 1\u0301",
	"\t\t. \t\tx \u00a0\u00a0x a\u00a0\u00a0b \u3000\u3000.",
	"\r\n\r\n   \t\n  foo\n \n",
	"*/\n/ )\r\n// x./\r/\n",
}

func TestCountTricky(t *testing.T) {
	c, ref := newCounter(t), newReference(t)
	for _, s := range tricky {
		if got, want := c.Count(s), ref.Count(s); got != want {
			t.Errorf("Count(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestCountLongPieces(t *testing.T) {
	c, ref := newCounter(t), newReference(t)
	for _, s := range []string{
		strings.Repeat(" ", 3000),
		strings.Repeat(" ", 3000) + "x",
		strings.Repeat("=-+*", 700),
		strings.Repeat("abcdefghij", 300),
		strings.Repeat("\u0301", 1000),
	} {
		if got, want := c.Count(s), ref.Count(s); got != want {
			t.Errorf("Count(%.20q... (%d bytes)) = %d, want %d", s, len(s), got, want)
		}
	}
}

// runeContexts surround a rune, written #, with runes of each class.
var runeContexts = []string{
	"#", "##", "a#b", "A#b", "A#B", " #a", " #A", "##a", "#'s", "A#'S",
	"ab#Cd", "AB#'ll", "1#2", ".#.", " #\n", "#  x", "\n#", "x#\r\n", "# #",
}

// regexpTables are the tables the o200k_base pattern refers to.
var regexpTables = []*unicode.RangeTable{
	unicode.L, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Lm, unicode.Lo,
	unicode.M, unicode.N, unicode.White_Space,
}

// tableSet returns the set of regexpTables that hold r.
func tableSet(r rune) uint {
	var set uint
	for i, t := range regexpTables {
		if unicode.Is(t, r) {
			set |= 1 << i
		}
	}
	return set
}

// TestCountClassBoundaries checks, in several contexts, both runes at
// every boundary between runs of runes in the same regexpTables.
func TestCountClassBoundaries(t *testing.T) {
	c, ref := newCounter(t), newReference(t)
	for r := rune(1); r <= unicode.MaxRune; r++ {
		if tableSet(r) == tableSet(r-1) || utf16.IsSurrogate(r) || utf16.IsSurrogate(r-1) {
			continue
		}
		for _, ctx := range runeContexts {
			for _, x := range []rune{r - 1, r} {
				s := strings.ReplaceAll(ctx, "#", string(x))
				if got, want := c.Count(s), ref.Count(s); got != want {
					t.Errorf("Count(%q) = %d, want %d", s, got, want)
				}
			}
		}
	}
}

// maxFuzzBytes bounds FuzzCount's inputs: the reference's merging is
// quadratic in a piece's length, and on long runs of one invalid byte a
// single call took minutes, stalling the fuzzer.
const maxFuzzBytes = 1 << 10

func FuzzCount(f *testing.F) {
	for _, s := range tricky {
		f.Add(s)
	}
	c, ref := newCounter(f), newReference(f)
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > maxFuzzBytes {
			return
		}
		if got, want := c.Count(s), ref.Count(s); got != want {
			t.Errorf("Count(%q) = %d, want %d", s, got, want)
		}
	})
}

// minimalMismatch narrows s, on which c and ref disagree, to a short
// substring on which they still disagree.
func minimalMismatch(c *Counter, ref reference, s string) string {
	differ := func(s string) bool { return c.Count(s) != ref.Count(s) }
	// Invariant: s[:lo] agrees, s[:hi] differs.
	lo, hi := 0, len(s)
	for hi-lo > 1 {
		mid := runeStart(s, (lo+hi)/2)
		if mid == lo {
			break
		}
		if differ(s[:mid]) {
			hi = mid
		} else {
			lo = mid
		}
	}
	s = s[:hi]
	// Invariant: s[lo:] differs, s[hi:] agrees.
	lo, hi = 0, len(s)
	for hi-lo > 1 {
		mid := runeStart(s, (lo+hi)/2)
		if mid == lo {
			break
		}
		if differ(s[mid:]) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return s[lo:]
}

// runeStart returns the start of the rune s[i] belongs to.
func runeStart(s string, i int) int {
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}
