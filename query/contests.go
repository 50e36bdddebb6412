package query

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Contest metrics: what a contest ranks people by. Each is read through the
// metric that defines it (WinRate for won amount, deals won and win rate;
// NewAccounts for new accounts).
const (
	ContestWonAmount   = "won_amount"
	ContestDealsWon    = "deals_won"
	ContestWinRate     = "win_rate"
	ContestNewAccounts = "new_accounts"
)

// ContestMetrics lists the metrics a contest may rank by.
var ContestMetrics = []string{ContestWonAmount, ContestDealsWon, ContestWinRate, ContestNewAccounts}

// Contest categories: the rankings a board shows.
const (
	CategoryTop         = "top"          // most of the contest's metric
	CategoryImprovement = "improvement"  // biggest gain of the metric over the baseline
	CategoryNewcomer    = "newcomer"     // most of the metric among newcomers
	CategoryNewAccounts = "new_accounts" // most new accounts, whatever the metric
)

// ContestCategories lists the categories a contest may rank.
var ContestCategories = []string{CategoryTop, CategoryImprovement, CategoryNewcomer, CategoryNewAccounts}

// DefaultNewcomerDays: a rep hired at most this many days before a contest
// starts is a newcomer.
const DefaultNewcomerDays = 180

// ContestGroup is a set of people of similar level who compete with each other.
type ContestGroup struct {
	Name string   `json:"name"`
	Reps []string `json:"reps"`
}

// ContestInput is what an admin defines. Dates are YYYY-MM-DD in the business
// zone; To and BaselineTo are exclusive.
type ContestInput struct {
	Name         string         `json:"name"`
	Metric       string         `json:"metric"`
	From         string         `json:"from"`
	To           string         `json:"to"`
	BaselineFrom string         `json:"baseline_from,omitempty"`
	BaselineTo   string         `json:"baseline_to,omitempty"`
	NewcomerDays int            `json:"newcomer_days,omitempty"`
	Teams        []string       `json:"teams,omitempty"`
	Reps         []string       `json:"reps,omitempty"`
	Groups       []ContestGroup `json:"groups,omitempty"`
	Categories   []string       `json:"categories,omitempty"`
}

// Contest is a stored contest. Its board token is never part of it.
type Contest struct {
	ID string `json:"id"`
	ContestInput
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`

	from, to, baseFrom, baseTo time.Time
	tokenHash                  string
}

// contestInput checks in and fills its defaults: categories top, the baseline
// the same number of days just before the contest, newcomers hired within
// DefaultNewcomerDays. Errors name the field.
func (s *Service) contestInput(in ContestInput) (ContestInput, [4]time.Time, error) {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len([]rune(in.Name)) > 200 {
		return in, [4]time.Time{}, badParam("name", "a contest needs a name of 1 to 200 characters")
	}
	if !has(ContestMetrics, in.Metric) {
		return in, [4]time.Time{}, badParam("metric", "%q: want one of %s", in.Metric, strings.Join(ContestMetrics, ", "))
	}
	ds, err := s.contestDates(&in)
	if err != nil {
		return in, ds, err
	}
	if in.NewcomerDays == 0 {
		in.NewcomerDays = DefaultNewcomerDays
	}
	if in.NewcomerDays < 0 || in.NewcomerDays > 3650 {
		return in, ds, badParam("newcomer_days", "%d: want 1..3650", in.NewcomerDays)
	}
	if len(in.Categories) == 0 {
		in.Categories = []string{CategoryTop}
	}
	seen := map[string]bool{}
	for _, c := range in.Categories {
		if !has(ContestCategories, c) || seen[c] {
			return in, ds, badParam("categories", "%q: want distinct values of %s", c, strings.Join(ContestCategories, ", "))
		}
		seen[c] = true
	}
	return in, ds, checkGroups(in.Groups)
}

// contestDates parses from, to and the baseline (default: the same number of
// days just before from) in the business zone.
func (s *Service) contestDates(in *ContestInput) ([4]time.Time, error) {
	var ds [4]time.Time
	var err error
	for i, f := range []struct {
		name string
		v    *string
	}{{"from", &in.From}, {"to", &in.To}, {"baseline_from", &in.BaselineFrom}, {"baseline_to", &in.BaselineTo}} {
		if *f.v == "" && i >= 2 {
			continue
		}
		if ds[i], err = time.ParseInLocation(time.DateOnly, *f.v, s.loc); err != nil {
			return ds, badParam(f.name, "%q: want a date YYYY-MM-DD", *f.v)
		}
	}
	if !ds[0].Before(ds[1]) {
		return ds, badParam("to", "%s is not after from %s", in.To, in.From)
	}
	if ds[2].IsZero() != ds[3].IsZero() {
		return ds, badParam("baseline_from", "give both baseline_from and baseline_to, or neither (the same number of days just before from)")
	}
	if ds[2].IsZero() {
		days := calendarDays(ds[0], ds[1])
		ds[2], ds[3] = ds[0].AddDate(0, 0, -days), ds[0]
		in.BaselineFrom, in.BaselineTo = day(ds[2]), day(ds[3])
	} else if !ds[2].Before(ds[3]) {
		return ds, badParam("baseline_to", "%s is not after baseline_from %s", in.BaselineTo, in.BaselineFrom)
	}
	return ds, nil
}

// checkGroups: each group has a name and reps, and a rep competes in one.
func checkGroups(groups []ContestGroup) error {
	inGroup := map[string]string{}
	for i, g := range groups {
		if strings.TrimSpace(g.Name) == "" || len(g.Reps) == 0 {
			return badParam(fmt.Sprintf("groups[%d]", i), "a group needs a name and at least one rep id")
		}
		for _, r := range g.Reps {
			if prev, dup := inGroup[r]; dup {
				return badParam(fmt.Sprintf("groups[%d]", i), "rep %q is already in group %q: a rep competes in one group", r, prev)
			}
			inGroup[r] = g.Name
		}
	}
	return nil
}

// checkPeople refuses teams and reps the reps export does not know: a typo
// would leave people out of the contest without a word.
func (s *Service) checkPeople(ctx context.Context, in ContestInput) error {
	reps, err := s.repDims(ctx)
	if err != nil {
		return err
	}
	known, teams := map[string]bool{}, map[string]bool{}
	for _, r := range reps {
		known[r.id], teams[r.team] = true, true
	}
	for _, t := range in.Teams {
		if !teams[t] {
			return badParam("teams", "no rep is in team %q", t)
		}
	}
	ids := append([]string(nil), in.Reps...)
	for _, g := range in.Groups {
		ids = append(ids, g.Reps...)
	}
	for _, id := range ids {
		if !known[id] {
			return badParam("reps", "no rep has the id %q", id)
		}
	}
	return nil
}

// newContestID is short, random and URL-safe.
func newContestID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "c" + hex.EncodeToString(b)
}

// newBoardToken is a random secret; only its hash is stored.
func newBoardToken() (token, hash string) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// canManage: contests are defined by admins and directors.
func canManage(sc Scope) error {
	if !sc.SeesAll() {
		return fmt.Errorf("%w: contests are defined by admins and directors, not %s (%s)", ErrForbidden, sc.Name, sc.Role)
	}
	return nil
}

// CreateContest stores a new contest and returns it with its board token, the
// only time the token is shown.
func (s *Service) CreateContest(ctx context.Context, sc Scope, in ContestInput) (Contest, string, error) {
	if err := canManage(sc); err != nil {
		return Contest{}, "", err
	}
	in, ds, err := s.contestInput(in)
	if err != nil {
		return Contest{}, "", err
	}
	if err := s.checkPeople(ctx, in); err != nil {
		return Contest{}, "", err
	}
	token, hash := newBoardToken()
	c := Contest{ID: newContestID(), ContestInput: in, CreatedBy: sc.Name, UpdatedAt: time.Now().UTC().Truncate(time.Second),
		from: ds[0], to: ds[1], baseFrom: ds[2], baseTo: ds[3], tokenHash: hash}
	return c, token, s.writeContest(ctx, c, false)
}

// UpdateContest replaces a contest's definition; its board token stays.
func (s *Service) UpdateContest(ctx context.Context, sc Scope, id string, in ContestInput) (Contest, error) {
	if err := canManage(sc); err != nil {
		return Contest{}, err
	}
	old, err := s.contest(ctx, id)
	if err != nil {
		return Contest{}, err
	}
	in, ds, err := s.contestInput(in)
	if err != nil {
		return Contest{}, err
	}
	if err := s.checkPeople(ctx, in); err != nil {
		return Contest{}, err
	}
	c := Contest{ID: id, ContestInput: in, CreatedBy: old.CreatedBy, UpdatedAt: time.Now().UTC().Truncate(time.Second),
		from: ds[0], to: ds[1], baseFrom: ds[2], baseTo: ds[3], tokenHash: old.tokenHash}
	return c, s.writeContest(ctx, c, false)
}

// DeleteContest removes a contest; its board stops answering.
func (s *Service) DeleteContest(ctx context.Context, sc Scope, id string) error {
	if err := canManage(sc); err != nil {
		return err
	}
	c, err := s.contest(ctx, id)
	if err != nil {
		return err
	}
	c.UpdatedAt = time.Now().UTC().Truncate(time.Second)
	return s.writeContest(ctx, c, true)
}

// RotateBoardToken replaces a contest's board token (the old one stops
// working) and returns the new one, shown once.
func (s *Service) RotateBoardToken(ctx context.Context, sc Scope, id string) (string, error) {
	if err := canManage(sc); err != nil {
		return "", err
	}
	c, err := s.contest(ctx, id)
	if err != nil {
		return "", err
	}
	token, hash := newBoardToken()
	c.tokenHash, c.UpdatedAt = hash, time.Now().UTC().Truncate(time.Second)
	return token, s.writeContest(ctx, c, false)
}

// BoardTokenOK says whether token opens contest id's board.
func (s *Service) BoardTokenOK(ctx context.Context, id, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	c, err := s.contest(ctx, id)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(c.tokenHash)) == 1, nil
}

func (s *Service) writeContest(ctx context.Context, c Contest, deleted bool) error {
	groups, err := json.Marshal(c.Groups)
	if err != nil {
		return fmt.Errorf("store contest %s: %w", c.ID, err)
	}
	nz := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	err = s.db.InsertRows(ctx, "contest-write", "INSERT INTO contests (contest_id, name, metric, starts_on, ends_on, baseline_from, baseline_to, newcomer_days, teams, reps, groups, categories, token_hash, created_by, updated_at, deleted, version)",
		[]any{c.ID, c.Name, c.Metric, calendarDay(c.from), calendarDay(c.to), calendarDay(c.baseFrom), calendarDay(c.baseTo), uint32(c.NewcomerDays), nz(c.Teams), nz(c.Reps), string(groups), nz(c.Categories),
			c.tokenHash, c.CreatedBy, c.UpdatedAt, b2u8(deleted), uint64(time.Now().UnixNano())})
	if err != nil {
		return fmt.Errorf("store contest %s: %w", c.ID, err)
	}
	// On a cluster every replica holds the new version before this returns: a
	// read served by another replica would still see the old one (a retired
	// board token that still opens the board).
	if err := s.db.SyncReplicas(ctx, "contests"); err != nil {
		return fmt.Errorf("store contest %s: %w", c.ID, err)
	}
	return nil
}

// calendarDay is t's calendar day as the driver writes a Date: midnight UTC (a
// midnight east of UTC would be written as the day before).
func calendarDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Contests lists the contests (definitions are not secret; the rankings are
// scoped), the latest first.
func (s *Service) Contests(ctx context.Context, sc Scope) ([]Contest, error) {
	if _, err := sc.restrict(Filter{}); err != nil {
		return nil, err
	}
	cs, err := s.readContests(ctx, "")
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].From != cs[j].From {
			return cs[i].From > cs[j].From
		}
		return cs[i].ID < cs[j].ID
	})
	return cs, err
}

// Contest is one contest, ErrNotFound when there is none.
func (s *Service) Contest(ctx context.Context, sc Scope, id string) (Contest, error) {
	if _, err := sc.restrict(Filter{}); err != nil {
		return Contest{}, err
	}
	return s.contest(ctx, id)
}

func (s *Service) contest(ctx context.Context, id string) (Contest, error) {
	cs, err := s.readContests(ctx, id)
	if err != nil {
		return Contest{}, err
	}
	if len(cs) == 0 {
		return Contest{}, fmt.Errorf("%w: contest %q", ErrNotFound, id)
	}
	return cs[0], nil
}

// readContests reads every version of the contests (of id, when given) and
// keeps the highest per contest: no FINAL, no reliance on merges.
func (s *Service) readContests(ctx context.Context, id string) ([]Contest, error) {
	q := "SELECT contest_id, name, metric, starts_on, ends_on, baseline_from, baseline_to, newcomer_days, teams, reps, groups, categories, token_hash, created_by, updated_at, deleted, version FROM contests"
	var args []any
	if id != "" {
		q += " WHERE contest_id = ?"
		args = append(args, id)
	}
	type versioned struct {
		c       Contest
		deleted bool
		v       uint64
	}
	latest := map[string]versioned{}
	err := s.query(ctx, "contests", q, args, func(r driverRows) error {
		var x versioned
		var nd uint32
		var groups string
		var del uint8
		c := &x.c
		if err := r.Scan(&c.ID, &c.Name, &c.Metric, &c.from, &c.to, &c.baseFrom, &c.baseTo, &nd, &c.Teams, &c.Reps, &groups, &c.Categories, &c.tokenHash, &c.CreatedBy, &c.UpdatedAt, &del, &x.v); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(groups), &c.Groups); err != nil {
			return fmt.Errorf("contest %s: groups: %w", c.ID, err)
		}
		c.NewcomerDays, x.deleted = int(nd), del == 1
		c.From, c.To, c.BaselineFrom, c.BaselineTo = day(c.from), day(c.to), day(c.baseFrom), day(c.baseTo)
		// Dates come back at midnight UTC; the contest's days are business days.
		c.from, c.to = s.inZone(c.from), s.inZone(c.to)
		c.baseFrom, c.baseTo = s.inZone(c.baseFrom), s.inZone(c.baseTo)
		if old, ok := latest[c.ID]; !ok || x.v > old.v {
			latest[c.ID] = x
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := []Contest{}
	for _, x := range latest {
		if !x.deleted {
			out = append(out, x.c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *Service) inZone(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, s.loc)
}
