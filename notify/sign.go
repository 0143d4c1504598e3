package notify

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of a delivery.
const (
	SignatureHeader = "ContextLite-Signature" // t=<unix seconds>,v1=<hex HMAC-SHA256>
	NoticeIDHeader  = "ContextLite-Notice-Id" // the notice's ID; receivers dedupe on it
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// secretPrefix starts every webhook secret.
const secretPrefix = "whsec_"

// maxSignatureHeader bounds the header Verify parses.
const maxSignatureHeader = 4096

// Errors of Verify; match them with errors.Is.
var (
	ErrMalformedSignature = errors.New("malformed signature header")
	ErrSignatureMismatch  = errors.New("no matching signature")
	ErrSignatureExpired   = errors.New("signature timestamp outside tolerance")
)

// NewSecret returns a new random webhook secret: "whsec_" and 32 random
// bytes in unpadded base64url.
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:]) // never fails; it crashes the program instead
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// Sign returns the SignatureHeader value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

// Verify checks that header, a SignatureHeader value, signs body with
// secret and that its timestamp is within tolerance of now (a tolerance of
// zero or less means DefaultTolerance). Any one matching v1 entry suffices,
// so a sender may sign with an old and a new secret while rotating; entries
// of other schemes are ignored.
func Verify(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	ts, sigs, err := parseSignature(header)
	if err != nil {
		return err
	}
	want := mac(secret, ts, body)
	match := false
	for _, sig := range sigs {
		// Compare all entries, in constant time each.
		if hmac.Equal(sig, want) {
			match = true
		}
	}
	if !match {
		return ErrSignatureMismatch
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	unix, _ := strconv.ParseInt(ts, 10, 64) // checked by parseSignature
	if skew := now.Sub(time.Unix(unix, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: t=%d is %v off, more than %v", ErrSignatureExpired, unix, skew.Abs(), tolerance)
	}
	return nil
}

// parseSignature splits a SignatureHeader value into its timestamp, as
// sent, and its decoded v1 signatures. It wants exactly one t, at least one
// v1, and every entry in key=value form.
func parseSignature(header string) (ts string, sigs [][]byte, err error) {
	if len(header) > maxSignatureHeader {
		return "", nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedSignature, maxSignatureHeader)
	}
	seenT := false
	for entry := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(entry), "=")
		if !ok || k == "" {
			return "", nil, fmt.Errorf("%w: entry %q is not key=value", ErrMalformedSignature, entry)
		}
		switch k {
		case "t":
			if seenT {
				return "", nil, fmt.Errorf("%w: more than one timestamp", ErrMalformedSignature)
			}
			seenT = true
			if !isDigits(v) || len(v) > 18 {
				return "", nil, fmt.Errorf("%w: timestamp %q is not unix seconds", ErrMalformedSignature, v)
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return "", nil, fmt.Errorf("%w: v1 is not a hex HMAC-SHA256", ErrMalformedSignature)
			}
			sigs = append(sigs, sig)
		}
	}
	if !seenT {
		return "", nil, fmt.Errorf("%w: no timestamp", ErrMalformedSignature)
	}
	if len(sigs) == 0 {
		return "", nil, fmt.Errorf("%w: no v1 signature", ErrMalformedSignature)
	}
	return ts, sigs, nil
}

// mac returns HMAC-SHA256(secret, ts + "." + body).
func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
