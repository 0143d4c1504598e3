package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/metering"
	"github.com/contextlite/cloud/tenancy"
)

// noUsage is a metering source of tenants that have used nothing yet.
type noUsage struct{}

func (noUsage) PeriodUsage(context.Context, string, metering.Period) (map[string]int64, int64, error) {
	return nil, 0, nil
}

// newMeteredHandler returns a Handler over a real engine whose usage
// reaches a real Meter, for tenants a and b of a tier of 2 queries and
// 2 documents.
func newMeteredHandler(t *testing.T) *Handler {
	t.Helper()
	meter := metering.New(metering.Options{Source: noUsage{}})
	m, err := contextengine.NewManager(contextengine.Options{DataDir: t.TempDir(), OnUsage: meter.Observe})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	for _, id := range []string{"a", "b"} {
		if err := m.Create(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	tiers := tenancy.DefaultTiers()
	tiers["free"] = tenancy.Tier{Name: "free", QueriesPerMonth: 2, Documents: 2}
	return &Handler{Engine: m, Meter: meter, Plans: metering.NewPlans(tiers, 0, 0)}
}

// statusOf returns the status of the *Error err is, 0 if it is none.
func statusOf(err error) int {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Status
	}
	return 0
}

func TestFrontEndDocuments(t *testing.T) {
	h := newMeteredHandler(t)
	ctx := context.Background()
	a, b := *caller("a", "admin"), *caller("b", "admin")
	a.Tier, b.Tier = "free", "free"
	reader := a
	reader.Scopes = []string{"read"}

	if _, err := h.AddDocumentFor(ctx, reader, contextengine.NewDocument{Path: "x.go", Content: "package x"}); statusOf(err) != http.StatusForbidden {
		t.Fatalf("a read key adds a document: %v", err)
	}
	if _, err := h.AddDocumentFor(ctx, a, contextengine.NewDocument{Path: "x.bin", Content: "\xff\xfe"}); statusOf(err) != http.StatusUnprocessableEntity {
		t.Fatalf("a document that is not UTF-8 text: %v", err)
	}
	var ids []string
	for _, path := range []string{"one.go", "two.go"} {
		res, err := h.AddDocumentFor(ctx, a, contextengine.NewDocument{Path: path, Content: "package invoice\n\nfunc Total() {}\n"})
		if err != nil || res.Status != contextengine.StatusCreated {
			t.Fatalf("add %s = %+v, %v", path, res, err)
		}
		ids = append(ids, res.ID)
	}
	_, err := h.AddDocumentFor(ctx, a, contextengine.NewDocument{Path: "three.go", Content: "package x"})
	if e, ok := errors.AsType[*Error](err); !ok || e.Code != "document_limit_reached" || e.Status != http.StatusForbidden {
		t.Fatalf("a third document on a tier of 2 = %v", err)
	}

	page, err := h.DocumentsOf(ctx, a, contextengine.ListOptions{Limit: 1})
	if err != nil || len(page.Documents) != 1 || page.NextCursor == "" {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	if _, err := h.DocumentsOf(ctx, a, contextengine.ListOptions{Limit: maxListLimit + 1}); statusOf(err) != http.StatusUnprocessableEntity {
		t.Fatalf("a limit over %d: %v", maxListLimit, err)
	}
	if page, err := h.DocumentsOf(ctx, b, contextengine.ListOptions{}); err != nil || len(page.Documents) != 0 {
		t.Fatalf("tenant b lists %+v, %v", page, err)
	}

	r := httptest.NewRequest("POST", "/console/documents/x/delete", nil)
	if err := h.DeleteDocumentFor(r, b, ids[0]); statusOf(ErrorFrom(err)) != http.StatusNotFound {
		t.Fatalf("tenant b deletes a's document: %v", err)
	}
	if err := h.DeleteDocumentFor(r, reader, ids[0]); statusOf(err) != http.StatusForbidden {
		t.Fatalf("a read key deletes a document: %v", err)
	}
	if err := h.DeleteDocumentFor(r, a, ids[0]); err != nil {
		t.Fatal(err)
	}
	if ws, err := h.WorkspacesOf(ctx, a); err != nil || len(ws) != 1 || ws[0].Documents != 1 {
		t.Fatalf("workspaces after a delete = %+v, %v", ws, err)
	}
}

func TestFrontEndQueriesAreMetered(t *testing.T) {
	h := newMeteredHandler(t)
	ctx := context.Background()
	a := *caller("a", "read", "write")
	a.Tier, a.TokensPerQuery = "free", 500
	if _, err := h.AddDocumentFor(ctx, a, contextengine.NewDocument{Path: "invoice.go", Content: "package invoice\n\nfunc Total() {}\n"}); err != nil {
		t.Fatal(err)
	}
	found, err := h.SearchFor(ctx, a, SearchQuery{Query: "invoice"})
	if err != nil || len(found.Hits) != 1 {
		t.Fatalf("search = %+v, %v", found, err)
	}
	asm, err := h.AssembleFor(ctx, a, AssembleRequest{Query: "invoice total", MaxTokens: 2000})
	if err != nil || len(asm.Items) != 1 || !asm.Clamped || asm.MaxTokens != 500 {
		t.Fatalf("assemble over the tier's 500 tokens = %+v, %v", asm, err)
	}
	_, err = h.AssembleFor(ctx, a, AssembleRequest{Query: "invoice"})
	if e, ok := errors.AsType[*Error](err); !ok || e.Code != "quota_exceeded" || e.Status != http.StatusTooManyRequests {
		t.Fatalf("a third query on a tier of 2 = %v", err)
	}
	report, err := h.UsageReport(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if q, tok := report.Meters.Queries.Used, report.Meters.Tokens.Used; q != 2 || tok != int64(found.Hits[0].Tokens+asm.TotalTokens) {
		t.Fatalf("usage = %d queries and %d tokens, want 2 and %d", q, tok, found.Hits[0].Tokens+asm.TotalTokens)
	}
}
