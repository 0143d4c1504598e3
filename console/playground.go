package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/contextlite/cloud/api"
)

// unlimitedBudget is the top of the budget slider when the tier sets no
// limit of tokens per query.
const unlimitedBudget = 64000

// playgroundData is what the playground shows: its form and, once asked,
// the assembled context.
type playgroundData struct {
	Workspaces workspaceChoice
	Query      string
	Budget     int // the requested max_tokens
	MaxBudget  int // the slider's top: the tier's limit, if any
	TierLimit  int // tokens per query the tier allows; 0: no limit
	Result     *api.Assembly
	Items      []itemRow // the Result's
}

// playground shows the form of an assembly.
func (c *Console) playground(w http.ResponseWriter, r *http.Request, s session) {
	p := s.Caller.Principal
	choice, err := c.workspaces(r.Context(), p, "")
	if err != nil {
		c.failWith(w, r, err)
		return
	}
	budget, _ := api.TokenBudget(0, p.TokensPerQuery)
	c.showPlayground(w, r, s, http.StatusOK, "", playgroundData{Workspaces: choice, Budget: budget})
}

// assemble assembles the context the form asks for, as POST
// /api/v1/context/assemble does (a metered query), and shows it.
func (c *Console) assemble(w http.ResponseWriter, r *http.Request, s session) {
	ctx, p := r.Context(), s.Caller.Principal
	choice, err := c.workspaces(ctx, p, r.PostFormValue("workspace"))
	if err != nil {
		c.failWith(w, r, err)
		return
	}
	d := playgroundData{Workspaces: choice, Query: strings.TrimSpace(r.PostFormValue("query"))}
	d.Budget, err = strconv.Atoi(r.PostFormValue("max_tokens"))
	if err != nil || d.Budget < 1 {
		d.Budget, _ = api.TokenBudget(0, p.TokensPerQuery)
		c.showPlayground(w, r, s, http.StatusUnprocessableEntity, "Choose a token budget of at least 1 token.", d)
		return
	}
	a, err := c.cfg.API.AssembleFor(ctx, p, api.AssembleRequest{Query: d.Query, MaxTokens: d.Budget, Workspace: choice.Selected})
	if err != nil {
		if e := api.ErrorFrom(err); e.Status < http.StatusInternalServerError {
			c.showPlayground(w, r, s, e.Status, e.Message, d)
			return
		}
		c.internal(w, r, err)
		return
	}
	d.Result, d.Items = &a, itemRows(a.Items)
	c.showPlayground(w, r, s, http.StatusOK, "", d)
}

// showPlayground renders the playground with status and error msg.
func (c *Console) showPlayground(w http.ResponseWriter, r *http.Request, s session, status int, msg string, d playgroundData) {
	d.TierLimit = max(s.Caller.Principal.TokensPerQuery, 0)
	d.MaxBudget = d.TierLimit
	if d.MaxBudget == 0 {
		d.MaxBudget = unlimitedBudget
	}
	pg := forSession(s, "Playground", d)
	pg.Error, pg.Script = msg, "budget.js"
	c.render(w, r, status, "playground", pg)
}
