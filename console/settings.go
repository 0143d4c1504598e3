package console

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/billing"
	"github.com/contextlite/cloud/domains"
	"github.com/contextlite/cloud/tenancy"
)

// Settings holds the API's operations behind the billing, settings and
// audit log pages (api.Handler).
type Settings interface {
	TenantOf(ctx context.Context, p api.Principal) (tenancy.Tenant, error)
	BillingAvailable() error
	ChangeTierFor(r *http.Request, p api.Principal, tier string) (tenancy.Tenant, billing.Subscription, error)
	PortalURLFor(ctx context.Context, p api.Principal, returnURL string) (string, error)
	WebhookOf(ctx context.Context, p api.Principal) (tenancy.Webhook, error)
	SetWebhookFor(r *http.Request, p api.Principal, url string, rotate bool) (tenancy.Webhook, bool, error)
	DomainsOf(ctx context.Context, p api.Principal) ([]domains.Claim, error)
	ClaimDomainFor(r *http.Request, p api.Principal, name string) (domains.Claim, error)
	VerifyDomainFor(ctx context.Context, p api.Principal, name string) (domains.Claim, error)
	DeleteDomainFor(r *http.Request, p api.Principal, name string) error
	SSOAvailable(p api.Principal) error
	SSOOf(ctx context.Context, p api.Principal) (tenancy.SSOConfig, error)
	SetSSOFor(r *http.Request, p api.Principal, c tenancy.SSOConfig) (tenancy.SSOConfig, error)
	DeleteSSOFor(r *http.Request, p api.Principal) error
	DeleteTenantFor(r *http.Request, p api.Principal, confirm string) (time.Time, error)
	AuditPage(ctx context.Context, p api.Principal, cursor string, limit int) ([]tenancy.AuditEvent, string, error)
}

// settingsData is what the settings page shows. The webhook's secret and
// the single sign-on's client secret are never shown here.
type settingsData struct {
	Slug       string           // the tenant's, typed to confirm its deletion
	PurgeDays  int              // how long a deleted tenant's data is kept
	Webhook    *tenancy.Webhook // nil: none set
	Domains    []domains.Claim
	DomainsOff string             // why domains cannot be used, if they cannot
	SSO        *tenancy.SSOConfig // nil: none set
	SSOOff     string             // why single sign-on cannot be used, if it cannot
}

// settings shows the notification webhook, the custom domains, single
// sign-on and the deletion of the tenant.
func (c *Console) settings(w http.ResponseWriter, r *http.Request, s session) {
	ctx, p := r.Context(), s.Caller.Principal
	d := settingsData{Slug: s.Caller.Tenant.Slug, PurgeDays: int(tenancy.DeletionGrace / (24 * time.Hour))}
	wh, err := c.cfg.API.WebhookOf(ctx, p)
	switch {
	case err == nil:
		d.Webhook = &wh
	case !isStatus(err, http.StatusNotFound):
		c.failWith(w, r, err)
		return
	}
	d.Domains, err = c.cfg.API.DomainsOf(ctx, p)
	if e, ok := refusal(err); ok {
		d.DomainsOff = e.Message
	} else if err != nil {
		c.internal(w, r, err)
		return
	}
	if e, ok := refusal(c.cfg.API.SSOAvailable(p)); ok {
		d.SSOOff = e.Message
	} else if sso, err := c.cfg.API.SSOOf(ctx, p); err == nil {
		d.SSO = &sso
	} else if !isStatus(err, http.StatusNotFound) {
		c.failWith(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "settings", forSession(s, "Settings", d))
}

// setWebhook sets the webhook's URL and shows its signing secret, this
// once, when it is new.
func (c *Console) setWebhook(w http.ResponseWriter, r *http.Request, s session) {
	wh, newSecret, err := c.cfg.API.SetWebhookFor(r, s.Caller.Principal, r.PostFormValue("url"), r.PostFormValue("rotate_secret") != "")
	if err != nil {
		c.failWith(w, r, err)
		return
	}
	if !newSecret {
		http.Redirect(w, r, "/console/settings", http.StatusSeeOther)
		return
	}
	p := forSession(s, "Webhook signing secret", wh)
	p.Copy = true
	c.render(w, r, http.StatusOK, "webhook_secret", p)
}

// claimDomain claims a domain; the settings page then shows its TXT record.
func (c *Console) claimDomain(w http.ResponseWriter, r *http.Request, s session) {
	if _, err := c.cfg.API.ClaimDomainFor(r, s.Caller.Principal, r.PostFormValue("domain")); err != nil {
		c.failWith(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/settings#domains", http.StatusSeeOther)
}

// verifyDomain looks the domain's TXT record up.
func (c *Console) verifyDomain(w http.ResponseWriter, r *http.Request, s session) {
	if _, err := c.cfg.API.VerifyDomainFor(r.Context(), s.Caller.Principal, r.PathValue("domain")); err != nil {
		c.failWith(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/settings#domains", http.StatusSeeOther)
}

// deleteDomain drops the claim of a domain.
func (c *Console) deleteDomain(w http.ResponseWriter, r *http.Request, s session) {
	if err := c.cfg.API.DeleteDomainFor(r, s.Caller.Principal, r.PathValue("domain")); err != nil {
		c.failWith(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/settings#domains", http.StatusSeeOther)
}

// setSSO sets single sign-on.
func (c *Console) setSSO(w http.ResponseWriter, r *http.Request, s session) {
	_, err := c.cfg.API.SetSSOFor(r, s.Caller.Principal, tenancy.SSOConfig{Issuer: r.PostFormValue("issuer"),
		ClientID: r.PostFormValue("client_id"), ClientSecret: r.PostFormValue("client_secret"), Audience: r.PostFormValue("audience")})
	if err != nil {
		c.failWith(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/settings#sso", http.StatusSeeOther)
}

// deleteSSO removes single sign-on.
func (c *Console) deleteSSO(w http.ResponseWriter, r *http.Request, s session) {
	if err := c.cfg.API.DeleteSSOFor(r, s.Caller.Principal); err != nil {
		c.failWith(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/settings#sso", http.StatusSeeOther)
}

// deleteTenant deletes the tenant when the form names its slug, and ends
// the session.
func (c *Console) deleteTenant(w http.ResponseWriter, r *http.Request, s session) {
	purge, err := c.cfg.API.DeleteTenantFor(r, s.Caller.Principal, r.PostFormValue("confirm"))
	if e, ok := refusal(err); ok && e.Code == "confirmation_required" {
		c.fail(w, r, e.Status, "Type "+s.Caller.Tenant.Slug+", the tenant's name in its address, exactly to delete the tenant.")
		return
	}
	if err != nil {
		c.failWith(w, r, err)
		return
	}
	if err := c.endSession(r.Context(), w, r); err != nil {
		c.internal(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "tenant_deleted", page{Title: "Tenant deleted", Data: purge})
}

// refusal returns err as the API's client error (a 4xx), if it is one.
func refusal(err error) (*api.Error, bool) {
	e, ok := errors.AsType[*api.Error](err)
	return e, ok && e.Status < http.StatusInternalServerError
}

// isStatus reports whether err is the API's error with status.
func isStatus(err error, status int) bool {
	e, ok := errors.AsType[*api.Error](err)
	return ok && e.Status == status
}
