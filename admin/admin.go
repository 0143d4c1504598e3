// Package admin runs the operator's commands on tenants and API keys
// against the control plane, for the command line.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/tenancy"
)

// Config says where the control plane and the tenant data are.
type Config struct {
	DataDir   string // tenant databases and the embedded control plane
	DSN       string // postgres://...; empty: embedded SQLite
	KeyPepper string // must equal the server's
}

// Console runs commands and writes their results to Out.
type Console struct {
	Service *tenancy.Service
	Out     io.Writer
	close   func() error
}

// Open opens the control plane and tenant storage of cfg.
func Open(ctx context.Context, cfg Config, out io.Writer) (*Console, error) {
	engine, err := contextengine.NewManager(contextengine.Options{DataDir: cfg.DataDir})
	if err != nil {
		return nil, err
	}
	store, err := tenancy.Open(ctx, cfg.DSN, cfg.DataDir)
	if err != nil {
		engine.Close()
		return nil, fmt.Errorf("control plane: %w", err)
	}
	svc := &tenancy.Service{Store: store, Storage: engine, Hasher: tenancy.Hasher{Pepper: []byte(cfg.KeyPepper)},
		Tiers: tenancy.DefaultTiers(), Now: time.Now}
	return &Console{Service: svc, Out: out, close: func() error {
		engine.Close()
		return store.Close()
	}}, nil
}

// TenantID returns the id of the tenant ref names: ref itself when it is
// shaped like a tenant id, else the id of the tenant whose id or slug is
// ref in cfg's control plane, which it opens only for that. An embedded
// control plane that does not exist is an error, not created.
func TenantID(ctx context.Context, cfg Config, ref string) (string, error) {
	if tenancy.LooksLikeID(ref) {
		return ref, nil
	}
	if cfg.DSN == "" {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "control.db")); err != nil {
			return "", fmt.Errorf("tenant %q: no control plane to find its slug in (%w); pass the tenant's id", ref, err)
		}
	}
	store, err := tenancy.Open(ctx, cfg.DSN, cfg.DataDir)
	if err != nil {
		return "", fmt.Errorf("control plane: %w", err)
	}
	defer store.Close()
	t, err := findTenant(ctx, store, ref)
	return t.ID, err
}

// Close closes what Open opened.
func (c *Console) Close() error { return c.close() }

// tenant finds a tenant by id or slug.
func (c *Console) tenant(ctx context.Context, ref string) (tenancy.Tenant, error) {
	return findTenant(ctx, c.Service.Store, ref)
}

// findTenant finds a tenant of store by id or slug.
func findTenant(ctx context.Context, store tenancy.Store, ref string) (tenancy.Tenant, error) {
	t, err := store.Tenant(ctx, ref)
	if errors.Is(err, tenancy.ErrNotFound) {
		t, err = store.TenantBySlug(ctx, ref)
	}
	if errors.Is(err, tenancy.ErrNotFound) {
		return t, fmt.Errorf("no tenant with id or slug %q", ref)
	}
	return t, err
}

// ErrEmailTaken is returned by CreateTenant when a tenant that is not
// deleted already has the email address.
var ErrEmailTaken = errors.New("a tenant with this email exists")

// CreateTenant signs a tenant up and prints it with its first key. It
// refuses an email that a tenant not deleted already has (compared
// without regard to case), unless force is set.
func (c *Console) CreateTenant(ctx context.Context, email, company, tier string, force bool) error {
	if _, ok := c.Service.Tiers.Get(tier); !ok {
		return fmt.Errorf("unknown tier %q (have %s)", tier, strings.Join(tenancy.TierOrder(), ", "))
	}
	if !force {
		if err := c.checkEmailFree(ctx, email); err != nil {
			return err
		}
	}
	res, err := c.Service.Signup(ctx, email, company)
	if err != nil {
		return err
	}
	if tier != res.Tenant.Tier {
		if err := c.Service.Store.SetTier(ctx, res.Tenant.ID, tier); err != nil {
			return err
		}
		res.Tenant.Tier = tier
	}
	return c.print(map[string]any{"tenant": res.Tenant, "api_key": res.APIKey})
}

// checkEmailFree returns ErrEmailTaken, naming the tenant, if a tenant
// that is not deleted has email.
func (c *Console) checkEmailFree(ctx context.Context, email string) error {
	ts, err := c.Service.Store.Tenants(ctx)
	if err != nil {
		return err
	}
	email = strings.TrimSpace(email)
	for _, t := range ts {
		if t.Status != tenancy.StatusDeleted && strings.EqualFold(t.Email, email) {
			return fmt.Errorf("%w: %s (slug %s); pass --force to create another", ErrEmailTaken, t.ID, t.Slug)
		}
	}
	return nil
}

// ListTenants prints every tenant, one a line.
func (c *Console) ListTenants(ctx context.Context) error {
	ts, err := c.Service.Store.Tenants(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSLUG\tTIER\tSTATUS\tEMAIL\tCREATED")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Slug, t.Tier, t.Status, t.Email, t.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// ShowTenant prints one tenant.
func (c *Console) ShowTenant(ctx context.Context, ref string) error {
	t, err := c.tenant(ctx, ref)
	if err != nil {
		return err
	}
	return c.print(t)
}

// SetTier changes a tenant's tier.
func (c *Console) SetTier(ctx context.Context, ref, tier string) error {
	if _, ok := c.Service.Tiers.Get(tier); !ok {
		return fmt.Errorf("unknown tier %q (have %s)", tier, strings.Join(tenancy.TierOrder(), ", "))
	}
	return c.update(ctx, ref, func(t tenancy.Tenant) error { return c.Service.Store.SetTier(ctx, t.ID, tier) })
}

// SetStatus suspends, reactivates or deletes a tenant. Deleting also
// revokes its keys; its data stays until it is purged.
func (c *Console) SetStatus(ctx context.Context, ref string, s tenancy.Status) error {
	return c.update(ctx, ref, func(t tenancy.Tenant) error {
		if err := c.Service.Store.SetStatus(ctx, t.ID, s); err != nil || s != tenancy.StatusDeleted {
			return err
		}
		return c.revokeAll(ctx, t.ID)
	})
}

func (c *Console) revokeAll(ctx context.Context, tenantID string) error {
	keys, err := c.Service.Store.Keys(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.RevokedAt != nil {
			continue
		}
		if err := c.Service.RevokeKey(ctx, tenantID, k.ID); err != nil {
			return err
		}
	}
	return nil
}

// update applies fn to a tenant and prints the result.
func (c *Console) update(ctx context.Context, ref string, fn func(tenancy.Tenant) error) error {
	t, err := c.tenant(ctx, ref)
	if err != nil {
		return err
	}
	if err := fn(t); err != nil {
		return err
	}
	return c.ShowTenant(ctx, t.ID)
}

// CreateKey makes a key for a tenant and prints it, the only time it is shown.
func (c *Console) CreateKey(ctx context.Context, ref, name string, scopes []string) error {
	t, err := c.tenant(ctx, ref)
	if err != nil {
		return err
	}
	plain, k, err := c.Service.CreateKey(ctx, t.ID, name, scopes, nil)
	if err != nil {
		return err
	}
	return c.print(map[string]any{"key": k, "api_key": plain})
}

// ListKeys prints a tenant's keys, without their secrets.
func (c *Console) ListKeys(ctx context.Context, ref string) error {
	t, err := c.tenant(ctx, ref)
	if err != nil {
		return err
	}
	keys, err := c.Service.Store.Keys(ctx, t.ID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tSCOPES\tCREATED\tREVOKED")
	for _, k := range keys {
		revoked := "-"
		if k.RevokedAt != nil {
			revoked = k.RevokedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, strings.Join(k.Scopes, ","), k.CreatedAt.UTC().Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}

// RevokeKey revokes one key of a tenant.
func (c *Console) RevokeKey(ctx context.Context, ref, keyID string) error {
	t, err := c.tenant(ctx, ref)
	if err != nil {
		return err
	}
	if err := c.Service.RevokeKey(ctx, t.ID, keyID); err != nil {
		return err
	}
	fmt.Fprintf(c.Out, "revoked key %s of tenant %s\n", keyID, t.Slug)
	return nil
}

func (c *Console) print(v any) error {
	enc := json.NewEncoder(c.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
