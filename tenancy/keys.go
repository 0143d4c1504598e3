package tenancy

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"math/big"
	"strings"
	"time"
)

// An API key is 48 characters:
//
//	clc_live_ | 33 base62 digits of 192 random bits | 6 base62 digits of a CRC-32
//
// The prefix is "clc_test_" for test keys. The random part is left-padded
// with '0' to 33 digits (62^33 > 2^192). The checksum is the CRC-32 (IEEE)
// of the 42 characters before it, left-padded to 6 digits (62^6 > 2^32),
// so CheckKey rejects mistyped and made-up keys without a lookup. Base62
// digits are 0-9, a-z, A-Z in that order.
const (
	liveKeyPrefix = "clc_live_"
	testKeyPrefix = "clc_test_"
	keyRandomLen  = 33
	keyCheckLen   = 6
	keyLen        = len(liveKeyPrefix) + keyRandomLen + keyCheckLen
	keyShownLen   = 13 // what KeyPrefix keeps: "clc_live_" and 4 digits
)

// NewKey returns a new random API key, a live one or a test one.
func NewKey(live bool) (plaintext string, err error) {
	var random [24]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", fmt.Errorf("new API key: %w", err)
	}
	prefix := testKeyPrefix
	if live {
		prefix = liveKeyPrefix
	}
	s := prefix + base62(random[:], keyRandomLen)
	return s + keyChecksum(s), nil
}

// CheckKey reports whether s is well formed: its prefix, length, digits
// and checksum. It returns ErrMalformedKey and never looks anything up.
func CheckKey(s string) error {
	if len(s) != keyLen || !strings.HasPrefix(s, liveKeyPrefix) && !strings.HasPrefix(s, testKeyPrefix) {
		return ErrMalformedKey
	}
	for i := len(liveKeyPrefix); i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return ErrMalformedKey
		}
	}
	if keyChecksum(s[:keyLen-keyCheckLen]) != s[keyLen-keyCheckLen:] {
		return ErrMalformedKey
	}
	return nil
}

// KeyPrefix returns the first 13 characters of a key, e.g. "clc_live_AbCd",
// which identify it to its owner without revealing it.
func KeyPrefix(s string) string {
	return s[:min(len(s), keyShownLen)]
}

// keyChecksum returns the base62 CRC-32 of s.
func keyChecksum(s string) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" // big.Int's base 62
	var out [keyCheckLen]byte
	v := crc32.ChecksumIEEE([]byte(s))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = digits[v%62]
		v /= 62
	}
	return string(out[:])
}

// base62 returns the big-endian number b in base 62, left-padded with '0'
// to width digits.
func base62(b []byte, width int) string {
	s := new(big.Int).SetBytes(b).Text(62)
	return strings.Repeat("0", width-len(s)) + s
}

// Hasher hashes API keys for storage and lookup.
type Hasher struct {
	// Pepper, when set, makes Hash an HMAC-SHA256 keyed with it, so a
	// stolen database alone cannot confirm a guessed key.
	Pepper []byte
}

// Hash returns HMAC-SHA256(Pepper, key) when Pepper is set, else SHA-256(key).
func (h Hasher) Hash(key string) []byte {
	if len(h.Pepper) == 0 {
		sum := sha256.Sum256([]byte(key))
		return sum[:]
	}
	m := hmac.New(sha256.New, h.Pepper)
	m.Write([]byte(key))
	return m.Sum(nil)
}

// Scope is a permission of an API key.
type Scope = string

// The scopes; each implies those before it.
const (
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
	ScopeAdmin Scope = "admin"
)

// scopeRank orders scopes by what they imply; 0 for unknown ones.
func scopeRank(s string) int {
	switch s {
	case ScopeRead:
		return 1
	case ScopeWrite:
		return 2
	case ScopeAdmin:
		return 3
	}
	return 0
}

// APIKey is the stored record of an API key; the key itself is not kept.
type APIKey struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id"`
	Prefix     string     `json:"prefix"` // KeyPrefix of the key
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	Hash       []byte     `json:"-"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

// HasScope reports whether k grants s: admin implies write, write implies read.
func (k APIKey) HasScope(s string) bool {
	want := scopeRank(s)
	if want == 0 {
		return false
	}
	for _, have := range k.Scopes {
		if scopeRank(have) >= want {
			return true
		}
	}
	return false
}

// Active reports whether k is neither revoked nor expired at now.
func (k APIKey) Active(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}
