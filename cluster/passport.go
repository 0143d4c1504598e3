package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PrincipalHeader carries the caller a node resolved to the tenant's
// home node with a forwarded request, signed (see Signer).
const PrincipalHeader = "Contextlite-Forwarded-Principal"

// SignatureWindow is how far a forwarded request's signing time may be
// from the receiving node's clock.
const SignatureWindow = 10 * time.Second

// ErrBadSignature means a forwarded principal is not signed with the
// cluster's secret for this request, or not within SignatureWindow.
var ErrBadSignature = errors.New("cluster: forwarded principal not validly signed")

// Signer signs the principal a node forwards with a request, and checks
// it on the receiving node: HMAC-SHA256 with the cluster's shared secret
// over the payload, the method, the path and the signing time.
type Signer struct {
	secret []byte
	now    func() time.Time
}

// NewSigner returns a Signer with the cluster's shared secret.
func NewSigner(secret string) *Signer {
	return &Signer{secret: []byte(secret), now: time.Now}
}

// Sign returns the header value carrying payload with a request of
// method to path: base64url(payload).unix-seconds.base64url(mac).
func (s *Signer) Sign(payload []byte, method, path string) string {
	value := base64.RawURLEncoding.EncodeToString(payload) + "." + strconv.FormatInt(s.now().Unix(), 10)
	return value + "." + base64.RawURLEncoding.EncodeToString(s.mac(value, method, path))
}

// Verify returns the payload of header if it was signed with the secret
// for a request of method to path within SignatureWindow of now.
func (s *Signer) Verify(header, method, path string) ([]byte, error) {
	value, sig, ok := cutLast(header)
	if !ok {
		return nil, ErrBadSignature
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(value, method, path)) {
		return nil, ErrBadSignature
	}
	encoded, at, _ := cutLast(value)
	secs, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return nil, ErrBadSignature
	}
	if d := s.now().Sub(time.Unix(secs, 0)); d > SignatureWindow || d < -SignatureWindow {
		return nil, fmt.Errorf("%w: signed %v from now", ErrBadSignature, d.Round(time.Second))
	}
	payload, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return nil, ErrBadSignature
	}
	return payload, nil
}

// mac is the MAC of a signed value for a request of method to path.
func (s *Signer) mac(value, method, path string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(value + "\n" + method + "\n" + path))
	return m.Sum(nil)
}

// cutLast splits s around its last dot.
func cutLast(s string) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}
