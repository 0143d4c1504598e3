package caddymodule

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// operatorCall sends an operator request with token and returns the
// status and body.
func operatorCall(t *testing.T, client *http.Client, method, path, token, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, testBase+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func TestOperatorAPI(t *testing.T) {
	t.Setenv("CONTEXTLITE_ADMIN_TOKEN", "op-secret-token")
	tc := startServer(t, t.TempDir(), "")
	acme := signup(t, tc, "OpCo")

	for _, token := range []string{"", "wrong"} {
		if status, body := operatorCall(t, tc.Client, "GET", "/admin/v1/tenants", token, ""); status != http.StatusUnauthorized {
			t.Fatalf("token %q: %d %s", token, status, body)
		}
	}
	status, body := operatorCall(t, tc.Client, "GET", "/admin/v1/tenants", "op-secret-token", "")
	var list struct {
		Tenants []struct {
			ID   string `json:"id"`
			Tier string `json:"tier"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); status != http.StatusOK || err != nil || len(list.Tenants) != 1 || list.Tenants[0].ID != acme.TenantID {
		t.Fatalf("list: %d %s", status, body)
	}

	// A tier change applies to the tenant's next request.
	call(t, tc, "GET", acme.URL+"/api/v1/usage", acme.APIKey, nil, http.StatusOK, nil)
	if status, body := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+acme.TenantID+"/tier", "op-secret-token", `{"tier": "starter"}`); status != http.StatusOK || !strings.Contains(string(body), `"tier":"starter"`) {
		t.Fatalf("set tier: %d %s", status, body)
	}
	if hdr := call(t, tc, "GET", acme.URL+"/api/v1/usage", acme.APIKey, nil, http.StatusOK, nil); hdr.Get("X-Quota-Limit") != "100000" {
		t.Fatalf("after the tier change: X-Quota-Limit %q", hdr.Get("X-Quota-Limit"))
	}
	if status, _ := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+acme.TenantID+"/tier", "op-secret-token", `{"tier": "gold"}`); status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown tier: %d", status)
	}
	if status, _ := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+acme.TenantID+"/status", "op-secret-token", `{"status": "suspended"}`); status != http.StatusOK {
		t.Fatalf("suspend: %d", status)
	}
	var e errorCode
	call(t, tc, "GET", acme.URL+"/api/v1/usage", acme.APIKey, nil, http.StatusForbidden, &e)
	if status, _ := operatorCall(t, tc.Client, "GET", "/admin/v1/tenants/no-such-tenant", "op-secret-token", ""); status != http.StatusNotFound {
		t.Fatalf("unknown tenant: %d", status)
	}
}
