package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/tenancy"
)

// listWorkspaces serves GET /api/v1/workspaces.
func listWorkspaces(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, _ Principal) error {
	ws, err := t.Workspaces(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(workspacesOf(ws), ""))
}

// WorkspacesOf returns caller p's workspaces, as GET /api/v1/workspaces
// lists them.
func (h *Handler) WorkspacesOf(ctx context.Context, p Principal) ([]contextengine.Workspace, error) {
	var ws []contextengine.Workspace
	err := h.onTenant(ctx, p, scopeRead, false, func(t *contextengine.Tenant) (err error) {
		ws, err = t.Workspaces(ctx)
		return err
	})
	return ws, err
}

// workspaceName is the body of POST /api/v1/workspaces.
type workspaceName struct {
	Name string `json:"name"`
}

// createWorkspace serves POST /api/v1/workspaces.
func createWorkspace(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, _ Principal) error {
	var req workspaceName
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := t.CreateWorkspace(r.Context(), req.Name); err != nil {
		return err
	}
	ws, err := t.Workspaces(r.Context())
	if err != nil {
		return err
	}
	for _, w2 := range ws {
		if w2.Name == req.Name {
			return writeJSON(w, http.StatusCreated, workspaceOf(w2))
		}
	}
	// Deleted between the two calls.
	return fmt.Errorf("workspace %s: %w", req.Name, contextengine.ErrWorkspaceMissing)
}

// deleteWorkspace serves DELETE /api/v1/workspaces/{name}; it deletes the
// workspace's documents too. The default workspace cannot be deleted.
func (h *Handler) deleteWorkspace(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, p Principal) error {
	if err := t.DeleteWorkspace(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	h.audit(r, p, tenancy.AuditWorkspaceDelete, r.PathValue("name"))
	w.WriteHeader(http.StatusNoContent)
	return nil
}
