package query

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestHeadroomEqualsTerritories: the overview's headroom (TerritoryHeadroom)
// gives every territory Territories gives, with the same potential, its
// source, won amount, deals, pipeline and rank, under each filter and for a
// manager; with the market covering every territory (the won accounts not
// read) and without (the estimate needs them). A difference is a director
// sent to another territory from the overview than the territories page ranks
// first.
func TestHeadroomEqualsTerritories(t *testing.T) {
	ctx := context.Background()
	_, s, loc := reexportedHome(t, 7, 2000)
	filters := reexportFilters(loc)
	d := func(v string) time.Time {
		x, _ := time.ParseInLocation(time.DateOnly, v, loc)
		return x
	}
	// The market table has rows for the sample's last year only: a range
	// ending before it is estimated.
	some := []string{"上海", "北京", "广东", "浙江", "江苏"}
	filters = append(filters, Filter{From: d("2025-01-01"), To: d("2025-07-01")}, Filter{From: d("2025-03-01"), To: d("2025-12-01"), Territory: some},
		Filter{From: d("2025-02-01"), To: d("2025-10-01"), Product: []string{"SaaS 企业版"}})
	manager := Scope{Name: "m", Role: RoleManager, Team: "华东一组"}
	paths := map[bool]int{}
	for i, f := range filters {
		for _, sc := range []Scope{Unrestricted, manager} {
			full, err := s.Territories(ctx, sc, f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.TerritoryHeadroom(ctx, sc, f)
			if err != nil {
				t.Fatal(err)
			}
			market := len(full) > 0
			for k := range full {
				market = market && full[k].PotentialSource == "market"
				full[k].Accounts, full[k].WhiteSpace, full[k].Coverage = 0, 0, 0
			}
			paths[market]++
			if path, ok := sameJSON(t, got, full); !ok {
				t.Errorf("filter %d, scope %v (market covers all: %v): headroom differs from Territories at %s", i, sc, market, path)
			}
		}
	}
	if paths[true] == 0 || paths[false] == 0 {
		t.Fatalf("cases with the market covering every territory: %d, without: %d; the test needs both", paths[true], paths[false])
	}
}

// TestTerritoryDealsEqualFacts: territories' cells under a product or source
// filter, read from the range's closes and the open deals
// (territoryDealsSQL), equal those read from every opp_facts row (the
// statement it replaced, kept here), on a home after incremental exports (the
// visibility rule over replaced rows), under each filter the rollups cannot
// answer, unrestricted and for a manager.
func TestTerritoryDealsEqualFacts(t *testing.T) {
	ctx := context.Background()
	_, s, loc := reexportedHome(t, 7, 2000)
	d := func(v string) time.Time {
		x, _ := time.ParseInLocation(time.DateOnly, v, loc)
		return x
	}
	filters := append(reexportFilters(loc), Filter{From: d("2025-02-01"), To: d("2025-10-01"), Product: []string{"SaaS 企业版"}},
		Filter{From: d("2024-01-01"), To: d("2027-01-01"), Source: []string{"website"}})
	manager := Scope{Name: "m", Role: RoleManager, Team: "华东一组"}
	type cell struct {
		won, lost, wonAccounts uint64
		captured, pipeline     float64
	}
	read := func(q string, args []any) map[[2]string]cell {
		out := map[[2]string]cell{}
		err := s.query(ctx, "test", q, args, func(r driverRows) error {
			var k [2]string
			var c cell
			if err := r.Scan(&k[0], &k[1], &c.captured, &c.won, &c.lost, &c.pipeline, &c.wonAccounts); err != nil {
				return err
			}
			out[k] = c
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	cases, nonEmpty := 0, 0
	for i, f := range filters {
		for _, sc := range []Scope{Unrestricted, manager} {
			sf, err := s.scope(sc, f)
			if err != nil {
				t.Fatal(err)
			}
			if s.placeOnly(sf) {
				continue
			}
			cases++
			got, want := read(territoryDealsSQL(sf)), read(factsTerritoryDealsSQL(sf))
			if len(want) > 0 {
				nonEmpty++
			}
			if len(got) != len(want) {
				t.Errorf("filter %d, scope %v: %d cells, want %d", i, sc, len(got), len(want))
			}
			for k, w := range want {
				g, ok := got[k]
				if !ok || g.won != w.won || g.lost != w.lost || g.wonAccounts != w.wonAccounts || !near(g.captured, w.captured) || !near(g.pipeline, w.pipeline) {
					t.Errorf("filter %d, scope %v, cell %v: %+v, want %+v", i, sc, k, g, w)
				}
			}
		}
	}
	if cases < 8 || nonEmpty < 6 {
		t.Fatalf("%d cases outside the rollups, %d with cells: the test needs more", cases, nonEmpty)
	}
}

// factsTerritoryDealsSQL is the statement territoryDealsSQL replaced: every
// opp_facts row open or closed in the range.
func factsTerritoryDealsSQL(f Filter) (string, []any) {
	var c cond
	c.add("territory != ''")
	dims(&c, f, "")
	inRange := "close_date >= toDate(?) AND close_date < toDate(?)"
	c.add("(closed = 0 OR "+inRange+")", day(f.From), day(f.To))
	q := "SELECT territory, segment, sumIf(amount, won = 1 AND " + inRange + "), countIf(won = 1 AND " + inRange + "), countIf(lost = 1 AND " + inRange + "), sumIf(amount, closed = 0), uniqExactIf(account_id, won = 1 AND " + inRange + ") FROM opp_facts" + c.prewhere() + " GROUP BY territory, segment"
	rng := []any{day(f.From), day(f.To)}
	return q, append(append(append(append(append([]any{}, rng...), rng...), rng...), rng...), c.args...)
}

// TestWonAccountsEqualFacts: the accounts won per territory and segment, read
// from territory_firsts (one row per account in a range), equal those counted
// by grouping territory_wins per account (the cluster path) and those counted
// from the range's won deals in opp_closes, on a home loaded file by file with
// a re-export that moves won deals' dates, reopens won deals and moves
// accounts to another territory; over whole-month, cut and single-day ranges
// and under territory and segment filters.
func TestWonAccountsEqualFacts(t *testing.T) {
	ctx := context.Background()
	_, s, loc := reexportedHome(t, 5, 2500)
	filters := reexportFilters(loc)
	rng := rand.New(rand.NewPCG(5, 36))
	start := time.Date(2024, 6, 1, 0, 0, 0, 0, loc)
	for range 30 {
		from := start.AddDate(0, 0, rng.IntN(900))
		filters = append(filters, Filter{From: from, To: from.AddDate(0, 0, 1+rng.IntN(400))})
	}
	read := func(q string, args []any) map[[2]string]uint64 {
		t.Helper()
		out := map[[2]string]uint64{}
		err := s.query(ctx, "test-won-accounts", q, args, func(r driverRows) error {
			var tr, seg string
			var n uint64
			if err := r.Scan(&tr, &seg, &n); err != nil {
				return err
			}
			if n > 0 {
				out[[2]string{tr, seg}] = n
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	nonzero := 0
	for i, f := range filters {
		got, grouped := read(s.wonAccountsSQL(f)), read(groupedWonAccountsSQL(f))
		var c cond
		c.add(tokFacts)
		c.add("territory != '' AND closed = 1 AND won = 1")
		dateRange(&c, "close_date", f)
		c.in("territory", f.Territory)
		c.in("segment", f.Segment)
		facts := read("SELECT territory, segment, uniqExact(account_id) FROM opp_closes"+c.where()+" GROUP BY territory, segment", c.args)
		if !reflect.DeepEqual(got, facts) || !reflect.DeepEqual(grouped, facts) {
			t.Errorf("filter %d [%s, %s) %v %v: territory_firsts %v, territory_wins %v, opp_closes %v", i, f.From.Format(time.DateOnly), f.To.Format(time.DateOnly),
				f.Territory, f.Segment, got, grouped, facts)
		}
		nonzero += len(facts)
	}
	if nonzero < 100 {
		t.Fatalf("%d cells with won accounts over %d filters: the test needs more", nonzero, len(filters))
	}
}

// TestMarketPotential: a territory's potential is the market rows of its
// latest year not after the range's last day, under the segment and territory
// filters, summed over segments; a territory with rows of later years only has
// none.
func TestMarketPotential(t *testing.T) {
	ctx := context.Background()
	db := schemastest.Open(t)
	fx := &fixture{market: []fmarket{
		{"T1", "SMB", 2024, 100}, {"T1", "ENT", 2024, 50}, {"T1", "SMB", 2025, 200}, {"T1", "ENT", 2026, 70},
		{"T2", "SMB", 2024, 10}, {"T2", "SMB", 2026, 30}, {"T2", "ENT", 2026, 40},
		{"T3", "SMB", 2027, 999},
	}}
	fx.load(t, db)
	s := New(db, time.UTC, quietLog())
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := db.CurrentVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ends := func(year int) Filter { // a range whose last day is in year
		return Filter{From: time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC)}
	}
	with := func(f Filter, seg, terr []string) Filter { f.Segment, f.Territory = seg, terr; return f }
	for _, c := range []struct {
		f    Filter
		want map[string]float64
	}{
		{ends(2026), map[string]float64{"T1": 70, "T2": 70}},
		{ends(2025), map[string]float64{"T1": 200, "T2": 10}},
		{with(ends(2026), []string{"SMB"}, nil), map[string]float64{"T1": 200, "T2": 30}},
		{with(ends(2026), nil, []string{"T2"}), map[string]float64{"T2": 70}},
		{with(ends(2026), []string{"ENT", "SMB"}, []string{"T1", "T3"}), map[string]float64{"T1": 70}},
		{ends(2023), map[string]float64{}},
		{ends(2027), map[string]float64{"T1": 70, "T2": 70, "T3": 999}},
	} {
		for _, ctx := range []context.Context{ctx, AsOf(ctx, v)} { // read, then kept per publication
			got, err := s.marketPotential(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("range ending %s, segments %v, territories %v: %v, want %v", c.f.To.AddDate(0, 0, -1).Format(time.DateOnly), c.f.Segment, c.f.Territory, got, c.want)
			}
		}
	}
}
