package query

import (
	"context"
	"math"
	"sort"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
)

// TargetsView sets the targets of a period (top-down) beside what the
// pipeline and the forecast support (bottom-up), for the company, each team
// and each rep the caller sees (METRICS.md, "Targets: top-down against
// bottom-up").
type TargetsView struct {
	Period string        `json:"period"`
	From   string        `json:"from"`
	To     string        `json:"to"`
	AsOf   string        `json:"as_of"`
	Levels []TargetLevel `json:"levels"`
}

// TargetLevel is one row of a TargetsView.
type TargetLevel struct {
	Level string `json:"level"` // company, team or rep
	Key   string `json:"key"`
	Name  string `json:"name,omitempty"`
	// Target is the top-down target of the period (targets prorated by days
	// as for coverage); HasTarget false when none is set at this level.
	Target    float64 `json:"target"`
	HasTarget bool    `json:"has_target"`
	Won       float64 `json:"won"`
	Pipeline  float64 `json:"pipeline"`
	// Forecast and its range: the bottom-up figure.
	Forecast float64 `json:"forecast"`
	P10      float64 `json:"p10"`
	P90      float64 `json:"p90"`
	// Difference is Forecast − Target (negative: the plan asks more than the
	// pipeline and the forecast support); Ratio is Forecast / Target.
	Difference float64  `json:"difference"`
	Ratio      *float64 `json:"ratio"`
	// Pacing of the level (with a target): Gap = max(target − won, 0),
	// NeededPerWeek = Gap / weeks left, Coverage = pipeline / Gap, and
	// ProbReach = P(bookings ≥ target) from the normal fitted to the level's
	// p10–p90 (1 or 0 when the range is a point).
	Gap           float64 `json:"gap"`
	NeededPerWeek float64 `json:"needed_per_week"`
	Coverage      float64 `json:"coverage"`
	ProbReach     float64 `json:"prob_reach"`
}

// pace fills the level's pacing with weeks weeks left in the period.
func (l *TargetLevel) pace(weeks float64) {
	if !l.HasTarget {
		return
	}
	l.Gap = math.Max(l.Target-l.Won, 0)
	l.NeededPerWeek = ratio(l.Gap, weeks)
	l.Coverage = ratio(l.Pipeline, l.Gap)
	sd := (l.P90 - l.P10) / (2 * z90)
	switch {
	case l.Gap == 0:
		l.ProbReach = 1
	case sd <= 0 && l.Forecast >= l.Target:
		l.ProbReach = 1
	case sd <= 0:
		l.ProbReach = 0
	default:
		l.ProbReach = 0.5 * math.Erfc((l.Target-l.Forecast)/(sd*math.Sqrt2))
	}
}

// Targets is the TargetsView of a forecast period (quarter, next_quarter,
// month) as of asOf (zero: today).
func (s *Service) Targets(ctx context.Context, sc Scope, f Filter, period string, asOf time.Time) (TargetsView, error) {
	var out TargetsView
	req := ForecastRequest{Period: period, AsOf: asOf}
	p, err := s.forecastPlan(req)
	if err != nil {
		return out, err
	}
	req.AsOf = p.asOf
	f.From, _ = time.ParseInLocation(time.DateOnly, day(p.from), s.loc)
	f.To, _ = time.ParseInLocation(time.DateOnly, day(p.to), s.loc)
	sf, err := s.scope(sc, f)
	if err != nil {
		return out, err
	}
	// The forecasts and the targets are independent: read them at once.
	var list []Forecast
	var lt levelTargets
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		list, err = s.forecasts(gctx, sc, f, req, []string{"", "team", "rep"})
		return
	})
	g.Go(func() (err error) { lt, err = s.levelTargets(gctx, sc, sf); return })
	if err := g.Wait(); err != nil {
		return out, err
	}
	fcs := map[string]Forecast{"": list[0], "team": list[1], "rep": list[2]}
	all := fcs[""]
	out = TargetsView{Period: all.Period, From: all.From, To: all.To, AsOf: all.AsOf, Levels: []TargetLevel{}}
	start := sf.From
	if p.asOf.After(start) {
		start = p.asOf
	}
	weeks := float64(max(daysBetween(start, sf.To), 0)) / 7
	if sc.SeesAll() {
		out.Levels = append(out.Levels, newTargetLevel("company", all.Total, lt.company.Amount, lt.company.Level != "", weeks))
	}
	out.Levels = append(out.Levels, groupLevels("team", fcs["team"].Groups, lt.company.Teams, lt.names, weeks)...)
	out.Levels = append(out.Levels, groupLevels("rep", fcs["rep"].Groups, lt.reps, lt.names, weeks)...)
	return out, nil
}

// levelTargets are a range's targets per level: the company's (and per team,
// RangeTarget.Teams), each rep's own, and the reps' names.
type levelTargets struct {
	company RangeTarget
	reps    map[string]float64
	names   map[string]string
}

func (s *Service) levelTargets(ctx context.Context, sc Scope, sf Filter) (levelTargets, error) {
	out := levelTargets{reps: map[string]float64{}, names: map[string]string{}}
	ts, teamOf, reps, err := s.targetsAndReps(ctx, sc, sf)
	if err != nil {
		return out, err
	}
	out.company = rangeTargetOf(ts, teamOf, sf)
	for _, r := range reps {
		out.names[r.id] = r.name
	}
	for _, t := range ts {
		if t.Scope == "rep" {
			a, _ := t.share(sf.From, sf.To)
			out.reps[t.ScopeID] += a
		}
	}
	return out, nil
}

// newTargetLevel is a level's row from its forecast and its target.
func newTargetLevel(lv string, g ForecastGroup, target float64, has bool, weeks float64) TargetLevel {
	l := TargetLevel{Level: lv, Key: g.Key, Name: g.Name, Target: target, HasTarget: has, Won: g.Won, Pipeline: g.OpenAmount,
		Forecast: g.Point, P10: g.P10, P90: g.P90}
	if has {
		l.Difference = l.Forecast - l.Target
		if l.Target > 0 {
			r := l.Forecast / l.Target
			l.Ratio = &r
		}
	}
	l.pace(weeks)
	return l
}

// groupLevels are the rows of one level: each forecast group with its target,
// then the groups with a target and nothing in the forecast (forecast 0).
func groupLevels(lv string, groups []ForecastGroup, targets map[string]float64, names map[string]string, weeks float64) []TargetLevel {
	var out []TargetLevel
	seen := map[string]bool{}
	for _, g := range groups {
		t, ok := targets[g.Key]
		out = append(out, newTargetLevel(lv, g, t, ok, weeks))
		seen[g.Key] = true
	}
	var rest []string
	for k := range targets {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		out = append(out, newTargetLevel(lv, ForecastGroup{Key: k, Name: names[k]}, targets[k], true, weeks))
	}
	return out
}

// TargetVersion is one load of targets (an export, an XLSX, or a plan saved
// from the targets page): the history of target versions.
type TargetVersion struct {
	RunID    uint64    `json:"run_id"`
	File     string    `json:"file"`
	LoadedAt time.Time `json:"loaded_at"`
	Rows     int64     `json:"rows"`
	Total    float64   `json:"total"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Scopes   []string  `json:"scopes"`
	// InForce counts its rows no later load replaced (same scope, scope id,
	// metric and period start).
	InForce int64 `json:"in_force"`
}

// TargetVersions lists the committed loads of bookings targets, newest first.
// Only callers who see everything see them (a version holds every team's
// targets).
func (s *Service) TargetVersions(ctx context.Context, sc Scope) ([]TargetVersion, error) {
	if !sc.SeesAll() {
		return nil, ErrForbidden
	}
	fx, err := s.fxRates(ctx, tokRaw)
	if err != nil {
		return nil, err
	}
	q := "SELECT run_id, scope, scope_id, metric, period_start, period_end, " + fx.sql("amount", "currency", "period_start") +
		", loaded_at FROM targets WHERE " + tokRaw + " AND metric IN ('bookings', '') ORDER BY run_id, scope, scope_id, metric, period_start"
	tally := versionTally{newest: map[targetKey]uint64{}, byRun: map[uint64]*TargetVersion{}}
	err = s.query(ctx, "target versions", q, nil, func(r driverRows) error {
		var x versionRow
		if err := r.Scan(&x.run, &x.key.scope, &x.key.id, &x.key.metric, &x.start, &x.end, &x.amount, &x.loaded); err != nil {
			return err
		}
		tally.add(x)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := tally.versions()
	if err := s.runFiles(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// targetKey is what a later version replaces a target by.
type targetKey struct{ scope, id, metric, start string }

type versionRow struct {
	run        uint64
	key        targetKey
	start, end time.Time
	amount     float64
	loaded     time.Time
}

// versionTally gathers the versions and, per key, the newest run.
type versionTally struct {
	newest map[targetKey]uint64
	byRun  map[uint64]*TargetVersion
	rows   []versionRow
}

func (t *versionTally) add(x versionRow) {
	x.key.start = day(x.start)
	t.newest[x.key] = max(t.newest[x.key], x.run)
	t.rows = append(t.rows, x)
	v := t.byRun[x.run]
	if v == nil {
		v = &TargetVersion{RunID: x.run, LoadedAt: x.loaded, From: day(x.start), To: day(x.end)}
		t.byRun[x.run] = v
	}
	v.Rows++
	v.Total += x.amount
	v.From, v.To = min(v.From, day(x.start)), max(v.To, day(x.end))
	if !has(v.Scopes, x.key.scope) {
		v.Scopes = append(v.Scopes, x.key.scope)
	}
}

// versions are the tallied versions, newest first, with their rows in force.
func (t *versionTally) versions() []TargetVersion {
	for _, x := range t.rows {
		if t.newest[x.key] == x.run {
			t.byRun[x.run].InForce++
		}
	}
	out := make([]TargetVersion, 0, len(t.byRun))
	for _, v := range t.byRun {
		sort.Strings(v.Scopes)
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RunID > out[j].RunID })
	return out
}

// runFiles fills each version's file name from ingest_runs.
func (s *Service) runFiles(ctx context.Context, vs []TargetVersion) error {
	if len(vs) == 0 {
		return nil
	}
	ids := make([]string, 0, len(vs))
	idx := map[uint64]int{}
	for i, v := range vs {
		ids = append(ids, strconv.FormatUint(v.RunID, 10))
		idx[v.RunID] = i
	}
	var c cond
	c.in("toString(run_id)", ids)
	q := "SELECT run_id, argMax(file, updated_ns) FROM ingest_runs" + c.where() + " GROUP BY run_id"
	return s.query(ctx, "target version files", q, c.args, func(r driverRows) error {
		var id uint64
		var file string
		if err := r.Scan(&id, &file); err != nil {
			return err
		}
		if i, ok := idx[id]; ok {
			vs[i].File = file
		}
		return nil
	})
}
