package caddymodule

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/contextlite/cloud/backup"
	"github.com/contextlite/cloud/datadir"
)

// storageInfo is the answer of GET /api/v1/storage/info.
type storageInfo struct {
	Documents    int64 `json:"documents"`
	StorageBytes int64 `json:"storage_bytes"`
}

func TestStorageCountsEveryStoredByte(t *testing.T) {
	t.Setenv("CONTEXTLITE_STORAGE_LIMIT", "4KiB")
	tc := startServer(t, t.TempDir(), "")
	acme := signup(t, tc, "StorageCo")
	base := acme.URL + "/api/v1"
	info := func() storageInfo {
		var s storageInfo
		call(t, tc, "GET", base+"/storage/info", acme.APIKey, nil, http.StatusOK, &s)
		return s
	}

	// Path, language and metadata count with the content.
	doc := map[string]any{"path": "a.go", "language": "go", "content": "package a", "metadata": map[string]any{"k": "v"}}
	call(t, tc, "POST", base+"/documents", acme.APIKey, doc, http.StatusCreated, nil)
	if got, want := info().StorageBytes, int64(len("a.go")+len("go")+len("package a")+len(`{"k":"v"}`)); got != want {
		t.Fatalf("storage_bytes = %d, want %d", got, want)
	}

	// Metadata cannot grow a document past the storage quota.
	doc["metadata"] = map[string]any{"pad": strings.Repeat("x", 4<<10)}
	var e errorCode
	call(t, tc, "POST", base+"/documents", acme.APIKey, doc, http.StatusForbidden, &e)
	if e.Error.Code != "storage_limit_reached" || !strings.Contains(e.Error.Message, "storage_bytes") {
		t.Fatalf("metadata past the quota: %+v", e)
	}

	// Metadata is bounded in size and depth, the language in length.
	deep := map[string]any{"v": 1}
	for range 8 {
		deep = map[string]any{"n": deep}
	}
	for name, bad := range map[string]map[string]any{
		"large metadata": {"path": "b.go", "content": "x", "metadata": map[string]any{"pad": strings.Repeat("x", 17<<10)}},
		"deep metadata":  {"path": "b.go", "content": "x", "metadata": deep},
	} {
		e = errorCode{}
		call(t, tc, "POST", base+"/documents", acme.APIKey, bad, http.StatusUnprocessableEntity, &e)
		if e.Error.Code != "invalid_metadata" {
			t.Errorf("%s: %+v", name, e)
		}
	}
	e = errorCode{}
	call(t, tc, "POST", base+"/documents", acme.APIKey, map[string]any{"path": "b.go", "content": "x", "language": strings.Repeat("x", 65)},
		http.StatusUnprocessableEntity, &e)
	if e.Error.Code != "invalid_request" || !strings.Contains(e.Error.Message, "language") {
		t.Errorf("long language: %+v", e)
	}

	// Updates and deletes count the same bytes, so the total returns to 0.
	doc["metadata"] = nil
	doc["language"] = ""
	call(t, tc, "POST", base+"/documents", acme.APIKey, doc, http.StatusOK, nil)
	if got, want := info().StorageBytes, int64(len("a.go")+len("package a")); got != want {
		t.Fatalf("storage_bytes after dropping metadata = %d, want %d", got, want)
	}
	var page struct {
		Documents []struct {
			ID        string `json:"id"`
			SizeBytes int64  `json:"size_bytes"`
		} `json:"data"`
	}
	call(t, tc, "GET", base+"/documents", acme.APIKey, nil, http.StatusOK, &page)
	if len(page.Documents) != 1 || page.Documents[0].SizeBytes != int64(len("a.go")+len("package a")) {
		t.Fatalf("documents = %+v", page.Documents)
	}
	call(t, tc, "DELETE", base+"/documents/"+page.Documents[0].ID, acme.APIKey, nil, http.StatusNoContent, nil)
	if s := info(); s.StorageBytes != 0 || s.Documents != 0 {
		t.Fatalf("after delete: %+v", s)
	}
}

func TestDotDocumentIDsRefused(t *testing.T) {
	tc := startServer(t, t.TempDir(), "")
	acme := signup(t, tc, "DotCo")
	for _, id := range []string{".", ".."} {
		var e errorCode
		call(t, tc, "POST", acme.URL+"/api/v1/documents", acme.APIKey, map[string]string{"id": id, "content": "x"}, http.StatusUnprocessableEntity, &e)
		if e.Error.Code != "invalid_request" || !strings.Contains(e.Error.Message, "reserved") {
			t.Errorf("id %q: %+v", id, e)
		}
	}
	var page struct {
		Documents []any `json:"data"`
	}
	call(t, tc, "GET", acme.URL+"/api/v1/documents", acme.APIKey, nil, http.StatusOK, &page)
	if len(page.Documents) != 0 {
		t.Fatalf("documents stored: %+v", page.Documents)
	}
}

// lockRefs returns the references to each data dir lock of this process.
func lockRefs() map[string]int {
	refs := make(map[string]int)
	locks.Range(func(key, _ any) bool {
		refs[key.(string)], _ = locks.References(key)
		return true
	})
	return refs
}

func TestDataDirLockedWhileServing(t *testing.T) {
	dir := t.TempDir()
	tc := startServer(t, dir, "")
	acme := signup(t, tc, "LockCo")
	b := filepath.Join(t.TempDir(), "b")
	if _, err := backup.Take(context.Background(), dir, b); err != nil {
		t.Fatal(err)
	}
	refused := func(when string) {
		t.Helper()
		var le *datadir.LockedError
		if _, err := datadir.Acquire(dir); !errors.As(err, &le) || le.PID != os.Getpid() {
			t.Fatalf("%s: a second lock of the data dir: %v", when, err)
		}
		if err := backup.Restore(b, dir, ""); !errors.Is(err, datadir.ErrLocked) || !strings.Contains(err.Error(), "in use by process") {
			t.Fatalf("%s: restore beside the server: %v", when, err)
		}
	}
	refused("serving")

	// A reload keeps the lock, held once.
	startServer(t, dir, "\t\tstorage_limit 2GiB\n")
	if refs := lockRefs(); len(refs) != 1 || refs[dir] != 1 {
		t.Fatalf("locks after reload = %v, want %s once", refs, dir)
	}
	refused("after a reload")
	call(t, tc, "GET", acme.URL+"/api/v1/documents", acme.APIKey, nil, http.StatusOK, nil)

	// Once the server lets go of the data dir, restore runs.
	resetZones(tc)
	if refs := lockRefs(); len(refs) != 0 {
		t.Fatalf("locks after the app is gone = %v", refs)
	}
	if err := backup.Restore(b, dir, ""); err != nil {
		t.Fatalf("restore after the server: %v", err)
	}
}

func TestFirstScheduledBackupIsNotPostponedByAStart(t *testing.T) {
	backups := t.TempDir()
	t.Setenv("CONTEXTLITE_BACKUP_DIR", backups)
	tc := startServer(t, t.TempDir(), "")
	signup(t, tc, "BackupCo")
	// Without a backup yet one is due at once, not 24 hours after the start.
	for range 600 {
		if m, _ := filepath.Glob(filepath.Join(backups, "contextlite-*", backup.ManifestFile)); len(m) > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no backup taken after the start")
}

// exportLine is one line of GET /api/v1/export.
type exportLine struct {
	Type     string `json:"type"`
	Document *struct {
		Path string `json:"path"`
	} `json:"document"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// readExport sends GET /api/v1/export and reads its lines, pausing for
// pause after each; the error is the body's read error.
func readExport(t *testing.T, tc *caddytest.Tester, s signedUp, pause time.Duration) ([]exportLine, error) {
	t.Helper()
	req, err := http.NewRequest("GET", s.URL+"/api/v1/export", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Key", s.APIKey)
	resp, err := tc.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %d", resp.StatusCode)
	}
	var lines []exportLine
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		var l exportLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("export line %.100q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
		time.Sleep(pause)
	}
	return lines, sc.Err()
}

// countDocuments returns how many document lines lines holds.
func countDocuments(lines []exportLine) int {
	n := 0
	for _, l := range lines {
		if l.Type == "document" {
			n++
		}
	}
	return n
}

func TestExportOutlastsTheWriteTimeout(t *testing.T) {
	dir := t.TempDir()
	tc := startServer(t, dir, "")
	acme := signup(t, tc, "ExportCo")
	// More than the client's flow-control window and the socket buffers
	// hold, so the server is still writing when the timeout passes.
	const docs = 12
	line := strings.Repeat("lorem ipsum dolor sit amet ", 40) + "\n"
	content := strings.Repeat(line, (1<<20-64)/len(line))
	for i := range docs {
		call(t, tc, "POST", acme.URL+"/api/v1/documents", acme.APIKey,
			map[string]string{"path": fmt.Sprintf("big%d.txt", i), "content": content}, http.StatusCreated, nil)
	}
	// The same config where a write may stall 5s, not 60s.
	raw, err := os.ReadFile("../Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	config := strings.Replace(string(raw), "write_idle 60s", "write_idle 5s", 1)
	if config == string(raw) {
		t.Fatal("the Caddyfile bounds no write's stall by 60s")
	}
	tc.InitServer(config, "caddyfile")

	// Read slowly: the export lasts longer than a write may stall.
	lines, err := readExport(t, tc, acme, 500*time.Millisecond)
	if err != nil || countDocuments(lines) != docs || lines[len(lines)-1].Type != "document" {
		t.Fatalf("export read slowly: %d documents of %d, read error %v", countDocuments(lines), docs, err)
	}
}

func TestExportFailureEndsWithAnErrorLine(t *testing.T) {
	dir := t.TempDir()
	tc := startServer(t, dir, "")
	acme := signup(t, tc, "BrokenCo")
	for i := range 3 {
		call(t, tc, "POST", acme.URL+"/api/v1/documents", acme.APIKey,
			map[string]string{"path": fmt.Sprintf("f%d.md", i), "content": "# doc"}, http.StatusCreated, nil)
	}
	// The second document's metadata is damaged on disk.
	db, err := sql.Open("sqlite", filepath.Join(dir, "tenants", acme.TenantID, "context.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE documents SET metadata = '{broken' WHERE path = 'f1.md'`); err != nil {
		t.Fatal(err)
	}

	lines, err := readExport(t, tc, acme, 0)
	if err != nil {
		t.Fatal(err)
	}
	last := lines[len(lines)-1]
	if last.Type != "error" || last.Error == nil || last.Error.Code != "internal_error" || countDocuments(lines) >= 3 {
		t.Fatalf("export of a damaged tenant: %d documents, last line %+v", countDocuments(lines), last)
	}
}
