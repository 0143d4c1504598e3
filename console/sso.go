package console

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/sso"
	"github.com/contextlite/cloud/tenancy"
)

// attemptCookie holds a single sign-on login under way, from its start to
// the callback (sso.AttemptTTL). Lax, it comes back with the provider's
// top-level redirect to the callback.
const attemptCookie = "__Host-console_sso"

// callbackPath is where identity providers send the browser back.
const callbackPath = "/console/sso/callback"

// maxTenantName bounds the tenant a single sign-on form names.
const maxTenantName = 100

// ssoStart starts a login through the identity provider of the tenant
// named by the login form (POST) or a link (GET ?tenant=): the attempt
// goes in a cookie and the browser to the provider. A form's submission
// may not be redirected to another origin (the CSP's form-action), so it
// gets a page that goes on to the provider; a link is redirected.
func (c *Console) ssoStart(w http.ResponseWriter, r *http.Request) {
	if c.cfg.SSO == nil {
		c.fail(w, r, http.StatusNotFound, "Single sign-on is not available on this service.")
		return
	}
	name := r.URL.Query().Get("tenant")
	if r.Method == http.MethodPost {
		if !c.anonymousForm(w, r) {
			return
		}
		name = r.PostFormValue("tenant")
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || len(name) > maxTenantName {
		c.loginPage(w, r, http.StatusUnprocessableEntity, "Enter your tenant's subdomain or id to log in with SSO.", "")
		return
	}
	caller, err := c.cfg.Callers.ResolveTenant(r.Context(), name)
	if err == nil && !c.ssoStarts.allow(caller.Tenant.ID, c.cfg.Now()) {
		err = &api.Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "Too many SSO logins to this tenant; wait a minute."}
	}
	var to string
	var a sso.Attempt
	if err == nil {
		to, a, err = c.cfg.SSO.Start(r.Context(), caller.Tenant, callbackURL(r))
	}
	if err != nil {
		c.ssoFailed(w, r, err, name)
		return
	}
	http.SetCookie(w, newAttemptCookie(a))
	if r.Method == http.MethodGet {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	host := "your identity provider"
	if u, err := url.Parse(to); err == nil {
		host = u.Host
	}
	c.render(w, r, http.StatusOK, "sso_continue", page{Title: "Continue to your identity provider", Refresh: to, Data: host})
}

// ssoCallback finishes a login the identity provider sent the browser
// back from: with the attempt of this browser's cookie (used once), the
// provider's state, code and ID token checked, it opens a session of the
// attempt's tenant with the admin scope.
func (c *Console) ssoCallback(w http.ResponseWriter, r *http.Request) {
	if c.cfg.SSO == nil {
		c.fail(w, r, http.StatusNotFound, "Single sign-on is not available on this service.")
		return
	}
	a, ok := attemptFrom(r)
	clearCookie(w, attemptCookie)
	q := r.URL.Query()
	switch {
	case !ok:
		c.ssoFailed(w, r, sso.ErrAttemptExpired, "")
		return
	case q.Has("error"):
		c.loginPage(w, r, http.StatusForbidden, "Your identity provider did not log you in ("+providerError(q.Get("error"))+").", "")
		return
	}
	caller, err := c.cfg.Callers.ResolveTenant(r.Context(), a.TenantID)
	if err != nil {
		c.ssoFailed(w, r, err, "")
		return
	}
	id, err := c.cfg.SSO.Finish(r.Context(), caller.Tenant, callbackURL(r), a, q.Get("state"), q.Get("code"))
	if err == nil {
		err = c.openSession(w, r, tenancy.Session{TenantID: caller.Tenant.ID, Kind: tenancy.SessionSSO,
			Issuer: id.Issuer, Subject: id.Subject})
	}
	if err != nil {
		c.ssoFailed(w, r, err, caller.Tenant.Slug)
		return
	}
	http.Redirect(w, r, "/console/overview", http.StatusSeeOther)
}

// ssoFailed shows the login page with why a single sign-on login to
// tenant failed: a 4xx for what the user or the provider got wrong, 502
// when the provider cannot be reached or read, a logged 500 otherwise.
func (c *Console) ssoFailed(w http.ResponseWriter, r *http.Request, err error, tenant string) {
	status, msg := ssoFailure(err)
	switch {
	case status == http.StatusBadGateway:
		c.cfg.Logger.WarnContext(r.Context(), "identity provider not usable", "error", err)
	case status >= http.StatusInternalServerError:
		c.internal(w, r, err)
		return
	}
	c.loginPage(w, r, status, msg, tenant)
}

// ssoFailure returns the status and message of a failed single sign-on
// login; 500 for errors it does not know.
func ssoFailure(err error) (int, string) {
	if e, ok := errors.AsType[*api.Error](err); ok {
		return e.Status, e.Message
	}
	switch {
	case errors.Is(err, sso.ErrNotEligible):
		return http.StatusForbidden, "Single sign-on needs the enterprise tier; log in with an API key."
	case errors.Is(err, sso.ErrNotConfigured):
		return http.StatusNotFound, "This tenant has no single sign-on set; log in with an API key."
	case errors.Is(err, sso.ErrAttemptExpired), errors.Is(err, sso.ErrStateMismatch), errors.Is(err, sso.ErrProviderRefused):
		return http.StatusBadRequest, sentence(err)
	case errors.Is(err, sso.ErrInvalidIDToken):
		return http.StatusUnauthorized, sentence(err)
	case errors.Is(err, sso.ErrDiscovery), errors.Is(err, sso.ErrIssuerMismatch), errors.Is(err, sso.ErrInvalidEndpoints),
		errors.Is(err, sso.ErrProviderDown):
		return http.StatusBadGateway, "The tenant's identity provider could not be reached or read; try again later."
	}
	return http.StatusInternalServerError, ""
}

// callbackURL is the redirect URI of r's host, the apex the console is
// served on.
func callbackURL(r *http.Request) string {
	return "https://" + r.Host + callbackPath
}

// newAttemptCookie holds a: its tenant, state, nonce, verifier and start,
// all random or public to this browser, joined by dots.
func newAttemptCookie(a sso.Attempt) *http.Cookie {
	ck := cookie(attemptCookie, strings.Join([]string{a.TenantID, a.State, a.Nonce, a.Verifier,
		strconv.FormatInt(a.Started.Unix(), 10)}, "."))
	ck.MaxAge = int(sso.AttemptTTL / time.Second)
	return ck
}

// attemptFrom returns the attempt of r's cookie, if it has a whole one.
func attemptFrom(r *http.Request) (sso.Attempt, bool) {
	ck, err := r.Cookie(attemptCookie)
	if err != nil {
		return sso.Attempt{}, false
	}
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 5 || slices.Contains(parts, "") {
		return sso.Attempt{}, false
	}
	started, err := strconv.ParseInt(parts[4], 10, 64)
	if err != nil {
		return sso.Attempt{}, false
	}
	return sso.Attempt{TenantID: parts[0], State: parts[1], Nonce: parts[2], Verifier: parts[3], Started: time.Unix(started, 0)}, true
}

// clearCookie tells the browser to drop cookie name.
func clearCookie(w http.ResponseWriter, name string) {
	ck := cookie(name, "")
	ck.MaxAge = -1
	http.SetCookie(w, ck)
}

// oauthErrorCode is the shape of OAuth 2.0 error codes.
var oauthErrorCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// providerError returns the provider's error code if it has the shape of
// one: the page shows nothing else a link could make it say.
func providerError(code string) string {
	if oauthErrorCode.MatchString(code) {
		return code
	}
	return "an error"
}

// sentence returns the text of err, an error of package sso written for
// users, as a sentence.
func sentence(err error) string {
	s := err.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s + "."
}
