package migrations

import (
	"io/fs"
	"regexp"
	"slices"
	"testing"
)

var (
	fileName    = regexp.MustCompile(`^[0-9]{4}_[a-z0-9_]+\.sql$`)
	createTable = regexp.MustCompile(`(?i)CREATE TABLE (\w+)`)
	createIndex = regexp.MustCompile(`(?i)CREATE (?:UNIQUE )?INDEX (\w+)`)
)

// TestDialectsMatch checks that both dialects have the same files and
// that each file creates the same tables and indexes in both.
func TestDialectsMatch(t *testing.T) {
	pg := sqlFiles(t, Postgres)
	lite := sqlFiles(t, SQLite)
	if len(pg) == 0 || !slices.Equal(pg, lite) {
		t.Fatalf("postgres files %v, sqlite files %v: want the same, non-empty", pg, lite)
	}
	for _, name := range pg {
		for _, re := range []*regexp.Regexp{createTable, createIndex} {
			p, l := names(t, Postgres, name, re), names(t, SQLite, name, re)
			if !slices.Equal(p, l) {
				t.Errorf("%s: postgres creates %v, sqlite %v", name, p, l)
			}
		}
	}
}

func TestInitCreatesSchema(t *testing.T) {
	want := []string{"tenants", "api_keys", "usage_events", "billing_events"}
	for _, fsys := range []fs.FS{Postgres, SQLite} {
		if got := names(t, fsys, "0001_init.sql", createTable); !slices.Equal(got, want) {
			t.Errorf("0001_init.sql creates %v, want %v", got, want)
		}
	}
}

func sqlFiles(t *testing.T, fsys fs.FS) []string {
	t.Helper()
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if !fileName.MatchString(e.Name()) {
			t.Errorf("file %q: want NNNN_name.sql", e.Name())
		}
		files = append(files, e.Name())
	}
	return files
}

func names(t *testing.T, fsys fs.FS, file string, re *regexp.Regexp) []string {
	t.Helper()
	body, err := fs.ReadFile(fsys, file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(body), -1) {
		out = append(out, m[1])
	}
	return out
}
