package contextengine

import (
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
