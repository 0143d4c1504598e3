// Package plainerr answers in JSON the plain-text errors net/http writes
// itself on an HTTP/1 connection, before any handler runs: 431 for a
// request line and headers over the server's limit, 400 for a malformed
// request, 501 for an unknown transfer encoding.
package plainerr

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// Listener returns ln whose connections rewrite net/http's plain-text
// errors to JSON. Connections that carry TLS state keep it.
func Listener(ln net.Listener) net.Listener {
	return listener{ln}
}

type listener struct{ net.Listener }

// Accept wraps the next connection.
func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if cs, ok := c.(connectionStater); ok {
		return tlsConn{&conn{c}, cs}, nil
	}
	return &conn{c}, nil
}

type connectionStater interface {
	ConnectionState() tls.ConnectionState
}

// conn rewrites the plain-text errors written to it.
type conn struct{ net.Conn }

// Write writes b, or its JSON form when b is a plain-text error.
func (c *conn) Write(b []byte) (int, error) {
	out, ok := Rewrite(b)
	if !ok {
		return c.Conn.Write(b)
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// tlsConn is a conn over TLS that reports its TLS state.
type tlsConn struct {
	*conn
	state connectionStater
}

// ConnectionState returns the TLS state of the underlying connection.
func (c tlsConn) ConnectionState() tls.ConnectionState {
	return c.state.ConnectionState()
}

// plainHeaders follow the status line of every error net/http writes
// before a handler runs. Ordinary responses never have them: they carry a
// Date header and sort Connection before Content-Type.
const plainHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// Rewrite returns the JSON form of b if b is a whole plain-text error
// response of net/http ("HTTP/1.1 431 Request Header Fields Too Large"
// plainHeaders "431 Request Header Fields Too Large"), else false.
func Rewrite(b []byte) ([]byte, bool) {
	const proto = "HTTP/1.1 "
	if len(b) < len(proto)+4 || !bytes.HasPrefix(b, []byte(proto)) || b[len(proto)] < '4' || b[len(proto)] > '5' {
		return nil, false
	}
	end := bytes.Index(b, []byte("\r\n"))
	if end < 0 || !bytes.HasPrefix(b[end:], []byte(plainHeaders)) {
		return nil, false
	}
	statusLine, body := string(b[len(proto):end]), string(b[end+len(plainHeaders):])
	status, err := strconv.Atoi(statusLine[:3])
	if err != nil || statusLine[3] != ' ' {
		return nil, false
	}
	// The detail is in the status line ("400 Bad Request: malformed Host
	// header") or is the body ("Unsupported transfer encoding").
	_, detail, _ := strings.Cut(statusLine, ": ")
	if detail == "" && body != statusLine {
		detail = body
	}
	code, message := describe(status, detail)
	js, _ := json.Marshal(map[string]map[string]string{"error": {"code": code, "message": message}}) // strings always marshal
	js = append(js, '\n')
	return []byte(proto + statusLine + "\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n" +
		"Connection: close\r\nContent-Length: " + strconv.Itoa(len(js)) + "\r\n\r\n" + string(js)), true
}

// describe returns the error code and message of a status net/http
// answered itself, with its detail ("" for none).
func describe(status int, detail string) (code, message string) {
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		return "headers_too_large", "the URL and headers of the request are larger than the server accepts"
	case http.StatusBadRequest:
		if detail == "" {
			detail = "the request is malformed"
		}
		return "bad_request", detail
	}
	text := http.StatusText(status)
	if detail == "" {
		detail = text
	}
	return strings.ReplaceAll(strings.ToLower(text), " ", "_"), detail
}
