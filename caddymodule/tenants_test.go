package caddymodule

import (
	"net/http"
	"testing"
)

// Company names with control characters, and ones whose slug would read
// as a tenant id, are refused with 422 invalid_company.
func TestSignupRefusesBadCompanyNames(t *testing.T) {
	tc := startServer(t, t.TempDir(), "")
	for _, company := range []string{"Acme\nInc", "Acme\x1b[31mInc", "Acme\u0085Inc", "3F2504E0-4F89-41D3-9A0C-0305E82C3301"} {
		var e errorCode
		call(t, tc, "POST", testBase+"/signup", "", map[string]string{"email": "ops@acme.test", "company": company}, http.StatusUnprocessableEntity, &e)
		if e.Error.Code != "invalid_company" {
			t.Errorf("signup of %q: %+v, want invalid_company", company, e)
		}
	}
}
