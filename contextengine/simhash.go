package contextengine

import (
	"hash/fnv"
	"math/bits"
)

// simhasher accumulates a 64-bit SimHash of a sequence of terms; texts
// whose hashes differ in few bits share most of their terms.
type simhasher struct {
	v [64]int32
}

func (s *simhasher) add(term string) {
	h := fnv.New64a()
	h.Write([]byte(term))
	x := h.Sum64()
	for i := range s.v {
		if x&(1<<i) != 0 {
			s.v[i]++
		} else {
			s.v[i]--
		}
	}
}

func (s *simhasher) sum() uint64 {
	var x uint64
	for i, c := range s.v {
		if c > 0 {
			x |= 1 << i
		}
	}
	return x
}

// nearDuplicate reports whether two SimHashes are within 3 bits.
func nearDuplicate(a, b uint64) bool {
	return bits.OnesCount64(a^b) <= 3
}
