package moves

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/contextlite/cloud/cluster"
	"github.com/contextlite/cloud/contextengine"
)

const testSecret = "the moves tests' cluster secret, long enough"

// fakeEngine keeps tenants' databases as byte strings.
type fakeEngine struct {
	mu       sync.Mutex
	dbs      map[string][]byte
	fenced   map[string]bool
	released []string
}

func newFakeEngine(dbs map[string][]byte) *fakeEngine {
	return &fakeEngine{dbs: dbs, fenced: make(map[string]bool)}
}

func (e *fakeEngine) Fence(_ context.Context, id string) (func(), error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.dbs[id]; !ok {
		return nil, contextengine.ErrTenantNotFound
	}
	e.fenced[id] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			delete(e.fenced, id)
			e.released = append(e.released, id)
		})
	}, nil
}

func (e *fakeEngine) Fenced(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fenced[id]
}

func (e *fakeEngine) Drop(_ context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.dbs, id)
	return nil
}

func (e *fakeEngine) Snapshot(_ context.Context, id string, w io.Writer) error {
	e.mu.Lock()
	db := e.dbs[id]
	e.mu.Unlock()
	_, err := w.Write(db)
	return err
}

func (e *fakeEngine) Install(_ context.Context, id string, r io.Reader) error {
	db, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.dbs[id]; ok {
		return contextengine.ErrTenantExists
	}
	e.dbs[id] = db
	return nil
}

func (e *fakeEngine) has(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.dbs[id]
	return ok
}

// fakeControl is a control plane of nodes and homes shared by the
// nodes of a test.
type fakeControl struct {
	mu        sync.Mutex
	nodes     []cluster.Node
	homes     map[string]cluster.Home
	moving    map[string]cluster.Move
	aborted   []cluster.Move
	completed []cluster.Move
}

func (c *fakeControl) HomeOf(_ context.Context, id string) (cluster.Home, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.homes[id]
	if !ok {
		return h, cluster.ErrNoHome
	}
	return h, nil
}

func (c *fakeControl) LiveNodes(context.Context) ([]cluster.Node, error) { return c.nodes, nil }

func (c *fakeControl) TenantsOn(_ context.Context, node string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for id, h := range c.homes {
		if h.Node.ID == node {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func (c *fakeControl) SetDraining(_ context.Context, node string, draining bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.nodes {
		if c.nodes[i].ID == node {
			c.nodes[i].Draining = draining
			return nil
		}
	}
	return cluster.ErrUnknownNode
}

func (c *fakeControl) BeginMove(_ context.Context, id, to string) (cluster.Move, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.moving[id]; ok {
		return cluster.Move{}, cluster.ErrMoveInProgress
	}
	m := cluster.Move{TenantID: id, From: c.homes[id].Node.ID, To: to, Epoch: c.homes[id].Epoch}
	c.moving[id] = m
	return m, nil
}

func (c *fakeControl) CompleteMove(_ context.Context, m cluster.Move) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.moving, m.TenantID)
	for _, n := range c.nodes {
		if n.ID == m.To {
			c.homes[m.TenantID] = cluster.Home{TenantID: m.TenantID, Node: n, Epoch: m.Epoch + 1}
		}
	}
	c.completed = append(c.completed, m)
	return nil
}

func (c *fakeControl) AbortMove(_ context.Context, m cluster.Move) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.moving, m.TenantID)
	c.aborted = append(c.aborted, m)
	return nil
}

// fakeUsage records what a move told the metering.
type fakeUsage struct {
	mu                     sync.Mutex
	shipped, arrived, left []string
}

func (u *fakeUsage) Ship(_ context.Context, id string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.shipped = append(u.shipped, id)
	return nil
}

func (u *fakeUsage) Arrived(id string) { u.mu.Lock(); u.arrived = append(u.arrived, id); u.mu.Unlock() }
func (u *fakeUsage) Left(id string)    { u.mu.Lock(); u.left = append(u.left, id); u.mu.Unlock() }

// network routes each node's requests to the handler of the node they
// are sent to, in process; a node absent from it fails them with 500.
type network struct {
	mu       sync.Mutex
	handlers map[string]http.Handler // by advertised host
	calls    []string                // "METHOD host path"
}

func (n *network) RoundTrip(r *http.Request) (*http.Response, error) {
	n.mu.Lock()
	h := n.handlers[r.URL.Host]
	n.calls = append(n.calls, r.Method+" "+r.URL.Host+" "+r.URL.Path)
	n.mu.Unlock()
	rec := httptest.NewRecorder()
	if h == nil {
		writeError(rec, http.StatusInternalServerError, "internal_error", "the node is broken")
	} else {
		h.ServeHTTP(rec, r)
	}
	return rec.Result(), nil
}

// testNode is one node of a test cluster.
type testNode struct {
	mover   *Mover
	engine  *fakeEngine
	usage   *fakeUsage
	forgot  []string
	handler *Handler
}

// newTestCluster returns nodes a, b and c on one control plane, with
// tenant t1 (database "db of t1") at home on a at epoch 1.
func newTestCluster(t *testing.T) (*network, *fakeControl, map[string]*testNode) {
	t.Helper()
	ctl := &fakeControl{moving: make(map[string]cluster.Move)}
	for _, id := range []string{"a", "b", "c"} {
		ctl.nodes = append(ctl.nodes, cluster.Node{ID: id, Advertise: "https://" + id + ".test:8443"})
	}
	ctl.homes = map[string]cluster.Home{"t1": {TenantID: "t1", Node: ctl.nodes[0], Epoch: 1}}
	net := &network{handlers: make(map[string]http.Handler)}
	nodes := make(map[string]*testNode)
	for _, n := range ctl.nodes {
		dbs := map[string][]byte{}
		if n.ID == "a" {
			dbs["t1"] = []byte("db of t1")
		}
		signer := cluster.NewSigner(testSecret)
		tn := &testNode{engine: newFakeEngine(dbs), usage: &fakeUsage{}}
		tn.mover = &Mover{Self: n.ID, Engine: tn.engine, Control: ctl, Usage: tn.usage,
			Peers:  &Peers{Self: n.ID, Signer: signer, Client: &http.Client{Transport: net}, Host: "localhost"},
			Forget: func(id string) { tn.forgot = append(tn.forgot, id) }}
		tn.handler = &Handler{Mover: tn.mover, Signer: signer}
		net.handlers[n.ID+".test:8443"] = tn.handler
		nodes[n.ID] = tn
	}
	return net, ctl, nodes
}

// TestMoveThroughAnotherNode asks node c to move t1 from a to b: c passes
// the move to a, which fences t1, has b pull and install its snapshot,
// switches the home, tells every node, and drops its copy.
func TestMoveThroughAnotherNode(t *testing.T) {
	_, ctl, nodes := newTestCluster(t)
	res, err := nodes["c"].mover.Move(context.Background(), "t1", "b")
	if err != nil {
		t.Fatal(err)
	}
	if res.From != "a" || res.To != "b" || res.Epoch != 2 {
		t.Errorf("move = %+v, want a to b at epoch 2", res)
	}
	if h := ctl.homes["t1"]; h.Node.ID != "b" || h.Epoch != 2 {
		t.Errorf("home = %+v, want b at epoch 2", h)
	}
	a, b := nodes["a"], nodes["b"]
	if got := string(b.engine.dbs["t1"]); got != "db of t1" {
		t.Errorf("b holds %q", got)
	}
	if a.engine.has("t1") {
		t.Error("a still holds t1")
	}
	if !a.engine.Fenced("t1") {
		t.Error("a lifted its fence at once; late requests there would find no tenant")
	}
	if !slices.Equal(a.usage.shipped, []string{"t1"}) || !slices.Equal(a.usage.left, []string{"t1"}) ||
		!slices.Equal(b.usage.arrived, []string{"t1"}) || !slices.Equal(a.forgot, []string{"t1"}) {
		t.Errorf("usage a %+v, b %+v, forgot %v", a.usage, b.usage, a.forgot)
	}
}

// TestMoveAbortsWhenTheTargetFails moves t1 to a node whose install
// fails: the move is aborted in the control plane, the target is told
// to remove its copy, and t1 stays at home, served again.
func TestMoveAbortsWhenTheTargetFails(t *testing.T) {
	net, ctl, nodes := newTestCluster(t)
	delete(net.handlers, "b.test:8443")
	_, err := nodes["a"].mover.Move(context.Background(), "t1", "b")
	if pe, ok := errors.AsType[*PeerError](err); !ok || pe.Node != "b" {
		t.Fatalf("move = %v, want b's refusal", err)
	}
	if len(ctl.aborted) != 1 || len(ctl.completed) != 0 || ctl.homes["t1"].Node.ID != "a" {
		t.Errorf("aborted %v, completed %v, home %v", ctl.aborted, ctl.completed, ctl.homes["t1"])
	}
	a := nodes["a"]
	if a.engine.Fenced("t1") || !a.engine.has("t1") || !slices.Equal(a.engine.released, []string{"t1"}) {
		t.Errorf("a: fenced %v, holds %v, released %v; want t1 served again", a.engine.Fenced("t1"), a.engine.has("t1"), a.engine.released)
	}
	if !slices.Contains(net.calls, "DELETE b.test:8443 /cluster/v1/tenants/t1") {
		t.Errorf("the target was not told to remove its copy: %v", net.calls)
	}
	if len(a.forgot) != 0 || len(a.usage.left) != 0 {
		t.Errorf("an aborted move forgot %v and left %v", a.forgot, a.usage.left)
	}
}

// TestDrainMovesToTheLeastLoaded drains a: its tenants go to the node
// with the fewest tenants, and a takes no new ones.
func TestDrainMovesToTheLeastLoaded(t *testing.T) {
	_, ctl, nodes := newTestCluster(t)
	ctl.homes["t2"] = cluster.Home{TenantID: "t2", Node: ctl.nodes[0], Epoch: 1}
	ctl.homes["t3"] = cluster.Home{TenantID: "t3", Node: ctl.nodes[1], Epoch: 1} // b has one already
	nodes["a"].engine.dbs["t2"] = []byte("db of t2")
	rep, err := nodes["b"].mover.Drain(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failed) != 0 || len(rep.Moves) != 2 || rep.Moves[0].To != "c" || rep.Moves[1].To != "b" {
		t.Errorf("drain = %+v, want t1 to c (no tenant), then t2 to b (one each, b first by id)", rep)
	}
	if !ctl.nodes[0].Draining {
		t.Error("a is not marked draining")
	}
	if on, _ := ctl.TenantsOn(context.Background(), "a"); len(on) != 0 {
		t.Errorf("a still homes %v", on)
	}
}

// TestHandlerRefusesUnsignedCalls shows that only a request signed with
// the cluster secret for its method and URI reaches the endpoints.
func TestHandlerRefusesUnsignedCalls(t *testing.T) {
	_, _, nodes := newTestCluster(t)
	nodes["a"].engine.fenced["t1"] = true
	h := nodes["a"].handler
	const uri = "/cluster/v1/tenants/t1/snapshot"
	other := cluster.NewSigner("another cluster's secret, long enough too")
	ours := cluster.NewSigner(testSecret)
	for name, header := range map[string]string{
		"unsigned":           "",
		"another secret":     other.Sign([]byte("b"), "GET", uri),
		"another URI":        ours.Sign([]byte("b"), "GET", "/cluster/v1/tenants/t2/snapshot"),
		"another method":     ours.Sign([]byte("b"), "POST", uri),
		"no node":            ours.Sign(nil, "GET", uri),
		"a forwarded caller": "eyJ0ZW5hbnRfaWQiOiJ0MSJ9.1.x",
	} {
		req := httptest.NewRequest("GET", uri, nil)
		if header != "" {
			req.Header.Set(PeerHeader, header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", name, rec.Code, rec.Body)
		}
	}
	req := httptest.NewRequest("GET", uri, nil)
	req.Header.Set(PeerHeader, ours.Sign([]byte("b"), "GET", uri))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), []byte("db of t1")) {
		t.Errorf("signed: %d %s", rec.Code, rec.Body)
	}
}

// TestHandlerRefusesWhatNoMoveAsks: no snapshot of a tenant not fenced,
// no install from a node that is not the tenant's home, and no removal of
// the copy of a tenant at home here.
func TestHandlerRefusesWhatNoMoveAsks(t *testing.T) {
	_, _, nodes := newTestCluster(t)
	ours := cluster.NewSigner(testSecret)
	for _, c := range []struct {
		node, method, uri, sender string
		want                      int
	}{
		{"a", "GET", "/cluster/v1/tenants/t1/snapshot", "b", http.StatusConflict},
		{"b", "POST", "/cluster/v1/tenants/t1/install?from=c", "c", http.StatusConflict},
		{"b", "POST", "/cluster/v1/tenants/t1/install?from=a", "c", http.StatusConflict},
		{"a", "DELETE", "/cluster/v1/tenants/t1", "b", http.StatusConflict},
		{"a", "GET", "/cluster/v1/tenants/t1/elsewhere", "b", http.StatusNotFound},
	} {
		req := httptest.NewRequest(c.method, c.uri, nil)
		req.Header.Set(PeerHeader, ours.Sign([]byte(c.sender), c.method, c.uri))
		rec := httptest.NewRecorder()
		nodes[c.node].handler.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s %s on %s by %s = %d %s, want %d", c.method, c.uri, c.node, c.sender, rec.Code, rec.Body, c.want)
		}
	}
	if !nodes["a"].engine.has("t1") || nodes["b"].engine.has("t1") {
		t.Error("a refused call changed a node's tenants")
	}
}
