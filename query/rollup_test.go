package query

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestRollupsMatchFacts: every metric answered from the pre-aggregates
// (rep_days, team_days, rep_dim_months, territory_days, account_facts, cycle_days, the deals cut-off) equals the same
// metric computed from opp_facts, for ranges that cut months and weeks and for
// each kind of filter. A difference is a page showing other numbers than the
// deal list behind them.
func TestRollupsMatchFacts(t *testing.T) {
	db := schemastest.Open(t)
	fx := randomFixture(7, 3000)
	fx.load(t, db)
	ctx := context.Background()
	for _, zone := range []string{"UTC", "Asia/Shanghai"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		fast := New(db, loc, quietLog())
		if err := fast.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		plain := New(db, loc, quietLog())
		plain.noRollup = true
		dl := func(s string) time.Time {
			x, err := time.ParseInLocation(time.DateOnly, s, loc)
			if err != nil {
				t.Fatal(err)
			}
			return x
		}
		filters := []Filter{
			{From: dl("2023-10-01"), To: dl("2024-10-01")},
			{From: dl("2023-10-17"), To: dl("2024-07-09")},
			{From: dl("2024-02-03"), To: dl("2024-02-20")},
			{From: dl("2024-01-15"), To: dl("2024-06-01"), Team: []string{"East"}},
			{From: dl("2023-12-02"), To: dl("2024-09-13"), Manager: []string{"mWest"}},
			{From: dl("2023-11-05"), To: dl("2024-05-28"), Rep: []string{"r03", "r07"}, Manager: []string{"mEast", "mWest"}},
			{From: dl("2023-12-11"), To: dl("2024-08-14"), Territory: []string{"T2", "T3"}},
			{From: dl("2023-12-11"), To: dl("2024-08-14"), Segment: []string{"SMB"}, Territory: []string{"T1"}},
			{From: dl("2024-01-01"), To: dl("2024-04-01"), Product: []string{"A"}, Team: []string{"West"}},
			{From: dl("2023-10-17"), To: dl("2024-07-09"), Source: []string{"web", "partner"}},
			{From: dl("2023-11-20"), To: dl("2024-01-03"), Segment: []string{"SMB"}, Rep: []string{"r03", "r05", "r07"}},
			{From: dl("2024-03-09"), To: dl("2024-03-27"), Product: []string{"B"}},
			{From: dl("2023-12-02"), To: dl("2024-09-13"), Product: []string{"A"}, Segment: []string{"SMB"}},
		}
		for i, f := range filters {
			t.Run(fmt.Sprintf("%s/%d", zone, i), func(t *testing.T) {
				check := func(name string, get func(s *Service) (any, error)) {
					t.Helper()
					a, err := get(fast)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					b, err := get(plain)
					if err != nil {
						t.Fatalf("%s (opp_facts): %v", name, err)
					}
					if path, ok := sameJSON(t, a, b); !ok {
						t.Errorf("%s differs from opp_facts at %s", name, path)
					}
				}
				check("funnel", func(s *Service) (any, error) { return s.Funnel(ctx, Unrestricted, f) })
				for _, p := range []string{Week, Month, Quarter} {
					check("conversion "+p, func(s *Service) (any, error) { return s.Conversion(ctx, Unrestricted, f, p) })
					check("movement "+p, func(s *Service) (any, error) { return s.Movement(ctx, Unrestricted, f, p) })
				}
				for _, g := range []string{"", "rep", "team", "manager", "territory"} {
					check("winrate "+g, func(s *Service) (any, error) { return s.WinRate(ctx, Unrestricted, f, g) })
				}
				check("days in stage", func(s *Service) (any, error) { return s.DaysInStage(ctx, Unrestricted, f, "") })
				for _, g := range []string{"", "team"} {
					check("cycle "+g, func(s *Service) (any, error) { return s.CycleTime(ctx, Unrestricted, f, g) })
				}
				for _, m := range registry {
					if m.cube == nil {
						continue
					}
					for _, g := range []string{"", "team", "manager", "product"} {
						check("series "+m.Name+" "+g, func(s *Service) (any, error) { return s.DailySeries(ctx, Unrestricted, m.Name, g, f) })
					}
				}
				check("reps", func(s *Service) (any, error) { return s.Reps(ctx, Unrestricted, f) })
				check("territories", func(s *Service) (any, error) { return s.Territories(ctx, Unrestricted, f) })
				check("territory headroom", func(s *Service) (any, error) { return s.TerritoryHeadroom(ctx, Unrestricted, f) })
				for _, dq := range []DealQuery{{}, {Sort: "amount", Page: 3, PageSize: 7}, {Basis: "closed", Sort: "-close", Page: 2, PageSize: 11},
					{Basis: "open", Sort: "created"}, {Sort: "-created", Stage: "proposal", Reached: true, Page: 2, PageSize: 5}, {Page: 500, PageSize: 50},
					{Status: "closed"}, {Status: "won", Page: 2, PageSize: 5}, {Status: "lost"}, {Status: "open", Sort: "close"}, {Stage: "proposal"}} {
					check(fmt.Sprintf("deals %+v", dq), func(s *Service) (any, error) { return s.Deals(ctx, Unrestricted, f, dq) })
				}
			})
		}
	}
}

// sameJSON compares a and b as JSON, numbers within 1e-9 relative; it returns
// the first differing path.
func sameJSON(t *testing.T, a, b any) (string, bool) {
	t.Helper()
	var x, y any
	for _, p := range []struct {
		v   any
		dst *any
	}{{a, &x}, {b, &y}} {
		raw, err := json.Marshal(p.v)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, p.dst); err != nil {
			t.Fatal(err)
		}
	}
	return diffJSON("$", x, y)
}

func diffJSON(path string, x, y any) (string, bool) {
	switch xv := x.(type) {
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok || len(xv) != len(yv) {
			return fmt.Sprintf("%s: %v vs %v", path, x, y), false
		}
		for k := range xv {
			if p, ok := diffJSON(path+"."+k, xv[k], yv[k]); !ok {
				return p, false
			}
		}
	case []any:
		yv, ok := y.([]any)
		if !ok || len(xv) != len(yv) {
			return fmt.Sprintf("%s: %d vs %d items", path, len(xv), len(yv)), false
		}
		for i := range xv {
			if p, ok := diffJSON(fmt.Sprintf("%s[%d]", path, i), xv[i], yv[i]); !ok {
				return p, false
			}
		}
	case float64:
		yv, ok := y.(float64)
		if !ok || math.Abs(xv-yv) > 1e-9*math.Max(1, math.Max(math.Abs(xv), math.Abs(yv))) {
			return fmt.Sprintf("%s: %v vs %v", path, x, y), false
		}
	default:
		if x != y {
			return fmt.Sprintf("%s: %v vs %v", path, x, y), false
		}
	}
	return "", true
}
