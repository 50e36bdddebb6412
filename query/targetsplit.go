package query

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"
)

// TargetSplitEven is the weight of the even split in a split by history: the
// rest follows last year's bookings. Fixed a priori: a quarter of the target
// is spread evenly, so a month or a group with no bookings last year still
// gets a share, and one lucky deal cannot carry a whole quota.
const TargetSplitEven = 0.25

// How a split spreads the year over months (SplitRequest.Periods).
const (
	SplitSeasonal = "seasonal" // last year's bookings per month (default)
	SplitEven     = "even"
	SplitManual   = "manual" // SplitRequest.Weights: 4 quarters or 12 months
)

// How a split shares the target among groups (SplitRequest.Groups).
const (
	SplitHistory   = "history"   // last year's bookings (default)
	SplitCapacity  = "capacity"  // reps (role rep) per group
	SplitPotential = "potential" // market potential (group_by territory only)
)

// SplitRequest says what to split and how.
type SplitRequest struct {
	Year    int
	Amount  float64
	GroupBy string // team (default), rep or territory
	Periods string // seasonal (default), even or manual
	Groups  string // history (default), even, capacity or potential
	// Weights are the manual weights of the 4 quarters (each spread evenly
	// over its months) or of the 12 months; any positive scale.
	Weights []float64
}

// TargetSplit is a proposed split of a yearly target into groups, quarters and
// months. Amounts are whole cents that add up exactly to their parent at every
// level: each group's amount is a share of the target, each group's months a
// share of its amount, its months shares of its quarters; the company's
// quarters and months are the sums over the groups.
type TargetSplit struct {
	Year     int     `json:"year"`
	Amount   float64 `json:"amount"`
	GroupBy  string  `json:"group_by"`
	Periods  string  `json:"periods"`
	GroupsBy string  `json:"groups_by"`
	// Basis is the bookings of the year before, the split's history.
	Basis    float64       `json:"basis"`
	Quarters []SplitPeriod `json:"quarters"`
	Months   []SplitPeriod `json:"months"`
	Groups   []SplitGroup  `json:"groups"`
}

// SplitPeriod is one period's share of the target.
type SplitPeriod struct {
	Start  string  `json:"start"`
	End    string  `json:"end"`
	Share  float64 `json:"share"`
	Amount float64 `json:"amount"`
}

// SplitGroup is one team's, rep's or territory's share, by quarter and month.
type SplitGroup struct {
	Key    string  `json:"key"`
	Name   string  `json:"name,omitempty"`
	Booked float64 `json:"booked"` // last year
	// Weight is what the group's share was computed from: last year's
	// bookings, reps, potential, or 1 (even).
	Weight   float64   `json:"weight"`
	Share    float64   `json:"share"`
	Amount   float64   `json:"amount"`
	Quarters []float64 `json:"quarters"`
	Months   []float64 `json:"months"`
}

// SplitTarget proposes how to split a yearly target among the caller's teams,
// reps or territories (METRICS.md, "Target split"). Groups are the ones the
// scope and filter select, with or without bookings.
func (s *Service) SplitTarget(ctx context.Context, sc Scope, f Filter, req SplitRequest) (TargetSplit, error) {
	if err := req.check(); err != nil {
		return TargetSplit{}, err
	}
	start := time.Date(req.Year, 1, 1, 0, 0, 0, 0, s.loc)
	f.From, f.To = start.AddDate(-1, 0, 0), start
	f, err := s.scope(sc, f)
	if err != nil {
		return TargetSplit{}, err
	}
	out := TargetSplit{Year: req.Year, Amount: req.Amount, GroupBy: req.GroupBy, Periods: req.Periods, GroupsBy: req.Groups,
		Quarters: []SplitPeriod{}, Months: []SplitPeriod{}, Groups: []SplitGroup{}}
	groups, err := s.splitGroups(ctx, sc, f, req)
	if err != nil {
		return out, err
	}
	out.Groups = groups
	byMonth, err := s.splitHistory(ctx, f, req.GroupBy, out.Groups, &out.Basis)
	if err != nil {
		return out, err
	}
	months := monthShares(req, byMonth, out.Basis)
	shares, err := groupShares(req, out.Groups)
	if err != nil {
		return out, err
	}
	fillSplit(&out, start, cents(req.Amount), shares, months)
	return out, nil
}

func (r *SplitRequest) check() error {
	if r.Year < 1972 || r.Year > 2104 {
		return badParam("year", "%d: want a year in 1972..2104", r.Year)
	}
	if !(r.Amount > 0) || r.Amount > 1e15 {
		return badParam("amount", "want a positive amount (below 10^15)")
	}
	if r.GroupBy == "" {
		r.GroupBy = "team"
	}
	if r.Periods == "" {
		r.Periods = SplitSeasonal
	}
	if r.Groups == "" {
		r.Groups = SplitHistory
	}
	switch r.GroupBy {
	case "team", "rep", "territory":
	default:
		return badParam("group_by", "%q: want team, rep or territory", r.GroupBy)
	}
	switch r.Periods {
	case SplitSeasonal, SplitEven:
		if len(r.Weights) > 0 {
			return badParam("weights", "only with periods=manual")
		}
	case SplitManual:
		if len(r.Weights) != 4 && len(r.Weights) != 12 {
			return badParam("weights", "%d weights: want 4 (quarters) or 12 (months)", len(r.Weights))
		}
		var sum float64
		for i, w := range r.Weights {
			if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
				return badParam("weights", "weight %d is %v: want a number ≥ 0", i+1, w)
			}
			sum += w
		}
		if sum <= 0 {
			return badParam("weights", "all weights are 0")
		}
	default:
		return badParam("periods", "%q: want seasonal, even or manual", r.Periods)
	}
	switch r.Groups {
	case SplitHistory, SplitEven, SplitCapacity:
	case SplitPotential:
		if r.GroupBy != "territory" {
			return badParam("groups", "potential splits territories only (group_by=territory)")
		}
	default:
		return badParam("groups", "%q: want history, even, capacity or potential", r.Groups)
	}
	return nil
}

// splitGroups lists the groups the scope and filter select, with their reps
// (capacity) and, for territories split by potential, the potential.
func (s *Service) splitGroups(ctx context.Context, sc Scope, f Filter, req SplitRequest) ([]SplitGroup, error) {
	reps, err := s.repDims(ctx)
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	var out []SplitGroup
	for _, r := range reps {
		if !r.visible(f) {
			continue
		}
		key, name := r.team, ""
		switch req.GroupBy {
		case "rep":
			if r.role != RoleRep {
				continue
			}
			key, name = r.id, r.name
		case "territory":
			key = r.territory
		}
		if key == "" {
			continue
		}
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, SplitGroup{Key: key, Name: name})
		}
		if req.Groups == SplitCapacity && r.role == RoleRep {
			out[i].Weight++
		}
	}
	if req.Groups == SplitPotential {
		ts, err := s.Territories(ctx, sc, f)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if i, ok := idx[t.Territory]; ok {
				out[i].Weight = t.Potential
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	if len(out) == 0 {
		return nil, badParam("group_by", "no %s in your scope to split the target among", req.GroupBy)
	}
	return out, nil
}

// splitHistory reads last year's bookings (f's range) per month and per group.
func (s *Service) splitHistory(ctx context.Context, f Filter, groupBy string, groups []SplitGroup, basis *float64) ([12]float64, error) {
	idx := map[string]int{}
	for i, g := range groups {
		idx[g.Key] = i
	}
	col := groupCol(groupBy)
	var c cond
	c.add("won = 1")
	dateRange(&c, "close_date", f)
	dims(&c, f, "")
	var byMonth [12]float64
	q := "SELECT " + col + " AS g, toMonth(close_date) AS m, sum(amount) FROM opp_facts" + c.prewhere() + " GROUP BY g, m ORDER BY g, m"
	err := s.query(ctx, "target split", q, c.args, func(r driverRows) error {
		var key string
		var m uint8
		var a float64
		if err := r.Scan(&key, &m, &a); err != nil {
			return err
		}
		if m < 1 || m > 12 {
			return fmt.Errorf("month %d", m)
		}
		byMonth[m-1] += a
		*basis += a
		if i, ok := idx[key]; ok {
			groups[i].Booked += a
		}
		return nil
	})
	return byMonth, err
}

// monthShares is each month's share of the year: seasonal (1 − e)·last year's
// share + e/12 (1/12 without history), even 1/12, or the manual weights.
func monthShares(req SplitRequest, byMonth [12]float64, basis float64) [12]float64 {
	var out [12]float64
	for m := range out {
		switch {
		case req.Periods == SplitManual && len(req.Weights) == 4:
			out[m] = req.Weights[m/3] / 3
		case req.Periods == SplitManual:
			out[m] = req.Weights[m]
		case req.Periods == SplitSeasonal && basis > 0:
			out[m] = (1-TargetSplitEven)*byMonth[m]/basis + TargetSplitEven/12
		default:
			out[m] = 1.0 / 12
		}
	}
	var sum float64
	for _, v := range out {
		sum += v
	}
	for m := range out {
		out[m] /= sum
	}
	return out
}

// groupShares is each group's share: history (1 − e)·its share of last
// year's bookings + e/n (1/n without bookings), even 1/n, capacity its share
// of the reps, potential its share of the potential.
func groupShares(req SplitRequest, groups []SplitGroup) ([]float64, error) {
	n := float64(len(groups))
	out := make([]float64, len(groups))
	var total float64
	for i := range groups {
		g := &groups[i]
		switch req.Groups {
		case SplitHistory:
			g.Weight = g.Booked
		case SplitEven:
			g.Weight = 1
		}
		total += g.Weight
	}
	for i, g := range groups {
		switch {
		case req.Groups == SplitHistory && total > 0:
			out[i] = (1-TargetSplitEven)*g.Weight/total + TargetSplitEven/n
		case req.Groups == SplitHistory:
			out[i] = 1 / n
		case total > 0:
			out[i] = g.Weight / total
		default:
			what := map[string]string{SplitCapacity: "no group has a rep", SplitPotential: "no territory has a potential"}[req.Groups]
			return nil, badParam("groups", "%s=%s: %s", "groups", req.Groups, what)
		}
	}
	return out, nil
}

// fillSplit writes the amounts: the target's cents to the groups, each group's
// to its quarters, each quarter's to its months (largest remainder, so every
// level adds up exactly).
func fillSplit(out *TargetSplit, start time.Time, total int64, shares []float64, months [12]float64) {
	var compMonths [12]int64
	for i, gc := range apportion(total, shares) {
		g := &out.Groups[i]
		g.Share, g.Amount = shares[i], float64(gc)/100
		var qs [4]float64
		for m, v := range months {
			qs[m/3] += v
		}
		for q, qc := range apportion(gc, qs[:]) {
			g.Quarters = append(g.Quarters, float64(qc)/100)
			in := months[3*q : 3*q+3]
			w := []float64{in[0] / qs[q], in[1] / qs[q], in[2] / qs[q]}
			if qs[q] == 0 {
				w = []float64{0, 0, 0} // a quarter of weight 0 gets 0 cents
			}
			for k, c := range apportion(qc, w) {
				compMonths[3*q+k] += c
				g.Months = append(g.Months, float64(c)/100)
			}
		}
	}
	for m, c := range compMonths {
		ms := start.AddDate(0, m, 0)
		out.Months = append(out.Months, SplitPeriod{Start: day(ms), End: day(ms.AddDate(0, 1, 0)), Share: months[m], Amount: float64(c) / 100})
	}
	for q := 0; q < 4; q++ {
		qs := start.AddDate(0, 3*q, 0)
		c := compMonths[3*q] + compMonths[3*q+1] + compMonths[3*q+2]
		out.Quarters = append(out.Quarters, SplitPeriod{Start: day(qs), End: day(qs.AddDate(0, 3, 0)),
			Share: months[3*q] + months[3*q+1] + months[3*q+2], Amount: float64(c) / 100})
	}
}

func cents(amount float64) int64 { return int64(math.Round(amount * 100)) }

// apportion splits total into parts proportional to weights (summing to 1)
// that add up to total exactly: each part is rounded down, and the units left
// go to the largest remainders (ties to the earlier part).
func apportion(total int64, weights []float64) []int64 {
	out := make([]int64, len(weights))
	rem := make([]int, len(weights))
	left := total
	frac := make([]float64, len(weights))
	for i, w := range weights {
		exact := float64(total) * w
		out[i] = int64(math.Floor(exact))
		frac[i] = exact - float64(out[i])
		left -= out[i]
		rem[i] = i
	}
	sort.SliceStable(rem, func(a, b int) bool { return frac[rem[a]] > frac[rem[b]] })
	for k := 0; left > 0 && len(rem) > 0; k = (k + 1) % len(rem) {
		out[rem[k]]++
		left--
	}
	for k := len(rem) - 1; left < 0 && k >= 0; k-- { // float error: never more than a unit or two
		if out[rem[k]] > 0 {
			out[rem[k]]--
			left++
		}
	}
	return out
}
