package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/contextlite/cloud/tenancy"
)

// auditJSON is an event as GET /api/v1/audit shows it.
type auditJSON struct {
	ID        int64  `json:"id"`
	Actor     string `json:"actor"`
	Action    string `json:"action"`
	Target    string `json:"target"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	RequestID string `json:"request_id"`
	CreatedAt string `json:"created_at"`
}

type auditPageJSON struct {
	Events     []auditJSON `json:"data"`
	NextCursor string      `json:"next_cursor"`
	HasMore    bool        `json:"has_more"`
}

// newAuditHandler returns a Handler over the engine tenant "acme" with a
// real SQLite control plane that holds the tenant too.
func newAuditHandler(t *testing.T) (*Handler, tenancy.Store) {
	t.Helper()
	ctx := context.Background()
	store, err := tenancy.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.CreateTenant(ctx, tenancy.Tenant{ID: "acme", Slug: "acme", Tier: "pro", Status: tenancy.StatusActive}); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, "acme")
	h.Audit = store
	h.Webhooks = store
	h.AllowPrivateWebhooks = true
	h.Tiers = tenancy.DefaultTiers()
	h.Accounts = &tenancy.Service{Store: store, Hasher: tenancy.Hasher{Pepper: []byte("pepper")}, Tiers: h.Tiers}
	return h, store
}

// admin returns an admin caller of acme on tier.
func admin(tier string) *Principal {
	p := caller("acme", "admin")
	p.Tier = tier
	return p
}

// auditActions lists the actions of GET /api/v1/audit as p, all pages.
func auditActions(t *testing.T, h http.Handler, p *Principal) []string {
	t.Helper()
	page := decode[auditPageJSON](t, do(t, h, p, "GET", "/api/v1/audit", nil), http.StatusOK)
	if page.NextCursor != "" {
		t.Fatalf("one page of %d events has a next cursor", len(page.Events))
	}
	var got []string
	for _, e := range page.Events {
		got = append(got, e.Action+" "+e.Target)
	}
	return got
}

func TestAuditRecordsAndFiltersByTier(t *testing.T) {
	h, _ := newAuditHandler(t)
	writer := caller("acme", "write")

	added := decode[addedJSON](t, do(t, h, writer, "POST", "/api/v1/documents", map[string]any{"path": "a.go", "content": goSource("a", 3)}), http.StatusCreated)
	// Deletes answer as before and are recorded, from the request's details.
	req := httptest.NewRequest("DELETE", "/api/v1/documents/"+added.ID, nil)
	req.Header.Set("User-Agent", "agent/"+strings.Repeat("x", 300))
	req.Header.Set("X-Request-Id", "chosen-by-the-client")
	req = req.WithContext(WithPrincipal(WithRequestID(req.Context(), "req-1"), *writer))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("delete document: %d %s", rec.Code, rec.Body)
	}
	decode[map[string]any](t, do(t, h, writer, "POST", "/api/v1/workspaces", map[string]any{"name": "scratch"}), http.StatusCreated)
	if rec := do(t, h, writer, "DELETE", "/api/v1/workspaces/scratch", nil); rec.Code != http.StatusNoContent {
		t.Fatalf("delete workspace: %d %s", rec.Code, rec.Body)
	}
	// A failed delete records nothing.
	wantError(t, do(t, h, writer, "DELETE", "/api/v1/documents/nope", nil), http.StatusNotFound, "not_found")

	// A JWT caller (no key id) is "jwt".
	jwt := admin("pro")
	jwt.KeyID = ""
	decode[map[string]any](t, do(t, h, jwt, "PUT", "/api/v1/notifications", map[string]any{"url": "http://127.0.0.1:9/hook"}), http.StatusOK)
	if rec := do(t, h, jwt, "DELETE", "/api/v1/notifications", nil); rec.Code != http.StatusNoContent {
		t.Fatalf("delete notifications: %d %s", rec.Code, rec.Body)
	}

	ent := decode[auditPageJSON](t, do(t, h, admin("enterprise"), "GET", "/api/v1/audit", nil), http.StatusOK)
	want := []string{"document.delete " + added.ID, "workspace.delete scratch", "settings.notifications put", "settings.notifications delete"}
	if got := auditActions(t, h, admin("enterprise")); !slices.Equal(got, want) {
		t.Errorf("enterprise sees %q, want %q", got, want)
	}
	if got := auditActions(t, h, admin("pro")); !slices.Equal(got, want[1:]) {
		t.Errorf("pro sees %q, want %q", got, want[1:])
	}
	doc := ent.Events[0]
	if doc.Actor != "key_acme" || doc.IP != "192.0.2.1" || doc.RequestID != "req-1" || doc.CreatedAt == "" ||
		len(doc.UserAgent) != tenancy.MaxAuditUserAgent || !strings.HasPrefix(doc.UserAgent, "agent/x") {
		t.Errorf("document delete event = %+v", doc)
	}
	if e := ent.Events[2]; e.Actor != tenancy.ActorJWT {
		t.Errorf("JWT caller's event has actor %q, want %q", e.Actor, tenancy.ActorJWT)
	}

	for _, tier := range []string{"free", "starter", ""} {
		rec := do(t, h, admin(tier), "GET", "/api/v1/audit", nil)
		wantError(t, rec, http.StatusForbidden, "upgrade_required")
		if !strings.Contains(rec.Body.String(), "pro") {
			t.Errorf("tier %q: the 403 does not name the pro tier: %s", tier, rec.Body)
		}
	}
	w := caller("acme", "write")
	w.Tier = "enterprise"
	wantError(t, do(t, h, w, "GET", "/api/v1/audit", nil), http.StatusForbidden, "insufficient_scope")
}

func TestAuditKeysAndTenantDelete(t *testing.T) {
	h, _ := newAuditHandler(t)
	p := admin("pro")
	created := decode[map[string]any](t, do(t, h, p, "POST", "/api/v1/keys", map[string]any{"name": "ci"}), http.StatusCreated)
	id, _ := created["id"].(string)
	if id == "" {
		t.Fatalf("created key without id: %v", created)
	}
	decode[map[string]any](t, do(t, h, p, "POST", "/api/v1/keys/"+id+"/rotate", nil), http.StatusCreated)
	if rec := do(t, h, p, "DELETE", "/api/v1/keys/"+id, nil); rec.Code != http.StatusNoContent {
		t.Fatalf("revoke key: %d %s", rec.Code, rec.Body)
	}
	wantError(t, do(t, h, p, "DELETE", "/api/v1/keys/nope", nil), http.StatusNotFound, "not_found")
	decode[map[string]any](t, do(t, h, p, "DELETE", "/api/v1/tenant", map[string]any{"confirm": "acme"}), http.StatusAccepted)

	want := []string{"key.create " + id, "key.rotate " + id, "key.revoke " + id, "tenant.delete acme"}
	if got := auditActions(t, h, p); !slices.Equal(got, want) {
		t.Errorf("pro sees %q, want %q", got, want)
	}
}

func TestAuditPaging(t *testing.T) {
	h, store := newAuditHandler(t)
	ctx := context.Background()
	for i := range 7 {
		action := tenancy.AuditWorkspaceDelete
		if i%2 == 1 {
			action = tenancy.AuditDocumentDelete // hidden from pro
		}
		if err := store.AddAudit(ctx, tenancy.AuditEvent{TenantID: "acme", Actor: "k", Action: action, Target: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		tier  string
		limit string
		want  []string // targets per page
	}{
		{"enterprise", "3", []string{"abc", "def", "g"}},
		{"enterprise", "7", []string{"abcdefg"}},
		{"pro", "2", []string{"ac", "eg"}},
		{"pro", "500", []string{"aceg"}},
	} {
		var pages []string
		cursor := ""
		for range 10 {
			page := decode[auditPageJSON](t, do(t, h, admin(tc.tier), "GET", "/api/v1/audit?limit="+tc.limit+"&cursor="+cursor, nil), http.StatusOK)
			var b strings.Builder
			for _, e := range page.Events {
				b.WriteString(e.Target)
			}
			pages = append(pages, b.String())
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if !slices.Equal(pages, tc.want) {
			t.Errorf("%s, limit %s: pages %q, want %q", tc.tier, tc.limit, pages, tc.want)
		}
	}
	page := decode[auditPageJSON](t, do(t, h, admin("pro"), "GET", "/api/v1/audit", nil), http.StatusOK)
	if len(page.Events) != 4 || page.NextCursor != "" {
		t.Errorf("default page = %+v", page)
	}

	for _, q := range []string{"limit=0", "limit=501", "limit=x", "cursor=bogus", "cursor=" + encodeAuditCursor(-1)} {
		wantError(t, do(t, h, admin("pro"), "GET", "/api/v1/audit?"+q, nil), http.StatusUnprocessableEntity, "invalid_request")
	}
}

func TestAuditOff(t *testing.T) {
	h := newHandler(t, "acme")
	writer := caller("acme", "write")
	decode[map[string]any](t, do(t, h, writer, "POST", "/api/v1/workspaces", map[string]any{"name": "scratch"}), http.StatusCreated)
	if rec := do(t, h, writer, "DELETE", "/api/v1/workspaces/scratch", nil); rec.Code != http.StatusNoContent {
		t.Fatalf("delete workspace without an audit log: %d %s", rec.Code, rec.Body)
	}
	wantError(t, do(t, h, admin("enterprise"), "GET", "/api/v1/audit", nil), http.StatusNotFound, "not_found")
}

// failingAudit is an AuditLog whose AddAudit fails.
type failingAudit struct{ AuditLog }

func (failingAudit) AddAudit(context.Context, tenancy.AuditEvent) error {
	return context.DeadlineExceeded
}

func TestAuditFailureKeepsRequest(t *testing.T) {
	var logged strings.Builder
	h := newHandler(t, "acme")
	h.Logger = slogTo(&logged)
	h.Audit = failingAudit{}
	writer := caller("acme", "write")
	decode[map[string]any](t, do(t, h, writer, "POST", "/api/v1/workspaces", map[string]any{"name": "scratch"}), http.StatusCreated)
	if rec := do(t, h, writer, "DELETE", "/api/v1/workspaces/scratch", nil); rec.Code != http.StatusNoContent {
		t.Fatalf("delete workspace with a failing audit log: %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logged.String(), "audit event not recorded") {
		t.Errorf("the failure was not logged: %s", logged.String())
	}
}
