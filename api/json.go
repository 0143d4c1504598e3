package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxBodyBytes bounds every request body, behind the server's own limit.
const maxBodyBytes = 16 << 20

// decodeJSON decodes the body of r, which must be exactly one JSON value
// in valid UTF-8, into v. Unknown fields and values of the wrong type are
// refused.
func decodeJSON(r *http.Request, v any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	if !utf8.Valid(data) {
		return &Error{http.StatusBadRequest, "bad_request", "the request body is not valid UTF-8"}
	}
	if string(bytes.TrimSpace(data)) == "null" {
		return &Error{http.StatusBadRequest, "bad_request", "the request body must be a JSON object, not null"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		return &Error{http.StatusBadRequest, "bad_request", "the request body must hold a single JSON value"}
	}
	return nil
}

// decodeError maps the error of decoding a whole request body.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return &Error{http.StatusBadRequest, "bad_request", "the request body is empty; send a JSON object"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{http.StatusBadRequest, "bad_request", "the request body ends inside a JSON value"}
	case errors.As(err, &syntax), errors.As(err, &typ):
		return fmt.Errorf("decode request body: %w", err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return &Error{http.StatusUnprocessableEntity, "unknown_field", strings.TrimPrefix(err.Error(), "json: ")}
	}
	// A value's own decoder refused it.
	return &Error{http.StatusUnprocessableEntity, "invalid_request", err.Error()}
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
