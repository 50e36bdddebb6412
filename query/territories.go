package query

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"
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
	return s.territories(ctx, sc, f, true)
}

// TerritoryHeadroom is Territories for a view that shows what a territory
// could book and what it did (the overview's headroom): the same Potential,
// PotentialSource, Captured, Penetration, Headroom, Won, Lost, WinRate,
// Pipeline and Rank, without the accounts, white space and coverage (zero).
// It skips the white space, and the accounts and won accounts when the market
// table covers every territory with deals or accounts (the estimate is then
// used nowhere): at 3.2M opportunities, 47 and about 40 of the 104 ms of
// ClickHouse CPU Territories costs.
func (s *Service) TerritoryHeadroom(ctx context.Context, sc Scope, f Filter) ([]Territory, error) {
	return s.territories(ctx, sc, f, false)
}

// territoryCells are the reads' numbers per territory and segment, filled by
// concurrent reads under mu.
type territoryCells struct {
	mu    sync.Mutex
	cells map[[2]string]*territoryCell
}

type territoryCell struct {
	accounts, white        int64
	captured, pipeline     float64
	won, lost, wonAccounts int64
}

// with runs fn on the cell of territory t and segment seg under the lock.
func (c *territoryCells) with(t, seg string, fn func(a *territoryCell)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]string{t, seg}
	a := c.cells[k]
	if a == nil {
		a = &territoryCell{}
		c.cells[k] = a
	}
	fn(a)
}

// territories is Territories; without full, TerritoryHeadroom.
func (s *Service) territories(ctx context.Context, sc Scope, f Filter, full bool) ([]Territory, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return nil, err
	}
	cells := &territoryCells{cells: map[[2]string]*territoryCell{}}
	var market map[string]float64
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { market, err = s.marketPotential(gctx, f); return })
	g.Go(func() error { return s.territoryDeals(gctx, f, full, cells) })
	var places []string // the territories of the accounts
	if full {
		g.Go(func() error { return s.territoryAccounts(gctx, f, true, cells) })
	} else {
		g.Go(func() (err error) { places, err = s.accountTerritories(gctx, f); return })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if !full && !covers(market, cells, places) {
		// The estimate is needed: the accounts and their won accounts.
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { return s.territoryAccounts(gctx, f, false, cells) })
		if _, _, byDim := s.accountDim(f); byDim || s.placeOnly(f) {
			g.Go(func() error { return s.territoryWonAccounts(gctx, f, cells) })
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	out := territoryRows(f, cells.cells, market)
	if !full {
		for i := range out {
			out[i].Accounts, out[i].WhiteSpace, out[i].Coverage = 0, 0, 0
		}
	}
	return out, nil
}

// covers: every territory with deals or accounts has a market potential.
func covers(market map[string]float64, c *territoryCells, places []string) bool {
	for k := range c.cells {
		if _, ok := market[k[0]]; !ok {
			return false
		}
	}
	for _, t := range places {
		if _, ok := market[t]; !ok {
			return false
		}
	}
	return true
}

// accountTerritories lists the territories of the accounts territoryAccounts
// counts. They do not depend on the range: kept per publication (memoized).
func (s *Service) accountTerritories(ctx context.Context, f Filter) ([]string, error) {
	return memoized(ctx, s, fmt.Sprintf("territory-places|%q|%q", f.Territory, f.Segment), func(ctx context.Context) ([]string, error) {
		ac := accountsWhere(f)
		var out []string
		err := s.query(ctx, "territory-places", "SELECT DISTINCT territory FROM account_facts"+ac.where(), ac.args, func(r driverRows) error {
			var t string
			if err := r.Scan(&t); err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
		return out, err
	})
}

// accountsWhere selects the accounts of f's territories and segments that
// have a territory.
func accountsWhere(f Filter) cond {
	var ac cond
	ac.add(tokAccounts)
	ac.add("territory != ''")
	ac.in("territory", f.Territory)
	ac.in("segment", f.Segment)
	return ac
}

// territoryAccounts reads each cell's accounts and, with white, how many had
// no opportunity created in the range.
//
// account_facts has a partial row per account and shard in cluster mode (one
// row on a single server, which counts rows; see accountSteps): an account
// counts once per cell, uniqExact over the cell's rows (a GROUP BY account first cost three times as
// much at 140k accounts). The white-space subquery reads opp_facts whole
// (GLOBAL): opportunities are sharded otherwise than accounts.
func (s *Service) territoryAccounts(ctx context.Context, f Filter, white bool, cells *territoryCells) error {
	ac := accountsWhere(f)
	q := func(hit string) string {
		if s.db.Cluster == "" {
			// One visible row per account: counting rows is counting accounts,
			// at half the cost of a set of 140k ids.
			return "SELECT territory, segment, count() AS n, toUInt64(n - countIf(" + hit + ")) FROM account_facts" + ac.where() + " GROUP BY territory, segment"
		}
		return "SELECT territory, segment, uniqExact(account_id) AS n, toUInt64(n - uniqExactIf(account_id, " + hit + ")) FROM account_facts" + ac.where() + " GROUP BY territory, segment"
	}
	stmt, args := q("1"), ac.args
	dim, values, byDim := s.accountDim(f)
	switch {
	case !white:
	case s.placeOnly(f):
		// An account in the page has a territory, which is then its deals'
		// territory, and its segment is theirs: the territory and segment
		// filters keep all its deals, and its own creation dates decide (on
		// any of its rows: the partial rows of a cluster split its dates).
		stmt = q("arrayExists(d -> d >= toDate(?) AND d < toDate(?), created)")
		args = append([]any{day(f.From), day(f.To)}, ac.args...)
	case byDim:
		// Territory, segment and one product or source filter: the dates of
		// the account's own deals of those values (account_dims) decide.
		hc := accountsWhere(f)
		hc.add("dim = ?", dim)
		hc.in("value", values)
		hc.add("arrayExists(d -> d >= toDate(?) AND d < toDate(?), created)", day(f.From), day(f.To))
		stmt = "SELECT territory, segment, uniqExact(account_id) AS n, toUInt64(n - uniqExactIf(account_id, hit = 1)) FROM (" +
			"SELECT territory, segment, account_id, toUInt8(0) AS hit FROM account_facts" + ac.where() +
			" UNION ALL SELECT territory, segment, account_id, toUInt8(1) FROM account_dims" + hc.where() + ") GROUP BY territory, segment"
		if s.db.Cluster == "" && len(values) == 1 {
			// One visible row per account, and per account and value: counts.
			stmt = "SELECT territory, segment, sum(n) AS an, toUInt64(an - sum(h)) FROM (" +
				"SELECT territory, segment, count() AS n, toUInt64(0) AS h FROM account_facts" + ac.where() + " GROUP BY territory, segment" +
				" UNION ALL SELECT territory, segment, toUInt64(0), count() FROM account_dims" + hc.where() + " GROUP BY territory, segment) GROUP BY territory, segment"
		}
		args = append(append([]any{}, ac.args...), hc.args...)
	default:
		var dc cond
		dateRange(&dc, "created_date", f)
		dims(&dc, f, "")
		stmt = q("account_id GLOBAL IN (SELECT account_id FROM opp_facts" + dc.prewhere() + ")")
		args = append(append([]any{}, dc.args...), ac.args...)
	}
	return s.query(ctx, "territory-accounts", stmt, args, func(r driverRows) error {
		var t, seg string
		var n, w uint64
		if err := r.Scan(&t, &seg, &n, &w); err != nil {
			return err
		}
		cells.with(t, seg, func(a *territoryCell) { a.accounts, a.white = int64(n), int64(w) })
		return nil
	})
}

// territoryDeals reads each cell's won amount, won and lost deals in the range
// and open pipeline; from the deals (any filter, territoryDealsSQL) also its
// won accounts, from the rollups (territory and segment filters) only with
// wonAccounts.
func (s *Service) territoryDeals(ctx context.Context, f Filter, wonAccounts bool, cells *territoryCells) error {
	var q string
	var args []any
	dim, values, byDim := s.accountDim(f)
	switch {
	case byDim:
		return s.territoryDimDeals(ctx, f, dim, values, wonAccounts, cells)
	case !s.placeOnly(f):
		q, args = territoryDealsSQL(f)
	default:
		tc := territoryRollupWhere(f, true)
		// A cell lists when any deal of any date is in it (grain 2 counts them).
		q = "SELECT territory, segment, sum(won_amount), sum(won), sum(lost), sum(pipeline), toUInt64(0) FROM territory_days" + tc.where() + " GROUP BY territory, segment HAVING sum(deals) > 0"
		args = tc.args
		if wonAccounts {
			wq, wargs := s.wonAccountsSQL(f)
			q = "SELECT territory, segment, won_amount, won, lost, pipeline, accounts FROM (SELECT territory, segment, sum(won_amount) AS won_amount, sum(won) AS won, sum(lost) AS lost, " +
				"sum(pipeline) AS pipeline FROM territory_days" + tc.where() + " GROUP BY territory, segment HAVING sum(deals) > 0) AS d GLOBAL ALL LEFT JOIN (" +
				wq + ") AS a USING (territory, segment)"
			args = append(tc.args, wargs...)
		}
	}
	return s.query(ctx, "territory-deals", q, args, func(r driverRows) error {
		var t, seg string
		var cap, pipe float64
		var w, l, wa uint64
		if err := r.Scan(&t, &seg, &cap, &w, &l, &pipe, &wa); err != nil {
			return err
		}
		cells.with(t, seg, func(a *territoryCell) {
			a.captured, a.won, a.lost, a.pipeline, a.wonAccounts = cap, int64(w), int64(l), pipe, int64(wa)
		})
		return nil
	})
}

// territoryDimDeals is territoryDeals under one product or source filter (and
// any territory and segment): the numbers from territory_dim_days, the accounts
// won (with wonAccounts) from opp_closes' won deals of the range, beside it.
func (s *Service) territoryDimDeals(ctx context.Context, f Filter, dim string, values []string, wonAccounts bool, cells *territoryCells) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		tc := territoryRollupWhere(f, true)
		tc.add("dim = ?", dim)
		tc.in("value", values)
		// A cell lists when any deal of any date is in it (grain 2 counts them).
		q := "SELECT territory, segment, sum(won_amount), sum(won), sum(lost), sum(pipeline) FROM territory_dim_days" + tc.where() + " GROUP BY territory, segment HAVING sum(deals) > 0"
		return s.query(gctx, "territory-dim-deals", q, tc.args, func(r driverRows) error {
			var t, seg string
			var cap, pipe float64
			var w, l uint64
			if err := r.Scan(&t, &seg, &cap, &w, &l, &pipe); err != nil {
				return err
			}
			cells.with(t, seg, func(a *territoryCell) { a.captured, a.won, a.lost, a.pipeline = cap, int64(w), int64(l), pipe })
			return nil
		})
	})
	if wonAccounts {
		g.Go(func() error { return s.territoryWonAccounts(gctx, f, cells) })
	}
	return g.Wait()
}

// territoryDealsSQL is territoryDeals' statement over the deals themselves
// (any filter): per cell, the won amount, won and lost deals closed in the
// range and the accounts won there, from opp_closes (sorted by close date, so
// the range reads its own granules), and the open pipeline from opp_open.
// Together they are the opp_facts rows that are open or closed in the range,
// the rows that list a cell.
func territoryDealsSQL(f Filter) (string, []any) {
	var closes, open cond
	closes.add("territory != ''")
	closes.add("closed = 1")
	dateRange(&closes, "close_date", f)
	dims(&closes, f, "")
	open.add("territory != ''")
	dims(&open, f, "")
	q := "SELECT territory, segment, sum(c), sum(w), sum(l), sum(p), sum(a) FROM (" +
		"SELECT territory, segment, sumIf(amount, won = 1) AS c, countIf(won = 1) AS w, countIf(won = 0) AS l, toFloat64(0) AS p, uniqExactIf(account_id, won = 1) AS a FROM opp_closes" +
		closes.prewhere() + " GROUP BY territory, segment UNION ALL " +
		"SELECT territory, segment, toFloat64(0), toUInt64(0), toUInt64(0), sum(amount), toUInt64(0) FROM opp_open" + open.prewhere() + " GROUP BY territory, segment" +
		") GROUP BY territory, segment"
	return q, append(closes.args, open.args...)
}

// territoryRollupWhere selects the rollups' rows of f's range (with open, the
// rows of grain 2 too: the open pipeline and the deals of any date).
func territoryRollupWhere(f Filter, open bool) cond {
	g, gargs := grainRange(f, false)
	var c cond
	c.add(tokDelta)
	if open {
		c.add("("+g+" OR grain = 2)", gargs...)
	} else {
		c.add(g, gargs...)
	}
	c.in("territory", f.Territory)
	c.in("segment", f.Segment)
	return c
}

// territoryWonAccounts reads the won accounts of the rollups' paths on their
// own (TerritoryHeadroom, when the estimate is needed): wonAccountsSQL's under
// territory and segment filters, from opp_closes' won deals of the range under
// a product or source filter.
func (s *Service) territoryWonAccounts(ctx context.Context, f Filter, cells *territoryCells) error {
	q, args := s.wonAccountsSQL(f)
	if !s.placeOnly(f) {
		var c cond
		c.add("territory != ''")
		c.add("closed = 1")
		c.add("won = 1")
		dateRange(&c, "close_date", f)
		dims(&c, f, "")
		q, args = "SELECT territory, segment, uniqExact(account_id) FROM opp_closes"+c.prewhere()+" GROUP BY territory, segment", c.args
	}
	return s.query(ctx, "territory-won-accounts", q, args, func(r driverRows) error {
		var t, seg string
		var n uint64
		if err := r.Scan(&t, &seg, &n); err != nil {
			return err
		}
		cells.with(t, seg, func(a *territoryCell) { a.wonAccounts = int64(n) })
		return nil
	})
}

// territoryRows turns the cells and the market into ranked territories.
func territoryRows(f Filter, cells map[[2]string]*territoryCell, market map[string]float64) []Territory {
	// Won amount per won account, per segment.
	segWon := map[string][2]float64{}
	for k, a := range cells {
		v := segWon[k[1]]
		v[0] += a.captured
		v[1] += float64(a.wonAccounts)
		segWon[k[1]] = v
	}
	byT := map[string]*Territory{}
	for k, a := range cells {
		t := byT[k[0]]
		if t == nil {
			t = &Territory{Territory: k[0], PotentialSource: "estimate"}
			byT[k[0]] = t
		}
		t.Accounts += a.accounts
		t.WhiteSpace += a.white
		t.Captured += a.captured
		t.Pipeline += a.pipeline
		t.Won += a.won
		t.Lost += a.lost
		if sw := segWon[k[1]]; sw[1] > 0 {
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
	return out
}

// marketPotential is the annual potential per territory from the market table:
// the latest year not after the range's last day, summed over segments (the
// filter's segments only) and industries. It adds up marketRows in Go (a
// statement per request took 7-12 ms beside the territories' other two at
// the large sample).
func (s *Service) marketPotential(ctx context.Context, f Filter) (map[string]float64, error) {
	rows, err := s.marketRows(ctx)
	if err != nil {
		return nil, err
	}
	year := uint16(f.To.AddDate(0, 0, -1).Year())
	in := func(r *marketRow) bool {
		return r.year <= year && (len(f.Territory) == 0 || slices.Contains(f.Territory, r.territory)) &&
			(len(f.Segment) == 0 || slices.Contains(f.Segment, r.segment))
	}
	latestYear := map[string]uint16{}
	for i := range rows {
		if r := &rows[i]; in(r) {
			latestYear[r.territory] = max(latestYear[r.territory], r.year)
		}
	}
	out := map[string]float64{}
	for i := range rows {
		if r := &rows[i]; in(r) && r.year == latestYear[r.territory] {
			out[r.territory] += r.potential
		}
	}
	return out, nil
}

// marketRow is a row of the market table as the latest run loaded it.
type marketRow struct {
	territory, segment string
	year               uint16
	potential          float64
}

// marketRows is the market table at ctx's version (a few rows per territory,
// segment, industry and year), in a fixed order; kept per publication
// (memoized, read by Warm; callers must not modify it).
func (s *Service) marketRows(ctx context.Context) ([]marketRow, error) {
	return memoized(ctx, s, memoMarket, func(ctx context.Context) ([]marketRow, error) {
		q := "SELECT territory, segment, year, potential FROM " + latest("market", "territory, segment, industry, year", "territory, segment, industry, year, potential")
		var out []marketRow
		err := s.query(ctx, "market", q, nil, func(r driverRows) error {
			var m marketRow
			if err := r.Scan(&m.territory, &m.segment, &m.year, &m.potential); err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
		return out, err
	})
}
