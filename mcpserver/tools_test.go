package mcpserver

import (
	"errors"
	"testing"

	"github.com/contextlite/cloud/api"
)

func TestLines(t *testing.T) {
	const doc = "one\ntwo\nthree\n"
	for _, c := range []struct {
		content            string
		start, end         int
		want               string
		wantStart, wantEnd int
		total              int
		code               string
	}{
		{doc, 0, 0, doc, 1, 3, 3, ""},
		{doc, 2, 0, "two\nthree\n", 2, 3, 3, ""},
		{doc, 2, 2, "two\n", 2, 2, 3, ""},
		{doc, 3, 99, "three\n", 3, 3, 3, ""},
		{"no newline", 0, 0, "no newline", 1, 1, 1, ""},
		{"", 0, 0, "", 0, 0, 0, ""},
		{doc, 4, 0, "", 0, 0, 3, "invalid_request"},
		{doc, 3, 2, "", 0, 0, 3, "invalid_request"},
		{doc, -1, 0, "", 0, 0, 3, "invalid_request"},
	} {
		got, start, end, total, err := lines(c.content, c.start, c.end)
		code := ""
		if e, ok := errors.AsType[*api.Error](err); ok {
			code = e.Code
		}
		if got != c.want || start != c.wantStart || end != c.wantEnd || total != c.total || code != c.code {
			t.Errorf("lines(%q, %d, %d) = %q %d-%d of %d, %v; want %q %d-%d of %d, %s",
				c.content, c.start, c.end, got, start, end, total, err, c.want, c.wantStart, c.wantEnd, c.total, c.code)
		}
	}
}

func TestDocumentURI(t *testing.T) {
	for _, c := range []struct{ workspace, path, uri string }{
		{"default", "src/main.go", "contextlite://default/src/main.go"},
		{"docs_v2", "notes/to do.md", "contextlite://docs_v2/notes/to%20do.md"},
		{"w.1", "a#b?c.md", "contextlite://w.1/a%23b%3Fc.md"},
	} {
		uri := documentURI(c.workspace, c.path)
		if uri != c.uri {
			t.Errorf("documentURI(%q, %q) = %q, want %q", c.workspace, c.path, uri, c.uri)
		}
		ws, path, ok := parseDocumentURI(uri)
		if !ok || ws != c.workspace || path != c.path {
			t.Errorf("parseDocumentURI(%q) = %q, %q, %v", uri, ws, path, ok)
		}
	}
	for _, bad := range []string{"https://default/a.md", "contextlite:///a.md", "contextlite://default/", "::"} {
		if _, _, ok := parseDocumentURI(bad); ok {
			t.Errorf("parseDocumentURI(%q) accepted", bad)
		}
	}
}
