package alerts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/config"
)

// Sending subscriptions: at each due slot (the schedule in the business time
// zone) the subscriber's report is built for the subscriber's scope (role,
// team, rep from the users config), rendered (HTML + text + inline PNG charts,
// in the subscription's language) and queued in the alerts outbox under an id
// derived from (subscription, slot), then the slot is recorded. A rerun, a
// restart or a second server finds the slot recorded and renders nothing; a
// crash between queueing and recording renders again and queues nothing twice
// (the outbox keeps one message per id, and its claim sends it once).

// SubscriptionSummary says what one pass over the subscriptions did.
type SubscriptionSummary struct {
	Due, Sent, Skipped, Failed int
	Delivery                   DeliverySummary
}

func (s SubscriptionSummary) String() string {
	return fmt.Sprintf("%d subscriptions due: %d queued, %d skipped (empty), %d failed; sent %d, retrying %d, failed %d",
		s.Due, s.Sent, s.Skipped, s.Failed, s.Delivery.Sent, s.Delivery.Retrying, s.Delivery.Failed)
}

// SubscriptionRunner sends the subscriptions' reports through an Engine's
// outbox.
type SubscriptionRunner struct {
	e     *Engine
	q     *query.Service
	users []config.User
}

// Subscriptions returns the runner of the subscriptions: q computes the
// numbers (its Location is the schedules' time zone), users are the config's
// (who the owner is, the email, role, team and rep).
func (e *Engine) Subscriptions(q *query.Service, users []config.User) *SubscriptionRunner {
	return &SubscriptionRunner{e: e, q: q, users: users}
}

// lastSlot is the latest due time of the schedule at or before now (in loc).
func (sc Schedule) lastSlot(now time.Time, loc *time.Location) time.Time {
	l := now.In(loc)
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, sc.Hour, 0, 0, 0, loc) }
	switch sc.Every {
	case EveryWeekly:
		// time.Weekday: Sunday 0; ours: Monday 1 .. Sunday 7.
		back := (int(l.Weekday()) + 7 - sc.Weekday%7) % 7
		t := at(l.Year(), l.Month(), l.Day()-back)
		if t.After(l) {
			t = at(l.Year(), l.Month(), l.Day()-back-7)
		}
		return t
	case EveryMonthly:
		t := at(l.Year(), l.Month(), sc.Day)
		if t.After(l) {
			t = at(l.Year(), l.Month()-1, sc.Day)
		}
		return t
	}
	t := at(l.Year(), l.Month(), l.Day())
	if t.After(l) {
		t = at(l.Year(), l.Month(), l.Day()-1)
	}
	return t
}

// period is the report's range for a slot: the day, 7 days or month that end
// at the slot's day (exclusive).
func (sc Schedule) period(slot time.Time) (from, to time.Time) {
	to = time.Date(slot.Year(), slot.Month(), slot.Day(), 0, 0, 0, 0, slot.Location())
	switch sc.Every {
	case EveryWeekly:
		return to.AddDate(0, 0, -7), to
	case EveryMonthly:
		return to.AddDate(0, -1, 0), to
	}
	return to.AddDate(0, 0, -1), to
}

// RunOnce sends every subscription whose latest slot by now is after its
// creation and not recorded yet, then drains the outbox.
func (r *SubscriptionRunner) RunOnce(ctx context.Context, now time.Time) (SubscriptionSummary, error) {
	var sum SubscriptionSummary
	subs, err := ListSubscriptions(ctx, r.e.db, "")
	if err != nil {
		return sum, err
	}
	for i := range subs {
		s := &subs[i]
		slot := s.Schedule.lastSlot(now, r.q.Location())
		if slot.Before(s.CreatedAt) {
			continue
		}
		done, err := slotRecorded(ctx, r.e.db, s.ID, slot)
		if err != nil {
			return sum, err
		}
		if done {
			continue
		}
		sum.Due++
		status, err := r.send(ctx, s, slot, now)
		switch {
		case err != nil:
			sum.Failed++
			r.e.log.Error("subscription report", "subscription", s.ID, "owner", s.Owner, "slot", slot, "err", err)
		case status == "skipped":
			sum.Skipped++
		default:
			sum.Sent++
		}
	}
	sum.Delivery, err = r.e.Deliver(ctx, later(now, r.e.now()))
	return sum, err
}

// Schedule runs RunOnce at start and every evaluate_every until ctx ends.
func (r *SubscriptionRunner) Schedule(ctx context.Context) error {
	t := time.NewTicker(r.e.cfg.EvaluateEvery)
	defer t.Stop()
	for {
		s, err := r.RunOnce(ctx, r.e.now())
		switch {
		case err != nil && ctx.Err() == nil:
			r.e.log.Error("subscriptions", "err", err)
		case s.Due > 0:
			r.e.log.Info("subscriptions", "summary", s.String())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (r *SubscriptionRunner) owner(name string) (config.User, bool) {
	for _, u := range r.users {
		if u.Username == name {
			return u, true
		}
	}
	return config.User{}, false
}

// send builds, queues and records one slot of s; it returns the recorded status.
func (r *SubscriptionRunner) send(ctx context.Context, s *Subscription, slot, now time.Time) (string, error) {
	u, ok := r.owner(s.Owner)
	if !ok || strings.TrimSpace(u.Email) == "" {
		// Recorded, so the missing address is logged once per slot, not every tick.
		rec := SubscriptionSend{SubscriptionID: s.ID, Slot: slot, Status: "no_recipient", RecordedAt: now}
		if err := recordSend(ctx, r.e.db, rec); err != nil {
			return "", err
		}
		return "", fmt.Errorf("owner %q is not a user with an email address in the users config", s.Owner)
	}
	from, to := s.Schedule.period(slot)
	sc := query.Scope{Name: u.Username, Role: u.Role, Team: u.Team, Rep: u.Rep}
	rep, err := r.build(ctx, s, sc, from, to)
	if errors.Is(err, query.ErrForbidden) || errors.Is(err, query.ErrBadFilter) {
		// The owner's role or team changed since: the view is out of scope.
		// Recorded, so it is logged once per slot, not every tick.
		rec := SubscriptionSend{SubscriptionID: s.ID, Slot: slot, Status: "forbidden", RecordedAt: now}
		return "", errors.Join(err, recordSend(ctx, r.e.db, rec))
	}
	if err != nil {
		return "", err
	}
	rec := SubscriptionSend{SubscriptionID: s.ID, Slot: slot, Status: "skipped", RecordedAt: now,
		From: from.Format(time.DateOnly), To: to.Format(time.DateOnly)}
	if !(rep.empty && s.SkipIfEmpty) {
		name := u.Name
		if name == "" {
			name = u.Username
		}
		em, err := r.render(rep, s, name)
		if err != nil {
			return "", err
		}
		key := s.ID + "|" + slot.UTC().Format(time.RFC3339)
		h := sha256.Sum256([]byte(key))
		m := &Message{ID: hex.EncodeToString(h[:16]) + "@" + helo(r.e.from), DedupKey: "subscription|" + key,
			To: u.Email, ToName: name, Lang: s.Lang, Subject: em.Subject, Text: em.Text, HTML: em.HTML, Charts: em.Charts}
		if _, err := r.e.box.enqueue(ctx, now, []*Message{m}); err != nil {
			return "", err
		}
		rec.Status, rec.MessageID = "sent", m.ID
	}
	if err := recordSend(ctx, r.e.db, rec); err != nil {
		return "", err
	}
	r.e.log.Info("subscription report", "subscription", s.ID, "owner", s.Owner, "slot", slot, "status", rec.Status, "from", rec.From, "to", rec.To)
	return rec.Status, nil
}

// reportFilter is the subscription's saved filter over [from, to).
func (r *SubscriptionRunner) reportFilter(s *Subscription, from, to time.Time) (query.Filter, url.Values, error) {
	v, err := url.ParseQuery(s.Filter)
	if err != nil {
		return query.Filter{}, nil, fmt.Errorf("subscription %s filter: %w", s.ID, err)
	}
	v.Set("from", from.Format(time.DateOnly))
	v.Set("to", to.Format(time.DateOnly))
	f, err := query.ParseFilter(v, r.q.Location())
	return f, v, err
}
