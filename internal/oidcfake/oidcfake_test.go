package oidcfake

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// code runs an authorization with challenge and returns the answer's query.
func code(t *testing.T, p *Provider, challenge string) url.Values {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {p.ClientID}, "redirect_uri": {"https://rp.test/cb"},
		"scope": {"openid"}, "state": {"st"}, "nonce": {"n"}}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", "S256")
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(p.URL + "/auth?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Host != "rp.test" {
		t.Fatalf("redirect %q", resp.Header.Get("Location"))
	}
	return back.Query()
}

// exchange posts code with verifier and returns the status.
func exchange(t *testing.T, p *Provider, code, verifier string) int {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://rp.test/cb"}, "code_verifier": {verifier}}
	req, _ := http.NewRequest("POST", p.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(p.ClientID, p.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestPKCEAndSingleUse(t *testing.T) {
	p := New(t, "app", "secret")
	if back := code(t, p, ""); back.Get("error") != "invalid_request" || back.Has("code") {
		t.Fatalf("without a challenge: %v", back)
	}
	verifier := "a-verifier-of-forty-three-characters-or-more-0123"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	if st := exchange(t, p, code(t, p, challenge).Get("code"), verifier+"x"); st != http.StatusBadRequest {
		t.Fatalf("wrong verifier = %d", st)
	}
	c := code(t, p, challenge).Get("code")
	if st := exchange(t, p, c, verifier); st != http.StatusOK {
		t.Fatalf("right verifier = %d", st)
	}
	if st := exchange(t, p, c, verifier); st != http.StatusBadRequest || p.Exchanges() != 1 {
		t.Fatalf("code used twice = %d (exchanges %d)", st, p.Exchanges())
	}
}
