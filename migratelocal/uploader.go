package migratelocal

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Document is one document of a bulk upload.
type Document struct {
	Path      string         `json:"path"`
	Content   string         `json:"content"`
	Language  string         `json:"language,omitempty"`
	Workspace string         `json:"workspace,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`

	pos Position // where it comes from in the source
}

// BulkResult is the service's outcome for one document of a bulk upload.
type BulkResult struct {
	Index  int    `json:"index"`
	ID     string `json:"id,omitempty"`
	Status string `json:"status,omitempty"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// BulkResponse is the service's answer to a bulk upload.
type BulkResponse struct {
	Results   []BulkResult `json:"results"`
	Created   int          `json:"created"`
	Updated   int          `json:"updated"`
	Unchanged int          `json:"unchanged"`
	Failed    int          `json:"failed"`
}

// ListedDocument is a document as the service lists it, without content.
type ListedDocument struct {
	ID          string `json:"id"`
	Path        string `json:"path"`
	Workspace   string `json:"workspace"`
	ContentHash string `json:"content_hash"`
}

// DocumentPage is one page of the service's document list.
type DocumentPage struct {
	Documents  []ListedDocument `json:"data"`
	NextCursor string           `json:"next_cursor"` // empty (null) on the last page
}

// APIError is an answer of the service other than success.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	if e.Code == "" && e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// retryable reports whether a request that got status may succeed later.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// Uploader calls the service's API with one API key, retrying network
// errors, 429 and 5xx answers with exponential backoff.
type Uploader struct {
	BaseURL    string        // such as https://acme.example.com
	Key        string        // API key, sent as X-API-Key
	Client     *http.Client  // http.DefaultClient when nil
	MaxRetries int           // retries after the first attempt
	BaseDelay  time.Duration // first backoff; doubles up to MaxDelay
	MaxDelay   time.Duration
}

// NewUploader returns an Uploader with default retries; insecure skips
// TLS certificate verification.
func NewUploader(baseURL, key string, insecure bool) *Uploader {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by --insecure
	}
	return &Uploader{
		BaseURL:    strings.TrimRight(baseURL, "/"),
		Key:        key,
		Client:     &http.Client{Transport: tr, Timeout: 5 * time.Minute},
		MaxRetries: 6,
		BaseDelay:  500 * time.Millisecond,
		MaxDelay:   30 * time.Second,
	}
}

// Bulk uploads docs in one call.
func (u *Uploader) Bulk(ctx context.Context, docs []Document) (*BulkResponse, error) {
	body, err := json.Marshal(struct {
		Documents []Document `json:"documents"`
	}{docs})
	if err != nil {
		return nil, fmt.Errorf("encode bulk request: %w", err)
	}
	var resp BulkResponse
	if _, err := u.do(ctx, http.MethodPost, "/api/v1/documents/bulk", body, &resp); err != nil {
		return nil, fmt.Errorf("bulk upload of %d documents: %w", len(docs), err)
	}
	if len(resp.Results) != len(docs) {
		return nil, fmt.Errorf("bulk upload of %d documents: service answered %d results", len(docs), len(resp.Results))
	}
	return &resp, nil
}

// CreateWorkspace creates a workspace; one that exists already (409) is
// not an error.
func (u *Uploader) CreateWorkspace(ctx context.Context, name string) error {
	body, err := json.Marshal(map[string]string{"name": name})
	if err != nil {
		return fmt.Errorf("encode workspace: %w", err)
	}
	_, err = u.do(ctx, http.MethodPost, "/api/v1/workspaces", body, nil)
	if apiErr, ok := errors.AsType[*APIError](err); ok && apiErr.Status == http.StatusConflict {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create workspace %q: %w", name, err)
	}
	return nil
}

// List returns one page of the documents of workspace.
func (u *Uploader) List(ctx context.Context, workspace, cursor string, limit int) (*DocumentPage, error) {
	q := url.Values{"workspace": {workspace}, "limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var page DocumentPage
	if _, err := u.do(ctx, http.MethodGet, "/api/v1/documents?"+q.Encode(), nil, &page); err != nil {
		return nil, fmt.Errorf("list documents of %q: %w", workspace, err)
	}
	return &page, nil
}

// do sends a request, retrying what may succeed later, and decodes a 2xx
// answer into out when out is not nil. It returns the final status.
func (u *Uploader) do(ctx context.Context, method, path string, body []byte, out any) (int, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		status, wait, err := u.once(ctx, method, path, body, out)
		if err == nil {
			return status, nil
		}
		lastErr = err
		if status != 0 && !retryable(status) || ctx.Err() != nil {
			return status, err
		}
		if attempt >= u.MaxRetries {
			return status, fmt.Errorf("giving up after %d attempts: %w", attempt+1, lastErr)
		}
		if wait == 0 {
			wait = u.backoff(attempt)
		}
		if err := sleep(ctx, wait); err != nil {
			return status, fmt.Errorf("%w (while retrying: %w)", err, lastErr)
		}
	}
}

// once sends one request. It returns the status (0 for a network error),
// the wait a Retry-After header asks for, and an error unless it got 2xx.
func (u *Uploader) once(ctx context.Context, method, path string, body []byte, out any) (int, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.BaseURL+path, rd)
	if err != nil {
		return 0, 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("X-API-Key", u.Key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := u.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, 0, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, retryAfter(resp.Header.Get("Retry-After")), apiError(resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, 0, fmt.Errorf("decode answer: %w", err)
		}
	}
	return resp.StatusCode, 0, nil
}

// apiError builds the error of a failed answer from its JSON error body,
// {"error": {"code", "message"}}, or from its text.
func apiError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message = env.Error.Code, env.Error.Message
	} else {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200]
		}
	}
	return e
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// backoff returns the wait before retry attempt+1.
func (u *Uploader) backoff(attempt int) time.Duration {
	d := u.BaseDelay
	for range attempt {
		d *= 2
		if u.MaxDelay > 0 && d >= u.MaxDelay {
			return u.MaxDelay
		}
	}
	return d
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
