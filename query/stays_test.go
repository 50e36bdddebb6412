package query

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestStaysEqualFactsArrays: days in stage and the stage norms read from
// opp_stays answer what they answered from opp_facts' entered/exited arrays
// (the statements below are the ones they replaced), on a home where every
// file was published on its own, the second export replacing versions of
// most opportunities: a stay of a replaced version must stop counting with it,
// and a stay of a new version count at once. Every grouping, under each
// filter, in a zone whose days are not UTC's. A difference is a manager shown
// a different time in stage than the deals' own history gives.
func TestStaysEqualFactsArrays(t *testing.T) {
	ctx := context.Background()
	db, s, loc := reexportedHome(t, 5, 2000)
	var gone uint64
	if err := db.Conn.QueryRow(ctx, "SELECT count() FROM opp_gone").Scan(&gone); err != nil || gone == 0 {
		t.Fatalf("replaced opp_facts versions: %d (%v); the test needs some", gone, err)
	}

	d := func(s string) time.Time {
		x, _ := time.ParseInLocation(time.DateOnly, s, loc)
		return x
	}
	filters := reexportFilters(loc)
	stays := 0
	for i, f := range filters {
		for _, g := range append([]string{""}, GroupBys...) {
			got, err := s.DaysInStage(ctx, Unrestricted, f, g)
			if err != nil {
				t.Fatal(err)
			}
			want, err := arraysDaysInStage(ctx, s, f, g)
			if err != nil {
				t.Fatal(err)
			}
			if path, ok := sameJSON(t, got, want); !ok {
				t.Errorf("filter %d, group by %q: days in stage differs from the arrays' at %s", i, g, path)
			}
			for _, x := range got {
				stays += int(x.Count + x.StillIn)
			}
		}
	}
	if stays < 1000 {
		t.Fatalf("only %d stays compared", stays)
	}
	for _, asOf := range []time.Time{d("2026-06-15"), d("2026-11-20")} {
		got, err := s.StageNorms(ctx, asOf)
		if err != nil {
			t.Fatal(err)
		}
		want, err := arraysStageNorms(ctx, s, asOf)
		if err != nil {
			t.Fatal(err)
		}
		sortNorms(got)
		sortNorms(want)
		if len(got) < 4 {
			t.Fatalf("stage norms as of %s: %d rows", day(asOf), len(got))
		}
		if path, ok := sameJSON(t, got, want); !ok {
			t.Errorf("stage norms as of %s differ from the arrays' at %s", day(asOf), path)
		}
	}
}

func sortNorms(n []StageNorm) {
	sort.Slice(n, func(i, j int) bool {
		if n[i].Team != n[j].Team {
			return n[i].Team < n[j].Team
		}
		return n[i].Stage < n[j].Stage
	})
}

// arraysDaysInStage is DaysInStage as it read opp_facts before opp_stays.
func arraysDaysInStage(ctx context.Context, s *Service, f Filter, groupBy string) ([]StageDurations, error) {
	key, label, err := groupExpr(groupBy)
	if err != nil {
		return nil, err
	}
	var c cond
	c.add("en > toDateTime(0)")
	c.add("toDate(en, "+s.tz+") >= toDate(?) AND toDate(en, "+s.tz+") < toDate(?)", day(f.From), day(f.To))
	dims(&c, f, "")
	const done = "ex > toDateTime(0)"
	q := "SELECT rk, " + key + " AS k, " + label + ", countIf(" + done + "), avgIf(" + stayDays + ", " + done + "), " + quantileMedianIf(stayDays, done) +
		", if(countIf(" + done + ") > 1, stddevSampIf(" + stayDays + ", " + done + "), 0), countIf(ex = toDateTime(0))" +
		" FROM opp_facts ARRAY JOIN entered AS en, exited AS ex, arrayEnumerate(entered) AS rk" + c.where() + " GROUP BY rk, k ORDER BY rk, k"
	out := []StageDurations{}
	err = s.query(ctx, "test-days-in-stage", q, c.args, func(r driverRows) error {
		var g StageDurations
		var rk uint32
		var n, still uint64
		if err := r.Scan(&rk, &g.Key, &g.Name, &n, &g.Mean, &g.Median, &g.StdDev, &still); err != nil {
			return err
		}
		g.Rank, g.Count, g.StillIn = int(rk), int64(n), int64(still)
		if g.Rank >= 1 && g.Rank <= len(s.stages) {
			g.Stage = s.stages[g.Rank-1]
		}
		if g.Count == 0 {
			g.Mean = 0
		}
		out = append(out, g)
		return nil
	})
	return out, err
}

// arraysStageNorms is StageNorms as it read opp_facts before opp_stays.
func arraysStageNorms(ctx context.Context, s *Service, asOf time.Time) ([]StageNorm, error) {
	t := asOf.Unix()
	names := make([]string, len(s.stages))
	for i, st := range s.stages {
		names[i] = quote(st)
	}
	stage := "arrayElement([" + strings.Join(names, ", ") + "], rk)"
	where := fmt.Sprintf(" WHERE %s AND en > toDateTime(%d) AND ex > toDateTime(0) AND ex < toDateTime(%d)", tokFacts, t-365*86400, t)
	from := " FROM opp_facts ARRAY JOIN entered AS en, exited AS ex, arrayEnumerate(entered) AS rk"
	cols := ", count(), quantileExact(0.5)(" + stayDays + "), quantileExact(0.9)(" + stayDays + ")"
	q := "SELECT team, " + stage + " AS st" + cols + from + where + " GROUP BY team, st" +
		" UNION ALL SELECT '' AS team, " + stage + " AS st" + cols + from + where + " GROUP BY st"
	var out []StageNorm
	err := s.query(ctx, "test-stage-norms", q, nil, func(r driverRows) error {
		var n StageNorm
		var cnt uint64
		if err := r.Scan(&n.Team, &n.Stage, &cnt, &n.P50, &n.P90); err != nil {
			return err
		}
		n.Count = int(cnt)
		out = append(out, n)
		return nil
	})
	return out, err
}

// quantileMedianIf is the median of the days-in-stage statement opp_stays
// replaced, the reference middlesMedianIf must equal bit for bit:
// quantileExact(0.5) is the upper middle value on 18.16 and current ClickHouse
// alike, and the upper middle of -x is minus the lower middle of x, so half
// their difference is the middle value or the mean of the two middle values
// (quantileExactLow/High do not exist on 18.16).
func quantileMedianIf(x, cond string) string {
	return "if(countIf(" + cond + ") = 0, 0, (quantileExactIf(0.5)(" + x + ", " + cond + ") - quantileExactIf(0.5)(-(" + x + "), " + cond + ")) / 2)"
}
