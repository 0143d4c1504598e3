package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"

	"github.com/contextlite/cloud/contextengine"
)

// Error is an error with an HTTP status and a stable code.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// WriteError writes {"error": {"code": code, "message": message,
// "request_id": id}} with status; JSON content type. The id is the one
// the server set in the X-Request-Id response header. Codes of a
// condition that passes by itself get a Retry-After header.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	h := w.Header()
	if s := retryAfter(code); s != "" && h.Get("Retry-After") == "" {
		h.Set("Retry-After", s)
	}
	body, _ := json.Marshal(errorBody{Error: errorDetail{Code: code, Message: message, RequestID: h.Get(RequestIDHeader)}}) // strings always marshal
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// retryAfter returns the Retry-After seconds of an error code whose
// condition passes by itself within them, "" for other codes.
func retryAfter(code string) string {
	if code == codeTenantMoving {
		return "1"
	}
	return ""
}

// codeTenantMoving answers a request for a tenant whose data is moving
// between the nodes of a cluster: a short wait, then the new home.
const codeTenantMoving = "tenant_moving"

// ErrorFrom maps err to the *Error clients see. Errors it does not know
// become a 500 whose message reveals nothing of err.
func ErrorFrom(err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if e, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &Error{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the request body is larger than %d bytes", e.Limit)}
	}
	if e, ok := errors.AsType[*contextengine.LimitError](err); ok {
		return limitError(e, "")
	}
	if e, ok := errors.AsType[*contextengine.TooLargeError](err); ok {
		return &Error{http.StatusRequestEntityTooLarge, "too_large", e.Error()}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &Error{http.StatusRequestTimeout, "request_timeout", "the request body did not arrive in time"}
	}
	if e, ok := errors.AsType[*json.SyntaxError](err); ok {
		return &Error{http.StatusBadRequest, "bad_request", fmt.Sprintf("malformed JSON at byte %d: %v", e.Offset, e)}
	}
	if e, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return typeError(e)
	}
	return engineError(err)
}

// engineError maps the engine's and the context's sentinel errors.
func engineError(err error) *Error {
	switch {
	case errors.Is(err, contextengine.ErrNotFound):
		return &Error{http.StatusNotFound, "not_found", err.Error()}
	case errors.Is(err, contextengine.ErrWorkspaceMissing):
		return &Error{http.StatusNotFound, "workspace_not_found", err.Error()}
	case errors.Is(err, contextengine.ErrTenantNotFound), errors.Is(err, contextengine.ErrInvalidTenantID):
		return &Error{http.StatusNotFound, "tenant_not_found", "the tenant has no data store"}
	case errors.Is(err, contextengine.ErrInvalidMetadata):
		return &Error{http.StatusUnprocessableEntity, "invalid_metadata", err.Error()}
	case errors.Is(err, contextengine.ErrInvalidInput):
		return &Error{http.StatusUnprocessableEntity, "invalid_request", err.Error()}
	case errors.Is(err, contextengine.ErrConflict), errors.Is(err, contextengine.ErrWorkspaceExists),
		errors.Is(err, contextengine.ErrTenantExists):
		return &Error{http.StatusConflict, "conflict", err.Error()}
	case errors.Is(err, contextengine.ErrTenantMoving):
		return &Error{http.StatusServiceUnavailable, codeTenantMoving, "the tenant's data is moving to another server; retry in a second"}
	case errors.Is(err, contextengine.ErrClosed):
		return &Error{http.StatusServiceUnavailable, "unavailable", "the service is shutting down; retry"}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{http.StatusServiceUnavailable, "timeout", "the request took too long; retry"}
	case errors.Is(err, context.Canceled):
		return &Error{499, "canceled", "the request was canceled"}
	}
	return &Error{http.StatusInternalServerError, "internal_error", "internal server error"}
}

// typeError reports a JSON value of the wrong type: a 400 when the body is
// not an object at all, else a 422 naming the field.
func typeError(e *json.UnmarshalTypeError) *Error {
	if e.Field == "" {
		return &Error{http.StatusBadRequest, "bad_request", "the request body must be a JSON object"}
	}
	return &Error{http.StatusUnprocessableEntity, "invalid_request",
		fmt.Sprintf("field %q must be %s, not %s", e.Field, jsonKind(e.Type), e.Value)}
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a " + t.String()
}
