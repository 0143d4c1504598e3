package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/contextlite/cloud/tenancy"
)

// Signup serves POST /signup on the apex domain: {email, company} creates
// a tenant, its storage and its first admin key.
type Signup struct {
	Service   *tenancy.Service
	Customers Customers // nil when billing is off
	// CARoot is the file of the local CA's root certificate, which clients
	// must trust; empty: the certificates are publicly trusted.
	CARoot string
	Logger *slog.Logger // nil: discard
}

// Customers makes tenants' billing accounts.
type Customers interface {
	EnsureCustomer(ctx context.Context, t tenancy.Tenant) (string, error)
}

// customerTimeout bounds the billing account made at signup; when it
// fails, billing makes it later.
const customerTimeout = 10 * time.Second

// signupRequest is the body of a signup.
type signupRequest struct {
	Email   string `json:"email"`
	Company string `json:"company"`
}

// signupResponse is shown once: it holds the only copy of the key.
type signupResponse struct {
	Object     string `json:"object"` // always "signup"
	TenantID   string `json:"tenant_id"`
	Slug       string `json:"slug"`
	Tier       string `json:"tier"`
	APIKey     string `json:"api_key"`
	URL        string `json:"url"`
	Quickstart string `json:"quickstart"`
}

// ServeHTTP creates the tenant.
func (s *Signup) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	err := s.signup(w, r)
	if err == nil {
		return
	}
	e := ErrorFrom(err)
	if e.Status >= http.StatusInternalServerError && s.Logger != nil {
		s.Logger.ErrorContext(r.Context(), "signup failed", "error", err)
	}
	WriteError(w, e.Status, e.Code, e.Message)
}

func (s *Signup) signup(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return &Error{http.StatusMethodNotAllowed, "method_not_allowed", "sign up with POST"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	var req signupRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	out, err := s.Create(r, req.Email, req.Company)
	if err != nil {
		return err
	}
	res := out.Result
	return writeJSON(w, http.StatusCreated, signupResponse{
		Object: "signup", TenantID: res.Tenant.ID, Slug: res.Tenant.Slug, Tier: res.Tenant.Tier,
		APIKey: res.APIKey, URL: out.URL, Quickstart: out.Quickstart,
	})
}

// SignupOutcome is a signup's answer, shown once: the tenant and its
// first key, the tenant's API URL and the filled-in quickstart.
type SignupOutcome struct {
	Result     tenancy.SignupResult
	URL        string
	Quickstart string
}

// Create signs up, as POST /signup does, for a signup that came in as r
// (whose host names the tenant's URL). Its errors are *Error values
// naming the problem, or failures of the server.
func (s *Signup) Create(r *http.Request, email, company string) (SignupOutcome, error) {
	res, err := s.Service.Signup(r.Context(), email, company)
	if err != nil {
		return SignupOutcome{}, signupError(err)
	}
	s.createCustomer(r.Context(), res.Tenant)
	url := tenantURL(r, res.Tenant.Slug)
	guide := Quickstart(QuickstartParams{URL: url, CallURL: callURL(r, url), Key: res.APIKey, CARoot: s.CARoot})
	return SignupOutcome{Result: res, URL: url, Quickstart: guide}, nil
}

// createCustomer makes the new tenant's billing account, if billing is
// on; a failure is logged and retried by billing's background work.
func (s *Signup) createCustomer(ctx context.Context, t tenancy.Tenant) {
	if s.Customers == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, customerTimeout)
	defer cancel()
	if _, err := s.Customers.EnsureCustomer(ctx, t); err != nil && s.Logger != nil {
		s.Logger.WarnContext(ctx, "billing account not created at signup; retrying in the background", "tenant", t.ID, "error", err)
	}
}

// tenantURL returns the base URL of a tenant's API: its subdomain of the
// apex host the signup came to, port included.
func tenantURL(r *http.Request, slug string) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + slug + "." + r.Host
}

// signupError maps signup failures to client errors.
func signupError(err error) error {
	switch {
	case errors.Is(err, tenancy.ErrInvalidEmail):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_email", Message: "email must be a valid address"}
	case errors.Is(err, tenancy.ErrReservedSlug), errors.Is(err, tenancy.ErrInvalidSlug), errors.Is(err, tenancy.ErrInvalidCompany):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_company", Message: err.Error()}
	case errors.Is(err, tenancy.ErrSlugTaken):
		return &Error{Status: http.StatusConflict, Code: "slug_taken", Message: "no free subdomain for this company name"}
	}
	return err
}
