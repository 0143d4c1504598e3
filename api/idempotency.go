package api

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/contextlite/cloud/contextengine"
)

// ReplayedHeader is set to "true" on an answer replayed from the first
// request with the same Idempotency-Key.
const ReplayedHeader = "Idempotent-Replayed"

// maxStoredAnswer bounds the body of an answer stored for replay, and
// held back until stored; a larger answer is not stored, so a retry runs
// again.
const maxStoredAnswer = 1 << 20

// replayedHeaders are the response headers stored and replayed with an
// answer; the others (request id, quota) describe the retry itself.
var replayedHeaders = []string{"Content-Type", "X-Content-Type-Options", "Location"}

// storedAnswer is the encoding of an answer in the tenant's database.
type storedAnswer struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   []byte            `json:"body"`
}

// idempotent makes next, an endpoint for callers holding scope, replay
// its answer to a retry: the first request with an Idempotency-Key runs
// next and its answer is stored in the tenant's database for
// contextengine.IdempotencyTTL; a later request with the same key and the
// same method, path, query and body gets that answer again, byte for
// byte, without running next; with anything else different it gets 409
// idempotency_key_reused. While the first runs, a second gets 409
// idempotency_key_in_use. Requests without the header run as they are.
func (h *Handler) idempotent(scope string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(IdempotencyHeader)
		if key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if err := h.serveOnce(w, r, scope, key, next); err != nil {
			h.fail(w, r, err)
		}
	})
}

// serveOnce answers r, which carries Idempotency-Key key, by replaying
// the stored answer or running next and storing its answer. It returns
// an error only before writing anything.
func (h *Handler) serveOnce(w http.ResponseWriter, r *http.Request, scope, key string, next http.Handler) error {
	if len(key) > maxIdempotencyKey {
		return &Error{http.StatusBadRequest, "bad_request", "the Idempotency-Key header is longer than 255 characters"}
	}
	p, err := h.authorize(w, r, scope)
	if err != nil {
		return err
	}
	fp, err := fingerprint(r)
	if err != nil {
		return err
	}
	t, err := h.Engine.Open(r.Context(), p.TenantID)
	if err != nil {
		return fmt.Errorf("open tenant %s: %w", p.TenantID, err)
	}
	defer t.Close()
	id := storedKey(key)
	release, err := t.HoldIdempotencyKey(id)
	if errors.Is(err, contextengine.ErrIdempotencyKeyHeld) {
		w.Header().Set("Retry-After", "1")
		return &Error{http.StatusConflict, "idempotency_key_in_use", "a request with this Idempotency-Key is still running; retry when it is done to get its answer"}
	}
	defer release()
	stored, ok, err := t.IdempotentAnswer(r.Context(), id)
	if err != nil {
		return err
	}
	if ok {
		if stored.Fingerprint != fp {
			return &Error{http.StatusConflict, "idempotency_key_reused",
				"this Idempotency-Key was used in the last 24 hours for a request with another method, path, query or body; use a new key for a new request"}
		}
		return replay(w, key, stored.Answer)
	}
	rec := &answerRecorder{ResponseWriter: w}
	next.ServeHTTP(rec, r)
	h.store(r, t, key, fp, rec)
	rec.finish()
	return nil
}

// store saves the answer rec recorded, if it is one to replay, sealed
// with key.
func (h *Handler) store(r *http.Request, t *contextengine.Tenant, key, fp string, rec *answerRecorder) {
	answer, ok := rec.answer()
	if !ok {
		return
	}
	ctx := context.WithoutCancel(r.Context()) // the call has run: store its answer even if the client left
	sa := contextengine.StoredAnswer{Fingerprint: fp, Answer: seal(key, answer)}
	if err := t.SaveIdempotentAnswer(ctx, storedKey(key), sa); err != nil {
		h.log.ErrorContext(ctx, "idempotent answer not stored; a retry runs again", "tenant", t.ID(), "path", r.URL.Path, "error", err)
	}
}

// fingerprint hashes what r asks: its method, path, query and body. It
// reads the body and puts it back for the endpoint.
func fingerprint(r *http.Request) (string, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return "", fmt.Errorf("read request body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := sha256.New()
	for _, part := range []string{r.Method, r.URL.Path, r.URL.RawQuery} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// storedKey names the answer to Idempotency-Key key in the tenant's
// database: a hash, so the database does not hold the key that opens it.
func storedKey(key string) string {
	sum := sha256.Sum256([]byte("contextlite idempotency key\x00" + key))
	return hex.EncodeToString(sum[:])
}

// answerCipher returns the cipher of the answers to Idempotency-Key key.
// Answers are sealed with it, so the tenant's database and its backups
// hold no readable copy of an answer (a created API key's secret, say)
// without the key only the client knows.
func answerCipher(key string) cipher.AEAD {
	sum := sha256.Sum256([]byte("contextlite idempotent answer\x00" + key))
	block, _ := aes.NewCipher(sum[:]) // a 32-byte key never fails
	aead, _ := cipher.NewGCM(block)   // nor does the standard nonce size
	return aead
}

// seal encrypts answer for Idempotency-Key key; the nonce goes first.
func seal(key string, answer []byte) []byte {
	aead := answerCipher(key)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, answer, nil)
}

// unseal decrypts what seal returned for key.
func unseal(key string, sealed []byte) ([]byte, error) {
	aead := answerCipher(key)
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("stored answer too short")
	}
	return aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
}

// replay writes the answer stored for Idempotency-Key key with
// ReplayedHeader.
func replay(w http.ResponseWriter, key string, sealed []byte) error {
	stored, err := unseal(key, sealed)
	if err != nil {
		return fmt.Errorf("open stored answer: %w", err)
	}
	var a storedAnswer
	if err := json.Unmarshal(stored, &a); err != nil {
		return fmt.Errorf("decode stored answer: %w", err)
	}
	h := w.Header()
	for k, v := range a.Header {
		h.Set(k, v)
	}
	h.Set(ReplayedHeader, "true")
	h.Set("Content-Length", strconv.Itoa(len(a.Body)))
	w.WriteHeader(a.Status)
	w.Write(a.Body)
	return nil
}

// replayable reports whether an answer with status is stored: successes
// and client errors are, except those a retry may not meet again (408,
// 429 and 499); server errors never are.
func replayable(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, 499:
		return false
	}
	return status >= 200 && status < 500
}

// answerRecorder holds an answer back until it is stored, so that an
// answer a client got is one a retry replays. A body that outgrows
// maxStoredAnswer is not stored: what is held goes out, and the rest
// passes through as written.
type answerRecorder struct {
	http.ResponseWriter
	status    int
	header    map[string]string
	body      bytes.Buffer
	streaming bool
}

// WriteHeader records the status and the replayed headers as set now.
func (rec *answerRecorder) WriteHeader(status int) {
	if rec.status != 0 {
		return
	}
	rec.status = status
	rec.header = make(map[string]string)
	for _, k := range replayedHeaders {
		if v := rec.Header().Get(k); v != "" {
			rec.header[k] = v
		}
	}
}

// Write holds b back while the body fits maxStoredAnswer.
func (rec *answerRecorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	if !rec.streaming && rec.body.Len()+len(b) > maxStoredAnswer {
		rec.streaming = true
		rec.ResponseWriter.WriteHeader(rec.status)
		if _, err := rec.ResponseWriter.Write(rec.body.Bytes()); err != nil {
			return 0, err
		}
		rec.body = bytes.Buffer{}
	}
	if rec.streaming {
		return rec.ResponseWriter.Write(b)
	}
	return rec.body.Write(b)
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (rec *answerRecorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// answer returns the encoded answer to store, if it is one to replay.
func (rec *answerRecorder) answer() ([]byte, bool) {
	if rec.streaming || !replayable(rec.status) {
		return nil, false
	}
	data, err := json.Marshal(storedAnswer{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()})
	return data, err == nil
}

// finish sends what is held back.
func (rec *answerRecorder) finish() {
	if rec.streaming {
		return
	}
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	rec.ResponseWriter.WriteHeader(rec.status)
	rec.ResponseWriter.Write(rec.body.Bytes())
}
