package migratelocal

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sourceRow is a row of a test source database.
type sourceRow struct {
	id, content, path, lang string
	mtime                   any
}

// buildSource writes a database with the local ContextLite schema and
// returns its path.
func buildSource(t *testing.T, rows []sourceRow) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "contextlite.db")
	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts := []string{
		`CREATE TABLE documents (
			id TEXT PRIMARY KEY, content TEXT NOT NULL, content_hash TEXT, path TEXT, lang TEXT,
			mtime INTEGER, token_count INTEGER, model_id TEXT, quantum_score REAL,
			entanglement_map TEXT, coherence_history TEXT, created_at DATETIME, updated_at DATETIME)`,
		`CREATE TABLE workspace_weights (workspace_path TEXT PRIMARY KEY, weight REAL, updated_at DATETIME)`,
		`CREATE TABLE document_paths (document_id TEXT, path TEXT)`,
		`INSERT INTO workspace_weights VALUES ('/home/dev/proj-a', 1.0, '2026-11-28 14:50:33.79 +0000 UTC m=+7.21'),
			('/home/dev/my project/', 0.5, '2026-11-28 14:50:33.79 +0000 UTC')`,
		`INSERT INTO document_paths VALUES ('x', 'ignored.txt')`,
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	ts := time.Date(2026, 11, 28, 14, 50, 33, 790000000, time.UTC).String() + " m=+7.210000001"
	for _, r := range rows {
		_, err := db.Exec(`INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, 10, 'm', 0.5, '{}', '[]', ?, ?)`,
			r.id, r.content, ContentHash(r.content), r.path, r.lang, r.mtime, ts, ts)
		if err != nil {
			t.Fatal(err)
		}
	}
	return file
}

// testRows returns the rows of the standard test source and how many
// documents they expand to.
func testRows(n int) ([]sourceRow, int) {
	rows := []sourceRow{
		{"h-main", "package main\n", "cmd/main.go", "go", int64(1764341433)},
		{"h-dup", "identical content\n", "a/same.txt\nb/same.txt", "text", int64(1764341434)}, // two files, one row
		{"h-json", "json paths\n", `["x/one.md","x/two.md"]`, "markdown", "1764341435"},
		{"h-empty", "no path\n", "", "", nil},
	}
	for i := range n {
		rows = append(rows, sourceRow{fmt.Sprintf("h%03d", i), fmt.Sprintf("file %d\n%s", i, strings.Repeat("x", i)), fmt.Sprintf("src/f%03d.txt", i), "text", int64(i)})
	}
	return rows, n + 6
}

// testUploader returns an uploader for srv with quick retries.
func testUploader(url string) *Uploader {
	u := NewUploader(url, "clc_test", false)
	u.MaxRetries, u.BaseDelay, u.MaxDelay = 2, time.Millisecond, 5*time.Millisecond
	return u
}

func TestParseTimestamp(t *testing.T) {
	for _, s := range []string{
		"2026-11-28 14:50:33.79 +0000 UTC m=+7.21",
		"2026-11-28 14:50:33.79 +0000 UTC",
		"2026-11-28 15:50:33.79 +0100 CET m=-0.5",
	} {
		got, err := ParseTimestamp(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want := time.Date(2026, 11, 28, 14, 50, 33, 790000000, time.UTC)
		if !got.Equal(want) {
			t.Errorf("%q: got %v, want %v", s, got, want)
		}
	}
	if _, err := ParseTimestamp("yesterday"); err == nil {
		t.Error("parsed garbage")
	}
}

func TestRowPaths(t *testing.T) {
	cases := map[string][]string{
		"a.go":               {"a.go"},
		"a.go\nb.go\n":       {"a.go", "b.go"},
		"a.go\r\nb.go\na.go": {"a.go", "b.go"},
		`["x.md", "y.md"]`:   {"x.md", "y.md"},
		"":                   {"doc-abc.txt"},
		"  \n ":              {"doc-abc.txt"},
		"[not json":          {"[not json"},
	}
	for in, want := range cases {
		got := Row{ID: "abc", Path: in}.Paths()
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("Paths(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWorkspaceName(t *testing.T) {
	cases := map[string]string{
		"/home/dev/proj-a":   "proj-a",
		"/home/dev/my proj/": "my-proj",
		`C:\code\Thing`:      "Thing",
		"plain":              "plain",
		"/":                  "",
		"..hidden":           "hidden",
	}
	for in, want := range cases {
		if got := WorkspaceName(in); got != want {
			t.Errorf("WorkspaceName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMigrate(t *testing.T) {
	rows, total := testRows(5)
	db := buildSource(t, rows)
	fake, srv := newFakeService(t)
	var bar bytes.Buffer
	sum, err := Run(context.Background(), Options{DB: db, URL: srv.URL, Key: "clc_test", Workspace: "proj-a", Batch: 4, Progress: &bar, Uploader: testUploader(srv.URL)})
	if err != nil {
		t.Fatalf("Run: %v (%+v)", err, sum)
	}
	if sum.Total != total || sum.Migrated != total || sum.Verified != total || sum.Skipped != 0 || sum.Failed != 0 {
		t.Fatalf("summary %+v, want %d migrated and verified", sum, total)
	}
	fake.set(func(f *fakeService) { // under the lock the handler may still hold
		for _, p := range []string{"a/same.txt", "b/same.txt", "x/one.md", "x/two.md", "doc-h-empty.txt", "cmd/main.go"} {
			if f.docs["proj-a\x00"+p] == nil {
				t.Errorf("%s not migrated", p)
			}
		}
		if f.docs["proj-a\x00ignored.txt"] != nil {
			t.Error("document_paths was not ignored")
		}
		for _, ws := range []string{"proj-a", "my-project"} {
			if !f.workspaces[ws] {
				t.Errorf("workspace %s not created", ws)
			}
		}
		if !strings.Contains(bar.String(), fmt.Sprintf("%d/%d 100.0%%", total, total)) {
			t.Errorf("progress bar %q does not end at 100%%", bar.String())
		}
		if f.okCalls != (total+3)/4 {
			t.Errorf("%d bulk calls, want %d", f.okCalls, (total+3)/4)
		}
	})
	// A second run finds everything done and only verifies.
	sum, err = Run(context.Background(), Options{DB: db, URL: srv.URL, Key: "clc_test", Workspace: "proj-a", Batch: 4, Uploader: testUploader(srv.URL)})
	if err != nil || sum.Migrated != 0 || sum.Skipped != total || sum.Verified != total {
		t.Fatalf("second run: %v, %+v", err, sum)
	}
	if n := fake.totalReceived(); n != total {
		t.Errorf("service received %d documents, want %d", n, total)
	}
}

func TestMigrateMetadata(t *testing.T) {
	rows, _ := testRows(0)
	docs := Row{RowID: 1, ID: rows[0].id, Content: rows[0].content, Path: rows[0].path, Lang: "go", MTime: "1764341433",
		CreatedAt: time.Date(2026, 11, 28, 14, 50, 33, 0, time.UTC)}.Documents("w")
	if len(docs) != 1 {
		t.Fatalf("%d documents", len(docs))
	}
	m := docs[0].Metadata
	if m["source"] != "contextlite-local" || m["original_id"] != "h-main" || m["mtime"] != int64(1764341433) || m["created_at"] != "2026-11-28T14:50:33Z" {
		t.Errorf("metadata %v", m)
	}
	if docs[0].Workspace != "w" || docs[0].Language != "go" {
		t.Errorf("document %+v", docs[0])
	}
}

func TestMigrateResume(t *testing.T) {
	for _, mode := range []string{"503", "close"} {
		t.Run(mode, func(t *testing.T) {
			rows, total := testRows(20)
			db := buildSource(t, rows)
			fake, srv := newFakeService(t)
			const batch, okBatches = 3, 2
			fake.set(func(f *fakeService) { f.failAfter, f.failMode = okBatches, mode })
			opts := Options{DB: db, URL: srv.URL, Key: "clc_test", Batch: batch, Uploader: testUploader(srv.URL)}

			sum, err := Run(context.Background(), opts)
			if err == nil {
				t.Fatal("first run succeeded through a failing service")
			}
			if sum.Migrated != batch*okBatches {
				t.Fatalf("first run migrated %d, want %d", sum.Migrated, batch*okBatches)
			}
			fake.set(func(f *fakeService) {
				if f.failedHits != 3 { // first attempt and two retries
					t.Errorf("failing batch tried %d times, want 3", f.failedHits)
				}
			})
			st, err := LoadState(StatePath(db), srv.URL, "default")
			if err != nil || !st.Started || st.Uploaded != batch*okBatches {
				t.Fatalf("state after interruption: %+v, %v", st, err)
			}

			fake.set(func(f *fakeService) { f.failAfter = -1 })
			before := fake.totalReceived()
			sum, err = Run(context.Background(), opts)
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			if sent := fake.totalReceived() - before; sent != total-batch*okBatches {
				t.Errorf("second run sent %d documents, want %d", sent, total-batch*okBatches)
			}
			fake.set(func(f *fakeService) {
				for p, n := range f.received {
					if n != 1 {
						t.Errorf("%s uploaded %d times", p, n)
					}
				}
			})
			if sum.Skipped != batch*okBatches || sum.Migrated != total-batch*okBatches || sum.Verified != total || len(sum.Missing)+len(sum.Mismatched) != 0 {
				t.Errorf("second run summary %+v", sum)
			}
		})
	}
}

func TestMigrateVerifyMismatch(t *testing.T) {
	rows, total := testRows(2)
	db := buildSource(t, rows)
	fake, srv := newFakeService(t)
	opts := Options{DB: db, URL: srv.URL, Key: "clc_test", Uploader: testUploader(srv.URL)}
	if _, err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	fake.set(func(f *fakeService) {
		f.docs["default\x00cmd/main.go"].Hash = "0000"
		delete(f.docs, "default\x00b/same.txt")
		f.order = f.order[:0]
		for _, d := range f.docs {
			f.order = append(f.order, d)
		}
	})
	sum, err := Run(context.Background(), opts)
	if !errors.Is(err, ErrVerification) {
		t.Fatalf("err = %v, want ErrVerification", err)
	}
	if strings.Join(sum.Mismatched, ",") != "cmd/main.go" || strings.Join(sum.Missing, ",") != "b/same.txt" || sum.Verified != total-2 {
		t.Errorf("summary %+v", sum)
	}
}

func TestMigrateBatchBytes(t *testing.T) {
	var rows []sourceRow
	for i := range 10 {
		rows = append(rows, sourceRow{fmt.Sprintf("b%d", i), strings.Repeat("y", 1000), fmt.Sprintf("big/%d.txt", i), "text", int64(i)})
	}
	rows = append(rows, sourceRow{"huge", strings.Repeat("z", 5000), "huge.txt", "text", int64(0)})
	db := buildSource(t, rows)
	fake, srv := newFakeService(t)
	const maxBytes = 3000
	sum, err := Run(context.Background(), Options{DB: db, URL: srv.URL, Key: "clc_test", Batch: 1000, MaxBytes: maxBytes, Uploader: testUploader(srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Migrated != 10 || sum.Failed != 1 || sum.Verified != 10 || sum.FailedDocs[0].Path != "huge.txt" {
		t.Errorf("summary %+v", sum)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	for _, n := range fake.bodySizes {
		if n > maxBytes {
			t.Errorf("bulk body of %d bytes, limit %d", n, maxBytes)
		}
	}
	if len(fake.bodySizes) < 4 {
		t.Errorf("%d bulk calls; batching by bytes did not split", len(fake.bodySizes))
	}
}

func TestUploaderRetries(t *testing.T) {
	fake, srv := newFakeService(t)
	fake.set(func(f *fakeService) { f.throttle = 2 })
	u := testUploader(srv.URL)
	resp, err := u.Bulk(context.Background(), []Document{{Path: "a", Content: "x", Metadata: map[string]any{"source": "contextlite-local"}}})
	if err != nil || resp.Created != 1 {
		t.Fatalf("Bulk after 429s: %+v, %v", resp, err)
	}
	bad := NewUploader(srv.URL, "wrong", false)
	_, err = bad.Bulk(context.Background(), []Document{{Path: "a", Content: "x"}})
	if apiErr, ok := errors.AsType[*APIError](err); !ok || apiErr.Status != 401 || apiErr.Code != "unauthorized" {
		t.Errorf("bad key: %v", err)
	}
	if err := u.CreateWorkspace(context.Background(), "default"); err != nil {
		t.Errorf("409 is not an error: %v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	if d := retryAfter("3"); d != 3*time.Second {
		t.Errorf("retryAfter(3) = %v", d)
	}
	if d := retryAfter(time.Now().Add(-time.Hour).UTC().Format(http1123)); d != 0 {
		t.Errorf("past date: %v", d)
	}
	if d := retryAfter(""); d != 0 {
		t.Errorf("empty: %v", d)
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestStateSaveAtomic(t *testing.T) {
	file := filepath.Join(t.TempDir(), "x.db.migrate-state.json")
	st := &State{URL: "u", Workspace: "w", Started: true, Last: Position{7, 1}, Uploaded: 9}
	if err := st.Save(file); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(file, "u", "w")
	if err != nil || got.Last != st.Last || got.Uploaded != st.Uploaded || !got.Started {
		t.Fatalf("LoadState = %+v, %v", got, err)
	}
	other, _ := LoadState(file, "other", "w")
	if other.Started {
		t.Error("state of another target was used")
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}
