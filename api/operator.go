package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/contextlite/cloud/moves"
	"github.com/contextlite/cloud/tenancy"
)

// OperatorStore is the control plane as the operator API changes it.
type OperatorStore interface {
	Tenants(ctx context.Context) ([]tenancy.Tenant, error)
	Tenant(ctx context.Context, id string) (tenancy.Tenant, error)
	TenantBySlug(ctx context.Context, slug string) (tenancy.Tenant, error)
	SetTier(ctx context.Context, id, tier string) error
	SetStatus(ctx context.Context, id string, s tenancy.Status) error
}

// TenantMover moves tenants between the nodes of a cluster.
type TenantMover interface {
	Move(ctx context.Context, tenantID, node string) (moves.Result, error)
	Drain(ctx context.Context, node string) (moves.Report, error)
}

// Operator serves the operator API under /admin/v1 on the apex domain,
// for callers that send the configured admin token as a bearer token.
// Paths name tenants by id or slug.
// Without a token it answers 404. Set its fields before the first request.
type Operator struct {
	Token  string
	Store  OperatorStore
	Tiers  tenancy.Tiers
	Moves  TenantMover  // nil outside a cluster: moves answer 404
	Logger *slog.Logger // nil: discard

	once sync.Once
	mux  *http.ServeMux
	hash [sha256.Size]byte
}

// ServeHTTP checks the token and serves the call.
func (o *Operator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.once.Do(o.init)
	if o.Token == "" {
		WriteError(w, http.StatusNotFound, "not_found", "the operator API is not enabled")
		return
	}
	if !o.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="contextlite-admin"`)
		WriteError(w, http.StatusUnauthorized, "invalid_credentials", "send the admin token as Authorization: Bearer <token>")
		return
	}
	if _, pattern := o.mux.Handler(r); pattern == "" {
		WriteError(w, http.StatusNotFound, "not_found", "no operator endpoint has this path and method")
		return
	}
	o.mux.ServeHTTP(w, r)
}

func (o *Operator) init() {
	o.hash = sha256.Sum256([]byte(o.Token))
	o.mux = http.NewServeMux()
	for _, rt := range o.table() {
		o.mux.Handle(rt.pattern, rt.handler)
	}
}

// table lists every endpoint of the operator API.
func (o *Operator) table() []route {
	return []route{
		{"GET /admin/v1/tenants", o.call(o.listTenants)},
		{"GET /admin/v1/tenants/{id}", o.call(o.getTenant)},
		{"PUT /admin/v1/tenants/{id}/tier", o.call(o.setTier)},
		{"PUT /admin/v1/tenants/{id}/status", o.call(o.setStatus)},
		{"POST /admin/v1/tenants/{id}/move", o.call(o.moveTenant)},
		{"POST /admin/v1/nodes/{id}/drain", o.call(o.drainNode)},
	}
}

// OperatorRoutes returns the ServeMux pattern ("METHOD /path") of every
// endpoint of the operator API.
func OperatorRoutes() []string {
	return patterns(new(Operator).table())
}

// authorized compares the bearer token with the admin token in constant
// time (over their hashes, so lengths leak nothing either).
func (o *Operator) authorized(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	got := sha256.Sum256([]byte(token))
	return ok && subtle.ConstantTimeCompare(got[:], o.hash[:]) == 1
}

func (o *Operator) call(fn func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		err := fn(w, r)
		if errors.Is(err, tenancy.ErrNotFound) {
			err = &Error{http.StatusNotFound, "not_found", "no such tenant"}
		}
		if err == nil {
			return
		}
		e := ErrorFrom(err)
		if e.Status >= http.StatusInternalServerError && o.Logger != nil {
			o.Logger.ErrorContext(r.Context(), "operator call failed", "path", r.URL.Path, "error", err)
		}
		WriteError(w, e.Status, e.Code, e.Message)
	}
}

func (o *Operator) listTenants(w http.ResponseWriter, r *http.Request) error {
	ts, err := o.Store.Tenants(r.Context())
	if err != nil {
		return err
	}
	out := make([]tenant, len(ts))
	for i, t := range ts {
		out[i] = tenantOf(t, o.Tiers, true)
	}
	return writeJSON(w, http.StatusOK, newList(out, ""))
}

// tenant finds the tenant a path names by id or, failing that, by slug.
func (o *Operator) tenant(ctx context.Context, ref string) (tenancy.Tenant, error) {
	t, err := o.Store.Tenant(ctx, ref)
	if errors.Is(err, tenancy.ErrNotFound) {
		t, err = o.Store.TenantBySlug(ctx, ref)
	}
	return t, err
}

func (o *Operator) getTenant(w http.ResponseWriter, r *http.Request) error {
	t, err := o.tenant(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tenantOf(t, o.Tiers, true))
}

// setTier serves PUT /admin/v1/tenants/{id}/tier {tier}. With billing on,
// Stripe's webhooks set tiers too: an operator change holds until the
// tenant's subscription next changes.
func (o *Operator) setTier(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Tier string `json:"tier"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if _, ok := o.Tiers.Get(req.Tier); !ok {
		return &Error{http.StatusUnprocessableEntity, "invalid_request", "unknown tier " + req.Tier}
	}
	return o.change(w, r, func(ctx context.Context, id string) error { return o.Store.SetTier(ctx, id, req.Tier) })
}

// setStatus serves PUT /admin/v1/tenants/{id}/status {status}: active or
// suspended.
func (o *Operator) setStatus(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Status tenancy.Status `json:"status"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Status != tenancy.StatusActive && req.Status != tenancy.StatusSuspended {
		return &Error{http.StatusUnprocessableEntity, "invalid_request", "status must be active or suspended"}
	}
	return o.change(w, r, func(ctx context.Context, id string) error { return o.Store.SetStatus(ctx, id, req.Status) })
}

// change applies fn to the tenant of the path (by id or slug) and
// answers the tenant.
func (o *Operator) change(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context, id string) error) error {
	t, err := o.tenant(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := fn(r.Context(), t.ID); err != nil {
		return err
	}
	return o.getTenant(w, r)
}

// errNotCluster answers the cluster endpoints of a server that is not a
// cluster node.
var errNotCluster = &Error{http.StatusNotFound, "not_found", "this server is not a cluster node"}

// moveTenant serves POST /admin/v1/tenants/{id}/move {node}: the tenant's
// data moves to the node, which becomes its home; its requests get 503
// tenant_moving meanwhile.
func (o *Operator) moveTenant(w http.ResponseWriter, r *http.Request) error {
	if o.Moves == nil {
		return errNotCluster
	}
	var req struct {
		Node string `json:"node"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Node == "" {
		return &Error{http.StatusUnprocessableEntity, "invalid_request", "node is required"}
	}
	t, err := o.tenant(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	res, err := o.Moves.Move(r.Context(), t.ID, req.Node)
	if err != nil {
		return moveError(err)
	}
	return writeJSON(w, http.StatusOK, res)
}

// drainNode serves POST /admin/v1/nodes/{id}/drain: the node takes no new
// tenant and each of its tenants moves to the least loaded other node.
func (o *Operator) drainNode(w http.ResponseWriter, r *http.Request) error {
	if o.Moves == nil {
		return errNotCluster
	}
	rep, err := o.Moves.Drain(r.Context(), r.PathValue("id"))
	if err != nil {
		return moveError(err)
	}
	return writeJSON(w, http.StatusOK, rep)
}

// moveError is the answer to a failed move or drain.
func moveError(err error) *Error {
	status, code := moves.Status(err)
	return &Error{status, code, err.Error()}
}
