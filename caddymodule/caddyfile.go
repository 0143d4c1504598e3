package caddymodule

import (
	"math"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"
)

// noArgs accepts a directive without arguments or block.
func noArgs(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() || d.NextBlock(0) {
		return d.ArgErr()
	}
	return nil
}

func oneArg(d *caddyfile.Dispenser, dst *string) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

// optionalArg reads zero or one argument, so an unset environment
// placeholder leaves the default.
func optionalArg(d *caddyfile.Dispenser, dst *string) error {
	args := d.RemainingArgs()
	if len(args) > 1 {
		return d.ArgErr()
	}
	if len(args) == 1 {
		*dst = args[0]
	}
	return nil
}

func intArg(d *caddyfile.Dispenser, dst *int) error {
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return d.Errf("%s: %v", d.Val(), err)
	}
	*dst = n
	return nil
}

func int64Arg(d *caddyfile.Dispenser, dst *int64) error {
	var n int
	if err := intArg(d, &n); err != nil {
		return err
	}
	*dst = int64(n)
	return nil
}

// durationArg reads one duration.
func durationArg(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	v, err := caddy.ParseDuration(s)
	if err != nil {
		return d.Errf("%s: %v", s, err)
	}
	*dst = caddy.Duration(v)
	return nil
}

// caddyDurationArg reads an optional duration; none leaves dst unchanged.
func caddyDurationArg(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	var s string
	if err := optionalArg(d, &s); err != nil || s == "" {
		return err
	}
	v, err := caddy.ParseDuration(s)
	if err != nil {
		return d.Errf("%s: %v", s, err)
	}
	*dst = caddy.Duration(v)
	return nil
}

// sizeArg reads an optional byte size such as 1GiB or 500MB.
func sizeArg(d *caddyfile.Dispenser, dst *int64) error {
	var s string
	if err := optionalArg(d, &s); err != nil || s == "" {
		return err
	}
	v, err := humanize.ParseBytes(s)
	if err != nil || v > math.MaxInt64 {
		return d.Errf("%s: not a byte size", s)
	}
	*dst = int64(v)
	return nil
}

// boolArg reads an optional true or false; no argument means true.
func boolArg(d *caddyfile.Dispenser, dst *bool) error {
	s := "true"
	if err := optionalArg(d, &s); err != nil {
		return err
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return d.Errf("%s: not true or false", s)
	}
	*dst = v
	return nil
}

// mapArg reads "<name> [value]" into m; no value leaves m unchanged.
func mapArg(d *caddyfile.Dispenser, m *map[string]string) error {
	args := d.RemainingArgs()
	switch len(args) {
	case 1:
		return nil
	case 2:
		if *m == nil {
			*m = make(map[string]string)
		}
		(*m)[args[0]] = args[1]
		return nil
	}
	return d.ArgErr()
}

// BackupConfig schedules backups: every Every (default 24h) into a new
// directory under Dir, keeping the newest Keep (default 7).
type BackupConfig struct {
	// Dir holds the backups, one directory each; empty: no backups.
	Dir string `json:"dir,omitempty"`
	// Every is the time between backups.
	Every caddy.Duration `json:"every,omitempty"`
	// Keep is how many of the newest backups are kept.
	Keep int `json:"keep,omitempty"`
}

// parseBackups parses the backups block; an empty dir (an unset
// environment placeholder) leaves backups off.
func (a *App) parseBackups(d *caddyfile.Dispenser) error {
	b := &BackupConfig{Every: caddy.Duration(24 * time.Hour), Keep: 7}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "dir":
			err = optionalArg(d, &b.Dir)
		case "every":
			err = caddyDurationArg(d, &b.Every)
		case "keep":
			err = intArg(d, &b.Keep)
		default:
			err = d.Errf("unknown backups setting %q", d.Val())
		}
		if err != nil {
			return err
		}
	}
	if b.Dir != "" {
		a.Backups = b
	}
	return nil
}
