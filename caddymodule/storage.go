package caddymodule

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/certmagic"
)

func init() {
	caddy.RegisterModule(Storage{})
}

// Storage is Caddy's file system storage (certificates, the local CA) in
// Dir, or in Default when Dir is empty: the nodes of a cluster share one
// directory (CONTEXTLITE_STORAGE), a single server keeps it in its data
// directory.
type Storage struct {
	// Default is the directory used when Dir is empty.
	Default string `json:"default,omitempty"`
	// Dir, when set, is the directory.
	Dir string `json:"dir,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Storage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "caddy.storage.contextlite", New: func() caddy.Module { return new(Storage) }}
}

// CertMagicStorage returns the file system storage of the directory.
func (s Storage) CertMagicStorage() (certmagic.Storage, error) {
	if s.Dir != "" {
		return &certmagic.FileStorage{Path: s.Dir}, nil
	}
	return &certmagic.FileStorage{Path: s.Default}, nil
}

// UnmarshalCaddyfile parses
//
//	storage contextlite <default dir> [<dir>]
//
// where <dir> is usually an environment variable, {$VAR}, that may be
// unset.
func (s *Storage) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	args := d.RemainingArgs()
	if len(args) < 1 || len(args) > 2 {
		return d.ArgErr()
	}
	s.Default = args[0]
	if len(args) == 2 {
		s.Dir = args[1]
	}
	return nil
}

// Interface guards.
var (
	_ caddy.StorageConverter = (*Storage)(nil)
	_ caddyfile.Unmarshaler  = (*Storage)(nil)
)
