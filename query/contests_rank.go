package query

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"
)

// NewAccountsGroup is the new accounts of one group.
type NewAccountsGroup struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	NewAccounts int64  `json:"new_accounts"`
}

// NewAccounts counts the accounts won for the first time in [from, to): an
// account's first won deal (earliest close date, then opportunity id) decides
// when it became a customer and whom it is credited to; the filter applies to
// that deal.
type NewAccounts struct {
	From    string             `json:"from"`
	To      string             `json:"to"`
	GroupBy string             `json:"group_by,omitempty"`
	Total   int64              `json:"total"`
	Groups  []NewAccountsGroup `json:"groups"`
}

// NewAccounts computes the new accounts, grouped by groupBy ("" for the total).
func (s *Service) NewAccounts(ctx context.Context, sc Scope, f Filter, groupBy string) (NewAccounts, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return NewAccounts{}, err
	}
	key, label, err := groupExpr(groupBy)
	if err != nil {
		return NewAccounts{}, err
	}
	cols := []string{"close_date", "opportunity_id", "owner_id", "owner_name", "team", "manager_id", "manager_name", "territory", "segment", "product", "source"}
	first := "(SELECT account_id"
	for i, c := range cols {
		first += fmt.Sprintf(", w.%d AS %s", i+1, c)
	}
	first += " FROM (SELECT account_id, min(tuple(" + joinCols(cols) + ")) AS w FROM opp_facts WHERE {facts} AND won = 1 AND account_id != '' GROUP BY account_id))"
	var c cond
	dateRange(&c, "close_date", f)
	c.in("team", f.Team)
	c.in("manager_id", f.Manager)
	c.in("owner_id", f.Rep)
	c.in("territory", f.Territory)
	c.in("product", f.Product)
	c.in("source", f.Source)
	c.in("segment", f.Segment)
	out := NewAccounts{From: day(f.From), To: day(f.To), GroupBy: groupBy, Groups: []NewAccountsGroup{}}
	q := "SELECT " + key + " AS k, " + label + ", count() FROM " + first + c.where() + " GROUP BY k ORDER BY k"
	err = s.query(ctx, "new-accounts", q, c.args, func(r driverRows) error {
		var g NewAccountsGroup
		var n uint64
		if err := r.Scan(&g.Key, &g.Name, &n); err != nil {
			return err
		}
		g.NewAccounts = int64(n)
		out.Total += g.NewAccounts
		if groupBy != "" {
			out.Groups = append(out.Groups, g)
		}
		return nil
	})
	return out, err
}

func joinCols(cols []string) string {
	out := ""
	for i, c := range cols {
		if i > 0 {
			out += ", "
		}
		out += c
	}
	return out
}

// RankRow is one person in one ranking. Rank is the competition rank: people
// with equal values share it and the next rank skips (1, 2, 2, 4).
type RankRow struct {
	Rank  int     `json:"rank"`
	Rep   string  `json:"rep"`
	Name  string  `json:"name"`
	Team  string  `json:"team"`
	Value float64 `json:"value"`
	// Current and Baseline: the improvement category's two values
	// (Value = Current − Baseline).
	Current  *float64 `json:"current,omitempty"`
	Baseline *float64 `json:"baseline,omitempty"`
	Newcomer bool     `json:"newcomer,omitempty"`
}

// RankGroup is the ranking of one group of a category.
type RankGroup struct {
	Name string    `json:"name"`
	Rows []RankRow `json:"rows"`
}

// CategoryRanking is one category of a contest: its metric and a ranking per
// group.
type CategoryRanking struct {
	Category string      `json:"category"`
	Metric   string      `json:"metric"`
	Groups   []RankGroup `json:"groups"`
}

// ContestRanking is a contest's rankings as of one publication.
type ContestRanking struct {
	Contest      Contest           `json:"contest"`
	Publication  uint64            `json:"publication"`
	Participants int               `json:"participants"`
	Categories   []CategoryRanking `json:"categories"`
}

// OthersGroup names the group of participants (from teams) that no group of a
// contest with groups lists: they compete among themselves.
const OthersGroup = "others"

// NewcomersGroup is the one group of the newcomer category.
const NewcomersGroup = "newcomers"

type contestant struct {
	id, name, team, group string
	hired                 time.Time
}

// Ranking computes contest id's rankings. Everyone competes whatever the
// caller's scope; a manager sees the rows of the own team, a rep the own rows,
// with their ranks among all competitors.
func (s *Service) Ranking(ctx context.Context, sc Scope, id string) (ContestRanking, error) {
	if _, err := sc.restrict(Filter{}); err != nil {
		return ContestRanking{}, err
	}
	c, err := s.contest(ctx, id)
	if err != nil {
		return ContestRanking{}, err
	}
	v, err := s.Version(ctx)
	if err != nil {
		return ContestRanking{}, err
	}
	ps, err := s.contestants(ctx, c)
	if err != nil {
		return ContestRanking{}, err
	}
	out := ContestRanking{Contest: c, Publication: v.Pub, Participants: len(ps), Categories: []CategoryRanking{}}
	for _, cat := range c.Categories {
		cr, err := s.rankCategory(ctx, c, cat, ps)
		if err != nil {
			return ContestRanking{}, fmt.Errorf("contest %s, %s: %w", c.ID, cat, err)
		}
		for i := range cr.Groups {
			cr.Groups[i].Rows = visibleRows(sc, cr.Groups[i].Rows)
		}
		out.Categories = append(out.Categories, cr)
	}
	return out, nil
}

func visibleRows(sc Scope, rows []RankRow) []RankRow {
	if sc.SeesAll() {
		return rows
	}
	out := []RankRow{}
	for _, r := range rows {
		if sc.Role == RoleManager && r.Team == sc.Team || sc.Role == RoleRep && r.Rep == sc.Rep {
			out = append(out, r)
		}
	}
	return out
}

// contestants are who competes, with their group: the reps listed (directly
// or in a group) and the reps of the teams listed; without any, every rep
// (managers and directors do not compete).
func (s *Service) contestants(ctx context.Context, c Contest) ([]contestant, error) {
	all := map[string]contestant{}
	var ids []string
	q := "SELECT rep_id, name, team, role, hired_on FROM " + latest("reps", "rep_id", "rep_id, name, team, role, hired_on") + " ORDER BY rep_id"
	byTeam := map[string][]string{}
	var reps []string
	err := s.query(ctx, "contest-reps", q, nil, func(r driverRows) error {
		var x contestant
		var role string
		if err := r.Scan(&x.id, &x.name, &x.team, &role, &x.hired); err != nil {
			return err
		}
		all[x.id] = x
		if role != RoleManager && role != RoleDirector && role != RoleAdmin {
			byTeam[x.team] = append(byTeam[x.team], x.id)
			reps = append(reps, x.id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	group := map[string]string{}
	for _, g := range c.Groups {
		for _, r := range g.Reps {
			group[r] = g.Name
			ids = append(ids, r)
		}
	}
	ids = append(ids, c.Reps...)
	for _, t := range c.Teams {
		ids = append(ids, byTeam[t]...)
	}
	if len(c.Groups) == 0 && len(c.Reps) == 0 && len(c.Teams) == 0 {
		ids = reps
	}
	seen := map[string]bool{}
	var out []contestant
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		x, ok := all[id]
		if !ok {
			// A rep a later reps export dropped still competes, by id.
			x = contestant{id: id, name: id}
		}
		x.group = group[id]
		if x.group == "" && len(c.Groups) > 0 {
			x.group = OthersGroup
		}
		out = append(out, x)
	}
	return out, nil
}

// contestValues reads metric per rep over [from, to) through the metric's own
// definition.
func (s *Service) contestValues(ctx context.Context, metric string, from, to time.Time) (map[string]float64, error) {
	f := Filter{From: from, To: to}
	out := map[string]float64{}
	if metric == ContestNewAccounts {
		na, err := s.NewAccounts(ctx, Unrestricted, f, "rep")
		for _, g := range na.Groups {
			out[g.Key] = float64(g.NewAccounts)
		}
		return out, err
	}
	wr, err := s.WinRate(ctx, Unrestricted, f, "rep")
	for _, g := range wr.Groups {
		switch metric {
		case ContestWonAmount:
			out[g.Key] = g.WonAmount
		case ContestDealsWon:
			out[g.Key] = float64(g.Won)
		case ContestWinRate:
			out[g.Key] = g.WinRate
		}
	}
	return out, err
}

func (s *Service) rankCategory(ctx context.Context, c Contest, cat string, ps []contestant) (CategoryRanking, error) {
	metric := c.Metric
	if cat == CategoryNewAccounts {
		metric = ContestNewAccounts
	}
	cur, err := s.contestValues(ctx, metric, c.from, c.to)
	if err != nil {
		return CategoryRanking{}, err
	}
	var base map[string]float64
	if cat == CategoryImprovement {
		bf, bt := improvementBaseline(c, time.Now().In(s.loc))
		if base, err = s.contestValues(ctx, metric, bf, bt); err != nil {
			return CategoryRanking{}, err
		}
	}
	newSince := c.from.AddDate(0, 0, -c.NewcomerDays)
	groups := map[string][]RankRow{}
	var order []string
	for _, p := range ps {
		isNew := p.hired.Year() > 1970 && !p.hired.Before(calendarDay(newSince))
		g := p.group
		if cat == CategoryNewcomer {
			if !isNew {
				continue
			}
			g = NewcomersGroup
		}
		row := RankRow{Rep: p.id, Name: p.name, Team: p.team, Value: cur[p.id], Newcomer: isNew}
		if base != nil {
			cv, bv := cur[p.id], base[p.id]
			row.Current, row.Baseline, row.Value = &cv, &bv, cv-bv
		}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], row)
	}
	out := CategoryRanking{Category: cat, Metric: metric, Groups: []RankGroup{}}
	// Groups in the contest's order, others last.
	rank := map[string]int{}
	for i, g := range c.Groups {
		rank[g.Name] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return groupOrder(rank, order[i]) < groupOrder(rank, order[j]) })
	for _, g := range order {
		out.Groups = append(out.Groups, RankGroup{Name: g, Rows: rankRows(groups[g])})
	}
	return out, nil
}

// improvementBaseline is the baseline a running contest is compared with: as
// many of the baseline's first days as the contest has had so far (today
// included), so that half a quarter is not measured against a whole one.
func improvementBaseline(c Contest, now time.Time) (time.Time, time.Time) {
	tomorrow := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, c.from.Location())
	if !tomorrow.Before(c.to) || !tomorrow.After(c.from) {
		return c.baseFrom, c.baseTo
	}
	end := c.baseFrom.AddDate(0, 0, calendarDays(c.from, tomorrow))
	if end.After(c.baseTo) {
		end = c.baseTo
	}
	return c.baseFrom, end
}

func groupOrder(rank map[string]int, g string) int {
	if r, ok := rank[g]; ok {
		return r
	}
	return math.MaxInt
}

// rankRows sorts rows by value, largest first (ties by name, then id, for a
// stable board) and gives competition ranks: equal values (to a millionth,
// so sums added in another order still tie) share a rank.
func rankRows(rows []RankRow) []RankRow {
	key := func(v float64) float64 { return math.Round(v*1e6) / 1e6 }
	sort.Slice(rows, func(i, j int) bool {
		a, b := key(rows[i].Value), key(rows[j].Value)
		if a != b {
			return a > b
		}
		if rows[i].Name != rows[j].Name {
			return rows[i].Name < rows[j].Name
		}
		return rows[i].Rep < rows[j].Rep
	})
	for i := range rows {
		if i > 0 && key(rows[i].Value) == key(rows[i-1].Value) {
			rows[i].Rank = rows[i-1].Rank
		} else {
			rows[i].Rank = i + 1
		}
	}
	return rows
}
