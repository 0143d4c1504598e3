package tokencount

import (
	"sync"
	"testing"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// reference counts tokens with tiktoken-go, the implementation Counter must match.
type reference struct{ enc *tiktoken.Tiktoken }

var loadReference = sync.OnceValues(func() (reference, error) {
	tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
	enc, err := tiktoken.GetEncoding("o200k_base")
	return reference{enc}, err
})

var loadCounter = sync.OnceValues(New)

// newReference returns the shared reference implementation.
func newReference(tb testing.TB) reference {
	tb.Helper()
	ref, err := loadReference()
	if err != nil {
		tb.Fatal(err)
	}
	return ref
}

// newCounter returns the shared Counter under test.
func newCounter(tb testing.TB) *Counter {
	tb.Helper()
	c, err := loadCounter()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Count returns the number of tokens tiktoken-go encodes text to.
func (r reference) Count(text string) int { return len(r.enc.EncodeOrdinary(text)) }
