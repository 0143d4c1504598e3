package tenancy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Actors of audit events that are not API keys.
const (
	ActorJWT      = "jwt"      // a caller authenticated by a JWT
	ActorOperator = "operator" // the service operator
	ActorSystem   = "system"   // the service itself
)

// Audit actions.
const (
	AuditKeyCreate            = "key.create"
	AuditKeyRevoke            = "key.revoke"
	AuditKeyRotate            = "key.rotate"
	AuditTierChange           = "tier.change"
	AuditWorkspaceDelete      = "workspace.delete"
	AuditTenantDelete         = "tenant.delete"
	AuditSettingsNotification = "settings.notifications"
	AuditSettingsDomain       = "settings.domains"
	AuditSettingsSSO          = "settings.sso"
	AuditDocumentDelete       = "document.delete"
)

// MaxAuditUserAgent is the most bytes of a user agent an audit event keeps.
const MaxAuditUserAgent = 256

// AuditTier is the smallest tier that may read its audit log.
const AuditTier = "pro"

// AuditEvent is one entry of a tenant's append-only audit log.
type AuditEvent struct {
	ID        int64     `json:"id"` // monotonic; set by the store
	TenantID  string    `json:"-"`
	Actor     string    `json:"actor"`  // key id, ActorJWT, ActorOperator or ActorSystem
	Action    string    `json:"action"` // AuditKeyCreate, ...
	Target    string    `json:"target"` // key id, workspace name, document id, ...
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	RequestID string    `json:"request_id"`
	CreatedAt time.Time `json:"created_at"`
}

// basicAuditActions are the actions the pro tier sees.
var basicAuditActions = []string{
	AuditKeyCreate, AuditKeyRevoke, AuditKeyRotate, AuditTierChange,
	AuditWorkspaceDelete, AuditTenantDelete, AuditSettingsNotification, AuditSettingsDomain, AuditSettingsSSO,
}

// AuditActions returns the actions a tenant of tier may read: nil and false
// when it sees no audit log (free, starter and unknown tiers).
func AuditActions(tier string) ([]string, bool) {
	switch tier {
	case "pro":
		return slices.Clone(basicAuditActions), true
	case "enterprise":
		return append(slices.Clone(basicAuditActions), AuditDocumentDelete), true
	}
	return nil, false
}

// truncateUTF8 returns s cut to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

const auditColumns = "id, tenant_id, actor, action, target, ip, user_agent, request_id, created_at"

func (s *sqlStore) AddAudit(ctx context.Context, e AuditEvent) error {
	switch {
	case e.TenantID == "":
		return fmt.Errorf("add audit event %q: no tenant", e.Action)
	case e.Action == "":
		return fmt.Errorf("add audit event of tenant %s: no action", e.TenantID)
	case e.Actor == "":
		return fmt.Errorf("add audit event %q of tenant %s: no actor", e.Action, e.TenantID)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	_, err := s.db.exec(ctx, "INSERT INTO audit_events (tenant_id, actor, action, target, ip, user_agent, request_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		e.TenantID, e.Actor, e.Action, e.Target, e.IP, truncateUTF8(e.UserAgent, MaxAuditUserAgent), e.RequestID, e.CreatedAt)
	if err != nil {
		return fmt.Errorf("add audit event %q of tenant %s: %w", e.Action, e.TenantID, err)
	}
	return nil
}

func (s *sqlStore) AuditEvents(ctx context.Context, tenantID string, after int64, limit int, actions []string) ([]AuditEvent, error) {
	events := []AuditEvent{}
	if limit <= 0 || (actions != nil && len(actions) == 0) {
		return events, nil
	}
	var b strings.Builder
	b.WriteString("SELECT " + auditColumns + " FROM audit_events WHERE tenant_id = $1 AND id > $2")
	args := []any{tenantID, after}
	if actions != nil {
		b.WriteString(" AND action IN (")
		for i, a := range actions {
			if i > 0 {
				b.WriteString(", ")
			}
			args = append(args, a)
			fmt.Fprintf(&b, "$%d", len(args))
		}
		b.WriteString(")")
	}
	args = append(args, limit)
	fmt.Fprintf(&b, " ORDER BY id LIMIT $%d", len(args))
	err := s.db.query(ctx, func(row scanner) error {
		var e AuditEvent
		var created timeCol
		err := row.Scan(&e.ID, &e.TenantID, &e.Actor, &e.Action, &e.Target, &e.IP, &e.UserAgent, &e.RequestID, &created)
		e.CreatedAt = created.T
		events = append(events, e)
		return err
	}, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("audit events of tenant %s: %w", tenantID, err)
	}
	return events, nil
}
