package jwtauth

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"golang.org/x/time/rate"
)

// refresh controls how a remote JWKS is kept current.
type refresh struct {
	interval   time.Duration // between background fetches
	unknownKID time.Duration // minimum spacing of fetches forced by an unknown kid
}

const (
	refreshInterval   = time.Hour
	refreshUnknownKID = 5 * time.Minute
	fetchTimeout      = 10 * time.Second
)

// loadKeys returns the key source of iss: its remote JWKS, fetched now and
// refreshed until ctx is done, or its JWKS file.
func loadKeys(ctx context.Context, iss Issuer, r refresh) (keyfunc.Keyfunc, error) {
	if iss.JWKSFile != "" {
		return fileKeys(ctx, iss.JWKSFile)
	}
	return remoteKeys(ctx, iss.JWKSURL, r)
}

// remoteKeys fetches the JWKS at url. A failed first fetch is logged and
// retried, so an identity provider that is briefly down does not stop the
// server from starting.
func remoteKeys(ctx context.Context, url string, r refresh) (keyfunc.Keyfunc, error) {
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{url}, keyfunc.Override{
		HTTPTimeout:       fetchTimeout,
		RateLimitWaitMax:  fetchTimeout,
		RefreshInterval:   r.interval,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(r.unknownKID), 1),
	})
	if err != nil {
		return nil, fmt.Errorf("jwks_url %q: %w", url, err)
	}
	return kf, nil
}

// fileKeys reads the JWKS file at path, which must hold at least one key.
func fileKeys(ctx context.Context, path string) (keyfunc.Keyfunc, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("jwks_file: %w", err)
	}
	kf, err := keyfunc.NewJWKSetJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("jwks_file %q: %w", path, err)
	}
	keys, err := kf.Storage().KeyReadAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("jwks_file %q: %w", path, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwks_file %q: no keys", path)
	}
	return kf, nil
}
