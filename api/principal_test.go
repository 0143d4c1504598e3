package api

import (
	"context"
	"testing"
)

func TestPrincipalCan(t *testing.T) {
	tests := []struct {
		scopes             []string
		read, write, admin bool
	}{
		{nil, false, false, false},
		{[]string{"read"}, true, false, false},
		{[]string{"write"}, true, true, false},
		{[]string{"admin"}, true, true, true},
		{[]string{"read", "write"}, true, true, false},
		{[]string{"billing", "READ"}, false, false, false},
	}
	for _, tc := range tests {
		p := Principal{Scopes: tc.scopes}
		if got := [3]bool{p.Can("read"), p.Can("write"), p.Can("admin")}; got != [3]bool{tc.read, tc.write, tc.admin} {
			t.Errorf("scopes %v: read/write/admin = %v, want %v", tc.scopes, got, [3]bool{tc.read, tc.write, tc.admin})
		}
		if p.Can("billing") || p.Can("") {
			t.Errorf("scopes %v grant an unknown scope", tc.scopes)
		}
	}
}

func TestPrincipalContext(t *testing.T) {
	if _, ok := PrincipalFrom(context.Background()); ok {
		t.Error("principal in an empty context")
	}
	want := Principal{TenantID: "acme", KeyID: "k1", Scopes: []string{"read"}, TokensPerQuery: 8000}
	got, ok := PrincipalFrom(WithPrincipal(context.Background(), want))
	if !ok || got.TenantID != want.TenantID || got.KeyID != want.KeyID || got.TokensPerQuery != want.TokensPerQuery || len(got.Scopes) != 1 {
		t.Errorf("PrincipalFrom = %+v, %v; want %+v", got, ok, want)
	}
}
