package query

import (
	"context"
	"sort"
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
	return out, err
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

// Attainment computes attainment per target row in scope. Rep targets show for
// the reps the filter selects; team targets for the selected teams; territory and
// company targets only to callers who see everything, when no team, manager or
// rep is selected.
func (s *Service) Attainment(ctx context.Context, sc Scope, f Filter) (Attainment, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return Attainment{}, err
	}
	out := Attainment{From: day(f.From), To: day(f.To), Targets: []TargetRow{}}
	reps, err := s.repDims(ctx)
	if err != nil {
		return out, err
	}
	visible := map[string]bool{}
	for _, r := range reps {
		if r.visible(f) {
			visible[r.id] = true
		}
	}
	people := len(f.Team) > 0 || len(f.Manager) > 0 || len(f.Rep) > 0
	var tc cond
	tc.add("period_start >= toDate(?) AND period_end <= toDate(?)", day(f.From), day(f.To))
	tc.add("metric IN ('bookings', '')")
	q := "SELECT scope, scope_id, period_start, period_end, amount FROM " +
		latest("targets", "scope, scope_id, metric, period_start", "scope, scope_id, period_start, period_end, metric, amount") + tc.where() +
		" ORDER BY scope, scope_id, period_start"
	type period struct{ start, end time.Time }
	var rows []TargetRow
	var periods []period
	pidx := map[period]int{}
	var rowP []int
	err = s.query(ctx, "targets", q, tc.args, func(r driverRows) error {
		var t TargetRow
		var ps, pe time.Time
		if err := r.Scan(&t.Scope, &t.ScopeID, &ps, &pe, &t.Target); err != nil {
			return err
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
		if !ok {
			return nil
		}
		t.PeriodStart, t.PeriodEnd = day(ps), day(pe)
		p := period{ps, pe}
		i, seen := pidx[p]
		if !seen {
			i = len(periods)
			pidx[p] = i
			periods = append(periods, p)
		}
		rows = append(rows, t)
		rowP = append(rowP, i)
		return nil
	})
	if err != nil || len(rows) == 0 {
		return out, err
	}
	starts := make([]string, len(periods))
	ends := make([]string, len(periods))
	for i, p := range periods {
		starts[i], ends[i] = day(p.start), day(p.end)
	}
	var c cond
	c.add("won = 1")
	dateRange(&c, "close_date", f)
	dims(&c, f, "")
	type key struct {
		p                      int
		owner, team, territory string
	}
	booked := map[key]float64{}
	bq := "SELECT pi, owner_id, team, territory, sum(amount) FROM opp_facts ARRAY JOIN arrayFilter(i -> close_date >= toDate(arrayElement(?, i)) AND close_date < toDate(arrayElement(?, i)), arrayEnumerate(?)) AS pi" + c.where() + " GROUP BY pi, owner_id, team, territory"
	args := append([]any{starts, ends, starts}, c.args...)
	err = s.query(ctx, "bookings", bq, args, func(r driverRows) error {
		var k key
		var pi uint32
		var a float64
		if err := r.Scan(&pi, &k.owner, &k.team, &k.territory, &a); err != nil {
			return err
		}
		k.p = int(pi) - 1
		booked[k] += a
		return nil
	})
	if err != nil {
		return out, err
	}
	for i := range rows {
		t := &rows[i]
		for k, a := range booked {
			if k.p != rowP[i] {
				continue
			}
			switch t.Scope {
			case "rep":
				if k.owner == t.ScopeID {
					t.Booked += a
				}
			case "team":
				if k.team == t.ScopeID {
					t.Booked += a
				}
			case "territory":
				if k.territory == t.ScopeID {
					t.Booked += a
				}
			default:
				t.Booked += a
			}
		}
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
	// Target sums the most detailed targets in scope: rep targets if any, else
	// team, else territory, else company.
	Target      float64 `json:"target"`
	TargetLevel string  `json:"target_level"`
	// Remaining is max(target - won, 0).
	Remaining float64 `json:"remaining"`
	// Coverage is pipeline / remaining (0 when nothing remains).
	Coverage float64 `json:"coverage"`
}

// Coverage computes pipeline coverage.
func (s *Service) Coverage(ctx context.Context, sc Scope, f Filter) (Coverage, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return Coverage{}, err
	}
	out := Coverage{From: day(f.From), To: day(f.To)}
	var c cond
	dateRange(&c, "close_date", f)
	dims(&c, f, "")
	err = s.query(ctx, "coverage", "SELECT sumIf(amount, closed = 0), sumIf(amount, won = 1) FROM opp_facts"+c.where(), c.args, func(r driverRows) error {
		return r.Scan(&out.Pipeline, &out.Won)
	})
	if err != nil {
		return out, err
	}
	att, err := s.Attainment(ctx, sc, f)
	if err != nil {
		return out, err
	}
	for _, level := range []string{"rep", "team", "territory", "company"} {
		for _, t := range att.Targets {
			if t.Scope == level {
				out.Target += t.Target
				out.TargetLevel = level
			}
		}
		if out.TargetLevel != "" {
			break
		}
	}
	out.Remaining = max(out.Target-out.Won, 0)
	out.Coverage = ratio(out.Pipeline, out.Remaining)
	return out, nil
}
