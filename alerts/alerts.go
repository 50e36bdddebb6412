// Package alerts watches pipelens's metrics per segment and emails the right
// person when one breaks from its pattern: rules from the `alerts` config
// section, detectors from alerts/detect, routing by the org hierarchy, grouping
// and dedup of anomaly episodes (alert_events), rendering (HTML + text + inline
// PNG charts, en and zh-CN) and a durable SMTP outbox (alert_outbox) with retry.
//
// The door is New(Options) → *Engine with RunOnce (pipelens alerts run) and
// Schedule (inside pipelens serve), plus ListEvents, Ack and Snooze for the
// Alerts page.
package alerts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pipelens/pipelens/alerts/detect"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

// Options wires an Engine.
type Options struct {
	DB     *schemas.DB
	Config *config.Config // timezone, server.base_url, smtp and the alerts section
	// Rules overrides Config.Alerts when set (tests, programmatic use).
	Rules *Config
	// Source defaults to the canonical tables (NewClickHouseSource).
	Source Source
	// Sender defaults to SMTP from Config.SMTP; with no smtp.host, emails wait
	// in the outbox.
	Sender Sender
	Logger *slog.Logger
	// Now is the clock of Schedule (default time.Now).
	Now func() time.Time
}

// Engine evaluates the rules and delivers the emails.
type Engine struct {
	db     *schemas.DB
	cfg    *Config
	loc    *time.Location
	src    Source
	sender Sender
	log    *slog.Logger
	now    func() time.Time
	cal    detect.Calendar
	links  linker
	box    *outbox
	from   string

	mu sync.Mutex
	// held is, per rule, the firing events its last evaluation did not email
	// for a reason that lifts by itself (quiet hours, group_wait, digest time,
	// a silence): Schedule evaluates the rule again when it does.
	held map[string][]*Event
	// raw is the config's rules as written (the rules editor shows them).
	raw []Rule
}

// Summary says what one evaluation did.
type Summary struct {
	Rules     int
	Anomalies int // detected now (after silences)
	Silenced  int // detected now but silenced: recorded, not emailed
	Opened    int // new events
	Resolved  int
	Notified  int // events included in an email this run
	Emails    int // messages added to the outbox
	Sections  int // sections of those emails: anomalies grouped along the org tree count once
	Delivery  DeliverySummary
}

func (s Summary) String() string {
	return fmt.Sprintf("%d rules, %d anomalies (%d new, %d resolved, %d silenced), %d emails queued (%d sections after grouping along the org tree); sent %d, retrying %d, failed %d",
		s.Rules, s.Anomalies, s.Opened, s.Resolved, s.Silenced, s.Emails, s.Sections, s.Delivery.Sent, s.Delivery.Retrying, s.Delivery.Failed)
}

// New checks the configuration and returns an engine. It does not touch the
// database.
func New(o Options) (*Engine, error) {
	if o.DB == nil {
		return nil, errors.New("alerts: no database")
	}
	c := o.Config
	if c == nil {
		c = config.Default()
	}
	loc := c.Location()
	raw := rawRules(o.Rules, c) // before the defaults fill them in
	rules := o.Rules
	if rules == nil {
		var err error
		rules, err = ParseConfig(&c.Alerts, loc)
		if err != nil {
			return nil, err
		}
	} else if err := rules.normalize(loc); err != nil {
		return nil, err
	}
	cal, err := rules.Calendar.build()
	if err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{db: o.DB, cfg: rules, loc: loc, src: o.Source, sender: o.Sender, log: log, now: o.Now, cal: cal, from: c.SMTP.From, raw: raw}
	if e.src == nil {
		e.src = NewQuerySource(query.New(o.DB, loc, log).WithStages(c.Stages.Open).WithCurrency(c.Currency.Reporting, c.Currency.Rates)).WithTiers(c.Tiers)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.sender == nil && c.SMTP.Host != "" {
		s, err := NewSMTPSender(c.SMTP)
		if err != nil {
			return nil, err
		}
		e.sender = s
	}
	base := c.Server.BaseURL
	if base == "" {
		base = "http://" + c.Server.Addr
	}
	e.links = linker{base: base, path: rules.DashboardPath, dealPath: rules.DealPath, ratePath: "/reps"}
	e.box = &outbox{db: o.DB, log: log, maxAttempts: rules.MaxAttempts, maxBackoff: rules.MaxBackoff, settle: 200 * time.Millisecond}
	return e, nil
}

// RunOnce evaluates every rule at now, records events, queues one email per
// recipient and drains the outbox of everything due by now or by the clock
// (Options.Now), whichever is later.
func (e *Engine) RunOnce(ctx context.Context, now time.Time) (Summary, error) {
	set := e.rulesInForce(ctx)
	rules := make([]*Rule, len(set))
	for i := range set {
		rules[i] = &set[i]
	}
	return e.run(ctx, now, rules)
}

// Schedule runs the rules on their schedules and drains the outbox every
// evaluate_every until ctx ends. It evaluates every rule once at start: a
// restart must not wait a day to catch up, and dedup makes the extra run
// harmless. A rule whose last evaluation held an email back (quiet hours,
// group_wait, digest time, a silence) is evaluated again as soon as that hold
// lifts, so a rule scheduled inside quiet hours or before its digest time
// still emails.
func (e *Engine) Schedule(ctx context.Context) error {
	last := map[string]time.Time{}
	t := time.NewTicker(e.cfg.EvaluateEvery)
	defer t.Stop()
	first := true
	for {
		s, ran, err := e.tick(ctx, e.now(), last, first)
		first = false
		if err != nil && ctx.Err() == nil {
			e.log.Error("alert evaluation", "err", err)
		} else if ran || s.Delivery != (DeliverySummary{}) {
			e.log.Info("alert evaluation", "summary", s.String())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// tick is one wake-up of Schedule at now: it evaluates the rules that are due
// (by schedule, or because an email they held back may go now) and drains the
// outbox. last holds each rule's last scheduled evaluation.
func (e *Engine) tick(ctx context.Context, now time.Time, last map[string]time.Time, first bool) (Summary, bool, error) {
	local := now.In(e.loc)
	var due []*Rule
	set := e.rulesInForce(ctx)
	for i := range set {
		r := &set[i]
		if first || r.sched.due(last[r.Name].In(e.loc), local) {
			due = append(due, r)
			last[r.Name] = now
		} else if e.released(r, now) {
			due = append(due, r)
		}
	}
	var (
		s   Summary
		err error
	)
	if len(due) > 0 {
		s, err = e.run(ctx, now, due)
	} else {
		s.Delivery, err = e.Deliver(ctx, now)
	}
	return s, len(due) > 0, err
}

// released says whether an email rule r held back at its last evaluation may
// go at now.
func (e *Engine) released(r *Rule, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, x := range e.held[r.Name] {
		if e.due(r, x, now, now.In(e.loc)) && !e.silencedEvent(x.Rule, x.Metric, x.SegmentKind, x.Segment, x.SegmentLabel, now) {
			return true
		}
	}
	return false
}

// Deliver sends the outbox's due messages (RunOnce does it too).
func (e *Engine) Deliver(ctx context.Context, now time.Time) (DeliverySummary, error) {
	if e.sender == nil {
		return DeliverySummary{}, nil
	}
	return e.box.deliver(ctx, e.sender, now)
}

func (e *Engine) run(ctx context.Context, now time.Time, rules []*Rule) (Summary, error) {
	s := Summary{Rules: len(rules)}
	org, err := e.src.Org(ctx)
	if err != nil {
		return s, err
	}
	acks, err := readAcks(ctx, e.db)
	if err != nil {
		return s, err
	}
	openList, err := readEvents(ctx, e.db, "status = 'firing'")
	if err != nil {
		return s, err
	}
	open := map[string]*Event{}
	for _, ev := range openList {
		open[ev.Key] = ev
	}
	ev := &evaluator{src: e.src, loc: e.loc, cal: e.cal, org: org, last: map[string]lastDay{}}
	type hit struct {
		rule     *Rule
		a        *Anomaly
		ev       *Event
		to       []Recipient
		silenced bool
	}
	var hits []hit
	seen := map[string]bool{}
	evaluated := map[string]bool{}
	var changed []*Event
	for _, r := range rules {
		as, err := ev.rule(ctx, r, now)
		if err != nil {
			return s, err
		}
		evaluated[r.Name] = true
		for i := range as {
			a := &as[i]
			if seen[a.Key] {
				continue
			}
			seen[a.Key] = true
			// A silenced anomaly is still recorded (the Alerts page shows it and
			// its episode stays open); it is only not emailed.
			silenced := e.silenced(a, now)
			if silenced {
				s.Silenced++
			}
			to := route(r, a, org, e.cfg)
			x := open[a.Key]
			if x == nil {
				x = &Event{ID: eventID(a.Key, now), Key: a.Key, Status: "firing", OpenedAt: now}
				open[a.Key] = x
				s.Opened++
			}
			a.EventID = x.ID
			fillEvent(x, a, to, now, e.links)
			changed = append(changed, x)
			hits = append(hits, hit{rule: r, a: a, ev: x, to: to, silenced: silenced})
		}
	}
	s.Anomalies = len(hits) - s.Silenced
	resolveAfter := map[string]time.Duration{}
	for _, r := range rules {
		resolveAfter[r.Name] = r.ResolveAfter
	}
	for _, x := range openList {
		if !evaluated[x.Rule] || seen[x.Key] {
			continue
		}
		// Not found by its rule this time: resolved after resolve_after,
		// until then open and quiet (checked now, last seen before).
		x.CheckedAt = now
		if now.Sub(x.LastSeenAt) >= resolveAfter[x.Rule] {
			x.Status, x.ResolvedAt = "resolved", now
			s.Resolved++
		}
		changed = append(changed, x)
	}
	if err := writeEvents(ctx, e.db, changed); err != nil {
		return s, err
	}

	// Group what is due by recipient: one email each.
	local := now.In(e.loc)
	type group struct {
		to Recipient
		hs []hit
	}
	groups := map[string]*group{}
	var order []string
	held := map[string][]*Event{}
	for _, h := range hits {
		if acks.muted(h.ev.ID, h.ev.Key, now) {
			continue
		}
		if h.silenced || !e.due(h.rule, h.ev, now, local) {
			// Held back for a reason that lifts by itself (not the repeat
			// interval: a repeat waits for the rule's next evaluation).
			if h.ev.NotifiedAt.IsZero() || now.Sub(h.ev.NotifiedAt) >= h.rule.RepeatInterval {
				held[h.rule.Name] = append(held[h.rule.Name], h.ev)
			}
			continue
		}
		for _, r := range h.to {
			k := strings.ToLower(r.Email)
			g := groups[k]
			if g == nil {
				g = &group{to: r}
				groups[k] = g
				order = append(order, k)
			}
			g.hs = append(g.hs, h)
		}
	}
	e.mu.Lock()
	if e.held == nil {
		e.held = map[string][]*Event{}
	}
	for _, r := range rules {
		e.held[r.Name] = held[r.Name]
	}
	e.mu.Unlock()
	var msgs []*Message
	notified := map[string]*Event{}
	for _, k := range order {
		g := groups[k]
		sort.SliceStable(g.hs, func(i, j int) bool { return severity(g.hs[i].a) > severity(g.hs[j].a) })
		all := make([]*Anomaly, len(g.hs))
		var ids []string
		for i, h := range g.hs {
			all[i] = h.a
			ids = append(ids, fmt.Sprintf("%s:%d", h.ev.ID, h.ev.NotifyCount))
		}
		as, among := groupTree(all, org)
		s.Sections += len(as)
		em, err := renderGrouped(g.to, as, e.links, among)
		if err != nil {
			return s, err
		}
		sort.Strings(ids)
		sum := sha256.Sum256([]byte(strings.ToLower(g.to.Email) + "|" + strings.Join(ids, ",")))
		m := &Message{
			ID:       hex.EncodeToString(sum[:16]) + "@" + helo(e.from),
			DedupKey: strings.ToLower(g.to.Email) + "|" + strings.Join(ids, ","),
			To:       g.to.Email, ToName: g.to.Name, Lang: g.to.Lang,
			Subject: em.Subject, Text: em.Text, HTML: em.HTML, Charts: em.Charts,
		}
		for _, h := range g.hs {
			m.EventIDs = append(m.EventIDs, h.ev.ID)
			notified[h.ev.ID] = h.ev
		}
		msgs = append(msgs, m)
	}
	n, err := e.box.enqueue(ctx, now, msgs)
	if err != nil {
		return s, err
	}
	s.Emails = n
	var upd []*Event
	for _, x := range notified {
		x.NotifiedAt = now
		x.NotifyCount++
		upd = append(upd, x)
	}
	s.Notified = len(upd)
	if err := writeEvents(ctx, e.db, upd); err != nil {
		return s, err
	}
	// The outbox runs on the clock, not on the evaluation's date: an
	// evaluation as of an earlier date (pipelens alerts run --at) must still
	// deliver the retries that are due now, which wait until a clock time
	// past the date.
	s.Delivery, err = e.Deliver(ctx, later(now, e.now()))
	return s, err
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func severity(a *Anomaly) float64 {
	if a.Deal != nil {
		return a.Score / 10
	}
	return a.Score
}

// due says whether an event should be emailed in this evaluation.
func (e *Engine) due(r *Rule, x *Event, now, local time.Time) bool {
	if r.quiet.contains(local) {
		return false
	}
	if now.Sub(x.OpenedAt) < r.GroupWait {
		return false
	}
	if !x.NotifiedAt.IsZero() && now.Sub(x.NotifiedAt) < r.RepeatInterval {
		return false
	}
	if r.Mode == "digest" {
		// Sent at the first evaluation after today's digest time, for events
		// open by then.
		d := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, e.loc).Add(time.Duration(r.digestAt) * time.Minute)
		if local.Before(d) || x.OpenedAt.After(d) || (!x.NotifiedAt.IsZero() && !x.NotifiedAt.Before(d)) {
			return false
		}
	}
	return true
}

func (e *Engine) silenced(a *Anomaly, now time.Time) bool {
	return e.silencedEvent(a.Rule, a.Metric, a.SegmentKind, a.Segment, a.SegmentLabel, now)
}

func (e *Engine) silencedEvent(rule, metric, kind, segment, label string, now time.Time) bool {
	for _, s := range e.cfg.Silences {
		if (s.Rule == "" || s.Rule == rule) && (s.Metric == "" || s.Metric == metric) &&
			(s.SegmentKind == "" || s.SegmentKind == kind) &&
			(s.Segment == "" || s.Segment == segment || s.Segment == label) && now.Before(s.until) {
			return true
		}
	}
	return false
}

func fillEvent(x *Event, a *Anomaly, to []Recipient, now time.Time, l linker) {
	x.Rule, x.Metric, x.Grain = a.Rule, a.Metric, a.Grain
	x.SegmentKind, x.Segment, x.SegmentLabel, x.Team = a.SegmentKind, a.Segment, a.SegmentLabel, a.Team
	x.Detector, x.Kind, x.Direction = a.Detector, a.Kind, a.Direction
	x.Actual, x.Expected, x.Score = a.Actual, a.Expected, a.Score
	x.Since, x.PeriodFrom, x.PeriodTo = a.Since, a.From, a.To
	x.Drivers = a.Drivers
	x.Recipients = x.Recipients[:0]
	for _, r := range to {
		x.Recipients = append(x.Recipients, r.Email)
	}
	it := buildItem("en", a, l)
	x.Summary = it.short
	x.LastSeenAt, x.CheckedAt = now, now
	x.Status = "firing"
}
