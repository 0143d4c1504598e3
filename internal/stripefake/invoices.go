package stripefake

import (
	"net/http"

	"github.com/stripe/stripe-go/v76"
)

// invoiceStatuses are the statuses a Stripe invoice can have.
var invoiceStatuses = map[string]bool{
	"draft": true, "open": true, "paid": true, "uncollectible": true, "void": true,
}

// invoice is a Stripe invoice in its JSON form; the fake keeps no lines.
type invoice struct {
	ID           string  `json:"id"`
	Object       string  `json:"object"`
	Customer     string  `json:"customer"`
	Subscription *string `json:"subscription"`
	Status       string  `json:"status"`
	Paid         bool    `json:"paid"`
	AmountDue    int64   `json:"amount_due"`
	Currency     string  `json:"currency"`
	Created      int64   `json:"created"`
	Livemode     bool    `json:"livemode"`
}

// getInvoice serves GET /v1/invoices/{id}.
func (s *Server) getInvoice(c *call) (any, *apiError) {
	inv, ok := s.invoices.get(c.id)
	if !ok {
		return nil, noSuch(http.StatusNotFound, "invoice", c.id, "id")
	}
	return inv, nil
}

// AddInvoice adds an invoice of customer (and of subscription, if not
// empty) with status, as Stripe's billing would make one, and returns it.
// It fails the test for an unknown status. Call it from the test goroutine.
func (s *Server) AddInvoice(customer, subscription, status string) *stripe.Invoice {
	s.t.Helper()
	if !invoiceStatuses[status] {
		s.t.Fatalf("stripefake: unknown invoice status %q", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inv := &invoice{ID: s.newID("in"), Object: "invoice", Customer: customer, Status: status,
		Paid: status == "paid", AmountDue: 1900, Currency: "usd", Created: s.clock().Unix()}
	if subscription != "" {
		inv.Subscription = &subscription
	}
	s.invoices.add(inv.ID, inv)
	return convertAll[stripe.Invoice]([]*invoice{inv})[0]
}

// SetInvoiceStatus sets the status of invoice id, as a payment or Stripe's
// billing would; it fails the test if there is no such invoice or status.
// Call it from the test goroutine.
func (s *Server) SetInvoiceStatus(id, status string) {
	s.t.Helper()
	if !invoiceStatuses[status] {
		s.t.Fatalf("stripefake: unknown invoice status %q", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices.get(id)
	if !ok {
		s.t.Fatalf("stripefake: no such invoice %q", id)
	}
	inv.Status, inv.Paid = status, status == "paid"
}
