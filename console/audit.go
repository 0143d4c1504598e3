package console

import (
	"net/http"

	"github.com/contextlite/cloud/tenancy"
)

// auditPageSize is how many events a page of the audit log lists.
const auditPageSize = 50

// auditData is a page of the audit log.
type auditData struct {
	Events  []tenancy.AuditEvent
	First   bool   // the first page
	Next    string // the cursor of the next page; "" on the last
	Upgrade bool   // the tier reads no audit log
}

// audit lists the tenant's audit log, oldest first, a page at a time;
// tiers that read none get the API's 403 with the way to upgrade.
func (c *Console) audit(w http.ResponseWriter, r *http.Request, s session) {
	cursor := r.URL.Query().Get("cursor")
	events, next, err := c.cfg.API.AuditPage(r.Context(), s.Caller.Principal, cursor, auditPageSize)
	if e, ok := refusal(err); ok && e.Code == "upgrade_required" {
		p := forSession(s, "Audit log", auditData{Upgrade: true})
		p.Error = "Upgrade to see the audit log: " + e.Message + "."
		c.render(w, r, e.Status, "audit", p)
		return
	}
	if err != nil {
		c.failWith(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "audit", forSession(s, "Audit log", auditData{Events: events, First: cursor == "", Next: next}))
}
