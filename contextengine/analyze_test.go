package contextengine

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAnalyze(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"NewReader", "newreader new reader"},
		{"max_tokens", "max_tokens max tokens"},
		{"HTTPServer", "httpserver http server"},
		{"parseJSON2 x", "parsejson2 parse json2"},
		{"io.Reader(b)", "io reader"},
		{"the cat's hat", "the cat hat"},
		{"__init__", "__init__"},
		{"Grüße ÄpfelBaum", "grüße äpfelbaum äpfel baum"},
		{`"; DROP TABLE x; --`, "drop table"},
		{"a b c", ""},
	}
	for _, tt := range tests {
		if got := analyzedText(tt.in); got != tt.want {
			t.Errorf("analyzedText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQueryTermsDistinct(t *testing.T) {
	got := queryTerms("read the Reader; ReadAll reads")
	want := []string{"read", "the", "reader", "readall", "all", "reads"}
	if !slices.Equal(got, want) {
		t.Fatalf("queryTerms = %q, want %q", got, want)
	}
}

// analyzedText returns the terms of text joined by spaces, as indexed.
func analyzedText(text string) string {
	var b strings.Builder
	analyze(text, func(term []byte) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.Write(term)
	})
	return b.String()
}

// TestASCIIPartsMatchSplitIdentifier checks the ASCII fast path against
// the general splitter on every word of this package's sources and on
// edge cases.
func TestASCIIPartsMatchSplitIdentifier(t *testing.T) {
	words := []string{"A", "AB", "ABc", "aB", "a1B", "_", "__x__", "X_Y", "HTTPServer2", "IOError", "a__b", "9Lives", "ABCDef_GHi"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		words = append(words, strings.FieldsFunc(string(b), func(r rune) bool { return !isWordRune(r) })...)
	}
	for _, w := range words {
		var want []string
		splitIdentifier(w, func(p string) { want = append(want, p) })
		if got := appendASCIIParts(nil, w); !slices.Equal(got, want) {
			t.Fatalf("appendASCIIParts(%q) = %q, splitIdentifier gives %q", w, got, want)
		}
	}
}
