package query

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// StuckQuery says how to list stuck deals.
type StuckQuery struct {
	// Sort: ratio, -ratio (default), days, -days, amount, -amount.
	Sort     string
	Page     int // 1-based
	PageSize int // default 100, at most 1000
	// AsOf ends the current stays (zero: now).
	AsOf time.Time
	// All lists every deal on one page (Page and PageSize are ignored): the
	// pages' CSV.
	All bool
}

// StuckNorm is an open stage's norm: the median days of the stays that left
// it, as Days in stage reports for the same filter and range.
type StuckNorm struct {
	Stage  string  `json:"stage"`
	Median float64 `json:"median_days"`
	Count  int64   `json:"count"`
}

// StuckDeal is an open deal with the time in its current stage against the
// stage's norm.
type StuckDeal struct {
	OpportunityID string  `json:"opportunity_id"`
	Name          string  `json:"name"`
	AccountName   string  `json:"account_name"`
	OwnerID       string  `json:"owner_id"`
	OwnerName     string  `json:"owner_name"`
	Team          string  `json:"team"`
	Stage         string  `json:"stage"`
	Amount        float64 `json:"amount"`
	CloseDate     string  `json:"close_date"`
	Entered       string  `json:"entered"`
	Days          float64 `json:"days"`
	Norm          float64 `json:"norm_days"`
	// Ratio is Days / Norm; null when the stage has no norm (no stay left it
	// in the range, or a median of 0 days).
	Ratio *float64 `json:"ratio"`
}

// Stuck is the open deals in scope by how long they sit in their stage.
type Stuck struct {
	From     string      `json:"from"`
	To       string      `json:"to"`
	AsOf     string      `json:"as_of"`
	Sort     string      `json:"sort"`
	Total    int         `json:"total"`
	Page     int         `json:"page"`
	PageSize int         `json:"page_size"`
	Norms    []StuckNorm `json:"norms"`
	Deals    []StuckDeal `json:"deals"`
}

// stuckSorts is each sort's key; deals without a norm (no ratio) go last in
// both directions of ratio.
var stuckSorts = map[string]func(d *StuckDeal) float64{
	"ratio": func(d *StuckDeal) float64 { return *d.Ratio }, "-ratio": func(d *StuckDeal) float64 { return -*d.Ratio },
	"days": func(d *StuckDeal) float64 { return d.Days }, "-days": func(d *StuckDeal) float64 { return -d.Days },
	"amount": func(d *StuckDeal) float64 { return d.Amount }, "-amount": func(d *StuckDeal) float64 { return -d.Amount },
}

// stuckLess orders deals by key, ties by id; for the ratio sorts deals without
// a ratio come last.
func stuckLess(key func(*StuckDeal) float64, byRatio bool) func(a, b *StuckDeal) bool {
	return func(a, b *StuckDeal) bool {
		if byRatio && (a.Ratio == nil) != (b.Ratio == nil) {
			return b.Ratio == nil
		}
		if byRatio && a.Ratio == nil {
			return a.OpportunityID < b.OpportunityID
		}
		if ka, kb := key(a), key(b); ka != kb {
			return ka < kb
		}
		return a.OpportunityID < b.OpportunityID
	}
}

// Stuck lists every open deal of the filter's people and attributes (created
// before asOf; the range does not select deals) with the days since it entered
// its current stage, against the stage's norm over the filter and range
// (METRICS.md, "Stuck deals").
func (s *Service) Stuck(ctx context.Context, sc Scope, f Filter, sq StuckQuery) (Stuck, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return Stuck{}, err
	}
	if sq.Sort == "" {
		sq.Sort = "-ratio"
	}
	key, ok := stuckSorts[sq.Sort]
	if !ok {
		return Stuck{}, badParam("sort", "%q: want ratio, -ratio, days, -days, amount or -amount", sq.Sort)
	}
	if err := paging(&sq.Page, &sq.PageSize, 100, 1000); err != nil {
		return Stuck{}, err
	}
	if sq.AsOf.IsZero() {
		sq.AsOf = time.Now()
	}
	out := Stuck{From: day(f.From), To: day(f.To), AsOf: sq.AsOf.In(s.loc).Format(time.RFC3339), Sort: sq.Sort, Page: sq.Page, PageSize: sq.PageSize,
		Norms: []StuckNorm{}, Deals: []StuckDeal{}}
	// The norm is Days in stage's median over the same (scoped) filter.
	dis, err := s.DaysInStage(ctx, Unrestricted, f, "")
	if err != nil {
		return out, err
	}
	norm := map[string]StuckNorm{}
	for _, g := range dis {
		n := StuckNorm{Stage: g.Stage, Median: g.Median, Count: g.Count}
		if g.Count == 0 {
			n.Median = 0
		}
		norm[g.Stage] = n
		out.Norms = append(out.Norms, n)
	}
	deals, err := s.openStays(ctx, f, sq.AsOf)
	if err != nil {
		return out, err
	}
	for i := range deals {
		d := &deals[i]
		if n := norm[d.Stage]; n.Count > 0 && n.Median > 0 {
			r := d.Days / n.Median
			d.Norm, d.Ratio = n.Median, &r
		}
	}
	less := stuckLess(key, sq.Sort == "ratio" || sq.Sort == "-ratio")
	sort.Slice(deals, func(i, j int) bool { return less(&deals[i], &deals[j]) })
	out.Total = len(deals)
	if sq.All {
		out.Page, out.PageSize = 1, max(len(deals), 1)
		out.Deals = append(out.Deals, deals...)
		return out, nil
	}
	lo := (sq.Page - 1) * sq.PageSize
	if lo < len(deals) {
		out.Deals = deals[lo:min(lo+sq.PageSize, len(deals))]
	}
	return out, nil
}

// openStays is the open deals of the filter's dimensions created before asOf,
// with the start of their current stay: the latest stage change before asOf
// (a deal that went back to a stage entered it again then), else the created
// time. Deals are unsorted.
func (s *Service) openStays(ctx context.Context, f Filter, asOf time.Time) ([]StuckDeal, error) {
	t := asOf.Unix()
	var c cond
	c.add("closed = 0")
	c.add(fmt.Sprintf("created_at < toDateTime(%d)", t))
	dims(&c, f, "")
	facts := "(SELECT opportunity_id, name, account_name, owner_id, owner_name, team, stage, amount, close_date, created_at FROM opp_facts" + c.prewhere() + ")"
	entered := fmt.Sprintf("(SELECT opportunity_id, max(entered_at) AS stage_entered FROM %s WHERE entered_at < toDateTime(%d) GROUP BY opportunity_id)",
		latest("stage_events", "opportunity_id, entered_at, stage", "opportunity_id, entered_at, stage"), t)
	q := "SELECT opportunity_id, name, account_name, owner_id, owner_name, team, stage, amount, close_date, " +
		"if(stage_entered > toDateTime(0), stage_entered, created_at) FROM " + facts + " AS f ALL LEFT JOIN " + entered + " AS e USING opportunity_id"
	var out []StuckDeal
	err := s.query(ctx, "stuck", q, c.args, func(r driverRows) error {
		var d StuckDeal
		var cl, en time.Time
		if err := r.Scan(&d.OpportunityID, &d.Name, &d.AccountName, &d.OwnerID, &d.OwnerName, &d.Team, &d.Stage, &d.Amount, &cl, &en); err != nil {
			return err
		}
		d.CloseDate, d.Entered = day(cl), en.In(s.loc).Format("2006-01-02 15:04")
		d.Days = float64(t-en.Unix()) / 86400
		out = append(out, d)
		return nil
	})
	return out, err
}
