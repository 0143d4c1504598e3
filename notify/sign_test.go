package notify

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignKnownVector(t *testing.T) {
	// Checked independently with
	//	printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
	at := time.Unix(1700000000, 0)
	got := Sign("whsec_test", at, []byte(`{"a":1}`))
	want := "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
	if got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	const secret = "whsec_current"
	body := []byte(`{"meter":"tokens","threshold":80}`)
	signedAt := time.Unix(1700000000, 0)
	now := signedAt.Add(30 * time.Second)
	good := Sign(secret, signedAt, body)
	_, v1, _ := strings.Cut(good, ",")
	old := Sign("whsec_old", signedAt, body)
	_, oldV1, _ := strings.Cut(old, ",")

	tests := []struct {
		name      string
		secret    string
		header    string
		body      []byte
		tolerance time.Duration
		now       time.Time
		want      error
	}{
		{"round trip", secret, good, body, time.Minute, now, nil},
		{"default tolerance", secret, good, body, 0, signedAt.Add(4 * time.Minute), nil},
		{"spaces", secret, "t=1700000000, " + v1, body, time.Minute, now, nil},
		{"rotation, new first", secret, good + "," + oldV1, body, time.Minute, now, nil},
		{"rotation, old first", secret, "t=1700000000," + oldV1 + "," + v1, body, time.Minute, now, nil},
		{"unknown scheme ignored", secret, good + ",v0=abc", body, time.Minute, now, nil},
		{"empty body", secret, Sign(secret, signedAt, nil), nil, time.Minute, now, nil},

		{"tampered body", secret, good, []byte(`{"meter":"tokens","threshold":100}`), time.Minute, now, ErrSignatureMismatch},
		{"wrong secret", "whsec_other", good, body, time.Minute, now, ErrSignatureMismatch},
		{"old secret only", secret, old, body, time.Minute, now, ErrSignatureMismatch},
		{"tampered timestamp", secret, "t=1700000001," + v1, body, time.Minute, now, ErrSignatureMismatch},
		{"too old", secret, good, body, time.Minute, signedAt.Add(61 * time.Second), ErrSignatureExpired},
		{"too old, default tolerance", secret, good, body, 0, signedAt.Add(6 * time.Minute), ErrSignatureExpired},
		{"from the future", secret, good, body, time.Minute, signedAt.Add(-61 * time.Second), ErrSignatureExpired},

		{"empty", secret, "", body, time.Minute, now, ErrMalformedSignature},
		{"no timestamp", secret, v1, body, time.Minute, now, ErrMalformedSignature},
		{"no signature", secret, "t=1700000000", body, time.Minute, now, ErrMalformedSignature},
		{"two timestamps", secret, "t=1700000000,t=1700000000," + v1, body, time.Minute, now, ErrMalformedSignature},
		{"negative timestamp", secret, "t=-1," + v1, body, time.Minute, now, ErrMalformedSignature},
		{"timestamp not a number", secret, "t=soon," + v1, body, time.Minute, now, ErrMalformedSignature},
		{"huge timestamp", secret, "t=99999999999999999999," + v1, body, time.Minute, now, ErrMalformedSignature},
		{"not hex", secret, "t=1700000000,v1=" + strings.Repeat("zz", 32), body, time.Minute, now, ErrMalformedSignature},
		{"short signature", secret, "t=1700000000,v1=abcd", body, time.Minute, now, ErrMalformedSignature},
		{"no equals", secret, good + ",junk", body, time.Minute, now, ErrMalformedSignature},
		{"empty entry", secret, good + ",", body, time.Minute, now, ErrMalformedSignature},
		{"too long", secret, good + strings.Repeat(",x=y", 2000), body, time.Minute, now, ErrMalformedSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.header, tt.body, tt.tolerance, tt.now)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if !strings.HasPrefix(a, "whsec_") || len(a) != len("whsec_")+43 {
		t.Errorf("NewSecret = %q, want whsec_ and 43 base64url characters", a)
	}
	if a == b {
		t.Errorf("NewSecret returned %q twice", a)
	}
	body := []byte("x")
	if err := Verify(a, Sign(a, time.Now(), body), body, time.Minute, time.Now()); err != nil {
		t.Errorf("a fresh secret does not verify: %v", err)
	}
}
