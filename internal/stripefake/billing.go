package stripefake

import (
	"net/http"
	"strconv"
	"time"
)

// Stripe accepts meter events up to 35 days old and 5 minutes ahead.
const (
	maxMeterEventAge  = 35 * 24 * time.Hour
	maxMeterEventSkew = 5 * time.Minute
)

// portalURL is the base of the URLs of billing portal sessions.
const portalURL = "https://billing.stripe.test/session/"

// portalSession is a billing portal session in its JSON form.
type portalSession struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Created   int64  `json:"created"`
	Customer  string `json:"customer"`
	Livemode  bool   `json:"livemode"`
	ReturnURL string `json:"return_url"`
	URL       string `json:"url"`
}

// meterEvent is a billing meter event in its JSON form.
type meterEvent struct {
	Object     string            `json:"object"`
	Created    int64             `json:"created"`
	EventName  string            `json:"event_name"`
	Identifier string            `json:"identifier"`
	Livemode   bool              `json:"livemode"`
	Payload    map[string]string `json:"payload"`
	Timestamp  int64             `json:"timestamp"`
}

// createPortalSession serves POST /v1/billing_portal/sessions.
func (s *Server) createPortalSession(c *call) (any, *apiError) {
	cusID := c.form.Get("customer")
	if cusID == "" {
		return nil, missingParam("customer")
	}
	if s.liveCustomer(cusID) == nil {
		return nil, noSuch(http.StatusBadRequest, "customer", cusID, "customer")
	}
	id := s.newID("bps")
	return portalSession{ID: id, Object: "billing_portal.session", Created: c.now.Unix(),
		Customer: cusID, ReturnURL: c.form.Get("return_url"), URL: portalURL + id}, nil
}

// createMeterEvent serves POST /v1/billing/meter_events. Like Stripe, it
// refuses an identifier already used (400, Stripe-Should-Retry: false, with
// no error code, as Stripe documents none) and records nothing for it.
// Customers are not checked: Stripe reports unknown ones asynchronously.
func (s *Server) createMeterEvent(c *call) (any, *apiError) {
	ev, value, err := parseMeterEvent(c)
	if err != nil {
		return nil, err
	}
	if ev.Identifier == "" {
		ev.Identifier = s.newID("mev")
	}
	if s.meterIDs[ev.Identifier] {
		e := refused("An event already exists with identifier %s.", ev.Identifier)
		e.noRetry = true
		return nil, e
	}
	s.meterIDs[ev.Identifier] = true
	s.meterEvents = append(s.meterEvents, MeterEvent{EventName: ev.EventName, Identifier: ev.Identifier,
		Customer: ev.Payload["stripe_customer_id"], Value: value, Timestamp: ev.Timestamp})
	return ev, nil
}

// parseMeterEvent validates the parameters of a meter event, returning it
// and its value.
func parseMeterEvent(c *call) (*meterEvent, int64, *apiError) {
	ev := &meterEvent{Object: "billing.meter_event", Created: c.now.Unix(),
		EventName: c.form.Get("event_name"), Identifier: c.form.Get("identifier"),
		Payload: nested(c.form, "payload")}
	if ev.EventName == "" {
		return nil, 0, missingParam("event_name")
	}
	if ev.Payload["stripe_customer_id"] == "" {
		return nil, 0, missingParam("payload[stripe_customer_id]")
	}
	if ev.Payload["value"] == "" {
		return nil, 0, missingParam("payload[value]")
	}
	value, perr := strconv.ParseInt(ev.Payload["value"], 10, 64)
	if perr != nil {
		return nil, 0, invalidParam("payload[value]", "Meter event value must be an integer: %s", ev.Payload["value"])
	}
	ts, err := formInt(c.form, "timestamp", c.now.Unix())
	if err != nil {
		return nil, 0, err
	}
	if t := time.Unix(ts, 0); t.Before(c.now.Add(-maxMeterEventAge)) || t.After(c.now.Add(maxMeterEventSkew)) {
		return nil, 0, invalidParam("timestamp", "Timestamp must be within the past 35 days and at most 5 minutes in the future.")
	}
	ev.Timestamp = ts
	return ev, value, nil
}
