package query

import (
	"context"
	"testing"
	"time"
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
