package query

import (
	"context"
	"sort"
	"sync"
	"time"
)

// TargetRow is attainment against one target.
type TargetRow struct {
	Scope       string  `json:"scope"` // rep, team, territory, company
	ScopeID     string  `json:"scope_id"`
	PeriodStart string  `json:"period_start"`
	PeriodEnd   string  `json:"period_end"`
	Target      float64 `json:"target"`
	Booked      float64 `json:"booked"`
	Attainment  float64 `json:"attainment"`
}

// Attainment is bookings (won amount by close date) against the targets whose
// period lies inside [from, to).
type Attainment struct {
	From    string      `json:"from"`
	To      string      `json:"to"`
	Targets []TargetRow `json:"targets"`
}

type repDim struct{ id, name, team, manager, territory, role string }

func (s *Service) repDims(ctx context.Context) ([]repDim, error) {
	return memoized(ctx, s, memoReps, func(ctx context.Context) ([]repDim, error) {
		var out []repDim
		q := "SELECT rep_id, name, team, manager_id, territory, role FROM " + latest("reps", "rep_id", "rep_id, name, team, manager_id, territory, role") + " ORDER BY rep_id"
		err := s.query(ctx, "reps", q, nil, func(r driverRows) error {
			var d repDim
			if err := r.Scan(&d.id, &d.name, &d.team, &d.manager, &d.territory, &d.role); err != nil {
				return err
			}
			out = append(out, d)
			return nil
		})
		return out[:len(out):len(out)], err // shared: an append copies
	})
}

func has(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

func (d repDim) visible(f Filter) bool {
	return (len(f.Team) == 0 || has(f.Team, d.team)) && (len(f.Manager) == 0 || has(f.Manager, d.manager)) &&
		(len(f.Rep) == 0 || has(f.Rep, d.id)) && (len(f.Territory) == 0 || has(f.Territory, d.territory))
}

// visibleTarget is a target row the caller may see under the filter.
type visibleTarget struct {
	TargetRow
	start, end time.Time
}

// targetsIn reads the bookings targets in scope whose period overlaps [from,
// to). Rep targets show for the reps the filter selects; team targets for the
// selected teams; territory and company targets only to callers who see
// everything, when no team, manager or rep is selected. teamOf maps rep ids to
// their teams.
func (s *Service) targetsIn(ctx context.Context, sc Scope, f Filter) ([]visibleTarget, map[string]string, error) {
	ts, teamOf, _, err := s.targetsAndReps(ctx, sc, f)
	return ts, teamOf, err
}

// targetsAndReps is targetsIn with the reps it read.
func (s *Service) targetsAndReps(ctx context.Context, sc Scope, f Filter) ([]visibleTarget, map[string]string, []repDim, error) {
	// The reps and the targets are independent reads (each kept per
	// publication): a request that finds neither kept reads both at once.
	var (
		all    []visibleTarget
		allErr error
		wg     sync.WaitGroup
	)
	wg.Add(1)
	go func() { defer wg.Done(); all, allErr = s.bookingTargets(ctx) }()
	reps, err := s.repDims(ctx)
	wg.Wait()
	if err == nil {
		err = allErr
	}
	if err != nil {
		return nil, nil, nil, err
	}
	visible, teamOf := map[string]bool{}, map[string]string{}
	for _, r := range reps {
		teamOf[r.id] = r.team
		if r.visible(f) {
			visible[r.id] = true
		}
	}
	people := len(f.Team) > 0 || len(f.Manager) > 0 || len(f.Rep) > 0
	from, to := day(f.From), day(f.To)
	var out []visibleTarget
	for _, t := range all {
		if !(t.PeriodStart < to && t.PeriodEnd > from) { // the period overlaps [from, to)
			continue
		}
		ok := false
		switch t.Scope {
		case "rep":
			ok = visible[t.ScopeID]
		case "team":
			ok = len(f.Team) == 0 && !people || has(f.Team, t.ScopeID) && len(f.Manager) == 0 && len(f.Rep) == 0
		case "territory":
			ok = sc.SeesAll() && !people && (len(f.Territory) == 0 || has(f.Territory, t.ScopeID))
		case "company", "":
			ok = sc.SeesAll() && !people && len(f.Territory) == 0
		}
		if ok {
			out = append(out, t)
		}
	}
	return out, teamOf, reps, nil
}

// bookingTargets is every bookings target as readers count them now, in the
// reporting currency, ordered by scope, scope id and period start.
func (s *Service) bookingTargets(ctx context.Context) ([]visibleTarget, error) {
	return memoized(ctx, s, memoTargets, func(ctx context.Context) ([]visibleTarget, error) {
		fx, err := s.fxRates(ctx, tokRaw)
		if err != nil {
			return nil, err
		}
		q := "SELECT scope, scope_id, period_start, period_end, " + fx.sql("amount", "currency", "period_start") + " FROM " +
			latest("targets", "scope, scope_id, metric, period_start", "scope, scope_id, period_start, period_end, metric, amount, currency") +
			" WHERE metric IN ('bookings', '') ORDER BY scope, scope_id, period_start"
		var out []visibleTarget
		err = s.query(ctx, "targets", q, nil, func(r driverRows) error {
			var t visibleTarget
			if err := r.Scan(&t.Scope, &t.ScopeID, &t.start, &t.end, &t.Target); err != nil {
				return err
			}
			// Their days, once: every coverage and attainment compares them
			// (formatting 7,600 targets' dates per call was 29% of serve's CPU
			// under cold pages at 3.2M opportunities).
			t.PeriodStart, t.PeriodEnd = day(t.start), day(t.end)
			out = append(out, t)
			return nil
		})
		return out, err
	})
}

// share is the part of the target that falls in [from, to), by days, and
// whether that is less than all of it.
func (t visibleTarget) share(from, to time.Time) (float64, bool) {
	lo, hi := t.start, t.end
	if from.After(lo) {
		lo = from
	}
	if to.Before(hi) {
		hi = to
	}
	whole := daysBetween(t.start, t.end)
	if whole <= 0 {
		return 0, false
	}
	return t.Target * float64(max(daysBetween(lo, hi), 0)) / float64(whole), lo != t.start || hi != t.end
}

// RangeTarget is the bookings target of a selection over [from, to): what the
// bookings of the same range are measured against (query/METRICS.md, "Target of
// a range").
type RangeTarget struct {
	Amount float64 `json:"amount"`
	// Level says which targets make it up: company, territory, team, rep, or
	// team+rep (team targets where a team has one, its reps' elsewhere).
	Level string `json:"level"`
	// Prorated: some target's period reaches outside the range, so the range
	// counts its share of it (by days).
	Prorated bool `json:"prorated"`
	// Teams is each team's target over the range (its team target, else the sum
	// of its reps').
	Teams map[string]float64 `json:"teams,omitempty"`
}

// rangeTarget sums the targets in scope overlapping [from, to), each counted by
// the share of its period's days that lies inside the range. Territory targets
// answer a territory filter (else its reps' targets); without one, a company
// target; else per team the team's target, or its reps' where it has none.
func (s *Service) rangeTarget(ctx context.Context, sc Scope, f Filter) (RangeTarget, error) {
	ts, teamOf, err := s.targetsIn(ctx, sc, f)
	if err != nil {
		return RangeTarget{Teams: map[string]float64{}}, err
	}
	return rangeTargetOf(ts, teamOf, f), nil
}

// rangeTargetOf is rangeTarget from the targets in scope (targetsIn).
func rangeTargetOf(ts []visibleTarget, teamOf map[string]string, f Filter) RangeTarget {
	out := RangeTarget{Teams: map[string]float64{}}
	// part is a target's share of the range, and whether that is less than all
	// of it (its period reaches outside the range).
	type part struct {
		amount  float64
		partial bool
	}
	add := func(p *part, t visibleTarget) {
		a, partial := t.share(f.From, f.To)
		p.amount += a
		p.partial = p.partial || partial
	}
	sum := func(scope string) (part, bool) {
		var p part
		found := false
		for _, t := range ts {
			if t.Scope == scope || scope == "company" && t.Scope == "" {
				add(&p, t)
				found = true
			}
		}
		return p, found
	}
	use := func(p part, level string) {
		out.Amount, out.Prorated, out.Level = p.amount, p.partial, level
	}
	if len(f.Territory) > 0 {
		// Territory targets; without them, the targets of the territory's reps
		// (team targets do not follow territories).
		if p, ok := sum("territory"); ok {
			use(p, "territory")
		} else if p, ok := sum("rep"); ok {
			use(p, "rep")
		}
		return out
	}
	if p, ok := sum("company"); ok {
		use(p, "company")
		return out
	}
	teamTargets, repTargets := map[string]*part{}, map[string]*part{}
	for _, t := range ts {
		m, key := teamTargets, t.ScopeID
		switch t.Scope {
		case "team":
		case "rep":
			m, key = repTargets, teamOf[t.ScopeID]
		default:
			continue
		}
		if m[key] == nil {
			m[key] = &part{}
		}
		add(m[key], t)
	}
	usedTeam, usedRep := false, false
	useTeam := func(team string, p *part) {
		out.Teams[team] = p.amount
		out.Amount += p.amount
		out.Prorated = out.Prorated || p.partial
	}
	for team, p := range teamTargets {
		useTeam(team, p)
		usedTeam = true
	}
	for team, p := range repTargets {
		if teamTargets[team] == nil {
			useTeam(team, p)
			usedRep = true
		}
	}
	switch {
	case usedTeam && usedRep:
		out.Level = "team+rep"
	case usedTeam:
		out.Level = "team"
	case usedRep:
		out.Level = "rep"
	default:
		if p, ok := sum("territory"); ok {
			use(p, "territory")
		}
	}
	return out
}

// Attainment computes attainment per target row in scope whose period lies
// inside [from, to) (targetsIn says who sees which).
func (s *Service) Attainment(ctx context.Context, sc Scope, f Filter) (Attainment, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return Attainment{}, err
	}
	out := Attainment{From: day(f.From), To: day(f.To), Targets: []TargetRow{}}
	ts, _, err := s.targetsIn(ctx, sc, f)
	if err != nil {
		return out, err
	}
	var rows []TargetRow
	var periods []period
	pidx := map[period]int{}
	var rowP []int
	for _, t := range ts {
		if t.start.Before(f.From) || t.end.After(f.To) {
			continue
		}
		p := period{t.start, t.end}
		i, seen := pidx[p]
		if !seen {
			i = len(periods)
			pidx[p] = i
			periods = append(periods, p)
		}
		rows = append(rows, t.TargetRow)
		rowP = append(rowP, i)
	}
	if len(rows) == 0 {
		return out, nil
	}
	need := bookingScopes{}
	for _, t := range rows {
		need.add(t.Scope, t.ScopeID)
	}
	b, err := s.periodBookings(ctx, f, periods, need)
	if err != nil {
		return out, err
	}
	for i := range rows {
		t := &rows[i]
		t.Booked = b.of(rowP[i], t.Scope, t.ScopeID)
		t.Attainment = ratio(t.Booked, t.Target)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Scope != rows[j].Scope {
			return rows[i].Scope < rows[j].Scope
		}
		return rows[i].ScopeID < rows[j].ScopeID
	})
	out.Targets = rows
	return out, nil
}

// Coverage is open pipeline against what is left to book in [from, to).
type Coverage struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Pipeline is the amount of open opportunities expected to close in the range.
	Pipeline float64 `json:"pipeline"`
	// Won is the amount already won (closed in the range).
	Won float64 `json:"won"`
	// Target is the selection's target over the range (RangeTarget): a target
	// whose period reaches outside the range counts by its share of days.
	Target      float64 `json:"target"`
	TargetLevel string  `json:"target_level"`
	Prorated    bool    `json:"prorated"`
	// TeamTargets is each team's target over the range.
	TeamTargets map[string]float64 `json:"team_targets,omitempty"`
	// Remaining is max(target - won, 0).
	Remaining float64 `json:"remaining"`
	// Coverage is pipeline / remaining; null when nothing remains, and Status
	// says why: "target_met", "no_target", "not_comparable" (a product,
	// source or segment filter: targets are not set by those), or "ended" (the
	// range has no day after today: no pipeline is still to close in it);
	// "ok" otherwise.
	Coverage *float64 `json:"coverage"`
	Status   string   `json:"status"`
}

// Bookings is the amount won by the deals closed in [from, to) under sc and
// f: Coverage's Won, without the open pipeline and the target (the overview's
// comparison ranges compare it alone).
func (s *Service) Bookings(ctx context.Context, sc Scope, f Filter) (float64, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return 0, err
	}
	return s.wonInRange(ctx, f)
}

// Coverage computes pipeline coverage.
func (s *Service) Coverage(ctx context.Context, sc Scope, f Filter) (Coverage, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return Coverage{}, err
	}
	out := Coverage{From: day(f.From), To: day(f.To)}
	// The three statements are independent: run them at once (the answer
	// waits for the slowest, not the sum).
	comparable := len(f.Product)+len(f.Source)+len(f.Segment) == 0
	var rt RangeTarget
	var errs [3]error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); out.Pipeline, errs[0] = s.openPipeline(ctx, f) }()
	go func() { defer wg.Done(); out.Won, errs[1] = s.wonInRange(ctx, f) }()
	if comparable {
		wg.Add(1)
		go func() { defer wg.Done(); rt, errs[2] = s.rangeTarget(ctx, sc, f) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return out, err
		}
	}
	if !comparable {
		// Targets are set per rep, team, territory or company: a product, source
		// or segment slice of bookings has none to compare with.
		out.Status = "not_comparable"
		return out, nil
	}
	out.Target, out.TargetLevel, out.Prorated, out.TeamTargets = rt.Amount, rt.Level, rt.Prorated, rt.Teams
	out.Remaining = max(out.Target-out.Won, 0)
	switch {
	case out.Target <= 0:
		out.Status = "no_target"
	case out.Remaining <= 0:
		out.Status = "target_met"
	case !f.To.After(s.tomorrow()):
		out.Status = "ended"
	default:
		out.Status = "ok"
		cov := out.Pipeline / out.Remaining
		out.Coverage = &cov
	}
	return out, nil
}

// tomorrow is the start of the day after today in the business time zone: a
// range ending there or before has no day still to come.
func (s *Service) tomorrow() time.Time {
	n := time.Now().In(s.loc)
	return time.Date(n.Year(), n.Month(), n.Day()+1, 0, 0, 0, 0, s.loc)
}

// openPipelineSQL is openPipeline's statement: the open deals of opp_open
// (closes.go), sorted by expected close date, instead of every opp_facts row.
func openPipelineSQL(c cond) string { return "SELECT sum(amount) FROM opp_open" + c.prewhere() }

// openPipeline is the amount of open opportunities expected to close in
// [f.From, f.To); its conditions go to PREWHERE, the visibility rule after them.
func (s *Service) openPipeline(ctx context.Context, f Filter) (float64, error) {
	var c cond
	c.add("closed = 0")
	dateRange(&c, "close_date", f)
	dims(&c, f, "")
	var pipe float64
	err := s.query(ctx, "coverage", openPipelineSQL(c), c.args, func(r driverRows) error {
		return r.Scan(&pipe)
	})
	return pipe, err
}
