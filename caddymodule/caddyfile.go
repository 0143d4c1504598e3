package caddymodule

import (
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
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

func durationArg(d *caddyfile.Dispenser, dst *time.Duration) error {
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	v, err := caddy.ParseDuration(s)
	if err != nil {
		return d.Errf("%s: %v", s, err)
	}
	*dst = v
	return nil
}
