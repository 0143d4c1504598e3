package api

import "context"

// RequestIDHeader names the response header that carries the id the
// server gave the request; error bodies repeat it as request_id.
const RequestIDHeader = "X-Request-Id"

type requestIDKey struct{}

// WithRequestID returns ctx carrying the server's id of the request.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the server's id of the request ctx belongs to, or ""
// when there is none. A client's X-Request-Id header is never it.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
