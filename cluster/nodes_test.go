package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/contextlite/cloud/internal/pgtest"
	"github.com/contextlite/cloud/tenancy"
)

// controlPlane returns a coordinator on a migrated control plane with
// the given tenants.
func controlPlane(t *testing.T, tenants ...string) *Coordinator {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	store, err := tenancy.Open(ctx, dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for _, id := range tenants {
		now := time.Now().UTC()
		if err := store.CreateTenant(ctx, tenancy.Tenant{ID: id, Slug: id, Tier: "free", Status: tenancy.StatusActive,
			CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestPlacement(t *testing.T) {
	ctx := context.Background()
	c := controlPlane(t, "t1", "t2", "t3", "t4")
	if _, err := c.HomeOf(ctx, "t1"); !errors.Is(err, ErrNoLiveNode) {
		t.Fatalf("with no node: %v, want ErrNoLiveNode", err)
	}
	if _, err := c.LeastLoaded(ctx); !errors.Is(err, ErrNoLiveNode) {
		t.Fatalf("least loaded with no node: %v, want ErrNoLiveNode", err)
	}
	for _, n := range []Node{{ID: "a", Advertise: "https://10.0.0.1:8443"}, {ID: "b", Advertise: "https://10.0.0.2:8443"}} {
		if err := c.Register(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := c.LeastLoaded(ctx); err != nil || n.ID != "a" {
		t.Fatalf("least loaded of two empty nodes: %+v, %v; want a", n, err)
	}
	want := map[string]string{"t1": "a", "t2": "b", "t3": "a"}
	for _, id := range []string{"t1", "t2", "t3"} {
		h, err := c.HomeOf(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if h.Node.ID != want[id] || h.Epoch != 1 {
			t.Errorf("%s placed on %s at epoch %d, want %s at 1", id, h.Node.ID, h.Epoch, want[id])
		}
	}
	// A home stays where it is, whatever the load.
	if h, _ := c.HomeOf(ctx, "t1"); h.Node.ID != "a" || h.Node.Advertise != "https://10.0.0.1:8443" {
		t.Errorf("t1's home moved to %+v", h.Node)
	}
	// A silent node is given no new tenant.
	if _, err := c.pool.Exec(ctx, "UPDATE cluster_nodes SET heartbeat_at = now() - interval '1 minute' WHERE id = 'b'"); err != nil {
		t.Fatal(err)
	}
	if h, _ := c.HomeOf(ctx, "t4"); h.Node.ID != "a" {
		t.Errorf("t4 placed on %s, want a: b is silent", h.Node.ID)
	}
	if n, err := c.LeastLoaded(ctx); err != nil || n.ID != "a" {
		t.Errorf("least loaded with b silent: %+v, %v; want a", n, err)
	}
	live, err := c.LiveNodes(ctx)
	if err != nil || len(live) != 1 || live[0].ID != "a" {
		t.Errorf("live nodes %+v, %v; want a", live, err)
	}
}

func TestClaimAndCachedHomes(t *testing.T) {
	ctx := context.Background()
	c := controlPlane(t, "t1", "t2", "t3")
	for _, n := range []Node{{ID: "a", Advertise: "https://10.0.0.1:8443"}, {ID: "b", Advertise: "https://10.0.0.2:8443"}} {
		if err := c.Register(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.HomeOf(ctx, "t1"); err != nil { // placed on a
		t.Fatal(err)
	}
	// b holds the databases of t1, t2 and of a tenant the control plane does not know.
	n, err := c.Claim(ctx, "b", []string{"t1", "t2", "gone"})
	if err != nil || n != 1 {
		t.Fatalf("claimed %d, %v; want 1 (t2)", n, err)
	}
	homes := c.Homes(time.Hour)
	for id, want := range map[string]string{"t1": "a", "t2": "b"} {
		if h, err := homes.Of(ctx, id); err != nil || h.Node.ID != want {
			t.Errorf("%s homed on %+v, %v; want %s", id, h.Node, err, want)
		}
	}
	// A move the cache has not heard of is seen once the cache forgets.
	if _, err := c.pool.Exec(ctx, "UPDATE tenant_homes SET node_id = 'a', epoch = epoch + 1 WHERE tenant_id = 't2'"); err != nil {
		t.Fatal(err)
	}
	if h, _ := homes.Of(ctx, "t2"); h.Node.ID != "b" {
		t.Errorf("cached home of t2 is %s, want b until forgotten", h.Node.ID)
	}
	homes.Forget("t2")
	if h, _ := homes.Of(ctx, "t2"); h.Node.ID != "a" || h.Epoch != 2 {
		t.Errorf("after forgetting, t2 homed on %s at epoch %d; want a at 2", h.Node.ID, h.Epoch)
	}
}
