package console

import (
	"bytes"
	"net/http"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/tenancy"
)

// page is what a template renders.
type page struct {
	Title  string
	Error  string
	CSRF   string          // the token of the page's forms
	Tenant *tenancy.Tenant // nil: not logged in
	Copy   bool            // loads copy.js, for the copy buttons
	// Refresh, when set, is a URL the browser goes on to at once (a
	// redirect that a form's submission may not make; see ssoStart).
	Refresh string
	Script  string // another script of static/ the page loads; "": none
	Data    any
}

// forSession returns a page of logged-in session s.
func forSession(s session, title string, data any) page {
	return page{Title: title, CSRF: s.CSRFSecret, Tenant: &s.Caller.Tenant, Data: data}
}

// render writes page name with status.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	var b bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&b, "layout", p); err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "console page not rendered", "page", name, "error", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// fail answers with an error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "error", page{Title: http.StatusText(status), Error: msg})
}

// failWith answers err as the API would: its status and message, or a
// logged 500.
func (c *Console) failWith(w http.ResponseWriter, r *http.Request, err error) {
	e := api.ErrorFrom(err)
	if e.Status >= http.StatusInternalServerError {
		c.internal(w, r, err)
		return
	}
	c.fail(w, r, e.Status, e.Message)
}

// internal logs err and answers 500.
func (c *Console) internal(w http.ResponseWriter, r *http.Request, err error) {
	c.cfg.Logger.ErrorContext(r.Context(), "console request failed", "path", r.URL.Path, "error", err)
	c.fail(w, r, http.StatusInternalServerError, "Something went wrong on our side; try again.")
}
