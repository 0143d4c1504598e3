package caddymodule

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/certmagic"

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

// testClusterSecret is the cluster secret of the tests' nodes.
const testClusterSecret = "a cluster secret of the tests, long enough"

func TestClusterOption(t *testing.T) {
	app, adapted := adaptApp(t, "{\n\tcontextlite {\n\t\tcluster {\n\t\t\tnode_id {env.NODE}\n\t\t\tadvertise https://10.0.0.2:8443\n\t\t}\n\t}\n}\n")
	c := app.Cluster
	if c == nil || c.NodeID != "{env.NODE}" || c.Advertise != "https://10.0.0.2:8443" {
		t.Fatalf("cluster = %+v in %s", c, adapted)
	}
	for _, bad := range []string{"http://10.0.0.2:8080", "10.0.0.2:8443", "https://10.0.0.2:8443/api", ""} {
		a := &App{Cluster: &ClusterConfig{NodeID: "n1", Advertise: bad, Secret: testClusterSecret}, shared: &shared{coord: &cluster.Coordinator{}}}
		if err := a.validateCluster(); err == nil {
			t.Errorf("advertise %q accepted", bad)
		}
	}
	for _, bad := range []string{"", "too short"} {
		a := &App{Cluster: &ClusterConfig{NodeID: "n1", Advertise: "https://10.0.0.2:8443", Secret: bad}, shared: &shared{coord: &cluster.Coordinator{}}}
		if err := a.validateCluster(); err == nil || !strings.Contains(err.Error(), "secret") {
			t.Errorf("secret %q: %v", bad, err)
		}
	}
	a := &App{Cluster: &ClusterConfig{NodeID: "n1", Advertise: "https://10.0.0.2:8443", Secret: testClusterSecret}, shared: &shared{}}
	if err := a.validateCluster(); err == nil || !strings.Contains(err.Error(), "control_dsn") {
		t.Errorf("a cluster on SQLite: %v", err)
	}
}

// TestClusterNodeRegisters starts the root Caddyfile as a cluster node and finds
// it among the control plane's live nodes, with its address.
func TestClusterNodeRegisters(t *testing.T) {
	dsn := pgtest.DSN(t)
	t.Setenv("CONTEXTLITE_NODE_ID", "node-a")
	t.Setenv("CONTEXTLITE_ADVERTISE", "https://127.0.0.1:8443")
	t.Setenv("CONTEXTLITE_CLUSTER_SECRET", testClusterSecret)
	startServerWith(t, t.TempDir(), dsn, "")
	ctx := context.Background()
	coord, err := cluster.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Close()
	nodes, err := coord.LiveNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 || nodes[0].ID != "node-a" || nodes[0].Advertise != "https://127.0.0.1:8443" {
		t.Fatalf("live nodes %+v, want node-a at https://127.0.0.1:8443", nodes)
	}
}

func TestStorageDirOrDefault(t *testing.T) {
	for src, want := range map[string]string{
		"contextlite ./data/caddy":             "./data/caddy",
		"contextlite ./data/caddy /mnt/shared": "/mnt/shared",
	} {
		var s Storage
		if err := s.UnmarshalCaddyfile(caddyfile.NewTestDispenser(src)); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		cm, err := s.CertMagicStorage()
		if err != nil {
			t.Fatal(err)
		}
		if got := cm.(*certmagic.FileStorage).Path; got != want {
			t.Errorf("%s: storage in %s, want %s", src, got, want)
		}
	}
	var s Storage
	if err := s.UnmarshalCaddyfile(caddyfile.NewTestDispenser("contextlite")); err == nil {
		t.Error("storage without a directory accepted")
	}
}

// TestAdminForgetTellsPeers has the operator CLI's admin call drop the
// caches of every node sharing the control plane, not this one only.
func TestAdminForgetTellsPeers(t *testing.T) {
	dsn := pgtest.DSN(t)
	startServerWith(t, t.TempDir(), dsn, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	peer, err := cluster.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	heard := make(chan string, 4)
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		peer.Bus.Listen(ctx, func(id string) { heard <- id }, func() { close(ready) })
	}()
	defer func() { cancel(); <-done }()
	<-ready
	<-heard // the forget-all of listening
	if err := notifyServer(testAdminAddr); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-heard:
		if id != "" {
			t.Fatalf("peers told to forget %q, want every tenant", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the admin forget did not reach the other nodes")
	}
}
