package notify

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// MaxURLLen is the longest webhook URL CheckURL accepts.
const MaxURLLen = 2048

// defaultTimeout bounds a request of a client from NewClient given no timeout.
const defaultTimeout = 10 * time.Second

// Errors of the URL policy; match them with errors.Is.
var (
	ErrInvalidURL    = errors.New("invalid webhook URL")
	ErrForbiddenAddr = errors.New("address not allowed for webhooks")
)

// blockedPrefixes are the reserved ranges that netip.Addr's predicates
// (IsLoopback, IsPrivate, ...) do not cover.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, and broadcast
	netip.MustParsePrefix("fec0::/10"),     // deprecated site-local
}

// nat64Prefix is the well-known NAT64 prefix; its addresses embed an IPv4
// address in their last 4 bytes.
var nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")

// CheckURL reports whether raw is acceptable as a webhook URL: absolute,
// https (or http when allowPrivate), with a host, without userinfo, at most
// MaxURLLen bytes, and, unless allowPrivate, not naming a forbidden IP
// address literally. Errors wrap ErrInvalidURL.
func CheckURL(raw string, allowPrivate bool) error {
	if len(raw) > MaxURLLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidURL, MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	case u.Scheme == "http":
		return fmt.Errorf("%w: must be https", ErrInvalidURL)
	default:
		return fmt.Errorf("%w: scheme must be https, not %q", ErrInvalidURL, u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return fmt.Errorf("%w: no host", ErrInvalidURL)
	}
	if u.User != nil {
		return fmt.Errorf("%w: must not contain a user name or password", ErrInvalidURL)
	}
	if addr, err := netip.ParseAddr(u.Hostname()); err == nil && !allowPrivate {
		if err := checkAddr(addr); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidURL, err)
		}
	}
	return nil
}

// NewClient returns an HTTP client for webhook deliveries. It uses no
// proxy, follows no redirects (the 3xx response is returned), and bounds
// each request by timeout (zero or less means 10s). Unless allowPrivate, it
// refuses to connect to loopback, private (RFC 1918, fc00::/7),
// link-local, unspecified, multicast, CGNAT (100.64.0.0/10) and other
// reserved addresses; the check runs on the resolved address right before
// each connection, so a name resolving (or rebinding) to such an address
// is refused too.
func NewClient(allowPrivate bool, timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = controlDial
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would be dialed instead of the receiver
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// controlDial is a net.Dialer Control hook that refuses forbidden addresses.
func controlDial(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrForbiddenAddr, address, err)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s is not an IP address", ErrForbiddenAddr, address)
	}
	return checkAddr(addr)
}

// checkAddr returns an error wrapping ErrForbiddenAddr if addr is not a
// public unicast address.
func checkAddr(addr netip.Addr) error {
	addr = addr.Unmap()
	if nat64Prefix.Contains(addr) {
		// 64:ff9b::a.b.c.d reaches a.b.c.d through a NAT64 gateway.
		b := addr.As16()
		if err := checkAddr(netip.AddrFrom4([4]byte(b[12:]))); err != nil {
			return err
		}
	}
	var why string
	switch {
	case addr.IsLoopback():
		why = "loopback"
	case addr.IsPrivate():
		why = "private"
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		why = "link-local"
	case addr.IsUnspecified():
		why = "unspecified"
	case addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		why = "multicast"
	default:
		for _, p := range blockedPrefixes {
			if p.Contains(addr) {
				why = "reserved"
				break
			}
		}
	}
	if why != "" {
		return fmt.Errorf("%w: %s is %s", ErrForbiddenAddr, addr, why)
	}
	return nil
}
