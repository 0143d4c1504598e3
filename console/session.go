package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/contextlite/cloud/access"
	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/sso"
	"github.com/contextlite/cloud/tenancy"
)

// IdleTimeout ends a session that has not been used for this long.
const IdleTimeout = 12 * time.Hour

// touchEvery is how often a session's use is written: the idle expiry
// counts from the last write, at most this much before the last use.
const touchEvery = time.Minute

// Cookies: __Host- names are accepted by browsers only from this host,
// over HTTPS, for Path=/ and without a Domain, so no subdomain can set them.
const (
	sessionCookie = "__Host-console_session"
	csrfCookie    = "__Host-console_csrf" // for the forms shown before a session
	csrfField     = "csrf"
)

// errNoSession means the request has no valid session.
var errNoSession = errors.New("no session")

// session is a request's valid session and the caller it acts as.
type session struct {
	tenancy.Session
	Caller access.Caller
}

// authedPage serves a page to a logged-in caller.
type authedPage func(w http.ResponseWriter, r *http.Request, s session)

// authed runs page for requests with a valid session (and, for a POST,
// its CSRF token); others go to the login page.
func (c *Console) authed(page authedPage) http.HandlerFunc {
	return c.authedWithin(maxForm, page)
}

// authedWithin is authed for forms of up to limit bytes, multipart
// (file uploads) or not.
func (c *Console) authedWithin(limit int64, page authedPage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		s, err := c.session(r)
		switch {
		case errors.Is(err, errNoSession) && r.Method == http.MethodGet:
			http.Redirect(w, r, "/console/login", http.StatusSeeOther)
		case errors.Is(err, errNoSession):
			c.fail(w, r, http.StatusUnauthorized, "Your session has ended; log in again.")
		case err != nil:
			c.internal(w, r, err)
		case r.Method == http.MethodPost && !c.readForm(w, r, limit): // answered
		case r.Method == http.MethodPost && !sameToken(r.PostFormValue(csrfField), s.CSRFSecret):
			c.fail(w, r, http.StatusForbidden, "The form's security token is missing or stale; reload the page and try again.")
		default:
			page(w, r, s)
		}
	}
}

// readForm reads the form r posts, of up to limit bytes, files held in
// memory; it answers and returns false when that fails.
func (c *Console) readForm(w http.ResponseWriter, r *http.Request, limit int64) bool {
	err := r.ParseForm() // ParseMultipartForm drops its error for other forms
	if err == nil {
		err = r.ParseMultipartForm(limit)
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok || errors.Is(err, multipart.ErrMessageTooLarge) {
		c.fail(w, r, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("The form is larger than %s; send fewer or smaller files.", humanize.IBytes(uint64(limit))))
		return false
	}
	if err != nil && !errors.Is(err, http.ErrNotMultipart) {
		c.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	return true
}

// session returns r's session if it is valid: not idle past its expiry,
// and what opened it still admits it (see sessionCaller).
func (c *Console) session(r *http.Request) (session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return session{}, errNoSession
	}
	ctx, hash, now := r.Context(), hashID(ck.Value), c.cfg.Now()
	se, err := c.cfg.Store.Session(ctx, hash)
	if errors.Is(err, tenancy.ErrNotFound) {
		return session{}, errNoSession
	}
	if err != nil {
		return session{}, err
	}
	if !now.Before(se.ExpiresAt) {
		return session{}, errors.Join(errNoSession, c.cfg.Store.DeleteSession(ctx, hash))
	}
	caller, err := c.sessionCaller(ctx, se)
	if errors.Is(err, errEnded) {
		return session{}, errors.Join(errNoSession, c.cfg.Store.DeleteSession(ctx, hash))
	}
	if err != nil {
		return session{}, err
	}
	if now.Sub(se.LastSeenAt) >= touchEvery {
		if err := c.cfg.Store.TouchSession(ctx, hash, now, now.Add(IdleTimeout)); err != nil {
			return session{}, err
		}
	}
	return session{Session: se, Caller: caller}, nil
}

// SessionTenant returns the tenant of r's session, or "" when r has none
// that is still open. It does not check what opened the session (the
// pages do): it tells a cluster node which node serves the request.
func (c *Console) SessionTenant(r *http.Request) (string, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return "", nil
	}
	se, err := c.cfg.Store.Session(r.Context(), hashID(ck.Value))
	if errors.Is(err, tenancy.ErrNotFound) || err == nil && !c.cfg.Now().Before(se.ExpiresAt) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("console session: %w", err)
	}
	return se.TenantID, nil
}

// errEnded means that what opened a session no longer admits it.
var errEnded = errors.New("session ended")

// ssoScopes are the scopes of a session opened through single sign-on:
// the tenant's identity provider vouches for an administrator.
var ssoScopes = []string{tenancy.ScopeAdmin}

// sessionCaller returns the caller session se acts as, checked now: a
// session of a key needs that key still active with the admin scope, as
// the API would accept it; a session of single sign-on needs its tenant
// admitted as the API admits it and still allowed the single sign-on of
// the session's issuer (enterprise tier, configuration kept). errEnded
// when that no longer holds.
func (c *Console) sessionCaller(ctx context.Context, se tenancy.Session) (access.Caller, error) {
	var caller access.Caller
	var err error
	switch se.Kind {
	case tenancy.SessionKey:
		caller, err = c.cfg.Callers.ResolveKeyHash(ctx, se.KeyHash)
	case tenancy.SessionSSO:
		caller, err = c.ssoCaller(ctx, se)
	default:
		return access.Caller{}, errEnded
	}
	if _, refused := errors.AsType[*api.Error](err); refused {
		return access.Caller{}, errEnded
	}
	if err != nil {
		return access.Caller{}, err
	}
	if caller.Tenant.ID != se.TenantID || !caller.Principal.Can(tenancy.ScopeAdmin) {
		return access.Caller{}, errEnded
	}
	return caller, nil
}

// ssoCaller returns the caller of se, a session of single sign-on.
func (c *Console) ssoCaller(ctx context.Context, se tenancy.Session) (access.Caller, error) {
	if c.cfg.SSO == nil {
		return access.Caller{}, errEnded
	}
	caller, err := c.cfg.Callers.ResolveTenant(ctx, se.TenantID)
	if err != nil {
		return access.Caller{}, err
	}
	err = c.cfg.SSO.Check(ctx, caller.Tenant, se.Issuer)
	if errors.Is(err, sso.ErrNotEligible) || errors.Is(err, sso.ErrNotConfigured) {
		return access.Caller{}, errEnded
	}
	if err != nil {
		return access.Caller{}, err
	}
	caller.Principal.Scopes = ssoScopes
	return caller, nil
}

// openSession starts session se, naming its tenant and what opened it,
// and sets its cookie. A session r had is ended: the id is new at each
// login.
func (c *Console) openSession(w http.ResponseWriter, r *http.Request, se tenancy.Session) error {
	ctx, now := r.Context(), c.cfg.Now()
	if old, err := r.Cookie(sessionCookie); err == nil {
		if err := c.cfg.Store.DeleteSession(ctx, hashID(old.Value)); err != nil {
			return err
		}
	}
	if _, err := c.cfg.Store.DeleteExpiredSessions(ctx, now); err != nil {
		return err
	}
	id := randomToken()
	se.IDHash, se.CSRFSecret = hashID(id), randomToken()
	se.CreatedAt, se.LastSeenAt, se.ExpiresAt = now, now, now.Add(IdleTimeout)
	if err := c.cfg.Store.CreateSession(ctx, se); err != nil {
		return fmt.Errorf("console login: %w", err)
	}
	http.SetCookie(w, cookie(sessionCookie, id))
	return nil
}

// endSession deletes r's session, if any, and clears its cookie.
func (c *Console) endSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	clearCookie(w, sessionCookie)
	return c.cfg.Store.DeleteSession(ctx, hashID(ck.Value))
}

// formToken returns the CSRF token of the forms shown before a session
// (double submit: the cookie and the form must match), setting the
// cookie if r has none.
func formToken(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(csrfCookie); err == nil && len(ck.Value) >= 32 {
		return ck.Value
	}
	token := randomToken()
	http.SetCookie(w, cookie(csrfCookie, token))
	return token
}

// formTokenOK reports whether r, a POST of a form shown before a
// session, carries its CSRF token in both the cookie and the form.
func formTokenOK(r *http.Request) bool {
	ck, err := r.Cookie(csrfCookie)
	return err == nil && len(ck.Value) >= 32 && sameToken(r.PostFormValue(csrfField), ck.Value)
}

// cookie returns a console cookie: HTTPS only, hidden from scripts, not
// sent with cross-site requests other than top-level navigations.
func cookie(name, value string) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

// sameToken compares tokens in constant time; an empty one never matches.
func sameToken(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// randomToken returns 256 random bits, base64url.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashID is how a session id is stored.
func hashID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}
