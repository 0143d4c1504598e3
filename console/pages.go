package console

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/tenancy"
)

// maxForm bounds a form's body.
const maxForm = 16 << 10

// home sends the visitor to the overview, or to log in.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	to := "/console/login"
	if _, err := c.session(r); err == nil {
		to = "/console/overview"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// signupFields are the sign-up form's values.
type signupFields struct{ Email, Company string }

func (c *Console) signupForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "signup", page{Title: "Sign up", CSRF: formToken(w, r), Data: signupFields{}})
}

// signup creates the tenant and shows its first key, this once.
func (c *Console) signup(w http.ResponseWriter, r *http.Request) {
	if !c.anonymousForm(w, r) {
		return
	}
	f := signupFields{Email: r.PostFormValue("email"), Company: r.PostFormValue("company")}
	out, err := c.cfg.Signups.Create(r, f.Email, f.Company)
	if e, ok := errors.AsType[*api.Error](err); ok && e.Status < http.StatusInternalServerError {
		c.render(w, r, e.Status, "signup", page{Title: "Sign up", Error: e.Message, CSRF: formToken(w, r), Data: f})
		return
	}
	if err != nil {
		c.internal(w, r, err)
		return
	}
	c.render(w, r, http.StatusCreated, "signup_done", page{Title: "Your API key", Copy: true, Data: out})
}

// anonymousForm parses a form posted before a session and checks its
// CSRF token; it answers and returns false when that fails.
func (c *Console) anonymousForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	if !formTokenOK(r) {
		c.fail(w, r, http.StatusForbidden, "The form's security token is missing or stale; reload the page and try again.")
		return false
	}
	return true
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.loginPage(w, r, http.StatusOK, "", "")
}

// loginData is what the login page shows besides its forms.
type loginData struct {
	SSO    bool   // single sign-on is offered
	Tenant string // the tenant of the single sign-on form
}

// loginPage shows the login forms with status and, unless "", an error;
// tenant fills the single sign-on form.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request, status int, msg, tenant string) {
	c.render(w, r, status, "login", page{Title: "Log in", Error: msg, CSRF: formToken(w, r),
		Data: loginData{SSO: c.cfg.SSO != nil, Tenant: tenant}})
}

// login exchanges an admin-scope key for a session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !c.anonymousForm(w, r) {
		return
	}
	key := r.PostFormValue("api_key")
	caller, err := c.cfg.Callers.ResolveKey(r.Context(), key)
	if err == nil && !c.logins.allow(caller.Tenant.ID, c.cfg.Now()) {
		err = &api.Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "Too many logins to this tenant; wait a minute."}
	}
	if err == nil && !caller.Principal.Can(tenancy.ScopeAdmin) {
		err = &api.Error{Status: http.StatusForbidden, Code: "insufficient_scope", Message: "The console needs a key with the admin scope."}
	}
	if err == nil {
		err = c.openSession(w, r, tenancy.Session{TenantID: caller.Tenant.ID, Kind: tenancy.SessionKey,
			KeyID: caller.Principal.KeyID, KeyHash: c.cfg.Hasher.Hash(key)})
	}
	if e, ok := errors.AsType[*api.Error](err); ok && e.Status < http.StatusInternalServerError {
		c.loginPage(w, r, e.Status, e.Message, "")
		return
	}
	if err != nil {
		c.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/overview", http.StatusSeeOther)
}

// logout ends the session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, _ session) {
	if err := c.endSession(r.Context(), w, r); err != nil {
		c.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// keys lists the tenant's keys.
func (c *Console) keys(w http.ResponseWriter, r *http.Request, s session) {
	keys, err := c.cfg.API.KeysOf(r.Context(), s.Caller.Principal)
	if err != nil {
		c.failWith(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "keys", forSession(s, "API keys", keyRows(keys, c.cfg.Now())))
}

// createKey makes a key and shows it, this once.
func (c *Console) createKey(w http.ResponseWriter, r *http.Request, s session) {
	plain, k, err := c.cfg.API.CreateKeyFor(r, s.Caller.Principal, r.PostFormValue("name"), r.PostForm["scope"], nil)
	c.keyDone(w, r, s, "Key created", plain, k, err)
}

// rotateKey replaces a key and shows the new one, this once.
func (c *Console) rotateKey(w http.ResponseWriter, r *http.Request, s session) {
	secs, err := strconv.ParseInt(r.PostFormValue("grace_seconds"), 10, 64)
	if err != nil || secs < 0 || secs > int64(tenancy.MaxRotationGrace/time.Second) {
		c.fail(w, r, http.StatusUnprocessableEntity, "Choose how long the old key keeps working: up to 30 days.")
		return
	}
	plain, k, err := c.cfg.API.RotateKeyFor(r, s.Caller.Principal, r.PathValue("id"), time.Duration(secs)*time.Second)
	c.keyDone(w, r, s, "Key rotated", plain, k, err)
}

// keyDone shows a new key, or why it was not made.
func (c *Console) keyDone(w http.ResponseWriter, r *http.Request, s session, title, plain string, k tenancy.APIKey, err error) {
	if err != nil {
		c.failWith(w, r, err)
		return
	}
	p := forSession(s, title, struct {
		Key  string
		Info tenancy.APIKey
	}{plain, k})
	p.Copy = true
	c.render(w, r, http.StatusCreated, "key_done", p)
}

// revokeKey revokes a key and goes back to the list.
func (c *Console) revokeKey(w http.ResponseWriter, r *http.Request, s session) {
	if err := c.cfg.API.RevokeKeyFor(r, s.Caller.Principal, r.PathValue("id")); err != nil {
		c.failWith(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/keys", http.StatusSeeOther)
}

// keyRow is a key as the list shows it.
type keyRow struct {
	tenancy.APIKey
	State string // active, expiring, revoked or expired
}

// keyRows returns the rows of keys at now.
func keyRows(keys []tenancy.APIKey, now time.Time) []keyRow {
	rows := make([]keyRow, len(keys))
	for i, k := range keys {
		state := "active"
		switch {
		case k.RevokedAt != nil:
			state = "revoked"
		case !k.Active(now):
			state = "expired"
		case k.ExpiresAt != nil:
			state = "expires " + k.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		rows[i] = keyRow{k, state}
	}
	return rows
}
