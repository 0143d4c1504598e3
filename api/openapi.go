package api

import (
	_ "embed"
	"net/http"
	"strconv"
)

// openAPISpec is the OpenAPI 3.1 description of every route, written by
// hand; the caddymodule tests hold the server to it.
//
//go:embed openapi.json
var openAPISpec []byte

// OpenAPISpec returns the OpenAPI 3.1 document of the API (a copy).
func OpenAPISpec() []byte {
	return append([]byte(nil), openAPISpec...)
}

// OpenAPI serves the OpenAPI document at GET /api/v1/openapi.json, with
// no credential.
type OpenAPI struct{}

// ServeHTTP answers the document for GET and HEAD, 405 otherwise.
func (OpenAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", "read the OpenAPI document with GET")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(openAPISpec)))
	h.Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(openAPISpec)
	}
}
