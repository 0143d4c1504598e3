package tenancy

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStoreAudit(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		other := mustTenant(t, s, "other", t0)

		actions := []string{AuditKeyCreate, AuditDocumentDelete, AuditWorkspaceDelete, AuditKeyRevoke, AuditDocumentDelete}
		for i, a := range actions {
			e := AuditEvent{TenantID: acme.ID, Actor: "key_1", Action: a, Target: "t" + string(rune('a'+i)),
				IP: "192.0.2.1", UserAgent: "curl/8", RequestID: "req", CreatedAt: t0.Add(time.Duration(i) * time.Second)}
			if err := s.AddAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		before := time.Now().Add(-time.Second)
		long := strings.Repeat("é", MaxAuditUserAgent) // 2 bytes a rune
		if err := s.AddAudit(ctx, AuditEvent{TenantID: other.ID, Actor: ActorSystem, Action: AuditTierChange, UserAgent: long}); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []AuditEvent{
			{Actor: "k", Action: "a"},
			{TenantID: acme.ID, Actor: "k"},
			{TenantID: acme.ID, Action: "a"},
		} {
			if err := s.AddAudit(ctx, bad); err == nil {
				t.Errorf("AddAudit(%+v) = nil, want an error", bad)
			}
		}
		if err := s.AddAudit(ctx, AuditEvent{TenantID: "no-such-tenant", Actor: "k", Action: "a"}); err == nil {
			t.Error("AddAudit of an unknown tenant = nil, want an error")
		}

		all, err := s.AuditEvents(ctx, acme.ID, 0, 100, nil)
		if err != nil || len(all) != len(actions) {
			t.Fatalf("AuditEvents = %d events, %v; want %d", len(all), err, len(actions))
		}
		for i, e := range all {
			if e.Action != actions[i] || e.TenantID != acme.ID || e.Actor != "key_1" || e.IP != "192.0.2.1" ||
				e.UserAgent != "curl/8" || e.RequestID != "req" || !e.CreatedAt.Equal(t0.Add(time.Duration(i)*time.Second)) {
				t.Errorf("event %d = %+v", i, e)
			}
			if i > 0 && e.ID <= all[i-1].ID {
				t.Errorf("event %d has id %d after %d, want increasing", i, e.ID, all[i-1].ID)
			}
		}

		// Cursor paging.
		var paged []AuditEvent
		for after := int64(0); ; {
			page, err := s.AuditEvents(ctx, acme.ID, after, 2, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 2 {
				t.Fatalf("page of %d events, want at most 2", len(page))
			}
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			after = page[len(page)-1].ID
		}
		if !slices.Equal(paged, all) {
			t.Errorf("paged = %+v, want %+v", paged, all)
		}

		// Action filter.
		docs, err := s.AuditEvents(ctx, acme.ID, 0, 100, []string{AuditDocumentDelete})
		if err != nil || len(docs) != 2 || docs[0].ID != all[1].ID || docs[1].ID != all[4].ID {
			t.Errorf("document deletes = %+v, %v", docs, err)
		}
		keys, err := s.AuditEvents(ctx, acme.ID, all[0].ID, 1, []string{AuditKeyCreate, AuditKeyRevoke})
		if err != nil || len(keys) != 1 || keys[0].ID != all[3].ID {
			t.Errorf("key events after the first = %+v, %v", keys, err)
		}
		for name, limit := range map[string]int{"zero limit": 0, "negative limit": -1} {
			if got, err := s.AuditEvents(ctx, acme.ID, 0, limit, nil); err != nil || got == nil || len(got) != 0 {
				t.Errorf("%s: %+v, %v; want none", name, got, err)
			}
		}
		if got, err := s.AuditEvents(ctx, acme.ID, 0, 10, []string{}); err != nil || got == nil || len(got) != 0 {
			t.Errorf("no actions: %+v, %v; want none", got, err)
		}

		// Tenants are apart; defaults and truncation.
		o, err := s.AuditEvents(ctx, other.ID, 0, 10, nil)
		if err != nil || len(o) != 1 {
			t.Fatalf("other's events = %+v, %v", o, err)
		}
		if got := o[0]; got.CreatedAt.Before(before) || len(got.UserAgent) != MaxAuditUserAgent || got.UserAgent != long[:MaxAuditUserAgent] {
			t.Errorf("other's event = %+v (user agent %d bytes)", got, len(got.UserAgent))
		}

		// Events go with their tenant.
		if err := s.(tenantDeleter).DeleteTenant(ctx, acme.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AuditEvents(ctx, acme.ID, 0, 10, nil); err != nil || len(got) != 0 {
			t.Errorf("events of a deleted tenant = %+v, %v", got, err)
		}
		if got, err := s.AuditEvents(ctx, other.ID, 0, 10, nil); err != nil || len(got) != 1 {
			t.Errorf("other's events after deleting acme = %+v, %v", got, err)
		}
	})
}

func TestAuditActions(t *testing.T) {
	for _, tier := range []string{"free", "starter", "", "custom"} {
		if got, ok := AuditActions(tier); ok || got != nil {
			t.Errorf("AuditActions(%q) = %v, %v; want none", tier, got, ok)
		}
	}
	pro, ok := AuditActions("pro")
	if !ok || slices.Contains(pro, AuditDocumentDelete) || !slices.Contains(pro, AuditWorkspaceDelete) || !slices.Contains(pro, AuditKeyRotate) {
		t.Errorf("AuditActions(pro) = %v, %v", pro, ok)
	}
	ent, ok := AuditActions("enterprise")
	if !ok || !slices.Contains(ent, AuditDocumentDelete) || len(ent) != len(pro)+1 {
		t.Errorf("AuditActions(enterprise) = %v, %v", ent, ok)
	}
	pro[0] = "changed"
	if again, _ := AuditActions("pro"); again[0] == "changed" {
		t.Error("AuditActions returns a shared slice")
	}
}

func TestTruncateUTF8(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"}, {"abc", 2, "ab"}, {"aé", 2, "a"}, {"aé", 3, "aé"}, {"", 0, ""},
	} {
		if got := truncateUTF8(c.s, c.n); got != c.want {
			t.Errorf("truncateUTF8(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
