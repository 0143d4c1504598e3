package caddymodule

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/contextlite/cloud/cluster"
	"github.com/contextlite/cloud/internal/pgtest"
	"github.com/contextlite/cloud/tenancy"
)

// TestPeerRevocation revokes a key the server has cached, as another node
// sharing the PostgreSQL control plane would, and expects the server to
// refuse it at once, not when its cache expires 30 s later.
func TestPeerRevocation(t *testing.T) {
	dsn := pgtest.DSN(t)
	tc := startServerWith(t, t.TempDir(), dsn, "")
	acme := signup(t, tc, "Acme")
	base := tenantURL(acme.Slug) + "/api/v1"
	var keys struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	call(t, tc, "GET", base+"/keys", acme.APIKey, nil, http.StatusOK, &keys) // the key is cached now
	if len(keys.Data) != 1 {
		t.Fatalf("%d keys", len(keys.Data))
	}

	ctx := context.Background()
	peer, err := tenancy.Open(ctx, dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	coord, err := cluster.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Close()
	if err := peer.RevokeKey(ctx, acme.TenantID, keys.Data[0].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := coord.Bus.Forget(ctx, acme.TenantID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		resp, body := rawCall(t, tc, "GET", base+"/keys", acme.APIKey, "")
		if resp.StatusCode == http.StatusUnauthorized {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a key revoked on another node still answers %d %s after 1 s", resp.StatusCode, body)
		}
		time.Sleep(100 * time.Millisecond) // within the free tier's 10 requests a second
	}
}
