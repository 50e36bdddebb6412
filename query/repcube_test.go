package query

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestRepCubeEqualsStatement: the scorecards' rep_days sums and activity
// counts added up in memory (repcube.go) are those of the statements they
// replace, for owner filters and ranges around the cube's day window: a year
// to the newest day, ranges starting on the window's first day and the day
// before it (read by the statement), whole months before the window, days
// inside one month, and a range with nothing in it. The home was loaded in two
// publications with Warm after each, so the cubes were extended with the
// re-export's rows (cancelled versions included), not read whole.
func TestRepCubeEqualsStatement(t *testing.T) {
	ctx := context.Background()
	_, s, loc := reexportedHome(t, 5, 2000)
	v, err := s.db.CurrentVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ctx = AsOf(ctx, v)
	cube, err := s.repCube(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var team, manager, rep, territory string
	if err := s.db.Conn.QueryRow(ctx, "SELECT team, manager_id, owner_id FROM rep_days WHERE team != '' AND manager_id != '' GROUP BY team, manager_id, owner_id ORDER BY count() DESC LIMIT 1").
		Scan(&team, &manager, &rep); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Conn.QueryRow(ctx, "SELECT territory FROM reps WHERE territory != '' GROUP BY territory ORDER BY count() DESC LIMIT 1").Scan(&territory); err != nil {
		t.Fatal(err)
	}
	at := func(d int32) time.Time {
		x := dateOfEpoch(d)
		return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, loc)
	}
	newest := cube.start
	for _, r := range cube.rows {
		newest = max(newest, r.day)
	}
	t.Logf("cube: %d keys, %d rows, start %s, newest %s; activities: %d rows", len(cube.keys.list), len(cube.rows), day(dateOfEpoch(cube.start)), day(dateOfEpoch(newest)), func() int { a, _ := s.actCube(ctx); return len(a.rows) }())
	month := func(d int32, add int) time.Time {
		x := at(d)
		return time.Date(x.Year(), x.Month()+time.Month(add), 1, 0, 0, 0, 0, loc)
	}
	ranges := []struct {
		from, to time.Time
		covered  bool
	}{
		{at(newest - 364), at(newest + 1), true},
		{at(cube.start), at(newest - 30), true},
		{at(cube.start - 1), at(newest - 30), false},
		{month(cube.start, -8), month(cube.start, -1), true},
		{month(newest, -2).AddDate(0, 0, 3), month(newest, -2).AddDate(0, 0, 20), true},
		{month(cube.start, -3).AddDate(0, 0, 9), month(cube.start, 2), false},
		{at(newest + 40), at(newest + 90), true},
	}
	compared, groups, acts := 0, 0, int64(0)
	for _, r := range ranges {
		for _, f := range []Filter{{}, {Team: []string{team}}, {Manager: []string{manager}}, {Rep: []string{rep, "nobody"}},
			{Territory: []string{territory}}, {Team: []string{team}, Manager: []string{manager, "nobody"}}} {
			f.From, f.To = r.from, r.to
			name := fmt.Sprintf("%s..%s %+v", day(f.From), day(f.To), f)
			if cube.covers(f) != r.covered {
				t.Fatalf("%s: covers %v, want %v", name, !r.covered, r.covered)
			}
			if len(f.Territory) == 0 {
				compared += compareRepCube(t, s, ctx, cube, f, name)
				groups += compareWinRateByRep(t, s, ctx, cube, f, name)
			}
			got, err := s.activityCountsInMemory(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := s.activityCountsRead(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: activities %v, the statement's %v", name, got, want)
			}
			for _, n := range want {
				acts += n
			}
		}
	}
	if compared < 100 || groups < 100 || acts == 0 {
		t.Fatalf("compared %d reps' sums, %d win rate groups and %d activities: too little", compared, groups, acts)
	}
}

// compareRepCube compares the cube's sums for f with repRollupRead's, rep by
// rep, and returns how many reps it compared.
func compareRepCube(t *testing.T, s *Service, ctx context.Context, cube *repCube, f Filter, name string) int {
	t.Helper()
	want := map[string]*repStats{}
	if err := s.repRollupRead(ctx, f, func(id string, st *repStats) { want[id] = st }); err != nil {
		t.Fatal(err)
	}
	if !cube.covers(f) {
		return 0
	}
	got := map[string]*repStats{}
	for id, x := range s.repCubeSums(cube, f) {
		if !x.empty() {
			got[id] = s.stats(x)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d reps, the statement %d", name, len(got), len(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Fatalf("%s: rep %s missing", name, id)
		}
		if diff := repStatsDiff(g, w); diff != "" {
			t.Fatalf("%s: rep %s: %s", name, id, diff)
		}
	}
	return len(want)
}

// compareWinRateByRep compares the win rates per rep and in total that
// winRateByRep adds up with winRateRepDays' statement's, and returns how
// many groups it compared.
func compareWinRateByRep(t *testing.T, s *Service, ctx context.Context, cube *repCube, f Filter, name string) int {
	t.Helper()
	n := 0
	for _, by := range []string{"rep", ""} {
		key, label, err := groupExpr(by)
		if err != nil {
			t.Fatal(err)
		}
		want := WinRate{GroupBy: by, Groups: []WinRateGroup{}}
		q, args := winRateRepDays(f, key, label)
		if err := s.readWinRate(ctx, q, args, &want); err != nil {
			t.Fatal(err)
		}
		if !cube.covers(f) {
			continue
		}
		got := WinRate{GroupBy: by, Groups: []WinRateGroup{}}
		s.winRateByRep(cube, f, &got)
		if len(got.Groups) != len(want.Groups) {
			t.Fatalf("%s by %q: %d groups, the statement %d", name, by, len(got.Groups), len(want.Groups))
		}
		for i, w := range append(want.Groups, want.Total) {
			g := got.Total
			if i < len(want.Groups) {
				g = got.Groups[i]
			}
			if g.Key != w.Key || g.Name != w.Name || g.Won != w.Won || g.Lost != w.Lost || !closeTo(g.WonAmount, w.WonAmount) ||
				!closeTo(g.LostAmount, w.LostAmount) || !closeTo(g.WinRate, w.WinRate) || !closeTo(g.WinRateAmount, w.WinRateAmount) {
				t.Fatalf("%s by %q: group %d %+v, the statement's %+v", name, by, i, g, w)
			}
		}
		n += len(want.Groups)
	}
	return n
}
