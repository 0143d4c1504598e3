package tokencount

import "math/bits"

// rankTable maps the bytes of each token to its rank. Tokens of up to
// maxInline bytes sit in an open-addressing table with their bytes packed
// into the slot, so that most lookups read a single cache line.
type rankTable struct {
	slots []slot // power-of-two length, at most half full
	shift uint   // 64 - log2(len(slots))
	long  map[string]int32
}

// slot holds a token and its rank; the zero key marks an empty slot.
type slot struct {
	key  key
	rank int32
}

func newRankTable(ranks map[string]int) *rankTable {
	size := 1 << bits.Len(uint(2*len(ranks)))
	t := &rankTable{
		slots: make([]slot, size),
		shift: uint(64 - bits.TrailingZeros(uint(size))),
		long:  make(map[string]int32),
	}
	for tok, r := range ranks {
		if len(tok) > maxInline {
			t.long[tok] = int32(r)
			continue
		}
		k := packKey(tok)
		i := k.hash() >> t.shift
		for t.slots[i].key != (key{}) {
			i = (i + 1) & uint64(size-1)
		}
		t.slots[i] = slot{k, int32(r)}
	}
	return t
}

// rank returns the rank of s, or noRank if s is not a token.
func (t *rankTable) rank(s string) int32 {
	if len(s) > maxInline {
		if r, ok := t.long[s]; ok {
			return r
		}
		return noRank
	}
	k := packKey(s)
	return t.find(k, k.hash())
}

// find returns the rank of the token k whose hash is h, or noRank.
func (t *rankTable) find(k key, h uint64) int32 {
	mask := uint64(len(t.slots) - 1)
	for i := h >> t.shift; ; i = (i + 1) & mask {
		switch t.slots[i].key {
		case k:
			return t.slots[i].rank
		case key{}:
			return noRank
		}
	}
}
