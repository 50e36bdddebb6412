package query

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestForecastPlantedSlowdownInSample plants a slowdown in a generated
// sample: the same export, except that every other deal one team won in the
// 180 days before the export date is lost instead (its won stage event, its
// snapshots). Loaded side by side, the slowed team's forecast of the quarter
// falls, by a larger share than any other team's (their rates share the
// organisation's history), the company's falls, and the team's pacing says
// more is needed per week with a lower chance of reaching the target.
func TestForecastPlantedSlowdownInSample(t *testing.T) {
	ctx := context.Background()
	cfg := gen.Config{Seed: 5, NoAnomalies: true}
	base := loadSample(t, cfg)
	asOf, _ := time.Parse(time.DateOnly, base.truth.AsOf)
	team, flipped := plantSlowdown(t, base.dir, asOf.AddDate(0, 0, -180))
	slow := loadSampleDir(t, base.dir)
	if flipped < 20 {
		t.Fatalf("only %d wins of team %s flipped: the sample is too small to plant a slowdown", flipped, team)
	}
	req := ForecastRequest{Period: PeriodQuarter, GroupBy: "team", AsOf: asOf}
	a, err := base.svc.Forecast(ctx, Unrestricted, Filter{}, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := slow.Forecast(ctx, Unrestricted, Filter{}, req)
	if err != nil {
		t.Fatal(err)
	}
	ratio := map[string]float64{}
	for i, g := range a.Groups {
		if b.Groups[i].Key != g.Key || g.Point <= 0 {
			t.Fatalf("groups differ or empty: %+v vs %+v", g, b.Groups[i])
		}
		ratio[g.Key] = b.Groups[i].Point / g.Point
	}
	t.Logf("team %s: %d wins flipped; forecast ratios slowed/base %v; company %.0f → %.0f", team, flipped, ratio, a.Total.Point, b.Total.Point)
	for k, r := range ratio {
		if k != team && r <= ratio[team] {
			t.Errorf("team %s fell to %.3f of its forecast, the slowed team %s only to %.3f", k, r, team, ratio[team])
		}
	}
	if ratio[team] >= 0.97 || b.Total.Point >= a.Total.Point {
		t.Errorf("the slowdown hardly moved the forecast: team %s ×%.3f, company %.0f → %.0f", team, ratio[team], a.Total.Point, b.Total.Point)
	}
	f := Filter{Team: []string{team}}
	pa, err := base.svc.Forecast(ctx, Unrestricted, f, ForecastRequest{Period: PeriodQuarter, AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := slow.Forecast(ctx, Unrestricted, f, ForecastRequest{Period: PeriodQuarter, AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	if pa.Pacing == nil || pb.Pacing == nil {
		t.Fatalf("no pacing for team %s (the sample has team targets)", team)
	}
	t.Logf("pacing base %+v\npacing slowed %+v", *pa.Pacing, *pb.Pacing)
	if !(pb.Pacing.Won <= pa.Pacing.Won && pb.Pacing.NeededPerWeek >= pa.Pacing.NeededPerWeek && pb.Pacing.ProbReach <= pa.Pacing.ProbReach &&
		(pb.Pacing.ProbReach < pa.Pacing.ProbReach || pa.Pacing.ProbReach == 0 || pa.Pacing.ProbReach == 1)) {
		t.Errorf("pacing did not move the expected way: base %+v, slowed %+v", *pa.Pacing, *pb.Pacing)
	}
}

// plantSlowdown rewrites the sample in dir: the team with the most wins since
// `since` loses every other of them (by opportunity id). It returns the team
// and how many wins it flipped.
func plantSlowdown(t *testing.T, dir string, since time.Time) (string, int) {
	t.Helper()
	reps := readCSV(t, filepath.Join(dir, "reps.csv"))
	teamOf := map[string]string{}
	for _, r := range reps[1:] {
		teamOf[r[0]] = r[5]
	}
	opps := readCSV(t, filepath.Join(dir, "opportunities.csv"))
	col := index(opps[0])
	wins := map[string][]string{}
	for _, r := range opps[1:] {
		cd, _ := time.Parse(time.DateOnly, r[col["close_date"]])
		if r[col["won"]] == "1" && !cd.Before(since) && teamOf[r[col["owner_id"]]] != "" {
			team := teamOf[r[col["owner_id"]]]
			wins[team] = append(wins[team], r[col["opportunity_id"]])
		}
	}
	var team string
	for k, v := range wins {
		if len(v) > len(wins[team]) || len(v) == len(wins[team]) && k < team {
			team = k
		}
	}
	ids := wins[team]
	sort.Strings(ids)
	flip := map[string]bool{}
	for i := 0; i < len(ids); i += 2 {
		flip[ids[i]] = true
	}
	for _, r := range opps[1:] {
		if flip[r[col["opportunity_id"]]] {
			r[col["stage"]], r[col["vendor_stage"]], r[col["won"]], r[col["lost_reason"]] = "lost", "输单", "0", "时机不对"
		}
	}
	writeCSV(t, filepath.Join(dir, "opportunities.csv"), opps)
	evs := readCSV(t, filepath.Join(dir, "stage_events.csv"))
	ec := index(evs[0])
	for _, r := range evs[1:] {
		if flip[r[ec["opportunity_id"]]] && r[ec["stage"]] == "won" {
			r[ec["stage"]], r[ec["stage_rank"]], r[ec["vendor_stage"]] = "lost", "0", "输单"
		}
	}
	writeCSV(t, filepath.Join(dir, "stage_events.csv"), evs)
	snaps := readCSV(t, filepath.Join(dir, "opportunity_snapshots.csv"))
	sc := index(snaps[0])
	for _, r := range snaps[1:] {
		if flip[r[sc["opportunity_id"]]] && r[sc["won"]] == "1" {
			r[sc["won"]], r[sc["stage"]] = "0", "lost"
		}
	}
	writeCSV(t, filepath.Join(dir, "opportunity_snapshots.csv"), snaps)
	return team, len(flip)
}

// loadSampleDir loads the canonical files of dir into a new database.
func loadSampleDir(t *testing.T, dir string) *Service {
	t.Helper()
	ctx := context.Background()
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	sort.Slice(files, func(i, j int) bool { return loadOrder[filepath.Base(files[i])] < loadOrder[filepath.Base(files[j])] })
	db := schemastest.Open(t)
	rep, err := ingest.New(db, ingest.Options{}, quietLog()).LoadFiles(ctx, files, ingest.LoadOptions{Source: "canonical"})
	if err != nil || rep.Rejected != 0 {
		t.Fatalf("load the slowed sample: %v (%d rejected)", err, rep.Rejected)
	}
	s := New(db, time.UTC, quietLog())
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func index(header []string) map[string]int {
	m := map[string]int{}
	for i, h := range header {
		m[h] = i
	}
	return m
}
