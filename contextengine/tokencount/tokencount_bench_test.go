package tokencount

import (
	"fmt"
	"strings"
	"testing"
)

// benchBytes is about how much text the benchmarks count per iteration.
const benchBytes = 2 << 20

// benchTexts returns about benchBytes of corpus documents, or of generated
// Go-like source if the corpus is missing.
func benchTexts(b *testing.B) []string {
	docs, err := readCorpus()
	if err != nil {
		b.Logf("using generated text: %v", err)
		return []string{generatedSource(benchBytes)}
	}
	var texts []string
	n := 0
	for _, d := range docs {
		if n >= benchBytes {
			break
		}
		texts = append(texts, d.Text)
		n += len(d.Text)
	}
	return texts
}

// generatedSource returns about n bytes of Go-like source.
func generatedSource(n int) string {
	var sb strings.Builder
	for i := 0; sb.Len() < n; i++ {
		fmt.Fprintf(&sb, "// handle%d returns the value of field %d, or an error if it's unset.\n", i, i*37)
		fmt.Fprintf(&sb, "func (s *Server) handle%d(ctx context.Context, req *Request) (int, error) {\n", i)
		fmt.Fprintf(&sb, "\tif req.Field%d == nil {\n\t\treturn 0, fmt.Errorf(\"field %%d: %%w\", %d, ErrUnset)\n\t}\n", i, i)
		fmt.Fprintf(&sb, "\treturn *req.Field%d + %d, nil\n}\n\n", i, i*i)
	}
	return sb.String()
}

func benchmarkCount(b *testing.B, count func(string) int) {
	texts := benchTexts(b)
	n := 0
	for _, t := range texts {
		n += len(t)
	}
	b.SetBytes(int64(n))
	for b.Loop() {
		for _, t := range texts {
			count(t)
		}
	}
}

func BenchmarkCount(b *testing.B) { benchmarkCount(b, newCounter(b).Count) }

func BenchmarkReference(b *testing.B) { benchmarkCount(b, newReference(b).Count) }
