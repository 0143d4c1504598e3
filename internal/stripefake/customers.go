package stripefake

import (
	"net/http"
	"strings"
)

// customer is a Stripe customer in its JSON form.
type customer struct {
	ID       string            `json:"id"`
	Object   string            `json:"object"`
	Created  int64             `json:"created"`
	Email    string            `json:"email"`
	Name     string            `json:"name"`
	Metadata map[string]string `json:"metadata"`
	Livemode bool              `json:"livemode"`
	Deleted  bool              `json:"deleted,omitempty"`
}

// deletedObject is Stripe's answer for a deleted object.
type deletedObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

func (c *customer) deletedStub() deletedObject {
	return deletedObject{ID: c.ID, Object: c.Object, Deleted: true}
}

// createCustomer serves POST /v1/customers.
func (s *Server) createCustomer(c *call) (any, *apiError) {
	cus := &customer{Object: "customer", Created: c.now.Unix()}
	if err := cus.update(c); err != nil {
		return nil, err
	}
	cus.ID = s.newID("cus")
	s.customers.add(cus.ID, cus)
	return cus, nil
}

// getCustomer serves GET /v1/customers/{id}; like Stripe, it answers a
// deleted customer with a stub marked deleted.
func (s *Server) getCustomer(c *call) (any, *apiError) {
	cus, ok := s.customers.get(c.id)
	if !ok {
		return nil, noSuch(http.StatusNotFound, "customer", c.id, "id")
	}
	if cus.Deleted {
		return cus.deletedStub(), nil
	}
	return cus, nil
}

// updateCustomer serves POST /v1/customers/{id}.
func (s *Server) updateCustomer(c *call) (any, *apiError) {
	cus := s.liveCustomer(c.id)
	if cus == nil {
		return nil, noSuch(http.StatusNotFound, "customer", c.id, "id")
	}
	next := *cus
	if err := next.update(c); err != nil {
		return nil, err
	}
	*cus = next
	return cus, nil
}

// deleteCustomer serves DELETE /v1/customers/{id}; like Stripe, it also
// cancels the customer's subscriptions at once.
func (s *Server) deleteCustomer(c *call) (any, *apiError) {
	cus := s.liveCustomer(c.id)
	if cus == nil {
		return nil, noSuch(http.StatusNotFound, "customer", c.id, "id")
	}
	cus.Deleted = true
	for _, sub := range s.subs.all() {
		if sub.Customer == cus.ID && sub.Status != statusCanceled {
			sub.cancel(c.now.Unix())
		}
	}
	return cus.deletedStub(), nil
}

// update applies the email, name and metadata parameters.
func (cus *customer) update(c *call) *apiError {
	if email := c.form.Get("email"); email != "" && !strings.Contains(email, "@") {
		e := invalidParam("email", "Invalid email address: %s", email)
		e.Code = "email_invalid"
		return e
	}
	md, err := updateMetadata(cus.Metadata, c.form)
	if err != nil {
		return err
	}
	cus.Metadata = md
	if c.form.Has("email") {
		cus.Email = c.form.Get("email")
	}
	if c.form.Has("name") {
		cus.Name = c.form.Get("name")
	}
	return nil
}

// liveCustomer returns the customer id unless it is missing or deleted.
func (s *Server) liveCustomer(id string) *customer {
	cus, ok := s.customers.get(id)
	if !ok || cus.Deleted {
		return nil
	}
	return cus
}
