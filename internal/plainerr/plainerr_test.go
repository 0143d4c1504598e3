package plainerr

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestListener runs a real net/http server behind Listener: an oversized
// request gets net/http's 431 as JSON, an ordinary one its own answer.
func TestListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{MaxHeaderBytes: 1024, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Connection", "close")
		w.Write([]byte("200 OK"))
	})}
	go srv.Serve(Listener(ln))
	defer srv.Close()

	for _, tc := range []struct {
		name, request string
		status        int
		code          string
	}{
		{"long URL", "GET /" + strings.Repeat("a", 8000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 431, "headers_too_large"},
		{"long header", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8000) + "\r\n\r\n", 431, "headers_too_large"},
		{"malformed header", "GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", 400, "bad_request"},
		{"malformed Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "bad_request"},
		{"unknown transfer encoding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "not_implemented"},
		{"ordinary", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 200, ""},
	} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(tc.request))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		decodeErr := json.NewDecoder(resp.Body).Decode(&body)
		c.Close()
		switch {
		case resp.StatusCode != tc.status:
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		case tc.code == "" && resp.Header.Get("Content-Type") != "text/plain; charset=utf-8":
			t.Errorf("%s: an ordinary answer was rewritten: %v", tc.name, resp.Header)
		case tc.code != "" && (decodeErr != nil || body.Error.Code != tc.code || body.Error.Message == "" ||
			resp.Header.Get("Content-Type") != "application/json"):
			t.Errorf("%s: %v %+v (%v)", tc.name, resp.Header, body, decodeErr)
		}
	}
}

// TestRewriteLeavesOtherWrites: writes that are not a whole net/http
// error pass unchanged, even when they start like one.
func TestRewriteLeavesOtherWrites(t *testing.T) {
	const err431 = "HTTP/1.1 431 Request Header Fields Too Large" + plainHeaders + "431 Request Header Fields Too Large"
	for _, b := range []string{
		"",
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Tue, 01 Dec 2026 00:00:00 GMT\r\n\r\n{}",
		"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nDate: x\r\n\r\n404 Not Found",
		"HTTP/1.1 200 OK" + plainHeaders + "200 OK",
		"HTTP/1.1 4xx Oops" + plainHeaders + "4xx Oops",
		"xx" + err431,
		err431[:40],
	} {
		if out, ok := Rewrite([]byte(b)); ok {
			t.Errorf("Rewrite(%q) = %q", b, out)
		}
	}
	out, ok := Rewrite([]byte(err431))
	if !ok || !bytes.Contains(out, []byte(`"code":"headers_too_large"`)) {
		t.Errorf("Rewrite(431) = %q, %v", out, ok)
	}
}
