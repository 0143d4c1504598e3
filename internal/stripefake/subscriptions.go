package stripefake

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const statusCanceled = "canceled"

// subscriptionStatuses are the statuses a Stripe subscription can have.
var subscriptionStatuses = map[string]bool{
	"incomplete": true, "incomplete_expired": true, "trialing": true, "active": true,
	"past_due": true, "canceled": true, "unpaid": true, "paused": true,
}

// subscription is a Stripe subscription in its JSON form.
type subscription struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Customer           string            `json:"customer"`
	Status             string            `json:"status"`
	Items              itemList          `json:"items"`
	Metadata           map[string]string `json:"metadata"`
	Created            int64             `json:"created"`
	StartDate          int64             `json:"start_date"`
	BillingCycleAnchor int64             `json:"billing_cycle_anchor"`
	CurrentPeriodStart int64             `json:"current_period_start"`
	CurrentPeriodEnd   int64             `json:"current_period_end"`
	CancelAtPeriodEnd  bool              `json:"cancel_at_period_end"`
	CancelAt           *int64            `json:"cancel_at"`
	CanceledAt         *int64            `json:"canceled_at"`
	EndedAt            *int64            `json:"ended_at"`
	CollectionMethod   string            `json:"collection_method"`
	Livemode           bool              `json:"livemode"`
}

// itemList is the list of a subscription's items.
type itemList struct {
	Object     string  `json:"object"`
	Data       []*item `json:"data"`
	HasMore    bool    `json:"has_more"`
	TotalCount int     `json:"total_count"`
	URL        string  `json:"url"`
}

// item is a subscription item.
type item struct {
	ID           string            `json:"id"`
	Object       string            `json:"object"`
	Created      int64             `json:"created"`
	Price        priceRef          `json:"price"`
	Quantity     int64             `json:"quantity"`
	Subscription string            `json:"subscription"`
	Metadata     map[string]string `json:"metadata"`
}

// priceRef is a price; the fake keeps no catalogue, so only its id is known.
type priceRef struct {
	ID     string `json:"id"`
	Object string `json:"object"`
}

// list is a page of a Stripe list.
type list struct {
	Object  string `json:"object"`
	Data    any    `json:"data"`
	HasMore bool   `json:"has_more"`
	URL     string `json:"url"`
}

// createSubscription serves POST /v1/subscriptions: the subscription starts
// active, with a one-month period anchored now.
func (s *Server) createSubscription(c *call) (any, *apiError) {
	cusID := c.form.Get("customer")
	if cusID == "" {
		return nil, missingParam("customer")
	}
	specs := indexed(c.form, "items")
	if len(specs) == 0 {
		return nil, missingParam("items")
	}
	if err := checkSubscriptionParams(c.form); err != nil {
		return nil, err
	}
	md, err := updateMetadata(nil, c.form)
	if err != nil {
		return nil, err
	}
	if s.liveCustomer(cusID) == nil {
		return nil, noSuch(http.StatusBadRequest, "customer", cusID, "customer")
	}
	items, err := changeItems(nil, specs)
	if err != nil {
		return nil, err
	}
	now := c.now.Unix()
	sub := &subscription{
		ID: s.newID("sub"), Object: "subscription", Customer: cusID, Status: "active",
		Metadata: md, Created: now, StartDate: now, BillingCycleAnchor: now,
		CurrentPeriodStart: now, CurrentPeriodEnd: addMonth(c.now).Unix(),
		CollectionMethod: "charge_automatically",
	}
	s.setItems(sub, items, now)
	if cape, _, _ := formBool(c.form, "cancel_at_period_end"); cape {
		sub.setCancelAtPeriodEnd(true, now)
	}
	s.subs.add(sub.ID, sub)
	return sub, nil
}

// getSubscription serves GET /v1/subscriptions/{id}.
func (s *Server) getSubscription(c *call) (any, *apiError) {
	sub, ok := s.subs.get(c.id)
	if !ok {
		return nil, noSuch(http.StatusNotFound, "subscription", c.id, "id")
	}
	return sub, nil
}

// updateSubscription serves POST /v1/subscriptions/{id}: items[i][id] with
// items[i][price] changes an item's price, items[i][price] alone adds an
// item, items[i][deleted]=true removes one.
func (s *Server) updateSubscription(c *call) (any, *apiError) {
	sub, ok := s.subs.get(c.id)
	if !ok {
		return nil, noSuch(http.StatusNotFound, "subscription", c.id, "id")
	}
	if sub.Status == statusCanceled && !onlyMetadata(c.form) {
		return nil, refused("A canceled subscription can only update its cancellation_details and metadata.")
	}
	if err := checkSubscriptionParams(c.form); err != nil {
		return nil, err
	}
	md, err := updateMetadata(sub.Metadata, c.form)
	if err != nil {
		return nil, err
	}
	items := sub.Items.Data
	if specs := indexed(c.form, "items"); len(specs) > 0 {
		if items, err = changeItems(items, specs); err != nil {
			return nil, err
		}
	}
	now := c.now.Unix()
	sub.Metadata = md
	s.setItems(sub, items, now)
	if cape, set, _ := formBool(c.form, "cancel_at_period_end"); set {
		sub.setCancelAtPeriodEnd(cape, now)
	}
	return sub, nil
}

// cancelSubscription serves DELETE /v1/subscriptions/{id}; like Stripe, it
// answers resource_missing for a subscription already canceled.
func (s *Server) cancelSubscription(c *call) (any, *apiError) {
	sub, ok := s.subs.get(c.id)
	if !ok || sub.Status == statusCanceled {
		return nil, noSuch(http.StatusNotFound, "subscription", c.id, "id")
	}
	sub.cancel(c.now.Unix())
	return sub, nil
}

// listSubscriptions serves GET /v1/subscriptions, newest first; like
// Stripe, it leaves out canceled subscriptions unless asked for a status.
func (s *Server) listSubscriptions(c *call) (any, *apiError) {
	if err := checkEnum(c.form, "status", "active", "all", "canceled", "ended", "incomplete",
		"incomplete_expired", "past_due", "paused", "trialing", "unpaid"); err != nil {
		return nil, err
	}
	limit, err := formInt(c.form, "limit", 10)
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > 100 {
		return nil, invalidParam("limit", "Invalid limit: must be between 1 and 100")
	}
	subs := s.subs.all()
	slices.Reverse(subs)
	if after := c.form.Get("starting_after"); after != "" {
		i := slices.IndexFunc(subs, func(sub *subscription) bool { return sub.ID == after })
		if i < 0 {
			return nil, noSuch(http.StatusBadRequest, "subscription", after, "starting_after")
		}
		subs = subs[i+1:]
	}
	matched := []*subscription{}
	for _, sub := range subs {
		if listed(sub, c.form) {
			matched = append(matched, sub)
		}
	}
	n := min(len(matched), int(limit))
	return list{Object: "list", URL: "/v1/subscriptions", Data: matched[:n], HasMore: len(matched) > n}, nil
}

// listed reports whether sub matches the customer and status filters.
func listed(sub *subscription, form url.Values) bool {
	if cus := form.Get("customer"); cus != "" && sub.Customer != cus {
		return false
	}
	switch status := form.Get("status"); status {
	case "":
		return sub.Status != statusCanceled
	case "all":
		return true
	case "ended":
		return sub.Status == statusCanceled || sub.Status == "incomplete_expired"
	default:
		return sub.Status == status
	}
}

// checkSubscriptionParams validates the parameters common to create and update.
func checkSubscriptionParams(form url.Values) *apiError {
	if err := checkEnum(form, "proration_behavior", "always_invoice", "create_prorations", "none"); err != nil {
		return err
	}
	_, _, err := formBool(form, "cancel_at_period_end")
	return err
}

// onlyMetadata reports whether form changes nothing but what Stripe lets
// a canceled subscription change.
func onlyMetadata(form url.Values) bool {
	for k := range form {
		if k != "metadata" && !strings.HasPrefix(k, "metadata[") &&
			!strings.HasPrefix(k, "cancellation_details") && !strings.HasPrefix(k, "expand") {
			return false
		}
	}
	return true
}

// changeItems returns copies of items changed by the item parameters; new
// items have no id yet.
func changeItems(items []*item, specs []url.Values) ([]*item, *apiError) {
	out := make([]*item, len(items))
	for i, it := range items {
		cp := *it
		out[i] = &cp
	}
	for i, spec := range specs {
		var err *apiError
		if out, err = changeItem(out, spec, fmt.Sprintf("items[%d]", i)); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, refused("A subscription must have at least one item.")
	}
	seen := make(map[string]bool)
	for _, it := range out {
		if seen[it.Price.ID] {
			e := refused("Cannot add multiple subscription items with the same price: %s", it.Price.ID)
			e.Param = "items"
			return nil, e
		}
		seen[it.Price.ID] = true
	}
	return out, nil
}

// changeItem applies the parameters of one item, named param, to items.
func changeItem(items []*item, spec url.Values, param string) ([]*item, *apiError) {
	id, price := spec.Get("id"), spec.Get("price")
	if id == "" {
		if price == "" {
			return nil, missingParam(param + "[price]")
		}
		quantity, err := formInt(spec, "quantity", 1)
		if err != nil {
			return nil, err
		}
		return append(items, &item{Object: "subscription_item", Price: priceRef{price, "price"},
			Quantity: quantity, Metadata: map[string]string{}}), nil
	}
	i := slices.IndexFunc(items, func(it *item) bool { return it.ID == id })
	if i < 0 {
		return nil, noSuch(http.StatusBadRequest, "subscription item", id, param+"[id]")
	}
	deleted, _, err := formBool(spec, "deleted")
	if err != nil {
		return nil, err
	}
	if deleted {
		return slices.Delete(items, i, i+1), nil
	}
	if price != "" {
		items[i].Price = priceRef{price, "price"}
	}
	if items[i].Quantity, err = formInt(spec, "quantity", items[i].Quantity); err != nil {
		return nil, err
	}
	return items, nil
}

// setItems makes items the items of sub, giving new ones an id.
func (s *Server) setItems(sub *subscription, items []*item, now int64) {
	for _, it := range items {
		if it.ID == "" {
			it.ID, it.Created, it.Subscription = s.newID("si"), now, sub.ID
		}
	}
	sub.Items = itemList{Object: "list", Data: items, TotalCount: len(items),
		URL: "/v1/subscription_items?subscription=" + sub.ID}
}

// setCancelAtPeriodEnd schedules or unschedules the end of sub.
func (sub *subscription) setCancelAtPeriodEnd(on bool, now int64) {
	sub.CancelAtPeriodEnd = on
	if !on {
		sub.CancelAt, sub.CanceledAt = nil, nil
		return
	}
	end := sub.CurrentPeriodEnd
	sub.CancelAt, sub.CanceledAt = &end, &now
}

// cancel ends sub now.
func (sub *subscription) cancel(now int64) {
	sub.Status = statusCanceled
	sub.CanceledAt, sub.EndedAt = &now, &now
}

// addMonth returns t one calendar month later, clamped to the end of the
// month as Stripe's billing periods are (Jan 31 → Feb 28).
func addMonth(t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	first := time.Date(y, m+1, 1, t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}
