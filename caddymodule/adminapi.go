package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"

	"github.com/contextlite/cloud/moves"
	"github.com/contextlite/cloud/tenancy"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// forgetPath is the admin endpoint's route that drops the contextlite
// app's caches; the operator CLI calls it after changing the control plane.
const forgetPath = "/contextlite/forget"

// movePath and drainPath are the admin endpoint's routes that move a
// tenant to another cluster node and drain a node, for the CLI.
const (
	movePath  = "/contextlite/move"
	drainPath = "/contextlite/drain"
)

// AdminAPI adds the CLI's routes to Caddy's admin endpoint:
// POST /contextlite/forget, after which the running contextlite app drops
// its cached keys and tenants, so a change the operator CLI made to the
// control plane applies at the next request; POST /contextlite/move
// {tenant, node} and POST /contextlite/drain {node} on a cluster node.
type AdminAPI struct {
	ctx caddy.Context
}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.contextlite", New: func() caddy.Module { return new(AdminAPI) }}
}

// Provision keeps the config's context, to find its app at request time.
func (a *AdminAPI) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	return nil
}

// Routes returns the admin routes.
func (a *AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: forgetPath, Handler: caddy.AdminHandlerFunc(a.forget)},
		{Pattern: movePath, Handler: caddy.AdminHandlerFunc(a.move)},
		{Pattern: drainPath, Handler: caddy.AdminHandlerFunc(a.drain)},
	}
}

// moveRequest is the body of the move and drain routes.
type moveRequest struct {
	Tenant string `json:"tenant,omitempty"` // id or slug
	Node   string `json:"node"`
}

// move moves a tenant to another node: POST /contextlite/move {tenant, node}.
func (a *AdminAPI) move(w http.ResponseWriter, r *http.Request) error {
	app, req, err := a.mover(r)
	if err != nil {
		return err
	}
	id, err := app.tenantID(r.Context(), req.Tenant)
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: err}
	}
	res, err := app.mover.Move(r.Context(), id, req.Node)
	if err != nil {
		status, _ := moves.Status(err)
		return caddy.APIError{HTTPStatus: status, Err: err}
	}
	return json.NewEncoder(w).Encode(res)
}

// drain drains a node: POST /contextlite/drain {node}.
func (a *AdminAPI) drain(w http.ResponseWriter, r *http.Request) error {
	app, req, err := a.mover(r)
	if err != nil {
		return err
	}
	rep, err := app.mover.Drain(r.Context(), req.Node)
	if err != nil {
		status, _ := moves.Status(err)
		return caddy.APIError{HTTPStatus: status, Err: err}
	}
	return json.NewEncoder(w).Encode(rep)
}

// mover returns the running app of a cluster node and the request's body.
func (a *AdminAPI) mover(r *http.Request) (*App, moveRequest, error) {
	var req moveRequest
	if r.Method != http.MethodPost {
		return nil, req, caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method not allowed")}
	}
	v, err := a.ctx.AppIfConfigured("contextlite")
	if err != nil {
		return nil, req, caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("no contextlite app is running: %w", err)}
	}
	app := v.(*App)
	if app.mover == nil {
		return nil, req, caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("this server is not a cluster node")}
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 4<<10)).Decode(&req); err != nil || req.Node == "" {
		return nil, req, caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("send {\"tenant\": ..., \"node\": ...}")}
	}
	return app, req, nil
}

// forget drops the running app's caches, and those of the other nodes
// sharing its control plane.
func (a *AdminAPI) forget(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method not allowed")}
	}
	app, err := a.ctx.AppIfConfigured("contextlite")
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("no contextlite app is running: %w", err)}
	}
	app.(*App).forget("")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// tenantID returns the id of the tenant ref names by id or slug.
func (a *App) tenantID(ctx context.Context, ref string) (string, error) {
	t, err := a.shared.store.Tenant(ctx, ref)
	if errors.Is(err, tenancy.ErrNotFound) {
		t, err = a.shared.store.TenantBySlug(ctx, ref)
	}
	if err != nil {
		return "", fmt.Errorf("tenant %q: %w", ref, err)
	}
	return t.ID, nil
}

// Interface guards
var (
	_ caddy.AdminRouter = (*AdminAPI)(nil)
	_ caddy.Provisioner = (*AdminAPI)(nil)
)
