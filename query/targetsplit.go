package query

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// TargetSplitEven is the weight of the even split in a proposed split: the
// rest follows last year's bookings. Fixed a priori: a quarter of the target
// is spread evenly, so a month or a group with no bookings last year still
// gets a share, and one lucky deal cannot carry a whole quota.
const TargetSplitEven = 0.25

// TargetSplit is a proposed split of a yearly target into quarters and months
// and among teams or reps (not stored: a proposal to edit and load as a
// targets export).
type TargetSplit struct {
	Year    int     `json:"year"`
	Amount  float64 `json:"amount"`
	GroupBy string  `json:"group_by"`
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

// SplitGroup is one team's or rep's share, by quarter and month.
type SplitGroup struct {
	Key      string    `json:"key"`
	Name     string    `json:"name,omitempty"`
	Booked   float64   `json:"booked"` // last year
	Share    float64   `json:"share"`
	Amount   float64   `json:"amount"`
	Quarters []float64 `json:"quarters"`
	Months   []float64 `json:"months"`
}

// SplitTarget proposes how to split amount for year among the caller's teams
// (groupBy "team") or reps ("rep"): month share = (1 − e)·last year's bookings
// in that month / last year's bookings + e/12, group share = (1 − e)·the
// group's share of last year's bookings + e/groups, with e = TargetSplitEven;
// a group's months follow the months' shares. Groups are the teams or reps
// (role rep) the scope and filter select, with or without bookings.
func (s *Service) SplitTarget(ctx context.Context, sc Scope, f Filter, year int, amount float64, groupBy string) (TargetSplit, error) {
	if year < 1972 || year > 2104 {
		return TargetSplit{}, badParam("year", "%d: want a year in 1972..2104", year)
	}
	if amount <= 0 {
		return TargetSplit{}, badParam("amount", "want a positive amount")
	}
	if groupBy == "" {
		groupBy = "team"
	}
	if groupBy != "team" && groupBy != "rep" {
		return TargetSplit{}, badParam("group_by", "%q: want team or rep", groupBy)
	}
	start := time.Date(year, 1, 1, 0, 0, 0, 0, s.loc)
	f.From, f.To = start.AddDate(-1, 0, 0), start
	f, err := s.scope(sc, f)
	if err != nil {
		return TargetSplit{}, err
	}
	out := TargetSplit{Year: year, Amount: amount, GroupBy: groupBy, Quarters: []SplitPeriod{}, Months: []SplitPeriod{}, Groups: []SplitGroup{}}
	reps, err := s.repDims(ctx)
	if err != nil {
		return out, err
	}
	idx := map[string]int{}
	for _, r := range reps {
		if !r.visible(f) {
			continue
		}
		key, name := r.team, ""
		if groupBy == "rep" {
			if r.role != RoleRep {
				continue
			}
			key, name = r.id, r.name
		}
		if key == "" {
			continue
		}
		if _, ok := idx[key]; !ok {
			idx[key] = len(out.Groups)
			out.Groups = append(out.Groups, SplitGroup{Key: key, Name: name})
		}
	}
	var c cond
	c.add("won = 1")
	dateRange(&c, "close_date", f)
	dims(&c, f, "")
	var byMonth [12]float64
	q := "SELECT " + groupCol(groupBy) + " AS g, toMonth(close_date) AS m, sum(amount) FROM opp_facts" + c.where() + " GROUP BY g, m ORDER BY g, m"
	err = s.query(ctx, "target split", q, c.args, func(r driverRows) error {
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
		out.Basis += a
		if i, ok := idx[key]; ok {
			out.Groups[i].Booked += a
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	var months [12]float64
	for m := range months {
		months[m] = (1-TargetSplitEven)*ratio(byMonth[m], out.Basis) + TargetSplitEven/12
		if out.Basis == 0 {
			months[m] = 1.0 / 12
		}
		ms := start.AddDate(0, m, 0)
		out.Months = append(out.Months, SplitPeriod{Start: day(ms), End: day(ms.AddDate(0, 1, 0)), Share: months[m], Amount: amount * months[m]})
	}
	for qi := 0; qi < 4; qi++ {
		qs := start.AddDate(0, 3*qi, 0)
		sh := months[3*qi] + months[3*qi+1] + months[3*qi+2]
		out.Quarters = append(out.Quarters, SplitPeriod{Start: day(qs), End: day(qs.AddDate(0, 3, 0)), Share: sh, Amount: amount * sh})
	}
	var booked float64
	for _, g := range out.Groups {
		booked += g.Booked
	}
	n := float64(len(out.Groups))
	for i := range out.Groups {
		g := &out.Groups[i]
		g.Share = (1-TargetSplitEven)*ratio(g.Booked, booked) + TargetSplitEven/n
		if booked == 0 {
			g.Share = 1 / n
		}
		g.Amount = amount * g.Share
		for m := range months {
			g.Months = append(g.Months, g.Amount*months[m])
		}
		for qi := 0; qi < 4; qi++ {
			g.Quarters = append(g.Quarters, g.Months[3*qi]+g.Months[3*qi+1]+g.Months[3*qi+2])
		}
	}
	sort.SliceStable(out.Groups, func(i, j int) bool { return out.Groups[i].Key < out.Groups[j].Key })
	return out, nil
}
