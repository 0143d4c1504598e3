package migratelocal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits of one bulk call of the service.
const (
	MaxBatchDocuments = 1000
	MaxBatchBytes     = 16 << 20
)

// ErrVerification is returned by Run when documents are missing from the
// tenant or differ from the source.
var ErrVerification = errors.New("verification failed")

// Options configure a migration.
type Options struct {
	DB        string // source database file
	URL       string // tenant base URL, such as https://acme.example.com
	Key       string // API key with write scope
	Workspace string // target workspace; "default" when empty
	Batch     int    // documents per call; 200 when 0, at most 1000
	MaxBytes  int    // request body bytes per call; 16 MB less a margin when 0
	Insecure  bool   // skip TLS certificate verification

	Progress io.Writer // progress bar, typically os.Stderr; nil for none
	Log      io.Writer // notes such as created workspaces; nil for none

	Uploader *Uploader // when not nil, used instead of one built from URL and Key
}

// Summary is the outcome of a migration.
type Summary struct {
	Total      int      // documents in the source
	Migrated   int      // accepted by the service in this run
	Skipped    int      // sent by an earlier run
	Failed     int      // refused by the service, over all runs
	Verified   int      // found in the tenant with the right content hash
	Missing    []string // paths not found in the tenant
	Mismatched []string // paths whose content hash differs
	Workspaces []string // workspaces created or found in the tenant
	FailedDocs []FailedDocument
}

// Run migrates opts.DB into the tenant, resuming from the state file
// next to it, then verifies the result.
func Run(ctx context.Context, opts Options) (Summary, error) {
	var sum Summary
	opts, err := opts.withDefaults()
	if err != nil {
		return sum, err
	}
	src, err := OpenSource(ctx, opts.DB)
	if err != nil {
		return sum, err
	}
	defer src.Close()
	statePath := StatePath(opts.DB)
	st, err := LoadState(statePath, opts.URL, opts.Workspace)
	if err != nil {
		return sum, err
	}
	up := opts.Uploader
	if up == nil {
		up = NewUploader(opts.URL, opts.Key, opts.Insecure)
	}
	if sum.Workspaces, err = createWorkspaces(ctx, src, up, opts); err != nil {
		return sum, err
	}
	if sum.Total, sum.Skipped, err = count(ctx, src, st); err != nil {
		return sum, err
	}
	err = upload(ctx, src, up, st, statePath, opts, &sum)
	sum.Failed, sum.FailedDocs = len(st.Failed), st.Failed
	if err != nil {
		return sum, err
	}
	if err := verify(ctx, src, up, st, opts.Workspace, &sum); err != nil {
		return sum, err
	}
	if len(sum.Missing) > 0 || len(sum.Mismatched) > 0 {
		return sum, fmt.Errorf("%w: %d missing, %d with another content hash", ErrVerification, len(sum.Missing), len(sum.Mismatched))
	}
	return sum, nil
}

// withDefaults checks opts and fills in defaults.
func (opts Options) withDefaults() (Options, error) {
	switch {
	case opts.DB == "":
		return opts, errors.New("no source database given")
	case opts.URL == "" && opts.Uploader == nil:
		return opts, errors.New("no service URL given")
	case opts.Key == "" && opts.Uploader == nil:
		return opts, errors.New("no API key given")
	case opts.Batch < 0 || opts.Batch > MaxBatchDocuments:
		return opts, fmt.Errorf("batch must be 1-%d documents", MaxBatchDocuments)
	}
	opts.URL = strings.TrimRight(opts.URL, "/")
	if opts.Workspace == "" {
		opts.Workspace = "default"
	}
	if opts.Batch == 0 {
		opts.Batch = 200
	}
	if opts.MaxBytes <= 0 || opts.MaxBytes > MaxBatchBytes-64<<10 {
		opts.MaxBytes = MaxBatchBytes - 64<<10 // room for the service's own accounting
	}
	return opts, nil
}

// createWorkspaces creates the source's workspaces and the target one in
// the tenant and returns their names.
func createWorkspaces(ctx context.Context, src *Source, up *Uploader, opts Options) ([]string, error) {
	names, err := src.Workspaces(ctx)
	if err != nil {
		return nil, err
	}
	if opts.Workspace != "default" && !contains(names, opts.Workspace) {
		names = append(names, opts.Workspace)
	}
	for _, name := range names {
		if err := up.CreateWorkspace(ctx, name); err != nil {
			return nil, err
		}
		logf(opts.Log, "workspace %s ready\n", name)
	}
	return names, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// count returns how many documents the source holds and how many of them
// st says are already sent.
func count(ctx context.Context, src *Source, st *State) (total, done int, err error) {
	err = src.rows(ctx, 0, false, func(r Row) error {
		for i := range r.Paths() {
			total++
			if st.done(Position{r.RowID, i}) {
				done++
			}
		}
		return nil
	})
	return total, done, err
}

// batch is documents waiting to be sent and the size of their JSON.
type batch struct {
	docs  []Document
	bytes int
}

// envelopeBytes is the size of {"documents":[]} around a batch.
const envelopeBytes = len(`{"documents":[]}`)

// upload sends the documents st does not mark as done, in batches, and
// saves st after each one.
func upload(ctx context.Context, src *Source, up *Uploader, st *State, statePath string, opts Options, sum *Summary) error {
	bar := newProgress(opts.Progress, sum.Total, sum.Skipped)
	defer bar.finish()
	done := sum.Skipped
	bar.update(done)
	var b batch
	flush := func() error {
		if len(b.docs) == 0 {
			return nil
		}
		n, err := sendBatch(ctx, up, b.docs, st)
		if err != nil {
			return err
		}
		if err := st.Save(statePath); err != nil {
			return err
		}
		sum.Migrated += n
		done += len(b.docs)
		bar.update(done)
		b = batch{}
		return nil
	}
	err := src.Rows(ctx, st.Last.RowID, func(r Row) error {
		for _, doc := range r.Documents(opts.Workspace) {
			if st.done(doc.pos) {
				continue
			}
			size, err := docBytes(doc)
			if err != nil {
				return err
			}
			if envelopeBytes+size > opts.MaxBytes {
				// Too large for any call: record it and move on.
				if err := flush(); err != nil {
					return err
				}
				st.Failed = append(st.Failed, FailedDocument{Path: doc.Path, Error: fmt.Sprintf("%d bytes of JSON, more than one call may send", size)})
				st.Last, st.Started = doc.pos, true
				if err := st.Save(statePath); err != nil {
					return err
				}
				done++
				bar.update(done)
				continue
			}
			if len(b.docs) == opts.Batch || envelopeBytes+b.bytes+size+1 > opts.MaxBytes {
				if err := flush(); err != nil {
					return err
				}
			}
			b.docs = append(b.docs, doc)
			b.bytes += size + 1 // and a comma
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// docBytes returns the size of doc's JSON.
func docBytes(doc Document) (int, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", doc.Path, err)
	}
	return len(data), nil
}

// sendBatch uploads docs, records refused ones and the new position in
// st, and returns how many the service accepted.
func sendBatch(ctx context.Context, up *Uploader, docs []Document, st *State) (int, error) {
	resp, err := up.Bulk(ctx, docs)
	if err != nil {
		return 0, err
	}
	ok := 0
	for i, res := range resp.Results {
		if res.Error != nil {
			st.Failed = append(st.Failed, FailedDocument{Path: docs[i].Path, Error: res.Error.Code + ": " + res.Error.Message})
			continue
		}
		ok++
	}
	st.Last, st.Started = docs[len(docs)-1].pos, true
	st.Uploaded += ok
	return ok, nil
}

// ContentHash returns the hash the service computes for content: hex
// SHA-256.
func ContentHash(content string) string {
	h := sha256.Sum256([]byte(content))
	return hex.EncodeToString(h[:])
}

// verify checks that every document sent and not refused is in the
// tenant's workspace with its content hash.
func verify(ctx context.Context, src *Source, up *Uploader, st *State, workspace string, sum *Summary) error {
	failed := map[string]bool{}
	for _, f := range st.Failed {
		failed[f.Path] = true
	}
	want := map[string]string{} // path: content hash; a later row wins, as in the tenant
	var order []string
	err := src.Rows(ctx, 0, func(r Row) error {
		for _, doc := range r.Documents(workspace) {
			if !st.done(doc.pos) || failed[doc.Path] {
				continue
			}
			if _, seen := want[doc.Path]; !seen {
				order = append(order, doc.Path)
			}
			want[doc.Path] = ContentHash(doc.Content)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	have, err := listHashes(ctx, up, workspace)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	for _, p := range order {
		switch h, ok := have[p]; {
		case !ok:
			sum.Missing = append(sum.Missing, p)
		case h != want[p]:
			sum.Mismatched = append(sum.Mismatched, p)
		default:
			sum.Verified++
		}
	}
	return nil
}

// listHashes returns the content hash of every document of workspace in
// the tenant, by path.
func listHashes(ctx context.Context, up *Uploader, workspace string) (map[string]string, error) {
	have := map[string]string{}
	cursor := ""
	for {
		page, err := up.List(ctx, workspace, cursor, 500)
		if err != nil {
			return nil, err
		}
		for _, d := range page.Documents {
			have[d.Path] = d.ContentHash
		}
		if page.NextCursor == "" {
			return have, nil
		}
		cursor = page.NextCursor
	}
}

// logf writes a note to w unless w is nil.
func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}
