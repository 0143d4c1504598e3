package tokencount

import "math"

// noRank is the rank of strings that are not tokens.
const noRank = math.MaxInt32

// maxScan is the length of the longest piece merge handles by scanning for
// the lowest rank; longer ones use a heap.
const maxScan = 64

// merge splits piece into single bytes and repeatedly merges the adjacent
// pair of lowest rank, the leftmost on ties, until no pair is a token. It
// returns the number of parts left.
func (t *rankTable) merge(piece string) int {
	if len(piece) > maxScan {
		return t.mergeHeap(piece)
	}
	var startBuf [maxScan + 1]int32
	var rankBuf [maxScan]int32
	starts, pairs := startBuf[:0], rankBuf[:0]
	for i := range len(piece) + 1 {
		starts = append(starts, int32(i))
	}
	// pairs[i] is the rank of parts i and i+1 merged.
	for i := range len(piece) - 1 {
		pairs = append(pairs, t.rank(piece[i:i+2]))
	}
	for len(pairs) > 0 {
		i := minIndex(pairs)
		if pairs[i] == noRank {
			break
		}
		starts = append(starts[:i+1], starts[i+2:]...)
		pairs = append(pairs[:i], pairs[i+1:]...)
		if i < len(pairs) {
			pairs[i] = t.rank(piece[starts[i]:starts[i+2]])
		}
		if i > 0 {
			pairs[i-1] = t.rank(piece[starts[i-1]:starts[i+1]])
		}
	}
	return len(starts) - 1
}

// minIndex returns the index of the leftmost smallest element of s.
func minIndex(s []int32) int {
	m := 0
	for i, r := range s {
		if r < s[m] {
			m = i
		}
	}
	return m
}

// mergeHeap is merge in O(n log n) time. Parts are a doubly linked list
// indexed by their start; a min-heap holds the candidate pairs as
// rank<<32|start, so that it pops the lowest rank, leftmost on ties.
// Entries whose pair has since changed are skipped: a start and a rank
// identify a pair, as tokens differ in bytes.
func (t *rankTable) mergeHeap(piece string) int {
	n := len(piece)
	next := make([]int32, n) // start of the next part, n for none
	prev := make([]int32, n) // start of the previous part, -1 for none
	rank := make([]int32, n) // rank of a part merged with the next one
	h := make(pairHeap, 0, n)
	for i := range n {
		next[i], prev[i] = int32(i+1), int32(i-1)
	}
	update := func(i int32) {
		if j := next[i]; j < int32(n) {
			rank[i] = t.rank(piece[i:next[j]])
		} else {
			rank[i] = noRank
		}
		if rank[i] != noRank {
			h.push(uint64(rank[i])<<32 | uint64(i))
		}
	}
	for i := range n {
		update(int32(i))
	}
	parts := n
	for len(h) > 0 {
		top := h.pop()
		i := int32(top & math.MaxUint32)
		if rank[i] != int32(top>>32) {
			continue
		}
		j := next[i]
		next[i] = next[j]
		if next[j] < int32(n) {
			prev[next[j]] = i
		}
		rank[j] = noRank
		parts--
		update(i)
		if prev[i] >= 0 {
			update(prev[i])
		}
	}
	return parts
}

// pairHeap is a binary min-heap.
type pairHeap []uint64

func (h *pairHeap) push(x uint64) {
	*h = append(*h, x)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if s[parent] <= s[i] {
			break
		}
		s[parent], s[i] = s[i], s[parent]
		i = parent
	}
}

func (h *pairHeap) pop() uint64 {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		m, l, r := i, 2*i+1, 2*i+2
		if l < len(s) && s[l] < s[m] {
			m = l
		}
		if r < len(s) && s[r] < s[m] {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
