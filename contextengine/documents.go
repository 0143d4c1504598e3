package contextengine

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// NewDocument is a document to add or replace.
type NewDocument struct {
	ID        string         `json:"id,omitempty"`        // optional client id; generated when empty
	Workspace string         `json:"workspace,omitempty"` // default "default"
	Path      string         `json:"path"`                // upsert key within the workspace
	Language  string         `json:"language,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	Content   string         `json:"content"`
}

// Document is a stored document. List leaves Content empty.
type Document struct {
	ID          string         `json:"id"`
	Workspace   string         `json:"workspace"`
	Path        string         `json:"path"`
	Language    string         `json:"language,omitempty"`
	Metadata    map[string]any `json:"metadata,omitempty"`
	Content     string         `json:"content,omitempty"`
	ContentHash string         `json:"content_hash"`
	SizeBytes   int64          `json:"size_bytes"` // stored bytes: content, path, language and metadata
	Tokens      int            `json:"tokens"`
	Chunks      int            `json:"chunks"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`

	seq int64 // storage order, for cursors
}

// Outcomes of adding a document.
const (
	StatusCreated   = "created"
	StatusUpdated   = "updated"
	StatusUnchanged = "unchanged"
)

// AddResult is the outcome of adding one document.
type AddResult struct {
	ID        string `json:"id,omitempty"`
	Status    string `json:"status,omitempty"`
	SizeDelta int64  `json:"-"` // change in stored bytes
	Err       error  `json:"-"`
}

// prepared is a document analysed outside the write transaction.
type prepared struct {
	doc      NewDocument
	metadata string
	size     int64 // stored bytes, see storedSize
	hash     string
	tokens   int
	path     termBag // analysed path terms
	chunks   []preparedChunk
	err      error
}

type preparedChunk struct {
	Chunk
	startByte int // Text is content[startByte : startByte+len(Text)]
	tokens    int
	terms     termBag
	decl      chunkSpan // the declaration or section the chunk is part of
}

// Add adds or replaces one document.
func (t *Tenant) Add(ctx context.Context, doc NewDocument) (AddResult, error) {
	res, err := t.AddBatch(ctx, []NewDocument{doc})
	if err != nil {
		return AddResult{}, err
	}
	return res[0], res[0].Err
}

// AddBatch adds or replaces documents in one transaction. Invalid documents
// and those past the handle's limits get an error in their result and do
// not stop the others; the returned error is for failures of the whole
// batch, in which case nothing is stored.
func (t *Tenant) AddBatch(ctx context.Context, docs []NewDocument) ([]AddResult, error) {
	preps, ready := t.db.prepareStream(docs)
	results := make([]AddResult, len(docs))
	err := t.db.write(ctx, func(tx *sql.Tx, c *change) error {
		w, err := newDocWriter(ctx, tx, t.db.eng.now(), c, t.limits, t.db.totals.Load())
		if err != nil {
			return err
		}
		defer w.close()
		for i := range preps {
			<-ready[i]
			if results[i], err = w.put(ctx, &preps[i]); err != nil {
				return err
			}
		}
		return w.chunks.flush(ctx)
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// prepareAll validates, chunks, counts and analyses documents on all cores.
func (db *tenantDB) prepareAll(docs []NewDocument) []prepared {
	preps, ready := db.prepareStream(docs)
	for _, r := range ready {
		<-r
	}
	return preps
}

// prepareStream prepares documents in order on all cores, in the
// background: preps[i] may be read once ready[i] is closed. AddBatch
// writes each document as soon as it is ready, so preparation overlaps
// the write transaction.
func (db *tenantDB) prepareStream(docs []NewDocument) ([]prepared, []chan struct{}) {
	preps := make([]prepared, len(docs))
	ready := make([]chan struct{}, len(docs))
	for i := range ready {
		ready[i] = make(chan struct{})
	}
	var next atomic.Int64
	for range min(workers(), len(docs)) {
		go func() {
			for i := int(next.Add(1) - 1); i < len(docs); i = int(next.Add(1) - 1) {
				preps[i] = db.prepare(docs[i])
				close(ready[i])
			}
		}()
	}
	return preps, ready
}

func (db *tenantDB) prepare(doc NewDocument) prepared {
	p := prepared{doc: doc}
	if p.doc.Workspace == "" {
		p.doc.Workspace = DefaultWorkspace
	}
	p.err = db.validate(&p.doc)
	if p.err != nil {
		return p
	}
	p.metadata, p.err = encodeMetadata(doc.Metadata)
	if p.err != nil {
		return p
	}
	p.size = storedSize(&p.doc, p.metadata)
	sum := sha256.Sum256([]byte(doc.Content))
	p.hash = hex.EncodeToString(sum[:])
	p.path = bagOf(p.doc.Path)
	p.chunks, p.tokens = prepareChunks(db.eng.tokens, p.doc.Path, doc.Language, doc.Content)
	return p
}

// prepareChunks cuts content into chunks, counts their tokens and
// analyses their text; it also returns the tokens of all chunks.
func prepareChunks(tokens TokenCounter, docPath, language, content string) ([]preparedChunk, int) {
	starts := lineStarts(content)
	var out []preparedChunk
	var bags bagScratch
	total := 0
	for _, c := range ChunkDocument(docPath, language, content) {
		pc := preparedChunk{Chunk: c, startByte: starts[c.StartLine-1], tokens: tokens.Count(c.Text)}
		pc.terms = bags.bag(c.Text)
		total += pc.tokens
		out = append(out, pc)
	}
	setDeclarations(out)
	return out, total
}

// setDeclarations gives each chunk the span of its declaration or section:
// the run of chunks from a head to the next. Its tokens are the sum of the
// chunks' and one per join, an estimate of the exact count.
func setDeclarations(chunks []preparedChunk) {
	for first := 0; first < len(chunks); {
		last := first
		for last+1 < len(chunks) && !chunks[last+1].Head {
			last++
		}
		d := chunkSpan{chunks[first].StartLine, chunks[last].EndLine, chunks[first].startByte,
			chunks[last].startByte + len(chunks[last].Text), last - first}
		for _, c := range chunks[first : last+1] {
			d.tokens += c.tokens
		}
		for i := first; i <= last; i++ {
			chunks[i].decl = d
		}
		first = last + 1
	}
}

// chunkInserter stores chunks in a write transaction, numbering them
// itself from the table's sequence: ids are never reused, and a plain
// insert costs less than one returning its id. It buffers rows and stores
// chunksPerInsert of them per statement; flush stores the rest, and must run
// before the transaction reads or deletes chunks and before it commits.
type chunkInserter struct {
	tx   *sql.Tx
	many *sql.Stmt // chunksPerInsert rows
	one  *sql.Stmt
	next uint32
	args []any // buffered rows, chunkColumns values each
}

const (
	chunkColumns    = 13
	chunksPerInsert = 32
)

func newChunkInserter(ctx context.Context, tx *sql.Tx) (*chunkInserter, error) {
	ci := &chunkInserter{tx: tx}
	err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'chunks'), 0) + 1`).Scan(&ci.next)
	if err != nil {
		return nil, fmt.Errorf("chunk ids: %w", err)
	}
	if ci.one, err = tx.PrepareContext(ctx, chunkInsert(1)); err != nil {
		return nil, fmt.Errorf("prepare chunk insert: %w", err)
	}
	if ci.many, err = tx.PrepareContext(ctx, chunkInsert(chunksPerInsert)); err != nil {
		ci.one.Close()
		return nil, fmt.Errorf("prepare chunk insert: %w", err)
	}
	return ci, nil
}

// chunkInsert returns an insert statement for n chunk rows.
func chunkInsert(n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", chunkColumns), ", ") + ")"
	return `INSERT INTO chunks (id, doc_seq, start_line, end_line, start_byte, end_byte,
		decl_start, decl_end, decl_start_byte, decl_end_byte, decl_tokens, length, tokens)
		VALUES ` + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

func (ci *chunkInserter) close() {
	ci.one.Close()
	ci.many.Close()
}

// insert buffers chunk c of document seq and returns its id.
func (ci *chunkInserter) insert(ctx context.Context, seq int64, c *preparedChunk) (uint32, error) {
	id, d := ci.next, c.decl
	ci.next++
	ci.args = append(ci.args, id, seq, c.StartLine, c.EndLine, c.startByte, c.startByte+len(c.Text),
		d.startLine, d.endLine, d.startByte, d.endByte, d.tokens, c.terms.length, c.tokens)
	if len(ci.args) < chunksPerInsert*chunkColumns {
		return id, nil
	}
	return id, ci.flush(ctx)
}

// flush stores the buffered rows.
func (ci *chunkInserter) flush(ctx context.Context) error {
	args := ci.args
	for len(args) > 0 {
		st, n := ci.one, chunkColumns
		if len(args) >= chunksPerInsert*chunkColumns {
			st, n = ci.many, chunksPerInsert*chunkColumns
		}
		if _, err := st.ExecContext(ctx, args[:n]...); err != nil {
			return fmt.Errorf("insert chunks: %w", err)
		}
		args = args[n:]
	}
	clear(ci.args)
	ci.args = ci.args[:0]
	return nil
}

func (db *tenantDB) validate(doc *NewDocument) error {
	if len(doc.Content) > db.eng.maxDocBytes {
		return &TooLargeError{Size: len(doc.Content), Limit: db.eng.maxDocBytes}
	}
	if doc.ID != "" {
		if err := validateDocumentID(doc.ID); err != nil {
			return err
		}
	}
	if err := ValidateWorkspace(doc.Workspace); err != nil {
		return err
	}
	if doc.Path == "" {
		doc.Path = doc.ID
	}
	if doc.Path == "" || len(doc.Path) > 1024 || strings.ContainsAny(doc.Path, "\x00\n\r") {
		return invalid("path must be 1-1024 characters on one line")
	}
	return validateLanguage(doc.Language)
}

// storedSize is what a document counts against the storage quota: the
// bytes of its content, path, language and metadata (as stored, JSON),
// metadata without keys counting nothing.
func storedSize(doc *NewDocument, metadata string) int64 {
	n := len(doc.Content) + len(doc.Path) + len(doc.Language)
	if len(doc.Metadata) > 0 {
		n += len(metadata)
	}
	return int64(n)
}

// termBag is the distinct analysed terms of a text with their counts.
type termBag struct {
	terms  []string
	counts []uint32
	length int // terms in all
}

// bagOf analyses text into a termBag.
func bagOf(text string) termBag {
	var s bagScratch
	return s.bag(text)
}

// bagScratch is what bags of one document share: the term index of the
// bag being built, cleared per text, and the strings of the terms seen so
// far, so a term repeated across chunks is allocated once.
type bagScratch struct {
	at    map[string]int
	names map[string]string
}

// bag analyses text into a termBag.
func (s *bagScratch) bag(text string) termBag {
	if s.at == nil {
		s.at = make(map[string]int, len(text)/16)
		s.names = make(map[string]string, len(text)/16)
	}
	clear(s.at)
	var b termBag
	analyze(text, func(term []byte) {
		b.length++
		if i, ok := s.at[string(term)]; ok {
			b.counts[i]++
			return
		}
		t, ok := s.names[string(term)]
		if !ok {
			t = string(term)
			s.names[t] = t
		}
		s.at[t] = len(b.terms)
		b.terms = append(b.terms, t)
		b.counts = append(b.counts, 1)
	})
	return b
}

// lineStarts returns the byte offset of each line of content.
func lineStarts(content string) []int {
	starts := []int{0}
	for i := 0; i < len(content); i++ {
		if content[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// write runs fn in a write transaction, adds the usage events of its
// change to the outbox in the same transaction, and after the commit
// updates the totals, bumps the write generation when searchable data
// changed (which invalidates cached results) and calls the usage hook.
func (db *tenantDB) write(ctx context.Context, fn func(tx *sql.Tx, c *change) error) error {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("tenant %s: begin: %w", db.id, err)
	}
	defer tx.Rollback()
	var c change
	if err := fn(tx, &c); err != nil {
		return err
	}
	if err := c.index.flush(ctx, tx, db.index); err != nil {
		return fmt.Errorf("tenant %s: %w", db.id, err)
	}
	events, err := insertEvents(ctx, tx, c.events(db.eng.now()))
	if err != nil {
		return fmt.Errorf("tenant %s: %w", db.id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("tenant %s: commit: %w", db.id, err)
	}
	if c.index.commit(db.index) {
		db.scheduleMerge()
	}
	if c.indexed {
		db.gen.Add(1)
	}
	totals := *db.totals.Load()
	if c.delta != (Totals{}) {
		totals = Totals{totals.Documents + c.delta.Documents, totals.Workspaces + c.delta.Workspaces, totals.StorageBytes + c.delta.StorageBytes}
		db.totals.Store(&totals)
	}
	if events = append(c.extra, events...); len(events) > 0 && db.eng.onUsage != nil {
		db.eng.onUsage(db.id, events, totals)
	}
	return nil
}

// docWriter stores prepared documents inside one transaction.
type docWriter struct {
	tx         *sql.Tx
	now        int64
	change     *change
	limits     Limits
	base       *Totals // before the transaction
	workspaces map[string]int64
	chunks     *chunkInserter
	stmts      map[string]*sql.Stmt // prepared once per transaction
}

func newDocWriter(ctx context.Context, tx *sql.Tx, now time.Time, c *change, limits Limits, base *Totals) (*docWriter, error) {
	w := &docWriter{tx: tx, now: now.UnixNano(), change: c, limits: limits, base: base, workspaces: make(map[string]int64)}
	var err error
	if w.chunks, err = newChunkInserter(ctx, tx); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *docWriter) close() {
	w.chunks.close()
	for _, st := range w.stmts {
		st.Close()
	}
}

// stmt returns query prepared in the transaction, once per writer.
func (w *docWriter) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	st, err := w.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if w.stmts == nil {
		w.stmts = make(map[string]*sql.Stmt)
	}
	w.stmts[query] = st
	return st, nil
}

// queryRow runs a prepared single-row query.
func (w *docWriter) queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	st, err := w.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

// exec runs a prepared statement.
func (w *docWriter) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := w.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// put stores one prepared document. Problems with the document itself go
// into the result; the error is for database failures.
func (w *docWriter) put(ctx context.Context, p *prepared) (AddResult, error) {
	if p.err != nil {
		return AddResult{Err: p.err}, nil
	}
	wsID, err := w.workspaceID(ctx, p.doc.Workspace)
	if err != nil {
		return AddResult{Err: err}, nil
	}
	var (
		seq                  int64
		id, hash, lang, meta string
		size                 int64
	)
	row, err := w.queryRow(ctx, `SELECT seq, id, content_hash, language, metadata, size_bytes FROM documents WHERE workspace_id = ? AND path = ?`,
		wsID, p.doc.Path)
	if err == nil {
		err = row.Scan(&seq, &id, &hash, &lang, &meta, &size)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return w.insert(ctx, p, wsID)
	case err != nil:
		return AddResult{}, fmt.Errorf("look up document: %w", err)
	case p.doc.ID != "" && p.doc.ID != id:
		return AddResult{Err: fmt.Errorf("%w: path %q already holds document %q", ErrConflict, p.doc.Path, id)}, nil
	case hash == p.hash && lang == p.doc.Language && meta == p.metadata:
		return AddResult{ID: id, Status: StatusUnchanged}, nil
	}
	delta := p.size - size
	if err := w.change.fits(*w.base, w.limits, 0, delta); err != nil {
		return AddResult{ID: id, Err: err}, nil
	}
	if err := w.chunks.flush(ctx); err != nil {
		return AddResult{}, err
	}
	if err := w.change.index.deleteChunks(w.tx.QueryContext(ctx, `DELETE FROM chunks WHERE doc_seq = ? RETURNING id`, seq)); err != nil {
		return AddResult{}, err
	}
	_, err = w.exec(ctx, `UPDATE documents SET language = ?, metadata = ?, content = ?, content_hash = ?, size_bytes = ?, tokens = ?, chunks = ?, updated_at = ? WHERE seq = ?`,
		p.doc.Language, p.metadata, p.doc.Content, p.hash, p.size, p.tokens, len(p.chunks), w.now, seq)
	if err != nil {
		return AddResult{}, fmt.Errorf("update document: %w", err)
	}
	if err := w.insertChunks(ctx, p, seq, wsID); err != nil {
		return AddResult{}, err
	}
	w.change.indexed = true
	w.change.delta.StorageBytes += delta
	return AddResult{ID: id, Status: StatusUpdated, SizeDelta: delta}, nil
}

func (w *docWriter) insert(ctx context.Context, p *prepared, wsID int64) (AddResult, error) {
	size := p.size
	if err := w.change.fits(*w.base, w.limits, 1, size); err != nil {
		return AddResult{Err: err}, nil
	}
	id := p.doc.ID
	if id == "" {
		id = newDocumentID()
	} else {
		var n int
		if err := w.tx.QueryRowContext(ctx, `SELECT count(*) FROM documents WHERE id = ?`, id).Scan(&n); err != nil {
			return AddResult{}, fmt.Errorf("look up document id: %w", err)
		}
		if n > 0 {
			return AddResult{Err: fmt.Errorf("%w: document id %q is used by another path", ErrConflict, id)}, nil
		}
	}
	res, err := w.exec(ctx, `INSERT INTO documents (id, workspace_id, path, language, metadata, content, content_hash, size_bytes, tokens, chunks, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, wsID, p.doc.Path, p.doc.Language, p.metadata, p.doc.Content, p.hash, size, p.tokens, len(p.chunks), w.now, w.now)
	if err != nil {
		return AddResult{}, fmt.Errorf("insert document: %w", err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return AddResult{}, fmt.Errorf("insert document: %w", err)
	}
	if err := w.insertChunks(ctx, p, seq, wsID); err != nil {
		return AddResult{}, err
	}
	w.change.index.addPath(uint32(seq), p.path)
	w.change.indexed = true
	w.change.added++
	w.change.delta.Documents++
	w.change.delta.StorageBytes += size
	return AddResult{ID: id, Status: StatusCreated, SizeDelta: size}, nil
}

func (w *docWriter) insertChunks(ctx context.Context, p *prepared, seq, wsID int64) error {
	for i := range p.chunks {
		id, err := w.chunks.insert(ctx, seq, &p.chunks[i])
		if err != nil {
			return err
		}
		w.change.index.addChunk(id, uint32(seq), uint32(wsID), p.chunks[i].terms)
	}
	return nil
}

func (w *docWriter) workspaceID(ctx context.Context, name string) (int64, error) {
	if id, ok := w.workspaces[name]; ok {
		return id, nil
	}
	id, err := lookupWorkspace(ctx, w.tx, name)
	if err != nil {
		return 0, err
	}
	w.workspaces[name] = id
	return id, nil
}

func newDocumentID() string {
	var b [10]byte
	rand.Read(b[:])
	return "doc_" + hex.EncodeToString(b[:])
}

// Get returns a document with its content.
func (t *Tenant) Get(ctx context.Context, id string) (*Document, error) {
	row := t.db.r.QueryRowContext(ctx, `SELECT `+docColumns+`, d.content FROM documents d JOIN workspaces w ON w.id = d.workspace_id WHERE d.id = ?`, id)
	var d Document
	if err := scanDocument(row, &d, &d.Content); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil, fmt.Errorf("get document: %w", err)
	}
	return &d, nil
}

// GetByPath returns the document at path in workspace (empty: the
// default workspace) with its content.
func (t *Tenant) GetByPath(ctx context.Context, workspace, path string) (*Document, error) {
	workspace = cmp.Or(workspace, DefaultWorkspace)
	row := t.db.r.QueryRowContext(ctx, `SELECT `+docColumns+`, d.content FROM documents d JOIN workspaces w ON w.id = d.workspace_id WHERE w.name = ? AND d.path = ?`, workspace, path)
	var d Document
	if err := scanDocument(row, &d, &d.Content); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: %s in workspace %s", ErrNotFound, path, workspace)
		}
		return nil, fmt.Errorf("get document by path: %w", err)
	}
	return &d, nil
}

const docColumns = `d.seq, d.id, w.name, d.path, d.language, d.metadata, d.content_hash, d.size_bytes, d.tokens, d.chunks, d.created_at, d.updated_at`

func scanDocument(row interface{ Scan(...any) error }, d *Document, extra ...any) error {
	var created, updated int64
	var meta string
	dest := append([]any{&d.seq, &d.ID, &d.Workspace, &d.Path, &d.Language, &meta, &d.ContentHash, &d.SizeBytes, &d.Tokens, &d.Chunks, &created, &updated}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	d.CreatedAt, d.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	if meta != "null" && meta != "{}" {
		if err := json.Unmarshal([]byte(meta), &d.Metadata); err != nil {
			return fmt.Errorf("document %s metadata: %w", d.ID, err)
		}
	}
	return nil
}

// ListOptions select a page of documents.
type ListOptions struct {
	Workspace string // empty: all workspaces
	Limit     int    // default 50, at most 1000
	Cursor    string // from the previous page's NextCursor
}

// Page is one page of documents, without their content.
type Page struct {
	Documents  []Document `json:"documents"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// List returns documents in insertion order, a page at a time.
func (t *Tenant) List(ctx context.Context, opts ListOptions) (*Page, error) {
	after, err := decodeCursor(opts.Cursor)
	if err != nil {
		return nil, err
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > 1000 {
		return nil, invalid("limit must be at most 1000")
	}
	rows, err := t.db.r.QueryContext(ctx, `SELECT `+docColumns+` FROM documents d JOIN workspaces w ON w.id = d.workspace_id
		WHERE d.seq > ? AND (? = '' OR w.name = ?) ORDER BY d.seq LIMIT ?`, after, opts.Workspace, opts.Workspace, limit+1)
	if err != nil {
		return nil, fmt.Errorf("list documents: %w", err)
	}
	defer rows.Close()
	page := &Page{Documents: []Document{}}
	for rows.Next() {
		if len(page.Documents) == limit {
			page.NextCursor = encodeCursor(page.Documents[limit-1].seq)
			break
		}
		var d Document
		if err := scanDocument(rows, &d); err != nil {
			return nil, fmt.Errorf("list documents: %w", err)
		}
		page.Documents = append(page.Documents, d)
	}
	return page, rows.Err()
}

func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(seq, 10)))
}

func decodeCursor(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, invalid("malformed cursor")
	}
	seq, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || seq < 0 {
		return 0, invalid("malformed cursor")
	}
	return seq, nil
}

// Delete removes a document; ErrNotFound if there is none. It returns the
// bytes freed.
func (t *Tenant) Delete(ctx context.Context, id string) (int64, error) {
	var size int64
	err := t.db.write(ctx, func(tx *sql.Tx, c *change) error {
		err := c.index.deleteChunks(tx.QueryContext(ctx, `SELECT c.id FROM chunks c JOIN documents d ON d.seq = c.doc_seq WHERE d.id = ?`, id))
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `DELETE FROM documents WHERE id = ? RETURNING size_bytes`, id).Scan(&size)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("delete document: %w", err)
		}
		c.indexed = true
		c.deleted = 1
		c.delta = Totals{Documents: -1, StorageBytes: -size}
		return nil
	})
	return size, err
}
