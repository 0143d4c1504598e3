package api

import (
	"net/http"

	"github.com/contextlite/cloud/contextengine"
)

// storageReport is a tenant's totals and those of its workspaces.
type storageReport struct {
	Object       string      `json:"object"` // always "storage_info"
	TenantID     string      `json:"tenant_id"`
	Documents    int64       `json:"documents"`
	StorageBytes int64       `json:"storage_bytes"`
	Tokens       int64       `json:"tokens"`
	Workspaces   []workspace `json:"workspaces"`
}

// storageInfo serves GET /api/v1/storage/info.
func storageInfo(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, _ Principal) error {
	stats, err := t.Stats(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, storageReport{Object: "storage_info", TenantID: t.ID(),
		Documents: stats.Documents, StorageBytes: stats.StorageBytes, Tokens: stats.Tokens, Workspaces: workspacesOf(stats.Workspaces)})
}
