package contextengine

import (
	"fmt"
	"math/rand/v2"
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

// proseHeads returns the first line of each head block of a prose document.
func proseHeads(docPath, content string) []string {
	lines := strings.Split(strings.TrimSuffix(content, "\n"), "\n")
	var heads []string
	for _, b := range splitProse(lines, proseFormatOf(docPath, "")) {
		if b.head {
			for _, l := range lines[b.start:b.end] {
				if strings.TrimSpace(l) != "" {
					heads = append(heads, l)
					break
				}
			}
		}
	}
	return heads
}

// chunkHeads returns the first line of each head chunk.
func chunkHeads(chunks []Chunk) []string {
	var heads []string
	for _, c := range chunks {
		if c.Head {
			heads = append(heads, strings.SplitN(c.Text, "\n", 2)[0])
		}
	}
	return heads
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

// para is a paragraph long enough that a head after it starts a chunk.
var para = strings.TrimSpace(strings.Repeat("Some words of documentation. ", 30))

func rstDoc() string {
	return `.. _top:

=================
 Built-in things
=================

.. module:: builtins

` + para + `

Functions
=========

` + para + `

.. index:: single: abs

.. function:: abs(x)

   ` + para + `

   .. note::

      A note on abs.

   .. versionchanged:: 3.1
      Something changed.

.. py:function:: open(file, mode='r')

   ` + para + `

   The modes are:

   ========= ===========
   Character Meaning
   ========= ===========
   'r'       read
   ========= ===========

Classes
-------

` + para + `

.. class:: Thing(value)

   ` + para + `

   .. method:: get()

      ` + para + `

.. seealso::

   Other things.

Short
~~~~~
tail

----

Closing words.
`
}

func TestChunkDocumentRSTHeads(t *testing.T) {
	doc := rstDoc()
	sameLines(t, "head blocks", proseHeads("library/functions.rst", doc), []string{
		".. _top:", ".. module:: builtins", "Functions", ".. index:: single: abs",
		".. py:function:: open(file, mode='r')", "Classes", ".. class:: Thing(value)",
		"   .. method:: get()", "Short",
	})
	for _, p := range []string{"library/functions.rst", "_sources/library/functions.rst.txt", "functions.txt"} {
		chunks := ChunkDocument(p, "", doc)
		checkCoverage(t, doc, chunks)
		sameLines(t, p+" head chunks", chunkHeads(chunks), []string{
			".. _top:", "Functions", ".. index:: single: abs", ".. py:function:: open(file, mode='r')",
			"Classes", ".. class:: Thing(value)", "   .. method:: get()", "Short",
		})
		// No chunk starts at an underline or at a title below an overline.
		lines := strings.Split(doc, "\n")
		for _, c := range chunks {
			if c.StartLine > 1 {
				if ch, _ := rstAdornment(lines[c.StartLine-1]); ch != 0 && lines[c.StartLine-1] != "----" {
					t.Errorf("%s: chunk at line %d starts at an adornment: %q", p, c.StartLine, lines[c.StartLine-1])
				}
				if ch, _ := rstAdornment(lines[c.StartLine-2]); ch != 0 {
					t.Errorf("%s: chunk at line %d starts below an overline", p, c.StartLine)
				}
			}
		}
	}
}

func TestChunkDocumentRSTTitleRules(t *testing.T) {
	for _, tt := range []struct {
		name, doc string
		heads     []string
	}{
		{"underline shorter than title", "Intro\n\nA long title\n====\n\ntext\n", nil},
		{"title needs a blank line before", "text\nTitle\n=====\n", nil},
		{"indented title", "\n  Title\n  =====\n", nil},
		{"transition", "text\n\n-----\n\ntext\n", nil},
		{"overline and underline differ", "=====\nTitle\n-----\n", nil},
		{"directive needs a blank line before", "text\n.. function:: f()\n", nil},
		{"comment and link target with URL", ".. a comment\n\n.. _Python: https://python.org\n", nil},
		{"index before text is text", "Title\n=====\n\n.. index:: x\n\ntext\n", []string{"Title"}},
		{"custom directive", "Intro\n\n.. confval:: timeout\n\n   Seconds.\n", []string{".. confval:: timeout"}},
		{"nested note is text", ".. class:: A\n\n   .. note:: n\n\n   .. attribute:: x\n", []string{".. class:: A", "   .. attribute:: x"}},
		{"crlf", "Title\r\n=====\r\n\r\n.. function:: f()\r\n", []string{"Title\r", ".. function:: f()\r"}},
		{"wide title", "Überschrift\n===========\n", []string{"Überschrift"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sameLines(t, "heads", proseHeads("doc.rst", tt.doc), tt.heads)
			checkCoverage(t, tt.doc, ChunkDocument("doc.rst", "", tt.doc))
		})
	}
}

func markdownDoc() string {
	return `---
title: Guide
---

# Guide

` + para + `

## Example

` + "```python" + `
# not a heading

def f():

    return 1
` + "```" + `

~~~
# not a heading either

~~~~

Setext title
============

` + para + `

A second paragraph
that is a heading
-----------------

text

- a list item
---

<a name="later"></a>

## Later

` + "````" + `
` + "```" + `
still in the fence

` + "````" + `
`
}

func TestChunkDocumentMarkdownStructure(t *testing.T) {
	doc := markdownDoc()
	sameLines(t, "head blocks", proseHeads("guide.md", doc), []string{
		"# Guide", "## Example", "Setext title", "A second paragraph", `<a name="later"></a>`,
	})
	chunks := ChunkDocument("guide.md", "", doc)
	checkCoverage(t, doc, chunks)
	sameLines(t, "head chunks", chunkHeads(chunks), []string{"---", "## Example", "A second paragraph"})
	lines := strings.Split(doc, "\n")
	for _, fence := range [][2]string{{"```python", "```"}, {"~~~", "~~~~"}, {"````", "````"}} {
		open := -1
		for i, l := range lines {
			if open < 0 && l == fence[0] {
				open = i + 1
			} else if open > 0 && l == fence[1] {
				for _, c := range chunks {
					if c.StartLine <= open && open <= c.EndLine && c.EndLine < i+1 {
						t.Errorf("fence at line %d split at line %d", open, c.EndLine)
					}
				}
				break
			}
		}
	}
}

func TestChunkDocumentMarkdownRules(t *testing.T) {
	for _, tt := range []struct {
		name, doc string
		heads     []string
	}{
		{"unclosed fence is text", "```\n\n# Later\n\ntext\n", []string{"# Later"}},
		{"heading interrupts a paragraph", "text\n# Heading\nmore\n", []string{"# Heading"}},
		{"seven hashes", "####### no\n\n#no\n", nil},
		{"thematic break", "text\n\n---\n\ntext\n***\n", nil},
		{"quote and indented text", "> quote\n---\n\n    code\n    ----\n", nil},
		{"ordered list item", "1. item\n---\n", nil},
		{"fence after text", "Example:\n```\n# x\n\n```\nTitle\n---\n", []string{"Title"}},
		{"front matter only on line 1", "text\n\n---\nkey: v\n---\n", []string{"---"}}, // a setext heading
	} {
		t.Run(tt.name, func(t *testing.T) {
			sameLines(t, "heads", proseHeads("doc.md", tt.doc), tt.heads)
			checkCoverage(t, tt.doc, ChunkDocument("doc.md", "", tt.doc))
		})
	}
}

func TestChunkDocumentAsciiDocHeads(t *testing.T) {
	doc := "= Document\n\n" + para + "\n\n[[install]]\n== Install\n\n----\n== not a heading\n\n# nor this\n----\n\n" +
		para + "\n\n[appendix]\n\n=== Notes\ntext\n\n# Markdown style\n"
	sameLines(t, "heads", proseHeads("guide.adoc", doc), []string{"= Document", "[[install]]", "[appendix]", "# Markdown style"})
	checkCoverage(t, doc, ChunkDocument("guide.adoc", "", doc))
}

// TestChunkDocumentRandomProse checks the coverage invariants on random
// documents built from the lines the prose rules look at.
func TestChunkDocumentRandomProse(t *testing.T) {
	pieces := []string{
		"", "", "", "text", para, strings.Repeat("x", 2100), "# Heading", "## Sub", "Title", "=====", "-----",
		"~~", "````", "```", "```go", "~~~", "---", "----", "....", "|===", "= Doc", "== Section", ".. function:: f()",
		".. index:: i", ".. _label:", "   .. method:: m()", "   indented", ".. note::", "[[id]]", `<a name="x"></a>`,
		"- item", "> quote", "Title\r", "=====\r", "\r", "Überschrift", "..", "::",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	paths := []string{"a.md", "a.rst", "a.adoc", "a.txt", "README"}
	for n := range 2000 {
		var b strings.Builder
		for range rng.IntN(60) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
			b.WriteByte('\n')
		}
		doc := b.String()
		if rng.IntN(2) == 0 {
			doc = strings.TrimSuffix(doc, "\n")
		}
		p := paths[n%len(paths)]
		t.Run(fmt.Sprint(p, n), func(t *testing.T) { checkCoverage(t, doc, ChunkDocument(p, "", doc)) })
		if t.Failed() {
			t.Fatalf("%s:\n%s", p, doc)
		}
	}
}

func FuzzChunkDocumentProse(f *testing.F) {
	f.Add("a.rst", ".. _t:\n\n=====\nTitle\n=====\n\n.. function:: f()\n\n   .. method:: m()\n")
	f.Add("a.md", "---\nk: v\n---\n# H\n```\n\n# x\n```\nT\n---\n")
	f.Add("a.adoc", "= T\n\n----\nx\n\n----\n")
	f.Add("a.txt", "Title\n=====\n\n```\n\n```\n")
	f.Fuzz(func(t *testing.T, p, doc string) {
		checkCoverage(t, doc, ChunkDocument(p, "text", doc))
	})
}
