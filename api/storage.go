package api

import (
	"net/http"

	"github.com/contextlite/cloud/contextengine"
)

// storageReport is a tenant's totals and those of its workspaces.
type storageReport struct {
	TenantID string `json:"tenant_id"`
	*contextengine.Stats
}

// storageInfo serves GET /api/v1/storage/info.
func storageInfo(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, _ Principal) error {
	stats, err := t.Stats(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, storageReport{TenantID: t.ID(), Stats: stats})
}
