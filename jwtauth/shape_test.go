package jwtauth

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestLooksLikeJWT(t *testing.T) {
	signed := newECKey(t, "ec-1").sign(t, jwt.SigningMethodES256, jwt.MapClaims{"sub": "user_1"})
	tests := []struct {
		s    string
		want bool
	}{
		{signed, true},
		{"abc.def.ghi", true},
		{"eyJ-_.eyJ-_.x-_", true},
		{"clc_live_0123456789abcdef", false},
		{"clc_live_nope", false},
		{"", false},
		{"a.b", false},
		{"a.b.c.d", false},
		{"a..c", false},
		{".b.c", false},
		{"a.b.", false},
		{"eyJ+.eyJ/.sig", false},
		{"eyJ.eyJ.sig=", false},
		{"eyJ.ey J.sig", false},
		{"Bearer eyJ.eyJ.sig", false},
	}
	for _, tt := range tests {
		if got := LooksLikeJWT(tt.s); got != tt.want {
			t.Errorf("LooksLikeJWT(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
