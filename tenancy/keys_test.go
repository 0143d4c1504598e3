package tenancy

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"
)

func TestNewKey(t *testing.T) {
	for _, live := range []bool{true, false} {
		prefix := map[bool]string{true: "clc_live_", false: "clc_test_"}[live]
		seen := make(map[string]bool)
		for range 200 {
			k, err := NewKey(live)
			if err != nil {
				t.Fatal(err)
			}
			if len(k) != 48 || !strings.HasPrefix(k, prefix) {
				t.Fatalf("NewKey(%v) = %q: want 48 characters starting %q", live, k, prefix)
			}
			if err := CheckKey(k); err != nil {
				t.Fatalf("CheckKey(%q) = %v", k, err)
			}
			if p := KeyPrefix(k); len(p) != 13 || !strings.HasPrefix(k, p) {
				t.Fatalf("KeyPrefix(%q) = %q", k, p)
			}
			if seen[k] {
				t.Fatalf("NewKey repeated %q", k)
			}
			seen[k] = true
		}
	}
}

// TestKeyEncoding pins the format with known answers.
func TestKeyEncoding(t *testing.T) {
	tests := []struct {
		in    []byte
		width int
		want  string
	}{
		{[]byte{0xcb, 0xf4, 0x39, 0x26}, 6, "3Jzrme"}, // CRC-32 of "123456789"
		{[]byte{0, 0, 0, 0}, 6, "000000"},
		{[]byte{61}, 3, "00Z"},
		{[]byte(strings.Repeat("\xff", 24)), 33, "2Lfa6lBOl2XX0LDqh2k1tDsRWUQmmIme3"}, // 2^192-1
	}
	for _, tt := range tests {
		if got := base62(tt.in, tt.width); got != tt.want {
			t.Errorf("base62(%x, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
	const zero = "clc_live_000000000000000000000000000000000"
	if got := keyChecksum(zero); got != "2xKaVq" {
		t.Errorf("keyChecksum(%q) = %q, want 2xKaVq", zero, got)
	}
	if err := CheckKey(zero + "2xKaVq"); err != nil {
		t.Errorf("CheckKey of the zero key: %v", err)
	}
}

// TestCheckKeyRejectsEveryChange changes each character of a key in turn.
func TestCheckKeyRejectsEveryChange(t *testing.T) {
	k, err := NewKey(true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(k) {
		for _, c := range []byte("0aZ_l") {
			if k[i] == c {
				continue
			}
			changed := k[:i] + string(c) + k[i+1:]
			if err := CheckKey(changed); !errors.Is(err, ErrMalformedKey) {
				t.Errorf("CheckKey(%q) (position %d changed) = %v, want ErrMalformedKey", changed, i, err)
			}
		}
	}
}

func TestCheckKeyMalformed(t *testing.T) {
	good, err := NewKey(false)
	if err != nil {
		t.Fatal(err)
	}
	// withChecksum completes 42 characters with their valid checksum, so
	// only the other rules can reject them.
	withChecksum := func(s string) string { return s + keyChecksum(s) }
	tests := []struct{ name, key string }{
		{"empty", ""},
		{"prefix only", "clc_live_"},
		{"short", good[:47]},
		{"long", good + "0"},
		{"other prefix", withChecksum("clc_prod_" + strings.Repeat("a", 33))},
		{"uppercase prefix", withChecksum("CLC_LIVE_" + strings.Repeat("a", 33))},
		{"non-base62 digit", withChecksum("clc_live_" + strings.Repeat("a", 32) + "-")},
		{"space", withChecksum("clc_live_" + strings.Repeat("a", 32) + " ")},
		{"surrounding space", " " + good[:47]},
	}
	for _, tt := range tests {
		if err := CheckKey(tt.key); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("%s: CheckKey(%q) = %v, want ErrMalformedKey", tt.name, tt.key, err)
		}
	}
}

func TestKeyPrefix(t *testing.T) {
	tests := []struct{ in, want string }{
		{"clc_live_AbCdEfGh", "clc_live_AbCd"},
		{"clc_live_AbCd", "clc_live_AbCd"},
		{"short", "short"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := KeyPrefix(tt.in); got != tt.want {
			t.Errorf("KeyPrefix(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHasher(t *testing.T) {
	tests := []struct {
		name, pepper, key, want string
	}{
		{"sha256", "", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		// RFC 4231, test case 2.
		{"hmac", "Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
	}
	for _, tt := range tests {
		h := Hasher{Pepper: []byte(tt.pepper)}
		if got := hex.EncodeToString(h.Hash(tt.key)); got != tt.want {
			t.Errorf("%s: Hash(%q) = %s, want %s", tt.name, tt.key, got, tt.want)
		}
	}
	a, b := Hasher{Pepper: []byte("a")}.Hash("k"), Hasher{Pepper: []byte("b")}.Hash("k")
	if string(a) == string(b) {
		t.Error("different peppers gave the same hash")
	}
}

func TestHasScope(t *testing.T) {
	tests := []struct {
		have []string
		want string
		ok   bool
	}{
		{[]string{"read"}, "read", true},
		{[]string{"read"}, "write", false},
		{[]string{"read"}, "admin", false},
		{[]string{"write"}, "read", true},
		{[]string{"write"}, "write", true},
		{[]string{"write"}, "admin", false},
		{[]string{"admin"}, "read", true},
		{[]string{"admin"}, "write", true},
		{[]string{"admin"}, "admin", true},
		{[]string{"read", "admin"}, "write", true},
		{nil, "read", false},
		{[]string{"admin"}, "root", false},
		{[]string{"root"}, "read", false},
		{[]string{"admin"}, "", false},
	}
	for _, tt := range tests {
		if got := (APIKey{Scopes: tt.have}).HasScope(tt.want); got != tt.ok {
			t.Errorf("%v.HasScope(%q) = %v, want %v", tt.have, tt.want, got, tt.ok)
		}
	}
}

func TestActive(t *testing.T) {
	now := t0
	tests := []struct {
		name string
		key  APIKey
		want bool
	}{
		{"plain", APIKey{}, true},
		{"expires later", APIKey{ExpiresAt: ptr(now.Add(time.Second))}, true},
		{"expires now", APIKey{ExpiresAt: ptr(now)}, false},
		{"expired", APIKey{ExpiresAt: ptr(now.Add(-time.Second))}, false},
		{"revoked", APIKey{RevokedAt: ptr(now.Add(-time.Hour))}, false},
		{"revoked later", APIKey{RevokedAt: ptr(now.Add(time.Hour))}, false},
	}
	for _, tt := range tests {
		if got := tt.key.Active(now); got != tt.want {
			t.Errorf("%s: Active = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Keys already issued carry checksums written with math/big's base 62;
// the arithmetic version must agree with it on every value.
func TestKeyChecksumMatchesBigBase62(t *testing.T) {
	for i := range 2000 {
		s := fmt.Sprintf("clc_live_%033d", i*7919)
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], crc32.ChecksumIEEE([]byte(s)))
		if got, want := keyChecksum(s), base62(b[:], keyCheckLen); got != want {
			t.Fatalf("keyChecksum(%q) = %s, big.Int gives %s", s, got, want)
		}
	}
}
