package contextengine

import (
	"fmt"
	"strings"
	"testing"
)

// goSource returns a Go file of n functions, each with a doc comment.
func goSource(n int) string {
	var b strings.Builder
	b.WriteString("// Package demo is a test file.\npackage demo\n\nimport \"fmt\"\n\n")
	for i := range n {
		fmt.Fprintf(&b, "// Func%d prints its number.\n// It has a doc comment of two lines.\nfunc Func%d(w io.Writer) error {\n", i, i)
		for j := range 1 + i%7 {
			fmt.Fprintf(&b, "\tfmt.Fprintf(w, \"value %%d\\n\", %d)\n", i*j)
		}
		b.WriteString("\treturn nil\n}\n\n")
	}
	return b.String()
}

func TestChunkDocumentCoversLinesExactly(t *testing.T) {
	tests := []struct {
		name, path, lang, content string
	}{
		{"go", "demo.go", "", goSource(60)},
		{"go no final newline", "demo.go", "go", strings.TrimSuffix(goSource(5), "\n")},
		{"markdown", "README.md", "", "# Title\n\nIntro paragraph.\n\n## Usage\n\n" + strings.Repeat("Some prose line here.\n", 200) + "\n## End\nbye\n"},
		{"one long line", "min.js", "", strings.Repeat("x", 5000)},
		{"crlf", "a.py", "", "def a():\r\n    pass\r\n\r\ndef b():\r\n    pass\r\n"},
		{"leading blanks", "a.go", "", "\n\n\nfunc a() {}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCoverage(t, tt.content, ChunkDocument(tt.path, tt.lang, tt.content))
		})
	}
}

// checkCoverage fails unless chunks are in order, skip only blank lines,
// hold exactly their lines and stay within chunkMax unless one line long.
func checkCoverage(t *testing.T, content string, chunks []Chunk) {
	t.Helper()
	if strings.TrimSpace(content) != "" && len(chunks) == 0 {
		t.Fatal("no chunks")
	}
	lines := strings.Split(content, "\n")
	next := 1
	for i, c := range chunks {
		if c.StartLine < next || c.EndLine < c.StartLine || c.EndLine > len(lines) {
			t.Fatalf("chunk %d spans %d-%d after line %d", i, c.StartLine, c.EndLine, next-1)
		}
		for _, l := range lines[next-1 : c.StartLine-1] {
			if strings.TrimSpace(l) != "" {
				t.Fatalf("chunk %d skips non-blank line %q", i, l)
			}
		}
		if want := strings.Join(lines[c.StartLine-1:c.EndLine], "\n"); c.Text != want {
			t.Fatalf("chunk %d text differs from lines %d-%d", i, c.StartLine, c.EndLine)
		}
		if len(c.Text) > chunkMax && c.StartLine != c.EndLine {
			t.Fatalf("chunk %d is %d bytes over %d lines", i, len(c.Text), c.EndLine-c.StartLine+1)
		}
		if strings.TrimSpace(c.Text) == "" {
			t.Fatalf("chunk %d is blank", i)
		}
		next = c.EndLine + 1
	}
	for _, l := range lines[next-1:] {
		if strings.TrimSpace(l) != "" {
			t.Fatalf("line %q after the last chunk", l)
		}
	}
}

func TestChunkDocumentSplitsOnDeclarations(t *testing.T) {
	chunks := ChunkDocument("demo.go", "", goSource(60))
	if len(chunks) < 5 {
		t.Fatalf("got %d chunks, want several", len(chunks))
	}
	for i, c := range chunks[1:] {
		first := strings.SplitN(c.Text, "\n", 2)[0]
		if !strings.HasPrefix(first, "// Func") && !strings.HasPrefix(first, "func") {
			t.Errorf("chunk %d starts mid-declaration: %q", i+1, first)
		}
	}
}

func TestChunkDocumentStartsProseChunksAtHeadings(t *testing.T) {
	para := strings.Repeat("A sentence of prose that goes on. ", 30)
	md := "# One\n\n" + para + "\n\n# Two\n\n" + para + "\n"
	chunks := ChunkDocument("doc.md", "", md)
	if len(chunks) != 2 || !strings.HasPrefix(chunks[1].Text, "# Two") {
		t.Fatalf("want 2 chunks, the second at '# Two'; got %d: %+v", len(chunks), chunks)
	}
}

func TestChunkDocumentEmpty(t *testing.T) {
	if c := ChunkDocument("a.go", "", " \n\n"); len(c) != 0 {
		t.Fatalf("blank document gave %d chunks", len(c))
	}
}
