package query

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// StageCount is one open stage of a funnel.
type StageCount struct {
	Stage   string `json:"stage"`
	Rank    int    `json:"rank"`
	Reached int64  `json:"reached"`
	// Conversion is reached(next stage)/reached(this stage); for the last open
	// stage the next step is won. 0 when nothing reached this stage.
	Conversion float64 `json:"conversion"`
}

// Funnel is the funnel of one cohort: the opportunities created in [from, to).
type Funnel struct {
	From   string       `json:"from"`
	To     string       `json:"to"`
	Cohort int64        `json:"cohort"`
	Stages []StageCount `json:"stages"`
	Won    int64        `json:"won"`
	Lost   int64        `json:"lost"`
	Open   int64        `json:"open"`
	// WonAmount and Amount are the won and total amounts of the cohort.
	WonAmount float64 `json:"won_amount"`
	Amount    float64 `json:"amount"`
}

// funnelCols is the SELECT list that Funnel and Conversion share.
func (s *Service) funnelCols() string {
	var b strings.Builder
	b.WriteString("count(), sum(amount), countIf(won = 1), countIf(lost = 1), countIf(closed = 0), sumIf(amount, won = 1)")
	for i := range s.stages {
		fmt.Fprintf(&b, ", countIf(furthest >= %d)", i+1)
	}
	return b.String()
}

type funnelRow struct {
	n, won, lost, open uint64
	amount, wonAmount  float64
	reached            []uint64
}

func (s *Service) scanFunnel(r driverRows, lead ...any) (funnelRow, error) {
	var fr funnelRow
	fr.reached = make([]uint64, len(s.stages))
	dst := append(lead, &fr.n, &fr.amount, &fr.won, &fr.lost, &fr.open, &fr.wonAmount)
	for i := range fr.reached {
		dst = append(dst, &fr.reached[i])
	}
	return fr, r.Scan(dst...)
}

// funnelRollupCols is funnelCols over rep_days.
const funnelRollupCols = "sum(created), sum(created_amount), sum(created_won), sum(created_lost), sum(created_open), sum(created_won_amount), sumForEach(reached)"

func (s *Service) scanFunnelRollup(r driverRows, lead ...any) (funnelRow, error) {
	var fr funnelRow
	err := r.Scan(append(lead, &fr.n, &fr.amount, &fr.won, &fr.lost, &fr.open, &fr.wonAmount, &fr.reached)...)
	fr.reached = padded(fr.reached, len(s.stages))
	return fr, err
}

func (s *Service) funnelOf(fr funnelRow, f Filter) Funnel {
	out := Funnel{From: day(f.From), To: day(f.To), Cohort: int64(fr.n), Won: int64(fr.won), Lost: int64(fr.lost), Open: int64(fr.open), WonAmount: fr.wonAmount, Amount: fr.amount}
	for i, st := range s.stages {
		next := fr.won
		if i+1 < len(fr.reached) {
			next = fr.reached[i+1]
		}
		out.Stages = append(out.Stages, StageCount{Stage: st, Rank: i + 1, Reached: int64(fr.reached[i]), Conversion: ratio(float64(next), float64(fr.reached[i]))})
	}
	return out
}

// Funnel is the cohort funnel of the opportunities created in [f.From, f.To).
func (s *Service) Funnel(ctx context.Context, sc Scope, f Filter) (Funnel, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return Funnel{}, err
	}
	if s.cubeServes(f) {
		t, err := s.teamTotal(ctx, f)
		if err != nil {
			return Funnel{}, err
		}
		return s.funnelOf(t.funnel(len(s.stages)), f), nil
	}
	var c cond
	dateRange(&c, "created_date", f)
	dims(&c, f, "")
	cols, table, scan := s.funnelCols(), "opp_facts", s.scanFunnel
	if s.ownerOnly(f) {
		c = repDaysWhere(f, false)
		cols, table, scan = funnelRollupCols, "rep_days", s.scanFunnelRollup
	}
	var fr funnelRow
	err = s.query(ctx, "funnel", "SELECT "+cols+" FROM "+table+c.where(), c.args, func(r driverRows) error {
		var err error
		fr, err = scan(r)
		return err
	})
	if err != nil {
		return Funnel{}, err
	}
	return s.funnelOf(fr, f), nil
}

// Periods a trend can be cut by.
const (
	Week    = "week"
	Month   = "month"
	Quarter = "quarter"
)

// IncompleteShare is the share of a cohort still open above which its period is
// flagged incomplete: its conversions will still move.
const IncompleteShare = 0.2

func periodExpr(period, col string) (string, error) {
	switch period {
	case Week:
		return "toMonday(" + col + ")", nil
	case Month, "":
		return "toStartOfMonth(" + col + ")", nil
	case Quarter:
		return "toStartOfQuarter(" + col + ")", nil
	}
	return "", badParam("period", "%q: want week, month or quarter", period)
}

func periodEnd(period string, start time.Time) time.Time {
	switch period {
	case Week:
		return start.AddDate(0, 0, 7)
	case Quarter:
		return start.AddDate(0, 3, 0)
	}
	return start.AddDate(0, 1, 0)
}

// ConversionPeriod is the funnel of one period's cohort.
type ConversionPeriod struct {
	Period string `json:"period"` // first day of the period
	Funnel
	// WinConversion is won/cohort: the lead-to-won conversion.
	WinConversion float64 `json:"win_conversion"`
	// Incomplete: more than 20% of the cohort is still open.
	Incomplete bool `json:"incomplete"`
	// Partial: the period is cut by from or to, so its cohort is only part of it.
	Partial bool `json:"partial"`
}

// Conversion is the conversion trend: the funnel of each period's cohort, for the
// periods (week, month or quarter) that overlap [f.From, f.To).
func (s *Service) Conversion(ctx context.Context, sc Scope, f Filter, period string) ([]ConversionPeriod, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return nil, err
	}
	if period == "" {
		period = Month
	}
	pe, err := periodExpr(period, "created_date")
	if err != nil {
		return nil, err
	}
	var c cond
	dateRange(&c, "created_date", f)
	dims(&c, f, "")
	q := "SELECT " + pe + " AS p, " + s.funnelCols() + " FROM opp_facts" + c.prewhere() + " GROUP BY p ORDER BY p"
	scan := s.scanFunnel
	out := []ConversionPeriod{}
	add := func(p time.Time, fr funnelRow) {
		start := time.Date(p.Year(), p.Month(), p.Day(), 0, 0, 0, 0, s.loc)
		end := periodEnd(period, start)
		pf := Filter{From: maxTime(start, f.From), To: minTime(end, f.To)}
		cp := ConversionPeriod{Period: day(start), Funnel: s.funnelOf(fr, pf)}
		cp.WinConversion = ratio(float64(fr.won), float64(fr.n))
		cp.Incomplete = float64(fr.open) > IncompleteShare*float64(fr.n)
		cp.Partial = start.Before(f.From) || end.After(f.To)
		out = append(out, cp)
	}
	if s.cubeServes(f) {
		ps, sums, err := s.teamPeriods(ctx, f, period)
		for _, p := range ps {
			if sums[p].created > 0 {
				add(p, sums[p].funnel(len(s.stages)))
			}
		}
		return out, err
	}
	if s.ownerOnly(f) {
		pe, _ = periodExpr(period, "day")
		c = repDaysWhere(f, period == Week)
		q = "SELECT " + pe + " AS p, " + funnelRollupCols + " FROM rep_days" + c.where() + " GROUP BY p HAVING sum(created) > 0 ORDER BY p"
		scan = s.scanFunnelRollup
	}
	err = s.query(ctx, "conversion", q, c.args, func(r driverRows) error {
		var p time.Time
		fr, err := scan(r, &p)
		if err == nil {
			add(p, fr)
		}
		return err
	})
	return out, err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// GroupBy values for WinRate, CycleTime and DaysInStage.
var GroupBys = []string{"rep", "team", "manager", "territory", "product", "source", "segment"}

// groupExpr gives the key and label of a grouping over opp_facts.
func groupExpr(by string) (key, label string, err error) {
	switch by {
	case "":
		return "'all'", "'all'", nil
	case "rep":
		return "owner_id", "any(owner_name)", nil
	case "manager":
		return "manager_id", "any(manager_name)", nil
	case "team", "territory", "product", "source", "segment":
		return by, "any(" + by + ")", nil
	}
	return "", "", badParam("group_by", "%q: want one of %s", by, strings.Join(GroupBys, ", "))
}

// rollupLabel turns a label of groupExpr into its form over rep_days, whose
// cancelling rows (sign -1) carry the names of the versions they cancel.
func rollupLabel(label string) string {
	if strings.HasPrefix(label, "any(") {
		return "argMax(" + strings.TrimSuffix(strings.TrimPrefix(label, "any("), ")") + ", (pub, sign))"
	}
	return label
}

// WinRateGroup is the win rate of one group.
type WinRateGroup struct {
	Key        string  `json:"key"`
	Name       string  `json:"name"`
	Won        int64   `json:"won"`
	Lost       int64   `json:"lost"`
	WinRate    float64 `json:"win_rate"`
	WonAmount  float64 `json:"won_amount"`
	LostAmount float64 `json:"lost_amount"`
	// WinRateAmount is won amount / (won + lost amount).
	WinRateAmount float64 `json:"win_rate_amount"`
}

// WinRate is won/(won+lost) over the opportunities closed in [from, to), by count
// and by amount, overall and per group.
type WinRate struct {
	From    string         `json:"from"`
	To      string         `json:"to"`
	GroupBy string         `json:"group_by,omitempty"`
	Total   WinRateGroup   `json:"total"`
	Groups  []WinRateGroup `json:"groups"`
}

// WinRate computes the win rate, grouped by groupBy ("" for the total only).
func (s *Service) WinRate(ctx context.Context, sc Scope, f Filter, groupBy string) (WinRate, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return WinRate{}, err
	}
	key, label, err := groupExpr(groupBy)
	if err != nil {
		return WinRate{}, err
	}
	// The closed deals of opp_closes (closes.go), read by close date.
	var c cond
	c.add("closed = 1")
	dateRange(&c, "close_date", f)
	dims(&c, f, "")
	out := WinRate{From: day(f.From), To: day(f.To), GroupBy: groupBy, Groups: []WinRateGroup{}, Total: WinRateGroup{Key: "all", Name: "all"}}
	q := winRateSQL(key, label, c)
	if s.teamsServe(f) && groupBy == "team" {
		// The rows the cards' opened deals and bookings read too.
		ts, err := s.repDayTeams(ctx, f)
		for _, t := range ts {
			if t.won+t.lost > 0 {
				out.add(WinRateGroup{Key: t.team, Name: t.team, Won: int64(t.won), Lost: int64(t.lost), WonAmount: t.wonAmount, LostAmount: t.lostAmount})
			}
		}
		out.Total.rates()
		return out, err
	}
	if groupBy == "" && s.cubeServes(f) {
		t, err := s.teamTotal(ctx, f)
		if t.won+t.lost > 0 {
			out.add(WinRateGroup{Key: "all", Name: "all", Won: int64(t.won), Lost: int64(t.lost), WonAmount: t.wonAmount, LostAmount: t.lostAmount})
		}
		out.Total.rates()
		out.Groups = []WinRateGroup{}
		return out, err
	}
	if dim, values, m0, m1, ok := s.dimMonths(f); ok && groupBy == "rep" {
		return out, s.winRateRepMonths(ctx, f, dim, values, m0, m1, &out)
	}
	args := c.args
	if s.ownerOnly(f) && (groupBy == "" || groupBy == "rep" || groupBy == "manager") {
		if groupBy != "manager" {
			cube, err := s.repCube(ctx)
			if err != nil {
				return out, err
			}
			if cube.covers(f) {
				s.winRateByRep(cube, f, &out)
				return out, nil
			}
		}
		q, args = winRateRepDays(f, key, label)
	}
	err = s.readWinRate(ctx, q, args, &out)
	return out, err
}

// winRateRepDays is WinRate's statement over rep_days for an owner-only
// filter, grouped by groupExpr's key and label (rep_days has the same owner
// columns, so they hold there).
func winRateRepDays(f Filter, key, label string) (string, []any) {
	c := repDaysWhere(f, false)
	return "SELECT " + key + " AS k, " + rollupLabel(label) + ", sum(won), sum(lost), sum(won_amount), sum(lost_amount) FROM rep_days" + c.where() +
		" GROUP BY k HAVING sum(won) + sum(lost) > 0 ORDER BY k", c.args
}

// readWinRate reads q's rows (k, label, won, lost, won amount, lost amount)
// into out's groups and their total; groups are dropped when out is not
// grouped.
func (s *Service) readWinRate(ctx context.Context, q string, args []any, out *WinRate) error {
	err := s.query(ctx, "winrate", q, args, func(r driverRows) error {
		var g WinRateGroup
		var won, lost uint64
		if err := r.Scan(&g.Key, &g.Name, &won, &lost, &g.WonAmount, &g.LostAmount); err != nil {
			return err
		}
		g.Won, g.Lost = int64(won), int64(lost)
		out.add(g)
		return nil
	})
	out.Total.rates()
	if out.GroupBy == "" {
		out.Groups = []WinRateGroup{}
	}
	return err
}

// add appends g, its rates computed, to w's groups and its counts and amounts
// to w's total.
func (w *WinRate) add(g WinRateGroup) {
	g.rates()
	w.Groups = append(w.Groups, g)
	t := &w.Total
	t.Won += g.Won
	t.Lost += g.Lost
	t.WonAmount += g.WonAmount
	t.LostAmount += g.LostAmount
}

func (g *WinRateGroup) rates() {
	g.WinRate = ratio(float64(g.Won), float64(g.Won+g.Lost))
	g.WinRateAmount = ratio(g.WonAmount, g.WonAmount+g.LostAmount)
}

// Durations summarises a set of durations in days.
type Durations struct {
	Key    string  `json:"key"`
	Name   string  `json:"name"`
	Count  int64   `json:"count"`
	Median float64 `json:"median_days"`
	Mean   float64 `json:"mean_days"`
	// StdDev is the sample standard deviation (0 under two values).
	StdDev float64 `json:"stddev_days"`
}

// CycleTime is days from created to closed (business dates) for the won
// opportunities closed in [from, to), overall and per group.
type CycleTime struct {
	From    string      `json:"from"`
	To      string      `json:"to"`
	GroupBy string      `json:"group_by,omitempty"`
	Total   Durations   `json:"total"`
	Groups  []Durations `json:"groups"`
}

// cycleDiff is a won deal's cycle in whole days (business dates); cycleInt
// is it as cycle_days stores it, cycleDays as the Float64 the statistics take.
const (
	cycleDiff = "toInt32(toUInt16(close_date)) - toInt32(toUInt16(created_date))"
	cycleInt  = "toInt32(" + cycleDiff + ")"
	cycleDays = "toFloat64(" + cycleDiff + ")"
)

// CycleTime computes the sales cycle of won deals, grouped by groupBy ("" for the
// total only).
func (s *Service) CycleTime(ctx context.Context, sc Scope, f Filter, groupBy string) (CycleTime, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return CycleTime{}, err
	}
	key, label, err := groupExpr(groupBy)
	if err != nil {
		return CycleTime{}, err
	}
	var c cond
	c.add("won = 1")
	dateRange(&c, "close_date", f)
	dims(&c, f, "")
	out := CycleTime{From: day(f.From), To: day(f.To), GroupBy: groupBy, Groups: []Durations{}}
	groups := ""
	if groupBy != "" {
		groups = cycleSQL(key, label, c)
	}
	total := cycleSQL("'all'", "'all'", c)
	if s.orgWide(f) {
		if out.Total, err = s.cycleTotal(ctx, f); err != nil {
			return out, err
		}
		total = ""
	}
	err = s.readCycle(ctx, total, groups, c.args, &out)
	return out, err
}

// readCycle reads the total row of total, unless it is "", and the rows of
// groups, unless it is "" (k, label, count, mean, median, standard deviation)
// into out.
func (s *Service) readCycle(ctx context.Context, total, groups string, args []any, out *CycleTime) error {
	scan := func(dst *[]Durations) func(driverRows) error {
		return func(r driverRows) error {
			var g Durations
			var n uint64
			if err := r.Scan(&g.Key, &g.Name, &n, &g.Mean, &g.Median, &g.StdDev); err != nil {
				return err
			}
			g.Count = int64(n)
			if n == 0 { // avg and median of no deal are NaN in ClickHouse
				g.Mean, g.Median, g.StdDev = 0, 0, 0
			}
			*dst = append(*dst, g)
			return nil
		}
	}
	if total != "" {
		var tot []Durations
		if err := s.query(ctx, "cycle", total, args, scan(&tot)); err != nil {
			return err
		}
		if len(tot) == 1 {
			out.Total = tot[0]
		}
	}
	if groups == "" {
		return nil
	}
	return s.query(ctx, "cycle", groups, args, scan(&out.Groups))
}

// StageDurations is days in one stage.
type StageDurations struct {
	Stage string `json:"stage"`
	Rank  int    `json:"rank"`
	Durations
	// StillIn counts entries in the range that have not left the stage yet
	// (not part of the statistics).
	StillIn int64 `json:"still_in"`
}

// DaysInStage is, per open stage, the days from entering it (first entry, in
// [from, to)) to the next stage change or close. groupBy "" gives totals; otherwise
// one row per stage and group.
func (s *Service) DaysInStage(ctx context.Context, sc Scope, f Filter, groupBy string) ([]StageDurations, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return nil, err
	}
	key, label, err := groupExpr(groupBy)
	if err != nil {
		return nil, err
	}
	if s.stayHistServes(f, groupBy) {
		return s.daysInStageHist(ctx, f)
	}
	// The stays of opp_stays (stays.go), read by entry day: the first entries
	// into an open stage, in the business zone's days.
	var c cond
	enteredIn(&c, f)
	dims(&c, f, "")
	out := []StageDurations{}
	err = s.query(ctx, "days-in-stage", daysInStageSQL(key, label, c), c.args, func(r driverRows) error {
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

// Velocity is sales velocity over a range of days: opportunities opened per
// day × win rate × average won deal, the bookings per day the deals being
// opened will bring (METRICS.md, "Sales velocity"). It does not grow with the
// length of the range. nil when nothing closed in the range (no win rate) or
// the range is empty.
func Velocity(opened int64, days int, won, lost int64, wonAmount float64) *float64 {
	if days <= 0 || won+lost == 0 {
		return nil
	}
	v := float64(opened) / float64(days) * float64(won) / float64(won+lost)
	if won > 0 {
		v *= wonAmount / float64(won)
	}
	return &v
}
