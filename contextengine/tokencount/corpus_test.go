package tokencount

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// corpusFile is the Go standard library corpus of the judged benchmark,
// relative to the repository root.
const corpusFile = "testdata/bench/godoc/corpus.jsonl.gz"

// document is one line of the corpus.
type document struct {
	Path string `json:"path"`
	Text string `json:"text"`
}

// findCorpus returns the path of corpusFile under the repository root,
// the closest ancestor directory with a go.mod file.
func findCorpus() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, corpusFile)
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("corpus: %w", err)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod in any parent directory: %w", fs.ErrNotExist)
		}
		dir = parent
	}
}

// readCorpus returns the documents of the corpus.
func readCorpus() ([]document, error) {
	path, err := findCorpus()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var docs []document
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var d document
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			return nil, fmt.Errorf("%s: line %d: %v", path, len(docs)+1, err)
		}
		docs = append(docs, d)
	}
	return docs, sc.Err()
}

// corpus returns the corpus documents, skipping the test if the corpus is
// missing, unless CI=true.
func corpus(tb testing.TB) []document {
	tb.Helper()
	docs, err := readCorpus()
	switch {
	case errors.Is(err, fs.ErrNotExist) && os.Getenv("CI") != "true":
		tb.Skipf("skipping: %v", err)
	case err != nil:
		tb.Fatal(err)
	}
	return docs
}

func TestCountCorpus(t *testing.T) {
	docs := corpus(t)
	step := 1
	if testing.Short() {
		step = 10
	}
	c, ref := newCounter(t), newReference(t)
	start := time.Now()
	if i := firstMismatch(c, ref, docs, step); i >= 0 {
		d := docs[i]
		t.Fatalf("%s: Count = %d, reference = %d; they differ on %q",
			d.Path, c.Count(d.Text), ref.Count(d.Text), minimalMismatch(c, ref, d.Text))
	}
	size := 0
	for i := 0; i < len(docs); i += step {
		size += len(docs[i].Text)
	}
	t.Logf("%d documents, %d bytes agree in %v", (len(docs)+step-1)/step, size, time.Since(start))
}

// firstMismatch returns the index of the first of every step-th document
// whose text c and ref count differently, or -1. It uses every CPU.
func firstMismatch(c *Counter, ref reference, docs []document, step int) int {
	var (
		mu    sync.Mutex
		first = -1
		wg    sync.WaitGroup
		next  = make(chan int)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				if c.Count(docs[i].Text) != ref.Count(docs[i].Text) {
					mu.Lock()
					if first < 0 || i < first {
						first = i
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := 0; i < len(docs); i += step {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
