package query

import (
	"context"
	"sort"
	"sync"
)

// Territory is the potential of one territory.
type Territory struct {
	Territory string `json:"territory"`
	// Potential is what the territory could book in the range; PotentialSource
	// says where it comes from: "market" (the market table, annual potential
	// scaled to the range's length) or "estimate" (see Territories).
	Potential       float64 `json:"potential"`
	PotentialSource string  `json:"potential_source"`
	// Captured is the won amount closed in the range.
	Captured    float64 `json:"captured"`
	Penetration float64 `json:"penetration"`
	Headroom    float64 `json:"headroom"`
	Accounts    int64   `json:"accounts"`
	// WhiteSpace counts accounts with no opportunity created in the range.
	WhiteSpace int64   `json:"white_space_accounts"`
	Won        int64   `json:"won"`
	Lost       int64   `json:"lost"`
	WinRate    float64 `json:"win_rate"`
	Pipeline   float64 `json:"pipeline"`
	// Coverage is the share of the territory's accounts with an opportunity
	// created in the range (1 - white space / accounts).
	Coverage float64 `json:"coverage"`
	Rank     int     `json:"rank"`
}

// Territories computes territory potential and ranks the territories by headroom
// (largest first). Potential comes from the market table for the territories it
// lists; for the others it is estimated: for each account segment, the won amount
// per account that won anything in the range (all territories in the filter),
// summed over the territory's accounts of that segment.
func (s *Service) Territories(ctx context.Context, sc Scope, f Filter) ([]Territory, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return nil, err
	}
	type tsKey struct{ t, seg string }
	type agg struct {
		accounts, white        int64
		captured, pipeline     float64
		won, lost, wonAccounts int64
	}
	cells := map[tsKey]*agg{}
	cell := func(t, seg string) *agg {
		k := tsKey{t, seg}
		a := cells[k]
		if a == nil {
			a = &agg{}
			cells[k] = a
		}
		return a
	}
	var dc cond
	dateRange(&dc, "created_date", f)
	dims(&dc, f, "")
	var ac cond
	ac.add(tokAccounts)
	ac.add("territory != ''")
	ac.in("territory", f.Territory)
	ac.in("segment", f.Segment)
	// account_facts has a partial row per account and shard in cluster mode (one
	// row on a single server; see accountSteps): an account counts once per
	// cell, uniqExact over the cell's rows (a GROUP BY account first cost three
	// times as much at 140k accounts). The white-space subquery reads opp_facts
	// whole (GLOBAL): opportunities are sharded otherwise than accounts.
	args := append(append([]any{}, dc.args...), ac.args...)
	white := func(hit string) string {
		return "SELECT territory, segment, uniqExact(account_id) AS n, toUInt64(n - uniqExactIf(account_id, " + hit + ")) FROM account_facts" + ac.where() + " GROUP BY territory, segment"
	}
	q := white("account_id GLOBAL IN (SELECT account_id FROM opp_facts" + dc.prewhere() + ")")
	fast := s.placeOnly(f)
	if fast {
		// An account in the page has a territory, which is then its deals'
		// territory, and its segment is theirs: the territory and segment
		// filters keep all its deals, and its own creation dates decide (on
		// any of its rows: the partial rows of a cluster split its dates).
		q = white("arrayExists(d -> d >= toDate(?) AND d < toDate(?), created)")
		args = append([]any{day(f.From), day(f.To)}, ac.args...)
	}
	// The three reads are independent: run them at once (cells under mu).
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		errs   [3]error
		market map[string]float64
	)
	wg.Add(3)
	go func() {
		defer wg.Done()
		market, errs[2] = s.marketPotential(ctx, f)
	}()
	go func(q string, args []any) {
		defer wg.Done()
		errs[0] = s.query(ctx, "territory-accounts", q, args, func(r driverRows) error {
			var t, seg string
			var n, w uint64
			if err := r.Scan(&t, &seg, &n, &w); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			a := cell(t, seg)
			a.accounts, a.white = int64(n), int64(w)
			return nil
		})
	}(q, args)
	var c cond
	c.add("territory != ''")
	dims(&c, f, "")
	inRange := "close_date >= toDate(?) AND close_date < toDate(?)"
	// A deal closed outside the range adds to nothing below: PREWHERE skips
	// it before reading the rest of its row.
	c.add("(closed = 0 OR "+inRange+")", day(f.From), day(f.To))
	q = "SELECT territory, segment, sumIf(amount, won = 1 AND " + inRange + "), countIf(won = 1 AND " + inRange + "), countIf(lost = 1 AND " + inRange + "), sumIf(amount, closed = 0), uniqExactIf(account_id, won = 1 AND " + inRange + ") FROM opp_facts" + c.prewhere() + " GROUP BY territory, segment"
	rng := []any{day(f.From), day(f.To)}
	args = append(append(append(append(append([]any{}, rng...), rng...), rng...), rng...), c.args...)
	if fast {
		g, gargs := grainRange(f, false)
		var tc, wc cond
		tc.add(tokDelta)
		tc.add("("+g+" OR grain = 2)", gargs...)
		tc.in("territory", f.Territory)
		tc.in("segment", f.Segment)
		wc.add(tokDelta)
		wc.add(g, gargs...)
		wc.in("territory", f.Territory)
		wc.in("segment", f.Segment)
		// A cell lists when any deal of any date is in it (grain 2 counts them);
		// an account counts as won when its won deals in the range add up to more
		// than none (territory_wins holds corrections, see 0007).
		q = "SELECT territory, segment, won_amount, won, lost, pipeline, accounts FROM (SELECT territory, segment, sum(won_amount) AS won_amount, sum(won) AS won, sum(lost) AS lost, " +
			"sum(pipeline) AS pipeline FROM territory_days" + tc.where() + " GROUP BY territory, segment HAVING sum(deals) > 0) AS d GLOBAL ALL LEFT JOIN " +
			"(SELECT territory, segment, countIf(w > 0) AS accounts FROM (SELECT territory, segment, account_id, sum(won) AS w FROM territory_wins" + wc.where() +
			" GROUP BY territory, segment, account_id) GROUP BY territory, segment) AS a USING (territory, segment)"
		args = append(tc.args, wc.args...)
	}
	go func() {
		defer wg.Done()
		errs[1] = s.query(ctx, "territory-deals", q, args, func(r driverRows) error {
			var t, seg string
			var cap, pipe float64
			var w, l, wa uint64
			if err := r.Scan(&t, &seg, &cap, &w, &l, &pipe, &wa); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			a := cell(t, seg)
			a.captured, a.won, a.lost, a.pipeline, a.wonAccounts = cap, int64(w), int64(l), pipe, int64(wa)
			return nil
		})
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	// Won amount per won account, per segment.
	segWon := map[string][2]float64{}
	for k, a := range cells {
		v := segWon[k.seg]
		v[0] += a.captured
		v[1] += float64(a.wonAccounts)
		segWon[k.seg] = v
	}
	byT := map[string]*Territory{}
	for k, a := range cells {
		t := byT[k.t]
		if t == nil {
			t = &Territory{Territory: k.t, PotentialSource: "estimate"}
			byT[k.t] = t
		}
		t.Accounts += a.accounts
		t.WhiteSpace += a.white
		t.Captured += a.captured
		t.Pipeline += a.pipeline
		t.Won += a.won
		t.Lost += a.lost
		if sw := segWon[k.seg]; sw[1] > 0 {
			t.Potential += float64(a.accounts) * sw[0] / sw[1]
		}
	}
	days := f.To.Sub(f.From).Hours() / 24
	for name, p := range market {
		t := byT[name]
		if t == nil {
			t = &Territory{Territory: name}
			byT[name] = t
		}
		t.Potential, t.PotentialSource = p*days/365, "market"
	}
	out := make([]Territory, 0, len(byT))
	for _, t := range byT {
		t.Penetration = ratio(t.Captured, t.Potential)
		t.Headroom = t.Potential - t.Captured
		t.WinRate = ratio(float64(t.Won), float64(t.Won+t.Lost))
		if t.Accounts > 0 {
			t.Coverage = 1 - float64(t.WhiteSpace)/float64(t.Accounts)
		}
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Headroom != out[j].Headroom {
			return out[i].Headroom > out[j].Headroom
		}
		return out[i].Territory < out[j].Territory
	})
	for i := range out {
		out[i].Rank = i + 1
	}
	return out, nil
}

// marketPotential is the annual potential per territory from the market table:
// the latest year not after the range's last day, summed over segments (the
// filter's segments only) and industries.
func (s *Service) marketPotential(ctx context.Context, f Filter) (map[string]float64, error) {
	var c cond
	c.add("year <= ?", uint16(f.To.AddDate(0, 0, -1).Year()))
	c.in("territory", f.Territory)
	c.in("segment", f.Segment)
	m := "(SELECT territory, segment, year, potential FROM " + latest("market", "territory, segment, industry, year", "territory, segment, industry, year, potential") + c.where() + ")"
	// The right side is unique by territory: ALL keeps every row of m (ANY
	// INNER keeps one per key on current ClickHouse).
	q := "SELECT territory, sum(potential) FROM " + m + " AS m GLOBAL ALL INNER JOIN (SELECT territory, max(year) AS latest_year FROM " + m +
		" GROUP BY territory) AS y USING territory WHERE year = latest_year GROUP BY territory"
	out := map[string]float64{}
	args := append(append([]any{}, c.args...), c.args...)
	err := s.query(ctx, "market", q, args, func(r driverRows) error {
		var t string
		var p float64
		if err := r.Scan(&t, &p); err != nil {
			return err
		}
		out[t] = p
		return nil
	})
	return out, err
}
