package alerts

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// shanghai is the business time zone of the delivery-rule tests.
func shanghai(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// deliveryHarness runs the real engine, event store and outbox in Shanghai on
// staticSource, with team A collapsing on the given November 2026 days.
type deliveryHarness struct {
	t   *testing.T
	e   *Engine
	snd *captureSender
	loc *time.Location
}

func newDeliveryHarness(t *testing.T, rules *Config, badDays ...int) *deliveryHarness {
	t.Helper()
	db := schemastest.Open(t)
	loc := shanghai(t)
	bad := map[string]bool{}
	for _, n := range badDays {
		bad[time.Date(2026, 11, n, 0, 0, 0, 0, loc).Format(time.DateOnly)] = true
	}
	src := staticSource{org: testOrg(), bad: func(d time.Time) bool { return bad[d.In(loc).Format(time.DateOnly)] }}
	c := config.Default()
	c.TimeZone = "Asia/Shanghai"
	c.Server.BaseURL = "https://pipelens.example.com"
	snd := &captureSender{}
	e, err := New(Options{DB: db, Config: c, Rules: rules, Source: src, Sender: snd, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	e.box.settle = 0
	return &deliveryHarness{t: t, e: e, snd: snd, loc: loc}
}

// at is a Shanghai wall-clock time in November 2026.
func (h *deliveryHarness) at(day, hour, minute int) time.Time {
	return time.Date(2026, 11, day, hour, minute, 0, 0, h.loc)
}

// sent returns the messages sent since the last call, sorted by recipient.
func (h *deliveryHarness) sent() []*Message {
	h.snd.mu.Lock()
	defer h.snd.mu.Unlock()
	out := h.snd.got
	h.snd.got = nil
	sort.SliceStable(out, func(i, j int) bool { return out[i].To < out[j].To })
	return out
}

func (h *deliveryHarness) run(now time.Time) (Summary, []*Message) {
	h.t.Helper()
	s, err := h.e.RunOnce(context.Background(), now)
	if err != nil {
		h.t.Fatal(err)
	}
	return s, h.sent()
}

// tick is one wake-up of Schedule at now.
func (h *deliveryHarness) tick(now time.Time, last map[string]time.Time) (Summary, []*Message) {
	h.t.Helper()
	s, _, err := h.e.tick(context.Background(), now, last, false)
	if err != nil {
		h.t.Fatal(err)
	}
	return s, h.sent()
}

func (h *deliveryHarness) events() []Event {
	h.t.Helper()
	evs, err := ListEvents(context.Background(), h.e.db, EventQuery{Since: h.at(1, 0, 0)})
	if err != nil {
		h.t.Fatal(err)
	}
	return evs
}

func describe(ms []*Message) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.To+" ("+strings.Join(m.EventIDs, ",")+"): "+m.Subject)
	}
	return "[" + strings.Join(out, "; ") + "]"
}

// teamRule watches opened opportunities per team for drops: team A's collapse
// is one anomaly, emailed to Anna.
func teamRule(name string) Rule {
	return Rule{Name: name, Metric: MetricOppsOpened, Segments: []string{SegTeam}, Detector: "seasonal", Direction: "down"}
}

// TestQuietHours: an anomaly found during quiet hours (22:00–07:00 Shanghai)
// is recorded but not emailed; it is emailed once when quiet hours end, by
// RunOnce and by Schedule even when the rule's own schedule falls inside the
// quiet hours.
func TestQuietHours(t *testing.T) {
	t.Run("RunOnce", func(t *testing.T) {
		r := teamRule("opened")
		r.QuietHours = "22:00-07:00"
		h := newDeliveryHarness(t, &Config{Rules: []Rule{r}}, 17)

		// Tue 17 22:30 judges Mon 16: normal.
		if s, ms := h.run(h.at(17, 22, 30)); s.Anomalies != 0 || len(ms) != 0 {
			t.Fatalf("before the drop: %s, emails %s", s, describe(ms))
		}
		// Wed 18 00:30 judges Tue 17: team A dropped, in quiet hours.
		s, ms := h.run(h.at(18, 0, 30))
		if s.Opened != 1 || len(ms) != 0 || s.Emails != 0 {
			t.Fatalf("at 00:30: %s, emails %s: want the anomaly recorded and no email in quiet hours", s, describe(ms))
		}
		if evs := h.events(); len(evs) != 1 || evs[0].Status != "firing" || !evs[0].NotifiedAt.IsZero() {
			t.Fatalf("events %+v: want one firing, not yet notified", evs)
		}
		for _, at := range []time.Time{h.at(18, 3, 0), h.at(18, 6, 59)} {
			if s, ms := h.run(at); s.Opened != 0 || len(ms) != 0 {
				t.Errorf("at %s: %s, emails %s: want none in quiet hours", at.Format("15:04"), s, describe(ms))
			}
		}
		// 07:00: quiet hours are over: one email, to Anna.
		s, ms = h.run(h.at(18, 7, 0))
		if len(ms) != 1 || ms[0].To != "anna@example.com" || s.Opened != 0 {
			t.Fatalf("at 07:00: %s, emails %s: want the held anomaly emailed once to Anna", s, describe(ms))
		}
		for _, at := range []time.Time{h.at(18, 7, 5), h.at(18, 9, 0), h.at(18, 23, 0)} {
			if s, ms := h.run(at); len(ms) != 0 {
				t.Errorf("at %s: %s, emails %s: want no second email", at.Format("15:04"), s, describe(ms))
			}
		}
	})

	t.Run("Schedule", func(t *testing.T) {
		// Scheduled at 01:00, inside quiet hours: the email must not wait
		// for a next run that is in quiet hours again.
		r := teamRule("opened")
		r.QuietHours = "22:00-07:00"
		r.Schedule = "daily 01:00"
		h := newDeliveryHarness(t, &Config{Rules: []Rule{r}}, 17)
		last := map[string]time.Time{"opened": h.at(17, 1, 0)}
		s, ms := h.tick(h.at(18, 1, 0), last)
		if s.Rules != 1 || s.Opened != 1 || len(ms) != 0 {
			t.Fatalf("01:00: %s, emails %s: want the rule run, the anomaly recorded, no email", s, describe(ms))
		}
		for _, at := range []time.Time{h.at(18, 1, 5), h.at(18, 6, 55)} {
			if s, ms := h.tick(at, last); s.Rules != 0 || len(ms) != 0 {
				t.Errorf("%s: %s, emails %s: want no evaluation and no email", at.Format("15:04"), s, describe(ms))
			}
		}
		s, ms = h.tick(h.at(18, 7, 0), last)
		if len(ms) != 1 || ms[0].To != "anna@example.com" {
			t.Fatalf("07:00: %s, emails %s: want the held email sent as quiet hours end", s, describe(ms))
		}
		for _, at := range []time.Time{h.at(18, 7, 5), h.at(18, 12, 0)} {
			if s, ms := h.tick(at, last); s.Rules != 0 || len(ms) != 0 {
				t.Errorf("%s: %s, emails %s: want nothing more", at.Format("15:04"), s, describe(ms))
			}
		}
	})
}

// TestDigestMode: a digest rule's anomalies wait until digest_at and go out as
// one email per recipient; an immediate rule's go at once. Under Schedule the
// digest goes at digest_at though the rule was evaluated hours before.
func TestDigestMode(t *testing.T) {
	digest := Rule{Name: "opened-digest", Metric: MetricOppsOpened, Segments: []string{SegTeam, SegRep}, Detector: "seasonal",
		Direction: "down", Mode: "digest", DigestAt: "08:00", Schedule: "daily 06:00"}
	now := Rule{Name: "opened-now", Metric: MetricOppsOpened, Segments: []string{SegAll}, Detector: "seasonal",
		Direction: "down", Schedule: "daily 06:00"}
	h := newDeliveryHarness(t, &Config{Rules: []Rule{digest, now}}, 17)
	last := map[string]time.Time{"opened-digest": h.at(17, 6, 0), "opened-now": h.at(17, 6, 0)}

	// Wed 18 06:00: both rules run; the org-wide drop goes to the director at
	// once, team A and its reps wait for 08:00.
	s, ms := h.tick(h.at(18, 6, 0), last)
	if s.Rules != 2 || s.Opened != 4 {
		t.Fatalf("06:00: %s: want both rules run and 4 anomalies (org, team A, RA1, RX)", s)
	}
	if len(ms) != 1 || ms[0].To != "director@example.com" || len(ms[0].EventIDs) != 1 {
		t.Fatalf("06:00: emails %s: want only the immediate rule's email to the director", describe(ms))
	}
	if s, ms := h.tick(h.at(18, 7, 55), last); s.Rules != 0 || len(ms) != 0 {
		t.Errorf("07:55: %s, emails %s: want nothing before digest_at", s, describe(ms))
	}
	// 08:00: the digest, one email per recipient with all of theirs.
	s, ms = h.tick(h.at(18, 8, 0), last)
	if s.Rules != 1 || len(ms) != 2 {
		t.Fatalf("08:00: %s, emails %s: want the digest rule re-run and two digests (Anna, 李强)", s, describe(ms))
	}
	if ms[0].To != "anna@example.com" || len(ms[0].EventIDs) != 2 || !strings.HasPrefix(ms[0].Subject, "[pipelens] 2 alerts: ") {
		t.Errorf("Anna's digest %s: want team A and RA1 in one email", describe(ms[:1]))
	}
	if ms[1].To != "li.qiang@example.com" || len(ms[1].EventIDs) != 1 {
		t.Errorf("李强's digest %s: want RX", describe(ms[1:]))
	}
	for _, at := range []time.Time{h.at(18, 8, 5), h.at(18, 12, 0)} {
		if s, ms := h.tick(at, last); len(ms) != 0 {
			t.Errorf("%s: %s, emails %s: want no second digest", at.Format("15:04"), s, describe(ms))
		}
	}
	// RunOnce the same day after the digest: nothing is re-sent.
	if s, ms := h.run(h.at(18, 20, 0)); len(ms) != 0 {
		t.Errorf("RunOnce at 20:00: %s, emails %s: want none", s, describe(ms))
	}
}

// TestSilence: a configured silence (rule + segment until a time) records the
// anomaly (the Alerts page shows it, the episode stays open) but does not email
// it; after until it is emailed, once.
func TestSilence(t *testing.T) {
	for _, sched := range []string{"", "daily 08:00"} {
		t.Run("schedule="+sched, func(t *testing.T) {
			r := teamRule("opened")
			r.Schedule = sched
			rules := &Config{Rules: []Rule{r}, Silences: []Silence{
				{Rule: "opened", SegmentKind: SegTeam, Segment: "A", Until: "2026-11-18T10:00:00+08:00", Comment: "re-org"},
				{Rule: "other", Segment: "A", Until: "2026-12-31"},
			}}
			h := newDeliveryHarness(t, rules, 17, 18)
			last := map[string]time.Time{"opened": h.at(17, 8, 0)}
			step := func(at time.Time) (Summary, []*Message) {
				if sched == "" {
					return h.run(at)
				}
				return h.tick(at, last)
			}
			s, ms := step(h.at(18, 8, 0))
			if s.Opened != 1 || s.Silenced != 1 || s.Anomalies != 0 || len(ms) != 0 {
				t.Fatalf("08:00: %s (silenced %d), emails %s: want the anomaly recorded, silenced, not emailed", s, s.Silenced, describe(ms))
			}
			evs := h.events()
			if len(evs) != 1 || evs[0].Status != "firing" || evs[0].Segment != "A" || !evs[0].NotifiedAt.IsZero() {
				t.Fatalf("events %+v: want team A's event firing on the Alerts page, not notified", evs)
			}
			id := evs[0].ID
			s, ms = step(h.at(18, 9, 59))
			if s.Opened != 0 || s.Resolved != 0 || len(ms) != 0 {
				t.Errorf("09:59: %s, emails %s: want the same episode, still silent", s, describe(ms))
			}
			s, ms = step(h.at(18, 10, 0))
			if len(ms) != 1 || ms[0].To != "anna@example.com" || len(ms[0].EventIDs) != 1 || ms[0].EventIDs[0] != id {
				t.Fatalf("10:00: %s, emails %s: want the silenced episode emailed to Anna when the silence ends", s, describe(ms))
			}
			if s, ms := step(h.at(18, 10, 5)); len(ms) != 0 {
				t.Errorf("10:05: %s, emails %s: want it sent once", s, describe(ms))
			}
		})
	}
}

// TestSnoozeAndAck: a snooze stops emails of the anomaly until it ends; an
// acknowledgement stops the repeats of that episode, not a later episode.
func TestSnoozeAndAck(t *testing.T) {
	r := teamRule("opened")
	r.RepeatInterval = 2 * time.Hour
	r.ResolveAfter = time.Minute // the episode resolves at the first evaluation without it
	// Team A drops on Tue 17 and Wed 18, recovers Thu 19, drops again Fri 20.
	h := newDeliveryHarness(t, &Config{Rules: []Rule{r}}, 17, 18, 20)
	ctx := context.Background()

	if _, ms := h.run(h.at(18, 8, 0)); len(ms) != 1 {
		t.Fatalf("08:00: emails %s: want one to Anna", describe(ms))
	}
	evs := h.events()
	if len(evs) != 1 {
		t.Fatalf("events %+v: want one", evs)
	}
	id := evs[0].ID
	if err := Snooze(ctx, h.e.db, id, h.at(18, 14, 0), "anna@example.com", "on it"); err != nil {
		t.Fatal(err)
	}
	if evs := h.events(); !evs[0].SnoozedUntil.Equal(h.at(18, 14, 0)) || evs[0].SnoozedBy != "anna@example.com" {
		t.Errorf("event %+v: want it shown snoozed until 14:00 by Anna", evs[0])
	}
	for _, at := range []time.Time{h.at(18, 10, 30), h.at(18, 13, 59)} {
		if s, ms := h.run(at); len(ms) != 0 || s.Anomalies != 1 {
			t.Errorf("%s: %s, emails %s: want it firing but snoozed, no repeat", at.Format("15:04"), s, describe(ms))
		}
	}
	if _, ms := h.run(h.at(18, 14, 0)); len(ms) != 1 || ms[0].EventIDs[0] != id {
		t.Fatalf("14:00: emails %s: want the repeat once the snooze ends", describe(ms))
	}
	if err := Ack(ctx, h.e.db, id, "anna@example.com", "known"); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{h.at(18, 16, 30), h.at(19, 7, 0)} {
		if s, ms := h.run(at); len(ms) != 0 || s.Anomalies != 1 {
			t.Errorf("%s: %s, emails %s: want the acknowledged episode firing and never repeated", at.Format("01-02 15:04"), s, describe(ms))
		}
	}
	if evs := h.events(); evs[0].AckedAt.IsZero() || evs[0].AckedBy != "anna@example.com" {
		t.Errorf("event %+v: want it shown acknowledged by Anna", evs[0])
	}
	// Fri 20 judges Thu 19: recovered. Sat 21 judges Fri 20: a new episode,
	// emailed though the old one was acknowledged.
	if s, ms := h.run(h.at(20, 8, 0)); s.Resolved != 1 || len(ms) != 0 {
		t.Errorf("20th: %s, emails %s: want the episode resolved", s, describe(ms))
	}
	s, ms := h.run(h.at(21, 8, 0))
	if s.Opened != 1 || len(ms) != 1 || ms[0].EventIDs[0] == id {
		t.Errorf("21st: %s, emails %s: want a new episode emailed", s, describe(ms))
	}
	if err := Snooze(ctx, h.e.db, "nope", h.at(30, 0, 0), "x", ""); err == nil {
		t.Error("snoozing an unknown event: want ErrNotFound")
	}
}

// TestScheduleDue: the schedule forms decide due-ness in the business time zone.
func TestScheduleDue(t *testing.T) {
	sh := shanghai(t)
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	// Mon 16 Nov 2026 … Sun 22 Nov 2026.
	at := func(loc *time.Location, day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, loc) }
	s := func(day, h, m int) time.Time { return at(sh, day, h, m) }
	cases := []struct {
		sched     string
		prev, now time.Time
		want      bool
	}{
		{"every 1h", s(16, 9, 0), s(16, 9, 59), false},
		{"every 1h", s(16, 9, 0), s(16, 10, 0), true},
		{"every 1h", s(16, 9, 59), s(16, 10, 1), true},
		{"every 15m", s(16, 9, 0), s(16, 9, 14), false},
		{"every 15m", s(16, 9, 14), s(16, 9, 15), true},
		// Daily slots fall at local midnight, not 08:00 Shanghai (UTC midnight).
		{"every 24h", s(16, 7, 0), s(16, 9, 0), false},
		{"every 24h", s(16, 23, 0), s(17, 0, 5), true},
		{"hourly", s(16, 9, 0), s(16, 9, 30), false},
		{"hourly", s(16, 9, 30), s(16, 10, 0), true},
		// A half-hour zone: hourly is on the local hour.
		{"hourly", at(kolkata, 16, 9, 5), at(kolkata, 16, 9, 55), false},
		{"hourly", at(kolkata, 16, 9, 55), at(kolkata, 16, 10, 0), true},
		{"daily 07:00", s(16, 6, 0), s(16, 6, 59), false},
		{"daily 07:00", s(16, 6, 59), s(16, 7, 0), true},
		{"daily 07:00", s(16, 7, 0), s(16, 12, 0), false},
		{"daily 07:00", s(16, 7, 0), s(17, 7, 5), true},
		// A day missed: due once on waking.
		{"daily 07:00", s(16, 8, 0), s(18, 6, 0), true},
		{"DAILY 7:30", s(16, 7, 0), s(16, 7, 45), true},
		{"weekdays 08:00", s(20, 9, 0), s(21, 8, 0), false},  // Fri → Sat
		{"weekdays 08:00", s(21, 9, 0), s(22, 23, 0), false}, // the weekend
		{"weekdays 08:00", s(22, 23, 0), s(23, 8, 0), true},  // Monday
		{"weekdays 08:00", s(16, 7, 59), s(16, 8, 0), true},
		{"weekly mon 07:00", s(16, 6, 0), s(16, 7, 0), true},
		{"weekly mon 07:00", s(16, 7, 0), s(22, 23, 59), false},
		{"weekly mon 07:00", s(16, 7, 0), s(23, 7, 0), true},
		{"weekly monday 07:00", s(22, 0, 0), s(23, 7, 0), true},
		{"weekly fri 18:30", s(20, 18, 0), s(20, 18, 29), false},
		{"weekly fri 18:30", s(20, 18, 0), s(20, 18, 30), true},
		// Due-ness is judged on the Shanghai clock: 07:00 Shanghai is
		// 23:00 UTC of the day before.
		{"daily 07:00", s(16, 6, 0).UTC(), s(16, 7, 0).UTC(), true},
		// Never before the last run, nor at it.
		{"hourly", s(16, 10, 0), s(16, 10, 0), false},
		{"daily 07:00", s(17, 7, 0), s(16, 7, 0), false},
	}
	for _, tc := range cases {
		sc, err := parseSchedule(tc.sched)
		if err != nil {
			t.Errorf("parse %q: %v", tc.sched, err)
			continue
		}
		loc := tc.now.Location()
		if loc == time.UTC {
			loc = sh
		}
		if got := sc.due(tc.prev.In(loc), tc.now.In(loc)); got != tc.want {
			t.Errorf("%q due(%s, %s) = %v, want %v", tc.sched, tc.prev.In(loc).Format("Mon 02 15:04"),
				tc.now.In(loc).Format("Mon 02 15:04 MST"), got, tc.want)
		}
	}
	for _, bad := range []string{"", "every", "every 30s", "every soon", "daily", "daily 25:00", "daily 7", "weekdays",
		"weekly 07:00", "weekly xyz 07:00", "monthly 1 07:00", "hourly 5", "weekly monxyz 07:00", "weekly m 07:00"} {
		if _, err := parseSchedule(bad); err == nil {
			t.Errorf("parse %q: want an error", bad)
		}
	}
	// A rule's schedule is checked when the config is read.
	c := &Config{Rules: []Rule{{Name: "x", Metric: MetricLeads, Schedule: "fortnightly"}}}
	if err := c.normalize(sh); err == nil || !strings.Contains(err.Error(), "schedule") {
		t.Errorf("normalize with a bad schedule: %v, want a schedule error", err)
	}
}
