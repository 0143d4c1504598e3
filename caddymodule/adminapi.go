package caddymodule

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// forgetPath is the admin endpoint's route that drops the contextlite
// app's caches; the operator CLI calls it after changing the control plane.
const forgetPath = "/contextlite/forget"

// AdminAPI adds POST /contextlite/forget to Caddy's admin endpoint: the
// running contextlite app drops its cached keys and tenants, so a change
// the operator CLI made to the control plane applies at the next request.
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
	return []caddy.AdminRoute{{Pattern: forgetPath, Handler: caddy.AdminHandlerFunc(a.forget)}}
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

// Interface guards
var (
	_ caddy.AdminRouter = (*AdminAPI)(nil)
	_ caddy.Provisioner = (*AdminAPI)(nil)
)
