package console

import (
	"net/http"
	"slices"

	"github.com/contextlite/cloud/metering"
	"github.com/contextlite/cloud/tenancy"
)

// billingData is what the billing page shows.
type billingData struct {
	Tier         string
	Period       metering.Period
	Subscription string   // the subscription's Stripe id; "" when there is none
	State        string   // the subscription's state, as the control plane knows it
	Off          string   // why the tier cannot be changed here, if it cannot
	Tiers        []string // the tiers to change to
	Requested    string   // the tier just asked for, if any
}

// billingPage shows the plan: tier, period and subscription, the tiers to
// change to and the way to Stripe's customer portal.
func (c *Console) billingPage(w http.ResponseWriter, r *http.Request, s session) {
	c.showBilling(w, r, s, http.StatusOK, "")
}

// changeTier asks Stripe for another tier, as the API does: the tier
// changes when Stripe confirms the subscription.
func (c *Console) changeTier(w http.ResponseWriter, r *http.Request, s session) {
	tier := r.PostFormValue("tier")
	if _, _, err := c.cfg.API.ChangeTierFor(r, s.Caller.Principal, tier); err != nil {
		c.failWith(w, r, err)
		return
	}
	c.showBilling(w, r, s, http.StatusAccepted, tier)
}

// showBilling renders the billing page with status; requested is the tier
// just asked for, if any.
func (c *Console) showBilling(w http.ResponseWriter, r *http.Request, s session, status int, requested string) {
	t, err := c.cfg.API.TenantOf(r.Context(), s.Caller.Principal)
	if err != nil {
		c.failWith(w, r, err)
		return
	}
	d := billingData{Tier: t.Tier, Period: metering.PeriodAt(c.cfg.Now(), t.BillingAnchor),
		Subscription: t.StripeSubscriptionID, State: subscriptionState(t), Requested: requested,
		Tiers: slices.DeleteFunc(tenancy.TierOrder(), func(name string) bool { return name == t.Tier })}
	if e, ok := refusal(c.cfg.API.BillingAvailable()); ok {
		d.Off = e.Message
	}
	c.render(w, r, status, "billing", forSession(s, "Billing", d))
}

// subscriptionState describes t's subscription from what Stripe's
// webhooks told the control plane.
func subscriptionState(t tenancy.Tenant) string {
	switch {
	case t.StripeSubscriptionID == "":
		return "none"
	case !t.PaymentFailedAt.IsZero():
		return "payment failing since " + t.PaymentFailedAt.UTC().Format("2006-01-02")
	}
	return "active"
}

// billingPortal sends the caller to Stripe's customer portal, which leads
// back to the billing page. Another site's links to it are refused.
func (c *Console) billingPortal(w http.ResponseWriter, r *http.Request, s session) {
	if crossSite(r) {
		c.fail(w, r, http.StatusForbidden, "Open the billing portal from the billing page.")
		return
	}
	u, err := c.cfg.API.PortalURLFor(r.Context(), s.Caller.Principal, "https://"+r.Host+"/console/billing")
	if err != nil {
		c.failWith(w, r, err)
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}
