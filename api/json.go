package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// maxBodyBytes bounds every request body, behind the server's own limit.
const maxBodyBytes = 16 << 20

// decodeJSON decodes the body of r, which must be exactly one JSON value,
// into v. Unknown fields are ignored; values of the wrong type are not.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return &Error{http.StatusBadRequest, "bad_request", "the request body is empty; send a JSON object"}
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return &Error{http.StatusBadRequest, "bad_request", "the request body ends inside a JSON value"}
		}
		return fmt.Errorf("decode request body: %w", err)
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return err
		}
		return &Error{http.StatusBadRequest, "bad_request", "the request body must hold a single JSON value"}
	}
	return nil
}

// writeJSON writes v as JSON with status. It fails only when v cannot be
// encoded, before anything is written; a client that went away is no error.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	writeBody(w, status, body)
	return nil
}

// writeBody writes the JSON document body with status.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
