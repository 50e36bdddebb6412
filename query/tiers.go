package query

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/pipelens/pipelens/schemas/config"
)

// AccountTier is one account: its tier, what put it there, and its service.
type AccountTier struct {
	Account    string  `json:"account"`
	Name       string  `json:"name"`
	Territory  string  `json:"territory"`
	Segment    string  `json:"segment"`
	Rep        string  `json:"rep"`
	RepName    string  `json:"rep_name"`
	Team       string  `json:"team"`
	Tier       string  `json:"tier"`
	Revenue    float64 `json:"revenue"`
	Employees  float64 `json:"employees"`
	Pipeline   float64 `json:"pipeline"`
	Won        float64 `json:"won"`
	Activities int64   `json:"activities"`
	// LastContact is the business day of the last activity that counts for the
	// tier's service (covered_by), "" when there is none; DaysSince counts the
	// days from it to the last day of the range (-1: never contacted).
	LastContact  string `json:"last_contact"`
	DaysSince    int    `json:"days_since"`
	ContactEvery int    `json:"contact_every_days"`
	Covered      bool   `json:"covered"`

	manager string
}

// TierSummary is one tier: its rule's service, how many accounts it holds and
// how many of them were contacted as often as it asks, and its share of the
// selection's bookings and pipeline.
type TierSummary struct {
	Key           string              `json:"key"`
	NameEN        string              `json:"name_en"`
	NameZH        string              `json:"name_zh"`
	Service       config.ServiceLevel `json:"service"`
	Accounts      int                 `json:"accounts"`
	Covered       int                 `json:"covered"`
	Coverage      float64             `json:"coverage"`
	Bookings      float64             `json:"bookings"`
	Pipeline      float64             `json:"pipeline"`
	BookingsShare float64             `json:"bookings_share"`
	PipelineShare float64             `json:"pipeline_share"`
}

// TierOwner counts an owner's (rep's or team's) accounts and those below
// their tier's service level.
type TierOwner struct {
	Key      string `json:"key"`
	Name     string `json:"name"`
	Team     string `json:"team,omitempty"`
	Accounts int    `json:"accounts"`
	Below    int    `json:"below"`
}

// AccountTiers is the tiers of the selection's accounts as of the range's end.
type AccountTiers struct {
	From         string        `json:"from"`
	To           string        `json:"to"`
	LookbackDays int           `json:"lookback_days"`
	Tiers        []TierSummary `json:"tiers"`
	// NoAccount: bookings and pipeline of deals without a known account (no
	// tier); shares are of the total including them.
	NoAccount TierSummary   `json:"no_account"`
	ByRep     []TierOwner   `json:"by_rep"`
	ByTeam    []TierOwner   `json:"by_team"`
	Below     []AccountTier `json:"below"`
	Accounts  []AccountTier `json:"accounts,omitempty"`
}

// NoRep is the rep key of accounts without one (no deal and no activity).
const NoRep = ""

type tierInputs struct {
	accts []*AccountTier
	// last[account][rep] is the rep's last contact day with the account.
	last map[string]map[string]time.Time
	// teams maps rep ids to teams (covered_by team).
	teams map[string]string
}

// Tiers assigns every account of the selection to its tier (config levels,
// first match wins, over the lookback window ending at to) and measures each
// tier's coverage from activities. withAccounts lists every account, not only
// those below their level. Product and source do not apply to accounts.
func (s *Service) Tiers(ctx context.Context, sc Scope, f Filter, t config.Tiers, withAccounts bool) (AccountTiers, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return AccountTiers{}, err
	}
	if err := notApplicable("account tiers", f, "product", "source"); err != nil {
		return AccountTiers{}, err
	}
	if len(t.Levels) == 0 {
		t = config.DefaultTiers()
	}
	in, err := s.tierInputs(ctx, f.To.AddDate(0, 0, -t.LookbackDays), f.To)
	if err != nil {
		return AccountTiers{}, err
	}
	out := AccountTiers{From: day(f.From), To: day(f.To), LookbackDays: t.LookbackDays, Tiers: []TierSummary{}, ByRep: []TierOwner{}, ByTeam: []TierOwner{}, Below: []AccountTier{}}
	idx := map[string]int{}
	for i, l := range t.Levels {
		idx[l.Key] = i
		out.Tiers = append(out.Tiers, TierSummary{Key: l.Key, NameEN: l.Name.EN, NameZH: l.Name.ZH, Service: l.Service})
	}
	tier := map[string]string{}
	for _, a := range in.accts {
		l := assignTier(t.Levels, a)
		a.Tier, a.ContactEvery = l.Key, l.Service.ContactEveryDays
		tier[a.Account] = l.Key
		serviceOf(a, l.Service, in.last[a.Account], f.To, in.teams)
	}
	tally(&out, in.accts, f, idx, withAccounts)
	return out, s.tierShares(ctx, f, tier, idx, &out)
}

// tally counts the filter's accounts per tier, rep and team, and lists those
// below their level (by tier, never contacted first, then the longest since).
func tally(out *AccountTiers, accts []*AccountTier, f Filter, idx map[string]int, withAccounts bool) {
	byRep, byTeam := map[string]*TierOwner{}, map[string]*TierOwner{}
	for _, a := range accts {
		if !accountVisible(a, f) {
			continue
		}
		ts := &out.Tiers[idx[a.Tier]]
		ts.Accounts++
		owner(byRep, a.Rep, a.RepName, a.Team).Accounts++
		owner(byTeam, a.Team, a.Team, "").Accounts++
		if a.Covered {
			ts.Covered++
		} else {
			out.Below = append(out.Below, *a)
			owner(byRep, a.Rep, a.RepName, a.Team).Below++
			owner(byTeam, a.Team, a.Team, "").Below++
		}
		if withAccounts {
			out.Accounts = append(out.Accounts, *a)
		}
	}
	for i := range out.Tiers {
		out.Tiers[i].Coverage = ratio(float64(out.Tiers[i].Covered), float64(out.Tiers[i].Accounts))
	}
	out.ByRep, out.ByTeam = owners(byRep), owners(byTeam)
	sort.SliceStable(out.Below, func(i, j int) bool {
		a, b := out.Below[i], out.Below[j]
		if idx[a.Tier] != idx[b.Tier] {
			return idx[a.Tier] < idx[b.Tier]
		}
		if (a.DaysSince < 0) != (b.DaysSince < 0) {
			return a.DaysSince < 0
		}
		if a.DaysSince != b.DaysSince {
			return a.DaysSince > b.DaysSince
		}
		return a.Account < b.Account
	})
}

// assignTier is the first level whose conditions the account meets; the last
// level has none and takes the rest.
func assignTier(levels []config.Tier, a *AccountTier) config.Tier {
	vals := map[string]float64{"revenue": a.Revenue, "employees": a.Employees, "pipeline": a.Pipeline, "won": a.Won, "activities": float64(a.Activities)}
	for _, l := range levels {
		conds := l.When.Conditions()
		if len(conds) == 0 {
			return l
		}
		met := 0
		for name, min := range conds {
			if vals[name] >= min {
				met++
			}
		}
		if l.Match == "all" && met == len(conds) || l.Match != "all" && met > 0 {
			return l
		}
	}
	return levels[len(levels)-1]
}

// serviceOf finds the account's last contact that counts for its service and
// whether it lies within the contact interval ending on the day before to.
func serviceOf(a *AccountTier, sl config.ServiceLevel, last map[string]time.Time, to time.Time, teams map[string]string) {
	var lc time.Time
	for rep, d := range last {
		ok := false
		switch sl.CoveredBy {
		case "anyone":
			ok = true
		case "team":
			ok = a.Rep != NoRep && rep == a.Rep || a.Team != "" && teams[rep] == a.Team
		default:
			ok = a.Rep != NoRep && rep == a.Rep
		}
		if ok && d.After(lc) {
			lc = d
		}
	}
	a.DaysSince = -1
	if lc.IsZero() {
		return
	}
	a.LastContact = day(lc)
	end := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, time.UTC)
	a.DaysSince = calendarDays(lc, end) - 1
	a.Covered = a.DaysSince < sl.ContactEveryDays
}

// calendarDays is the number of calendar days from a's date to b's.
func calendarDays(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return int(time.Date(by, bm, bd, 12, 0, 0, 0, time.UTC).Sub(time.Date(ay, am, ad, 12, 0, 0, 0, time.UTC)).Hours() / 24)
}

func accountVisible(a *AccountTier, f Filter) bool {
	ok := func(l []string, v string) bool { return len(l) == 0 || has(l, v) }
	return ok(f.Team, a.Team) && ok(f.Rep, a.Rep) && ok(f.Manager, a.manager) && ok(f.Territory, a.Territory) && ok(f.Segment, a.Segment)
}

func owner(m map[string]*TierOwner, key, name, team string) *TierOwner {
	o, ok := m[key]
	if !ok {
		o = &TierOwner{Key: key, Name: name, Team: team}
		m[key] = o
	}
	return o
}

// owners lists the owners with the most accounts below their level first.
func owners(m map[string]*TierOwner) []TierOwner {
	out := []TierOwner{}
	for _, o := range m {
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Below != out[j].Below {
			return out[i].Below > out[j].Below
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// tierInputs reads every account with its firmographics, its deals' won amount
// in [lookFrom, to) and open amount, its rep (the owner of its latest created
// deal, else the rep of its latest contact) and its activities before to.
func (s *Service) tierInputs(ctx context.Context, lookFrom, to time.Time) (tierInputs, error) {
	in := tierInputs{last: map[string]map[string]time.Time{}, teams: map[string]string{}}
	reps, err := s.repDims(ctx)
	if err != nil {
		return in, err
	}
	rd := map[string]repDim{}
	for _, r := range reps {
		rd[r.id] = r
		in.teams[r.id] = r.team
	}
	byID := map[string]*AccountTier{}
	for _, read := range []func(context.Context, *tierInputs, map[string]*AccountTier, time.Time, time.Time) error{s.tierAccounts, s.tierDeals, s.tierActivities} {
		if err := read(ctx, &in, byID, lookFrom, to); err != nil {
			return in, err
		}
	}
	for _, a := range in.accts {
		if a.Rep == NoRep {
			a.Rep = latestContact(in.last[a.Account])
		}
		if r, ok := rd[a.Rep]; ok {
			a.RepName, a.Team, a.manager = r.name, r.team, r.manager
		} else {
			a.RepName = a.Rep
		}
	}
	return in, nil
}

func (s *Service) tierAccounts(ctx context.Context, in *tierInputs, byID map[string]*AccountTier, _, _ time.Time) error {
	q := "SELECT account_id, name, territory, segment, revenue, employees FROM " + latest("accounts", "account_id", "account_id, name, territory, segment, revenue, employees") + " ORDER BY account_id"
	return s.query(ctx, "tier-accounts", q, nil, func(r driverRows) error {
		a := &AccountTier{DaysSince: -1}
		var emp uint32
		if err := r.Scan(&a.Account, &a.Name, &a.Territory, &a.Segment, &a.Revenue, &emp); err != nil {
			return err
		}
		a.Employees = float64(emp)
		byID[a.Account] = a
		in.accts = append(in.accts, a)
		return nil
	})
}

// tierDeals: won amount in the lookback, open amount and the rep (owner of the
// latest created deal, then the highest opportunity id) per account.
func (s *Service) tierDeals(ctx context.Context, _ *tierInputs, byID map[string]*AccountTier, lookFrom, to time.Time) error {
	q := "SELECT account_id, sumIf(amount, won = 1 AND close_date >= toDate(?) AND close_date < toDate(?)), sumIf(amount, closed = 0), " +
		"tupleElement(max(tuple(created_at, opportunity_id, owner_id)), 3) FROM opp_facts WHERE {facts} AND account_id != '' GROUP BY account_id"
	return s.query(ctx, "tier-deals", q, []any{day(lookFrom), day(to)}, func(r driverRows) error {
		var id, rep string
		var won, pipe float64
		if err := r.Scan(&id, &won, &pipe, &rep); err != nil {
			return err
		}
		if a := byID[id]; a != nil {
			a.Won, a.Pipeline, a.Rep = won, pipe, rep
		}
		return nil
	})
}

// tierActivities: per account and rep, the activities in the lookback and the
// last contact day before to.
func (s *Service) tierActivities(ctx context.Context, in *tierInputs, byID map[string]*AccountTier, lookFrom, to time.Time) error {
	acts := latest("activities", "activity_id", "activity_id, account_id, rep_id, occurred_at")
	q := "SELECT account_id, rep_id, countIf(toDate(occurred_at, " + s.tz + ") >= toDate(?)), max(toDate(occurred_at, " + s.tz + ")) FROM " + acts +
		" WHERE account_id != '' AND toDate(occurred_at, " + s.tz + ") < toDate(?) GROUP BY account_id, rep_id ORDER BY account_id, rep_id"
	return s.query(ctx, "tier-activities", q, []any{day(lookFrom), day(to)}, func(r driverRows) error {
		var id, rep string
		var n uint64
		var last time.Time
		if err := r.Scan(&id, &rep, &n, &last); err != nil {
			return err
		}
		a := byID[id]
		if a == nil {
			return nil // an account the accounts export does not list has no tier
		}
		a.Activities += int64(n)
		if in.last[id] == nil {
			in.last[id] = map[string]time.Time{}
		}
		in.last[id][rep] = last
		return nil
	})
}

// latestContact is the rep of the latest contact day (ties: the smallest rep
// id), NoRep without contacts.
func latestContact(last map[string]time.Time) string {
	best, bt := NoRep, time.Time{}
	for rep, d := range last {
		if d.After(bt) || d.Equal(bt) && rep < best {
			best, bt = rep, d
		}
	}
	return best
}

// tierShares adds each tier's bookings (won amount closed in the range) and
// open pipeline, over the deals the (scoped) filter selects.
func (s *Service) tierShares(ctx context.Context, f Filter, tier map[string]string, idx map[string]int, out *AccountTiers) error {
	var c cond
	dims(&c, f, "")
	q := "SELECT account_id, sumIf(amount, won = 1 AND close_date >= toDate(?) AND close_date < toDate(?)), sumIf(amount, closed = 0) FROM opp_facts" + c.prewhere() + " GROUP BY account_id"
	args := append([]any{day(f.From), day(f.To)}, c.args...)
	var total, totalPipe float64
	err := s.query(ctx, "tier-shares", q, args, func(r driverRows) error {
		var id string
		var won, pipe float64
		if err := r.Scan(&id, &won, &pipe); err != nil {
			return err
		}
		ts := &out.NoAccount
		if k, ok := tier[id]; ok {
			ts = &out.Tiers[idx[k]]
		}
		ts.Bookings += won
		ts.Pipeline += pipe
		total += won
		totalPipe += pipe
		return nil
	})
	if err != nil {
		return fmt.Errorf("tier shares: %w", err)
	}
	for _, ts := range append([]*TierSummary{&out.NoAccount}, ptrs(out.Tiers)...) {
		ts.BookingsShare, ts.PipelineShare = ratio(ts.Bookings, total), ratio(ts.Pipeline, totalPipe)
	}
	return nil
}

func ptrs(ts []TierSummary) []*TierSummary {
	out := make([]*TierSummary, len(ts))
	for i := range ts {
		out[i] = &ts[i]
	}
	return out
}
