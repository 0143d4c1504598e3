package notify

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url          string
		allowPrivate bool
		ok           bool
	}{
		{"https://hooks.example.com/contextlite", false, true},
		{"https://hooks.example.com:8443/a?b=c", false, true},
		{"https://[2001:db8::1]/hook", false, true},
		{"https://93.184.216.34/hook", false, true},
		{"http://hooks.example.com/hook", true, true},
		{"http://127.0.0.1:8080/hook", true, true},
		{"https://10.0.0.1/hook", true, true},

		{"http://hooks.example.com/hook", false, false},
		{"ftp://hooks.example.com/hook", true, false},
		{"hooks.example.com/hook", true, false},
		{"/hook", true, false},
		{"", true, false},
		{"https://", true, false},
		{"https:///hook", true, false},
		{"https:hooks.example.com", true, false},
		{"https://user:pass@hooks.example.com/hook", true, false},
		{"https://user@hooks.example.com/hook", true, false},
		{"https://hooks.example.com/" + strings.Repeat("a", MaxURLLen), true, false},
		{"https://hooks.example.com/%zz", true, false},
		{"https://127.0.0.1/hook", false, false},
		{"https://10.1.2.3/hook", false, false},
		{"https://[::1]/hook", false, false},
		{"https://[::ffff:192.168.0.1]/hook", false, false},
		{"https://169.254.169.254/latest/meta-data", false, false},
		{"https://100.64.0.1/hook", false, false},
		{"https://0.0.0.0/hook", false, false},
	}
	for _, tt := range tests {
		err := CheckURL(tt.url, tt.allowPrivate)
		if tt.ok && err != nil {
			t.Errorf("CheckURL(%q, %v) = %v, want nil", tt.url, tt.allowPrivate, err)
		}
		if !tt.ok && !errors.Is(err, ErrInvalidURL) {
			t.Errorf("CheckURL(%q, %v) = %v, want ErrInvalidURL", tt.url, tt.allowPrivate, err)
		}
	}
}

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"93.184.216.34", true},
		{"8.8.8.8", true},
		{"2606:4700::1111", true},
		{"64:ff9b::808:808", true}, // 8.8.8.8 via NAT64
		{"100.63.255.255", true},
		{"100.128.0.0", true},

		{"127.0.0.1", false},
		{"127.1.2.3", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"169.254.169.254", false},
		{"fe80::1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"224.0.0.1", false},
		{"ff02::1", false},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"255.255.255.255", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"64:ff9b::7f00:1", false}, // 127.0.0.1 via NAT64
	}
	for _, tt := range tests {
		err := checkAddr(netip.MustParseAddr(tt.addr))
		if tt.ok && err != nil {
			t.Errorf("checkAddr(%s) = %v, want nil", tt.addr, err)
		}
		if !tt.ok && !errors.Is(err, ErrForbiddenAddr) {
			t.Errorf("checkAddr(%s) = %v, want ErrForbiddenAddr", tt.addr, err)
		}
	}
}

func TestNewClient(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	t.Run("refuses loopback", func(t *testing.T) {
		_, err := NewClient(false, time.Second).Get(srv.URL)
		if !errors.Is(err, ErrForbiddenAddr) {
			t.Errorf("Get(%s) = %v, want ErrForbiddenAddr", srv.URL, err)
		}
		if n := hits.Load(); n != 0 {
			t.Errorf("the server was reached %d times", n)
		}
	})
	t.Run("refuses a name resolving to loopback", func(t *testing.T) {
		url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
		_, err := NewClient(false, time.Second).Get(url)
		if !errors.Is(err, ErrForbiddenAddr) {
			t.Errorf("Get(%s) = %v, want ErrForbiddenAddr", url, err)
		}
	})
	t.Run("allowPrivate", func(t *testing.T) {
		resp, err := NewClient(true, time.Second).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("status = %d, want 204", resp.StatusCode)
		}
	})
	t.Run("no redirects", func(t *testing.T) {
		before := hits.Load()
		resp, err := NewClient(true, time.Second).Get(srv.URL + "/redirect")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || hits.Load() != before+1 {
			t.Errorf("status = %d after %d requests, want 302 after 1", resp.StatusCode, hits.Load()-before)
		}
	})
}
