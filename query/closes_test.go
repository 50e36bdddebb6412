package query

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestClosesEqualFacts: win rate and cycle time read from opp_closes (and
// coverage's pipeline from opp_open) answer
// what they answered from opp_facts (the statements below are the ones they
// replaced), on a home where every file was published on its own, the second
// export replacing versions of most opportunities (close dates, amounts,
// owners, stages): a close of a replaced version must stop counting with it,
// and one of a new version count at once. Every grouping, under each filter,
// in a zone whose days are not UTC's; win rate also without the rep_days
// rollup, so its owner filters and groupings read opp_closes too. A difference
// is a director shown another win rate or sales cycle than the deals give.
func TestClosesEqualFacts(t *testing.T) {
	ctx := context.Background()
	db, s, loc := reexportedHome(t, 7, 2000)
	var gone, goneClosed uint64
	var goneOpen uint64
	if err := db.Conn.QueryRow(ctx, "SELECT count(), countIf((opportunity_id, gone.pub) IN (SELECT opportunity_id, pub FROM opp_closes)), countIf((opportunity_id, gone.pub) IN (SELECT opportunity_id, pub FROM opp_open)) FROM opp_gone AS gone").Scan(&gone, &goneClosed, &goneOpen); err != nil || goneClosed == 0 || goneOpen == 0 {
		t.Fatalf("replaced opp_facts versions: %d, of closed deals %d, of open deals %d (%v); the test needs some", gone, goneClosed, goneOpen, err)
	}
	plain := New(db, loc, quietLog())
	plain.noRollup = true

	filters := reexportFilters(loc)
	won, lost, pipeline := 0, 0, 0.0
	for i, f := range filters {
		for _, g := range append([]string{""}, GroupBys...) {
			for _, svc := range []*Service{s, plain} {
				got, err := svc.WinRate(ctx, Unrestricted, f, g)
				if err != nil {
					t.Fatal(err)
				}
				want, err := factsWinRate(ctx, svc, f, g)
				if err != nil {
					t.Fatal(err)
				}
				if path, ok := sameJSON(t, got, want); !ok {
					t.Errorf("filter %d, group by %q, rollup %v: win rate differs from opp_facts' at %s", i, g, !svc.noRollup, path)
				}
				won, lost = won+int(got.Total.Won), lost+int(got.Total.Lost)
			}
			got, err := s.CycleTime(ctx, Unrestricted, f, g)
			if err != nil {
				t.Fatal(err)
			}
			want, err := factsCycleTime(ctx, s, f, g)
			if err != nil {
				t.Fatal(err)
			}
			if path, ok := sameJSON(t, got, want); !ok {
				t.Errorf("filter %d, group by %q: cycle time differs from opp_facts' at %s", i, g, path)
			}
		}
		// The statements of Movement's won and lost and of the closed-deal
		// series, against the same over opp_facts.
		for _, p := range []string{Week, Month, Quarter} {
			pcl, err := periodExpr(p, "close_date")
			if err != nil {
				t.Fatal(err)
			}
			var c cond
			c.add("closed = 1")
			dateRange(&c, "close_date", f)
			dims(&c, f, "")
			sameRows(t, ctx, s, fmt.Sprintf("filter %d, movement by %s", i, p), "opp_closes", movementClosedSQL(pcl, c), c.args, 1)
		}
		for _, m := range registry {
			if m.from != "closed" {
				continue
			}
			for _, g := range append([]string{""}, GroupBys...) {
				if !m.Allows(g) {
					continue
				}
				seg, _, _ := groupExpr(g)
				var c cond
				sameRows(t, ctx, s, fmt.Sprintf("filter %d, series %s by %q", i, m.Name, g), "opp_closes", s.seriesSQL(m, seg, f, &c), c.args, 2)
			}
		}
		// Coverage's pipeline reads the open deals of opp_open.
		var c cond
		c.add("closed = 0")
		dateRange(&c, "close_date", f)
		dims(&c, f, "")
		sameRows(t, ctx, s, fmt.Sprintf("filter %d, pipeline", i), "opp_open", openPipelineSQL(c), c.args, 0)
		// Attainment's and coverage's bookings under any filter read the won
		// deals of opp_closes.
		var wc cond
		wc.add("won = 1")
		dateRange(&wc, "close_date", f)
		dims(&wc, f, "")
		sameRows(t, ctx, s, fmt.Sprintf("filter %d, won", i), "opp_closes", wonSQL(wc), wc.args, 0)
		starts, ends := []string{day(f.From), day(f.From.AddDate(0, 1, 0))}, []string{day(f.From.AddDate(0, 1, 0)), day(f.To)}
		sameRows(t, ctx, s, fmt.Sprintf("filter %d, bookings", i), "opp_closes", bookingsSQL(wc), append([]any{starts, ends, starts}, wc.args...), 4)
		pipe, err := s.openPipeline(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		pipeline += pipe
	}
	for _, f := range filters[2:4] {
		if _, err := plain.Movement(ctx, Unrestricted, f, Month); err != nil {
			t.Fatal(err)
		}
	}
	if won < 1000 || lost < 1000 || pipeline <= 0 {
		t.Fatalf("only %d won and %d lost deals and a pipeline of %.0f compared", won, lost, pipeline)
	}
}

// factsWinRate is WinRate as it read opp_facts before opp_closes (the rep_days
// path unchanged).
func factsWinRate(ctx context.Context, s *Service, f Filter, groupBy string) (WinRate, error) {
	if s.ownerOnly(f) && (groupBy == "" || groupBy == "rep" || groupBy == "team" || groupBy == "manager") {
		return s.WinRate(ctx, Unrestricted, f, groupBy)
	}
	key, label, err := groupExpr(groupBy)
	if err != nil {
		return WinRate{}, err
	}
	var c cond
	c.add("closed = 1")
	dateRange(&c, "close_date", f)
	dims(&c, f, "")
	out := WinRate{From: day(f.From), To: day(f.To), GroupBy: groupBy, Groups: []WinRateGroup{}, Total: WinRateGroup{Key: "all", Name: "all"}}
	q := "SELECT " + key + " AS k, " + label + ", countIf(won = 1), countIf(won = 0), sumIf(amount, won = 1), sumIf(amount, won = 0) FROM opp_facts" + c.prewhere() + " GROUP BY k ORDER BY k"
	err = s.readWinRate(ctx, q, c.args, &out)
	return out, err
}

// medianIf is the exact median of x over the rows where cond holds: the middle
// value, or the mean of the two middle values for an even count (cycle time's
// median before middlesMedianIf).
func medianIf(x, cond string) string {
	a := "arraySort(groupArrayIf(" + x + ", " + cond + "))"
	n := "countIf(" + cond + ")"
	return "if(" + n + " = 0, 0, if(" + n + " % 2 = 1, toFloat64(" + a + "[intDiv(" + n + ", 2) + 1]), (" + a + "[intDiv(" + n + ", 2)] + " + a + "[intDiv(" + n + ", 2) + 1]) / 2))"
}

// factsCycleTime is CycleTime as it read opp_facts before opp_closes.
func factsCycleTime(ctx context.Context, s *Service, f Filter, groupBy string) (CycleTime, error) {
	key, label, err := groupExpr(groupBy)
	if err != nil {
		return CycleTime{}, err
	}
	var c cond
	c.add("won = 1")
	dateRange(&c, "close_date", f)
	dims(&c, f, "")
	out := CycleTime{From: day(f.From), To: day(f.To), GroupBy: groupBy, Groups: []Durations{}}
	stat := func(k, l string) string {
		return k + " AS k, " + l + ", count(), avg(" + cycleDays + "), " + medianIf(cycleDays, "1") + ", if(count() > 1, stddevSamp(" + cycleDays + "), 0)"
	}
	groups := ""
	if groupBy != "" {
		groups = "SELECT " + stat(key, label) + " FROM opp_facts" + c.prewhere() + " GROUP BY k ORDER BY k"
	}
	err = s.readCycle(ctx, "SELECT "+stat("'all'", "'all'")+" FROM opp_facts"+c.prewhere(), groups, c.args, &out)
	return out, err
}

// sameRows runs q, a statement over table (opp_closes or opp_open), and the
// same statement over opp_facts, and fails t when their rows differ; the first
// keys columns identify a row (the statements have no ORDER BY).
func sameRows(t *testing.T, ctx context.Context, s *Service, name, table, q string, args []any, keys int) {
	t.Helper()
	if !strings.Contains(q, "FROM "+table) {
		t.Fatalf("%s does not read %s: %s", name, table, q)
	}
	read := func(q string) [][]any {
		var out [][]any
		err := s.query(ctx, "test-closes", q, args, func(r driverRows) error {
			row := make([]any, len(r.ColumnTypes()))
			for i, ct := range r.ColumnTypes() {
				row[i] = reflect.New(ct.ScanType()).Interface()
			}
			if err := r.Scan(row...); err != nil {
				return err
			}
			for i := range row {
				row[i] = reflect.ValueOf(row[i]).Elem().Interface()
			}
			out = append(out, row)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i][:keys]...) < fmt.Sprint(out[j][:keys]...) })
		return out
	}
	got, want := read(q), read(strings.Replace(q, "FROM "+table, "FROM opp_facts", 1))
	if len(got) == 0 {
		t.Logf("%s: no rows", name)
	}
	if path, ok := sameJSON(t, got, want); !ok {
		t.Errorf("%s differs from opp_facts' at %s", name, path)
	}
}
