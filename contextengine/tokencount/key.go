package tokencount

import "math/bits"

// maxInline is the length of the longest string a key holds.
const maxInline = 15

// key holds a string of 1 to maxInline bytes: its bytes little-endian in lo
// and hi, and its length in the top byte of hi.
type key struct{ lo, hi uint64 }

// packKey returns the key of s, 1 ≤ len(s) ≤ maxInline. Loads that overlap
// read equal bytes, so or-ing them is exact.
func packKey(s string) key {
	n := len(s)
	var lo, hi uint64
	switch {
	case n > 8:
		lo, hi = load64(s), load64(s[n-8:])>>(8*(16-n))
	case n >= 4:
		lo = uint64(load32(s)) | uint64(load32(s[n-4:]))<<(8*(n-4))
	case n >= 2:
		lo = uint64(load16(s)) | uint64(load16(s[n-2:]))<<(8*(n-2))
	default:
		lo = uint64(s[0])
	}
	return key{lo, hi | uint64(n)<<56}
}

// hash returns a hash of k whose top bits are well mixed.
func (k key) hash() uint64 {
	return (k.lo ^ bits.RotateLeft64(k.hi, 29)) * 0x9e3779b97f4a7c15
}

func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func load32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

func load16(s string) uint16 {
	_ = s[1]
	return uint16(s[0]) | uint16(s[1])<<8
}
