package retrievalbench

import (
	"slices"
	"testing"
)

func TestQueryTerms(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"Reads the data from r and returns it.", []string{"reads", "data", "r", "returns"}},
		{"NewReader returns a new Reader; newreader NEWREADER", []string{"newreader", "returns", "new", "reader"}},
		{"snake_case, x2 and (a.b) -> c", []string{"snake_case", "x2", "b", "c"}},
		{"héllo wörld", []string{"h", "llo", "w", "rld"}},
		{"The IS it, of ... which when", nil},
	}
	for _, tt := range tests {
		if got := queryTerms(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("queryTerms(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestFTS5Match(t *testing.T) {
	if got, want := fts5Match([]string{"new", "reader"}), `"new" OR "reader"`; got != want {
		t.Fatalf("fts5Match = %s, want %s", got, want)
	}
}
