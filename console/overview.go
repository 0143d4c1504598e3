package console

import (
	"context"
	"net/http"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/contextlite/cloud/metering"
	"github.com/contextlite/cloud/tenancy"
)

// meterRow is a meter as the overview shows it.
type meterRow struct {
	Name       string
	Used       string
	Limit      string // "unlimited" when there is none
	Value, Max int64  // for the bar; Max 0: no bar
}

// noticeRow is a usage notice as the overview lists it.
type noticeRow struct {
	Meter     string
	Threshold int
	Status    string
	At        time.Time
}

// overviewData is what the overview shows.
type overviewData struct {
	Report  metering.Report
	Meters  []meterRow
	Queries chart
	Tokens  chart
	Notices []noticeRow
}

// overview shows the tier, the period, each meter against its limit,
// queries and tokens per day and the notices of the period.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, s session) {
	ctx, p := r.Context(), s.Caller.Principal
	report, err := c.cfg.API.UsageReport(ctx, p)
	if err != nil {
		c.failWith(w, r, err)
		return
	}
	d := overviewData{Report: report, Meters: meterRows(report.Meters)}
	if d.Queries, d.Tokens, err = c.daily(ctx, p.TenantID, report.Period); err != nil {
		c.internal(w, r, err)
		return
	}
	if d.Notices, err = c.notices(ctx, p.TenantID, report.Period.Start); err != nil {
		c.internal(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "overview", forSession(s, "Overview", d))
}

// meterRows returns the rows of the meters of a report.
func meterRows(m metering.Meters) []meterRow {
	count := func(n int64) string { return humanize.Comma(n) }
	bytes := func(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }
	return []meterRow{
		row("Queries", m.Queries, count),
		row("Tokens", m.Tokens, count),
		row("Documents", m.Documents, count),
		row("Workspaces", m.Workspaces, count),
		row("Storage", m.StorageBytes, bytes),
	}
}

func row(name string, u metering.MeterUsage, format func(int64) string) meterRow {
	r := meterRow{Name: name, Used: format(u.Used), Limit: "unlimited"}
	if u.Limit > 0 {
		r.Limit, r.Value, r.Max = format(u.Limit), min(u.Used, u.Limit), u.Limit
	}
	return r
}

// daily returns the charts of queries and tokens per UTC day of the
// period, up to today, from the control plane's daily sums; the first
// day counts from the period's start.
func (c *Console) daily(ctx context.Context, tenantID string, p metering.Period) (queries, tokens chart, err error) {
	now := earlier(c.cfg.Now(), p.End)
	first := p.Start.UTC().Truncate(24 * time.Hour)
	days, err := c.cfg.Store.DailyUsage(ctx, tenantID, first, now)
	if err != nil {
		return chart{}, chart{}, err
	}
	sums := make(map[time.Time]map[string]int64)
	for _, d := range days {
		if sums[d.Day] == nil {
			sums[d.Day] = make(map[string]int64)
		}
		sums[d.Day][d.Meter] = d.Quantity
	}
	if !first.Equal(p.Start) {
		if sums[first], err = c.cfg.Store.UsageTotals(ctx, tenantID, p.Start, first.Add(24*time.Hour)); err != nil {
			return chart{}, chart{}, err
		}
	}
	var q, t []dayValue
	for day := first; day.Before(now); day = day.Add(24 * time.Hour) {
		q = append(q, dayValue{day, sums[day][metering.Queries]})
		t = append(t, dayValue{day, sums[day][metering.Tokens]})
	}
	return newChart("Queries per day", q), newChart("Tokens per day", t), nil
}

// notices returns the period's usage notices.
func (c *Console) notices(ctx context.Context, tenantID string, periodStart time.Time) ([]noticeRow, error) {
	ns, err := c.cfg.Store.Notices(ctx, tenantID, periodStart)
	if err != nil {
		return nil, err
	}
	rows := make([]noticeRow, len(ns))
	for i, n := range ns {
		rows[i] = noticeRow{n.Meter, n.Threshold, noticeState(n.Status), n.CreatedAt}
	}
	return rows, nil
}

// noticeState says what became of a notice.
func noticeState(status string) string {
	switch status {
	case tenancy.NoticeDelivered:
		return "sent"
	case tenancy.NoticeFailed:
		return "not delivered"
	}
	return "sending"
}

// earlier returns the earlier of a and b.
func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
