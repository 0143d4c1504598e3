package contextengine

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// GOROOT files are cut into pieces of srcPieceBytes at line boundaries;
// pieces over srcPieceMax (single lines of embedded data) are left out.
const (
	srcPieceBytes = 2048
	srcPieceMax   = 64 << 10
)

// srcPiece is a span of lines of a GOROOT source file.
type srcPiece struct {
	path    string // file under GOROOT/src and first line: "bufio/scan.go:101"
	content string
}

var gorootPieces = sync.OnceValues(loadGorootPieces)

// srcPieces returns every .go file under GOROOT/src, tests and testdata
// included, cut into pieces of about srcPieceBytes, in a fixed order.
func srcPieces(tb testing.TB) []srcPiece {
	tb.Helper()
	pieces, err := gorootPieces()
	if err != nil {
		tb.Skipf("no GOROOT sources to build a corpus from: %v", err)
	}
	return pieces
}

func loadGorootPieces() ([]srcPiece, error) {
	root := filepath.Join(runtime.GOROOT(), "src")
	var pieces []srcPiece
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		pieces = appendPieces(pieces, filepath.ToSlash(rel), string(data))
		return err
	})
	if err == nil && len(pieces) == 0 {
		err = errors.New("no .go files under " + root)
	}
	return pieces, err
}

// appendPieces cuts a file into pieces of at most srcPieceBytes (or one
// longer line) at line boundaries, leaving out blank and huge pieces.
func appendPieces(pieces []srcPiece, rel, content string) []srcPiece {
	var cur strings.Builder
	first, line := 1, 1
	flush := func() {
		if cur.Len() <= srcPieceMax && strings.TrimSpace(cur.String()) != "" {
			pieces = append(pieces, srcPiece{path: fmt.Sprintf("%s:%d", rel, first), content: cur.String()})
		}
		cur.Reset()
		first = line
	}
	for l := range strings.SplitAfterSeq(content, "\n") {
		if cur.Len() > 0 && cur.Len()+len(l) > srcPieceBytes {
			flush()
		}
		cur.WriteString(l)
		line++
	}
	flush()
	return pieces
}

// corpusDoc returns document i of an endless corpus: the pieces in order,
// then again under copyN/ path prefixes so every path is distinct.
func corpusDoc(pieces []srcPiece, i int) NewDocument {
	p := pieces[i%len(pieces)]
	path := p.path
	if round := i / len(pieces); round > 0 {
		path = fmt.Sprintf("copy%d/%s", round, path)
	}
	return NewDocument{Path: path, Language: "go", Content: p.content}
}

// corpusBatch returns documents [from, from+n) of the corpus.
func corpusBatch(pieces []srcPiece, from, n int) []NewDocument {
	docs := make([]NewDocument, n)
	for i := range docs {
		docs[i] = corpusDoc(pieces, from+i)
	}
	return docs
}

// queriesFile holds natural-language queries about the standard library,
// relative to the repository root.
const queriesFile = "testdata/bench/godoc/queries.jsonl"

var queryCorpus = sync.OnceValues(loadQueries)

// benchQueries returns distinct realistic queries: the judged godoc queries
// when present, else doc comments of exported GOROOT functions.
func benchQueries(tb testing.TB) []string {
	tb.Helper()
	qs, err := queryCorpus()
	if err != nil {
		tb.Fatal(err)
	}
	if len(qs) == 0 {
		qs = docCommentQueries(srcPieces(tb), 1000)
	}
	if len(qs) == 0 {
		tb.Skip("no queries")
	}
	return qs
}

func loadQueries() ([]string, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(root, queriesFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var qs []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var q struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			return nil, fmt.Errorf("%s: %w", queriesFile, err)
		}
		if q.Text != "" && !slices.Contains(qs, q.Text) {
			qs = append(qs, q.Text)
		}
	}
	return qs, sc.Err()
}

// repoRoot returns the closest ancestor directory with a go.mod file.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod in any parent directory: %w", fs.ErrNotExist)
		}
		dir = parent
	}
}

// docCommentQueries returns up to limit first paragraphs of the doc comments
// of exported functions.
func docCommentQueries(pieces []srcPiece, limit int) []string {
	var qs []string
	for _, p := range pieces {
		var para []string
		inPara := true
		for l := range strings.Lines(p.content) {
			l = strings.TrimSpace(l)
			if text, ok := strings.CutPrefix(l, "//"); ok {
				text = strings.TrimSpace(text)
				if text == "" {
					inPara = false
				} else if inPara {
					para = append(para, text)
				}
				continue
			}
			if exportedFunc(l) && len(para) > 0 {
				if qs = append(qs, strings.Join(para, " ")); len(qs) == limit {
					return qs
				}
			}
			para, inPara = nil, true
		}
	}
	return qs
}

// exportedFunc reports whether a line declares an exported function or method.
func exportedFunc(line string) bool {
	rest, ok := strings.CutPrefix(line, "func ")
	if !ok {
		return false
	}
	if strings.HasPrefix(rest, "(") {
		_, rest, _ = strings.Cut(rest, ") ")
	}
	return rest != "" && rest[0] >= 'A' && rest[0] <= 'Z'
}
