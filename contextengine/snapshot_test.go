package contextengine

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

// moveDoc is the content of document i of writer g.
func moveDoc(g, i int) NewDocument {
	return NewDocument{Path: fmt.Sprintf("w%d/f%d.go", g, i),
		Content: fmt.Sprintf("package w%d\n\n// Handler%d serves request %d of writer %d.\nfunc Handler%d() string { return \"ok\" }\n", g, i, i, g, i)}
}

// writeOnce opens tenant id, adds doc and closes it, as a request does.
func writeOnce(ctx context.Context, m *Manager, id string, doc NewDocument) error {
	tn, err := m.Open(ctx, id)
	if err != nil {
		return err
	}
	defer tn.Close()
	_, err = tn.Add(ctx, doc)
	return err
}

func TestMoveKeepsEveryAcknowledgedWrite(t *testing.T) {
	clock := func() time.Time { return time.Unix(2e9, 0) }
	ctx := context.Background()
	src := newTestManager(t, Options{Now: clock})
	if err := src.Create(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	seed := make([]NewDocument, 200)
	for i := range seed {
		seed[i] = moveDoc(99, i)
	}
	tn, err := src.Open(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, tn, seed...)
	tn.Close()

	// Writers keep writing until the fence turns them away.
	var mu sync.Mutex
	var acked []NewDocument
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				doc := moveDoc(g, i)
				err := writeOnce(ctx, src, "acme", doc)
				if errors.Is(err, ErrTenantMoving) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				acked = append(acked, doc)
				mu.Unlock()
			}
		})
	}
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	for ackedCount() < 20 {
		time.Sleep(time.Millisecond)
	}
	// A snapshot taken while they write is a consistent database.
	var live bytes.Buffer
	if err := src.Snapshot(ctx, "acme", &live); err != nil {
		t.Fatal(err)
	}
	for ackedCount() < 60 {
		time.Sleep(time.Millisecond)
	}
	release, err := src.Fence(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a writer failed otherwise than with ErrTenantMoving: %v", err)
	}
	var moved bytes.Buffer
	if err := src.Snapshot(ctx, "acme", &moved); err != nil {
		t.Fatal(err)
	}

	mid := newTestManager(t, Options{Now: clock})
	if err := mid.Install(ctx, "acme", &live); err != nil {
		t.Fatalf("installing the snapshot taken under writers: %v", err)
	}
	midTenant, err := mid.Open(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := midTenant.Stats(ctx); err != nil || s.Documents < int64(len(seed)) {
		t.Errorf("the snapshot taken under writers holds %+v (%v), want at least the %d seeded documents", s, err, len(seed))
	}
	midTenant.Close()

	dst := newTestManager(t, Options{Now: clock})
	if err := dst.Install(ctx, "acme", bytes.NewReader(moved.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := dst.Install(ctx, "acme", bytes.NewReader(moved.Bytes())); !errors.Is(err, ErrTenantExists) {
		t.Errorf("a second Install = %v, want ErrTenantExists", err)
	}
	to, err := dst.Open(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	defer to.Close()
	for _, doc := range append(seed, acked...) {
		got, err := to.GetByPath(ctx, "default", doc.Path)
		if err != nil {
			t.Fatalf("acknowledged %s missing after the move: %v", doc.Path, err)
		}
		if got.Content != doc.Content {
			t.Fatalf("%s moved with content %q, want %q", doc.Path, got.Content, doc.Content)
		}
	}

	// Both copies answer alike.
	release()
	from, err := src.Open(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	defer from.Close()
	fs, _ := from.Stats(ctx)
	ts, _ := to.Stats(ctx)
	if !reflect.DeepEqual(fs, ts) || from.Totals() != to.Totals() {
		t.Errorf("stats %+v / totals %+v moved as %+v / %+v", fs, from.Totals(), ts, to.Totals())
	}
	for _, q := range []string{"Handler7 request", "writer 2", "serves request of writer 99", "ok"} {
		want, err := from.Search(ctx, SearchRequest{Query: q, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		got, err := to.Search(ctx, SearchRequest{Query: q, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("search %q: %d hits after the move, %d before, or they differ", q, len(got), len(want))
		}
		wa, err := from.Assemble(ctx, Request{Query: q, NoCache: true})
		if err != nil {
			t.Fatal(err)
		}
		ga, err := to.Assemble(ctx, Request{Query: q, NoCache: true})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ga.Items, wa.Items) || ga.TotalTokens != wa.TotalTokens {
			t.Errorf("assemble %q differs after the move", q)
		}
	}
}

// tarOf returns a snapshot-shaped stream of the named files, each with
// the SHA-256 record of its content.
func tarOf(t *testing.T, files ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		sum := sha256.Sum256([]byte(f[1]))
		if err := tw.WriteHeader(&tar.Header{Name: f[0], Typeflag: tar.TypeReg, Mode: 0o640, Size: int64(len(f[1])),
			PAXRecords: map[string]string{snapshotSum: hex.EncodeToString(sum[:])}}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestInstallRefusesDamagedStreams(t *testing.T) {
	ctx := context.Background()
	src, tn := newTestTenantWith(t, Options{})
	mustAdd(t, tn, NewDocument{Path: "a.go", Content: "package a\n"})
	var snap bytes.Buffer
	if err := src.Snapshot(ctx, "acme", &snap); err != nil {
		t.Fatal(err)
	}
	good := snap.Bytes()
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0xff
	// The database's copy, as a whole file, for streams of other shapes.
	tr := tar.NewReader(bytes.NewReader(good))
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	var db bytes.Buffer
	if _, err := db.ReadFrom(tr); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	dst := newTestManager(t, Options{DataDir: dir})
	for name, stream := range map[string][]byte{
		"empty":            nil,
		"not a tar":        []byte("hello"),
		"truncated":        good[:len(good)/2],
		"a flipped byte":   flipped,
		"another name":     tarOf(t, [2]string{"../context.db", db.String()}),
		"two entries":      tarOf(t, [2]string{"context.db", db.String()}, [2]string{"extra", "x"}),
		"not a database":   tarOf(t, [2]string{"context.db", string(bytes.Repeat([]byte("x"), 8192))}),
		"a damaged header": tarOf(t, [2]string{"context.db", "SQLite format 3\x00" + db.String()[16:100]}),
	} {
		err := dst.Install(ctx, "acme", bytes.NewReader(stream))
		if !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: Install = %v, want ErrInvalidInput", name, err)
		}
		if dst.Exists("acme") {
			t.Fatalf("%s: installed", name)
		}
		if _, err := os.Stat(filepath.Join(dir, "tenants", "acme")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a failed Install left files: %v", name, err)
		}
	}
	if err := dst.Install(ctx, "../acme", bytes.NewReader(good)); !errors.Is(err, ErrInvalidTenantID) {
		t.Errorf("Install(../acme) = %v, want ErrInvalidTenantID", err)
	}
	if err := dst.Install(ctx, "acme", bytes.NewReader(good)); err != nil {
		t.Fatalf("the undamaged stream: %v", err)
	}
	got, err := dst.Open(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if _, err := got.GetByPath(ctx, "default", "a.go"); err != nil {
		t.Error(err)
	}
}
