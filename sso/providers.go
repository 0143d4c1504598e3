package sso

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/contextlite/cloud/notify"
)

// providersMax bounds the cached providers; a full cache starts afresh.
const providersMax = 1000

// DefaultProviderTTL is how long a discovered provider is kept before its
// discovery document is read again.
const DefaultProviderTTL = time.Hour

// discoveryTimeout bounds one read of a discovery document.
const discoveryTimeout = 10 * time.Second

// Providers discovers OpenID Providers and keeps them per issuer for a
// TTL; each keeps its JWKS, fetched again for an unknown key id. It is
// safe for concurrent use.
type Providers struct {
	client *http.Client
	ttl    time.Duration
	now    func() time.Time

	mu sync.Mutex
	m  map[string]cachedProvider
}

type cachedProvider struct {
	p       *oidc.Provider
	expires time.Time
}

// NewProviders returns a cache of providers kept for ttl (<= 0:
// DefaultProviderTTL). Discovery documents and JWKS are fetched without
// following redirects, within 10 s, and, unless allowPrivate (for
// development and tests), never from loopback, private or other internal
// addresses, so a tenant's issuer cannot make the service probe its own
// network.
func NewProviders(allowPrivate bool, ttl time.Duration) *Providers {
	client := notify.NewClient(allowPrivate, discoveryTimeout)
	if ttl <= 0 {
		ttl = DefaultProviderTTL
	}
	return &Providers{client: client, ttl: ttl, now: time.Now, m: make(map[string]cachedProvider)}
}

// Get returns the provider of issuer, discovering it unless it is cached.
func (ps *Providers) Get(ctx context.Context, issuer string) (*oidc.Provider, error) {
	ps.mu.Lock()
	c, ok := ps.m[issuer]
	ps.mu.Unlock()
	if ok && ps.now().Before(c.expires) {
		return c.p, nil
	}
	return ps.Discover(ctx, issuer)
}

// Discover reads issuer's discovery document now, checks that it names
// issuer, and caches the provider. Errors wrap ErrDiscovery or
// ErrIssuerMismatch.
func (ps *Providers) Discover(ctx context.Context, issuer string) (*oidc.Provider, error) {
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, ps.client), issuer)
	var mismatch *oidc.IssuerMismatchError
	switch {
	case errors.As(err, &mismatch):
		return nil, ErrIssuerMismatch
	case err != nil:
		// Not err itself: it may quote the answer of whatever the URL names.
		return nil, fmt.Errorf("%w: %s", ErrDiscovery, issuer)
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, ok := ps.m[issuer]; !ok && len(ps.m) >= providersMax {
		clear(ps.m)
	}
	ps.m[issuer] = cachedProvider{p: p, expires: ps.now().Add(ps.ttl)}
	return p, nil
}
