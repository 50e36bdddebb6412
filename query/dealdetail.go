package query

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// StageStay is one stay of a deal in a stage: from entering it to the next
// change to another stage, or to the close (as Days in stage counts them).
type StageStay struct {
	Stage   string  `json:"stage"`
	Entered string  `json:"entered"`
	Left    string  `json:"left,omitempty"` // "" while the deal is still in it
	Days    float64 `json:"days"`
	Current bool    `json:"current"`
	// Terminal: the won or lost event itself (no days).
	Terminal bool `json:"terminal"`
}

// DealMove is one change of an open deal's close date or amount between two
// consecutive snapshots (opp_moves), dated by the later snapshot.
type DealMove struct {
	Date      string  `json:"date"`
	OldClose  string  `json:"old_close"`
	NewClose  string  `json:"new_close"`
	OldAmount float64 `json:"old_amount"`
	NewAmount float64 `json:"new_amount"`
}

// DealActivity is an activity logged on the deal or on its account.
type DealActivity struct {
	ID            string `json:"id"`
	Type          string `json:"type"`
	Kind          string `json:"kind"`
	RepID         string `json:"rep_id"`
	RepName       string `json:"rep_name"`
	At            string `json:"at"`
	Minutes       uint32 `json:"minutes"`
	OnDeal        bool   `json:"on_deal"` // false: on the deal's account
	OpportunityID string `json:"opportunity_id"`
}

// DealDetail is one deal with its history.
type DealDetail struct {
	Deal Deal `json:"deal"`
	// The CRM record: the export's source system and the opportunity's id there.
	SourceSystem string `json:"source_system"`
	CRMID        string `json:"crm_id"`
	// CRMURL opens the record in the CRM (config crm.record_urls; set by
	// the server, "" without a template for the source).
	CRMURL     string         `json:"crm_url,omitempty"`
	AsOf       string         `json:"as_of"`
	Stages     []StageStay    `json:"stages"`
	Moves      []DealMove     `json:"moves"`
	Pushes     DealPushes     `json:"pushes"`
	Activities []DealActivity `json:"activities"`
}

// dealActivityLimit caps the activities listed (the newest first).
const dealActivityLimit = 200

// DealDetail is the deal id as the caller may see it: ErrNotFound when there is
// no such deal or it lies outside the caller's scope (a manager's team, a rep's
// own). asOf (zero: now) ends the current stage's stay.
func (s *Service) DealDetail(ctx context.Context, sc Scope, id string, asOf time.Time) (DealDetail, error) {
	if asOf.IsZero() {
		asOf = time.Now()
	}
	// The scope alone decides: no range applies to one deal.
	f, err := sc.restrict(Filter{})
	if err != nil {
		return DealDetail{}, err
	}
	out := DealDetail{AsOf: asOf.In(s.loc).Format(time.RFC3339), Stages: []StageStay{}, Moves: []DealMove{}, Activities: []DealActivity{}}
	var c cond
	c.add("opportunity_id = ?", id)
	dims(&c, f, "")
	found := false
	var createdAt time.Time
	q := "SELECT opportunity_id, name, account_id, account_name, owner_id, owner_name, team, territory, segment, product, source, stage, furthest, amount, created_date, close_date, closed, won, created_at FROM opp_facts" + c.prewhere() + " LIMIT 1"
	err = s.query(ctx, "deal", q, c.args, func(r driverRows) error {
		d := &out.Deal
		var fur, closed, won uint8
		var cd, cl time.Time
		if err := r.Scan(&d.OpportunityID, &d.Name, &d.AccountID, &d.AccountName, &d.OwnerID, &d.OwnerName, &d.Team, &d.Territory, &d.Segment,
			&d.Product, &d.Source, &d.Stage, &fur, &d.Amount, &cd, &cl, &closed, &won, &createdAt); err != nil {
			return err
		}
		d.Created, d.CloseDate = cd.Format(time.DateOnly), cl.Format(time.DateOnly)
		d.Status, d.Furthest = s.dealStatus(fur, closed, won)
		found = true
		return nil
	})
	if err != nil {
		return out, err
	}
	if !found {
		return out, fmt.Errorf("%w: deal %q", ErrNotFound, id)
	}
	// The history's three reads are independent.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	wg.Add(3)
	go func() { defer wg.Done(); errs[0] = s.dealStays(ctx, &out, createdAt, asOf) }()
	go func() { defer wg.Done(); errs[1] = s.dealMoves(ctx, &out) }()
	go func() { defer wg.Done(); errs[2] = s.dealActivities(ctx, &out) }()
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return out, e
		}
	}
	return out, nil
}

// dealStatus is a deal's status and, for a won deal, its furthest stage "won"
// (else the open stage of rank fur), as Deals reports them.
func (s *Service) dealStatus(fur, closed, won uint8) (status, furthest string) {
	switch {
	case won == 1:
		return "won", "won"
	case closed == 1:
		status = "lost"
	default:
		status = "open"
	}
	if fur >= 1 && int(fur) <= len(s.stages) {
		furthest = s.stages[fur-1]
	}
	return status, furthest
}

// stageEvent is one row of the deal's stage history.
type stageEvent struct {
	at    time.Time
	stage string
	rank  uint8
}

// dealStays reads the source system and stage history of out.Deal and turns
// the history into stays.
func (s *Service) dealStays(ctx context.Context, out *DealDetail, created, asOf time.Time) error {
	id := out.Deal.OpportunityID
	src := latestWhere("opportunities", "opportunity_id", "opportunity_id, source_system", tokRaw+" AND opportunity_id = ?")
	err := s.query(ctx, "deal-source", "SELECT opportunity_id, source_system FROM "+src, []any{id}, func(r driverRows) error {
		return r.Scan(&out.CRMID, &out.SourceSystem)
	})
	if err != nil {
		return err
	}
	ev := latestWhere("stage_events", "opportunity_id, entered_at, stage", "opportunity_id, entered_at, stage, stage_rank", tokRaw+" AND opportunity_id = ?")
	var evs []stageEvent
	err = s.query(ctx, "deal-stages", "SELECT entered_at, stage, stage_rank FROM "+ev+" ORDER BY entered_at, stage_rank", []any{id}, func(r driverRows) error {
		var e stageEvent
		if err := r.Scan(&e.at, &e.stage, &e.rank); err != nil {
			return err
		}
		evs = append(evs, e)
		return nil
	})
	if err != nil {
		return err
	}
	closeAt := time.Time{}
	if out.Deal.Status != "open" {
		closeAt, _ = time.ParseInLocation(time.DateOnly, out.Deal.CloseDate, s.loc)
	}
	out.Stages = stays(evs, out.Deal.Stage, created, closeAt, asOf, s.loc)
	return nil
}

// stays turns a deal's stage events (in time order) into stays: a stay ends at
// the next event of another stage; the last open stay ends at the close
// (closeAt, zero while open) or is current up to asOf. A deal without history
// has been in its current stage since it was created.
func stays(evs []stageEvent, stage string, created, closeAt, asOf time.Time, loc *time.Location) []StageStay {
	if len(evs) == 0 {
		evs = []stageEvent{{at: created, stage: stage, rank: 1}}
	}
	out := []StageStay{}
	fmtT := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04") }
	days := func(a, b time.Time) float64 { return float64(b.Unix()-a.Unix()) / 86400 }
	for i := 0; i < len(evs); i++ {
		e := evs[i]
		if i > 0 && e.stage == evs[i-1].stage {
			continue // a repeated event of the same stay
		}
		st := StageStay{Stage: e.stage, Entered: fmtT(e.at)}
		if e.stage == "won" || e.stage == "lost" {
			st.Terminal = true
			out = append(out, st)
			continue
		}
		j := i + 1
		for j < len(evs) && evs[j].stage == e.stage {
			j++
		}
		switch {
		case j < len(evs):
			st.Left, st.Days = fmtT(evs[j].at), days(e.at, evs[j].at)
		case !closeAt.IsZero():
			st.Left, st.Days = fmtT(closeAt), days(e.at, closeAt)
		default:
			st.Current, st.Days = true, days(e.at, asOf)
		}
		out = append(out, st)
	}
	return out
}

// dealMoves reads the deal's close-date and amount changes and sums its pushes
// as Movement's top_pushed does.
func (s *Service) dealMoves(ctx context.Context, out *DealDetail) error {
	d := out.Deal
	out.Pushes = DealPushes{OpportunityID: d.OpportunityID, Name: d.Name, OwnerID: d.OwnerID}
	q := "SELECT change_date, old_close, new_close, old_amount, new_amount FROM opp_moves WHERE " + tokFacts + " AND opportunity_id = ? ORDER BY change_date"
	return s.query(ctx, "deal-moves", q, []any{d.OpportunityID}, func(r driverRows) error {
		var cd, oc, nc time.Time
		var m DealMove
		if err := r.Scan(&cd, &oc, &nc, &m.OldAmount, &m.NewAmount); err != nil {
			return err
		}
		m.Date, m.OldClose, m.NewClose = day(cd), day(oc), day(nc)
		if nc.After(oc) {
			out.Pushes.Pushes++
			out.Pushes.DaysPushed += int64(nc.Sub(oc).Hours() / 24)
		}
		out.Moves = append(out.Moves, m)
		return nil
	})
}

// dealActivities reads the newest activities on the deal or its account, with
// their KAI kind and their rep's name.
func (s *Service) dealActivities(ctx context.Context, out *DealDetail) error {
	d := out.Deal
	acts := latestWhere("activities", "activity_id", "activity_id, type, rep_id, opportunity_id, account_id, occurred_at, duration_min",
		tokRaw+" AND (opportunity_id = ? OR (account_id != '' AND account_id = ?))")
	q := "SELECT activity_id, type, " + activityKindSQL("type") + ", rep_id, opportunity_id, occurred_at, duration_min FROM " + acts +
		" ORDER BY occurred_at DESC, activity_id LIMIT " + fmt.Sprint(dealActivityLimit)
	err := s.query(ctx, "deal-activities", q, []any{d.OpportunityID, d.AccountID}, func(r driverRows) error {
		var a DealActivity
		var at time.Time
		if err := r.Scan(&a.ID, &a.Type, &a.Kind, &a.RepID, &a.OpportunityID, &at, &a.Minutes); err != nil {
			return err
		}
		a.At, a.OnDeal = at.In(s.loc).Format("2006-01-02 15:04"), a.OpportunityID == d.OpportunityID
		out.Activities = append(out.Activities, a)
		return nil
	})
	if err != nil || len(out.Activities) == 0 {
		return err
	}
	reps, err := s.repDims(ctx)
	if err != nil {
		return err
	}
	for j := range out.Activities {
		a := &out.Activities[j]
		// repDims is sorted by id.
		i := sort.Search(len(reps), func(k int) bool { return reps[k].id >= a.RepID })
		if i < len(reps) && reps[i].id == a.RepID {
			a.RepName = reps[i].name
		}
	}
	return nil
}
