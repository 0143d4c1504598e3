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

func TestMatchExpressionQuotesTerms(t *testing.T) {
	got := matchExpression([]string{"new", "reader"}, 3)
	want := `{path body} : ("new" OR "reader") AND ws : "w3"`
	if got != want {
		t.Fatalf("matchExpression = %q, want %q", got, want)
	}
	if strings.Contains(matchExpression([]string{"x"}, 0), "ws") {
		t.Fatal("unscoped expression names the workspace column")
	}
}
