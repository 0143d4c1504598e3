package caddymodule

import (
	"crypto/x509"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddypki"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
)

func init() {
	caddy.RegisterModule(TrustPool{})
}

// TrustPool is the certificate pool nodes verify each other with: the
// system's roots and the root of the local CA in the storage the nodes
// share, so that both publicly trusted and internal certificates pass.
type TrustPool struct {
	pool *x509.CertPool
}

// CaddyModule returns the Caddy module information.
func (TrustPool) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "tls.ca_pool.source.contextlite", New: func() caddy.Module { return new(TrustPool) }}
}

// Provision loads the system's roots and the local CA's root.
func (p *TrustPool) Provision(ctx caddy.Context) error {
	pool, err := nodeRoots(ctx)
	p.pool = pool
	return err
}

// nodeRoots returns the roots nodes verify each other with: the system's
// and the root of the local CA in the storage the nodes share.
func nodeRoots(ctx caddy.Context) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	v, err := ctx.App("pki")
	if err != nil {
		return nil, fmt.Errorf("cluster trust pool: %w", err)
	}
	ca, err := v.(*caddypki.PKI).GetCA(ctx, caddypki.DefaultCAID)
	if err != nil {
		return nil, fmt.Errorf("cluster trust pool: %w", err)
	}
	pool.AddCert(ca.RootCertificate())
	return pool, nil
}

// CertPool returns the pool.
func (p *TrustPool) CertPool() *x509.CertPool { return p.pool }

// UnmarshalCaddyfile sets up the pool; it takes no arguments.
func (p *TrustPool) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// Interface guards.
var (
	_ caddytls.CA           = (*TrustPool)(nil)
	_ caddy.Provisioner     = (*TrustPool)(nil)
	_ caddyfile.Unmarshaler = (*TrustPool)(nil)
)
