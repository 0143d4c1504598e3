package contextengine

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"
)

// usageLog collects what a UsageHook receives.
type usageLog struct {
	mu     sync.Mutex
	sums   map[string]int64
	totals Totals
}

func (l *usageLog) hook(_ string, evs []UsageEvent, totals Totals) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sums == nil {
		l.sums = make(map[string]int64)
	}
	for _, ev := range evs {
		l.sums[ev.Meter] += ev.Quantity
	}
	l.totals = totals
}

func openUsageTenant(t *testing.T, log *usageLog) (*Manager, *Tenant) {
	t.Helper()
	return newTestTenantWith(t, Options{OnUsage: log.hook})
}

func TestWritesRecordUsageWithTheirChange(t *testing.T) {
	var log usageLog
	m, tn := openUsageTenant(t, &log)
	ctx := context.Background()
	mustAdd(t, tn, NewDocument{Path: "a.go", Content: "package a"}, NewDocument{Path: "b.go", Content: "package bb"})
	mustAdd(t, tn, NewDocument{Path: "a.go", Content: "package a"}) // unchanged: nothing
	// A document counts its path, language and metadata too: +8 bytes of
	// content, +2 of language, +9 of metadata; then -9 when it is dropped.
	mustAdd(t, tn, NewDocument{Path: "a.go", Language: "go", Metadata: map[string]any{"k": "v"}, Content: "package a // more"})
	mustAdd(t, tn, NewDocument{Path: "a.go", Language: "go", Content: "package a // more"})
	res := mustAdd(t, tn, NewDocument{Path: "c.go", Content: "package c"})
	if _, err := tn.Delete(ctx, res[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := tn.CreateWorkspace(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, tn, NewDocument{Workspace: "docs", Path: "x.md", Content: "# x"})
	if err := tn.DeleteWorkspace(ctx, "docs"); err != nil {
		t.Fatal(err)
	}

	want := map[string]int64{MeterDocumentsAdded: 4, MeterDocumentsDeleted: 2, MeterStorageBytes: 13 + 14 + 19 - 9}
	if !maps.Equal(log.sums, want) {
		t.Errorf("hook sums = %v, want %v", log.sums, want)
	}
	wantTotals := Totals{Documents: 2, Workspaces: 1, StorageBytes: 37}
	if got := tn.Totals(); got != wantTotals || log.totals != wantTotals {
		t.Errorf("totals = %+v, hook saw %+v, want %+v", got, log.totals, wantTotals)
	}
	outbox, last, err := tn.UsageSince(ctx, time.Time{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(outbox, want) || last == 0 {
		t.Errorf("outbox sums = %v up to %d, want %v", outbox, last, want)
	}

	// Totals are counted again when the database is reopened.
	tn.Close()
	m.closeIdle(time.Now().Add(time.Hour))
	tn2, err := m.Open(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	defer tn2.Close()
	if got := tn2.Totals(); got != wantTotals {
		t.Errorf("totals after reopen = %+v, want %+v", got, wantTotals)
	}
}

func TestLimitsRefuseWritesPastThem(t *testing.T) {
	var log usageLog
	_, tn := openUsageTenant(t, &log)
	ctx := context.Background()
	tn.SetLimits(Limits{Documents: 2, StorageBytes: 24, Workspaces: 2}) // a and b take 11 bytes each
	res, err := tn.AddBatch(ctx, []NewDocument{
		{Path: "a", Content: "0123456789"},
		{Path: "b", Content: "0123456789"},
		{Path: "c", Content: "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var le *LimitError
	if res[0].Err != nil || res[1].Err != nil || !errors.As(res[2].Err, &le) || le.Limit != LimitDocuments {
		t.Fatalf("results = %+v; want the third refused by the documents limit", res)
	}
	_, err = tn.Add(ctx, NewDocument{Path: "a", Content: "0123456789 grows"})
	if !errors.As(err, &le) || le.Limit != LimitStorageBytes || !errors.Is(err, ErrLimitReached) {
		t.Fatalf("growing past the storage limit: %v", err)
	}
	_, err = tn.Add(ctx, NewDocument{Path: "a", Content: "0123456789", Metadata: map[string]any{"pad": "grows"}})
	if !errors.As(err, &le) || le.Limit != LimitStorageBytes {
		t.Fatalf("growing metadata past the storage limit: %v", err)
	}
	_, err = tn.Add(ctx, NewDocument{Path: "a", Content: "0123456789", Language: "a-long-language-name"})
	if !errors.As(err, &le) || le.Limit != LimitStorageBytes {
		t.Fatalf("growing the language past the storage limit: %v", err)
	}
	if _, err := tn.Add(ctx, NewDocument{Path: "a", Content: "shrinks"}); err != nil {
		t.Fatalf("shrinking a document under the limit: %v", err)
	}
	if err := tn.CreateWorkspace(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if err := tn.CreateWorkspace(ctx, "two"); !errors.As(err, &le) || le.Limit != LimitWorkspaces {
		t.Fatalf("third workspace: %v", err)
	}
	if got := log.sums[MeterDocumentsAdded]; got != 2 {
		t.Errorf("documents_added = %d, want 2: refused documents are not metered", got)
	}
}

func TestRecordQueryOncePerRequest(t *testing.T) {
	var log usageLog
	_, tn := openUsageTenant(t, &log)
	ctx := context.Background()
	for i, want := range []bool{true, false} {
		got, err := tn.RecordQuery(ctx, "req-1", 120)
		if err != nil || got != want {
			t.Fatalf("record %d = %v, %v; want %v", i, got, err, want)
		}
	}
	if _, err := tn.RecordQuery(ctx, "", 5); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{MeterQueries: 2, MeterTokens: 125}
	if !maps.Equal(log.sums, want) {
		t.Errorf("hook sums = %v, want %v", log.sums, want)
	}
}

func TestOutboxShipping(t *testing.T) {
	var log usageLog
	_, tn := openUsageTenant(t, &log)
	ctx := context.Background()
	for _, r := range []string{"a", "b", "c"} {
		if _, err := tn.RecordQuery(ctx, r, 10); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := tn.Unshipped(ctx, 4)
	if err != nil || len(evs) != 4 {
		t.Fatalf("unshipped = %d events, %v; want 4", len(evs), err)
	}
	seqs := []int64{evs[0].Seq, evs[1].Seq, evs[2].Seq, evs[3].Seq}
	if err := tn.MarkShipped(ctx, seqs, time.Now()); err != nil {
		t.Fatal(err)
	}
	rest, err := tn.Unshipped(ctx, 100)
	if err != nil || len(rest) != 2 || rest[0].Seq <= seqs[3] {
		t.Fatalf("after shipping 4: %+v, %v", rest, err)
	}
	pending, _, err := tn.UsageSince(ctx, time.Time{}, true)
	if err != nil || !maps.Equal(pending, map[string]int64{MeterQueries: 1, MeterTokens: 10}) {
		t.Fatalf("unshipped sums = %v, %v", pending, err)
	}
	if err := tn.PruneOutbox(ctx, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	all, _, err := tn.UsageSince(ctx, time.Time{}, false)
	if err != nil || !maps.Equal(all, pending) {
		t.Fatalf("after pruning shipped events: %v, %v; want only the unshipped %v", all, err, pending)
	}
}

func TestFailedWriteRecordsNothing(t *testing.T) {
	var log usageLog
	_, tn := openUsageTenant(t, &log)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tn.AddBatch(ctx, []NewDocument{{Path: "a", Content: "x"}}); err == nil {
		t.Fatal("write with a cancelled context succeeded")
	}
	all, _, err := tn.UsageSince(context.Background(), time.Time{}, false)
	if err != nil || len(all) != 0 || len(log.sums) != 0 {
		t.Fatalf("outbox %v (%v), hook %v; want nothing recorded", all, err, log.sums)
	}
}
