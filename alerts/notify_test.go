package alerts

import (
	"bytes"
	"context"
	"html"
	"image/png"
	"math"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// testOrg is a director over two teams; team A's manager reads English, team
// B's manager and the director Chinese (one written zh_CN, as CRMs do).
func testOrg() Org {
	return Org{Reps: []Person{
		{ID: "D1", Name: "王总", Email: "director@example.com", Role: "director", Lang: "zh-CN", Active: true},
		{ID: "MA", Name: "Anna Weber", Email: "anna@example.com", Role: "manager", Team: "A", ManagerID: "D1", Lang: "en", Active: true},
		{ID: "MB", Name: "李强", Email: "li.qiang@example.com", Role: "manager", Team: "B", ManagerID: "D1", Lang: "zh_CN", Active: true},
		{ID: "RA1", Name: "Tom Lee", Email: "tom@example.com", Role: "rep", Team: "A", ManagerID: "MA", Territory: "上海", Active: true},
		{ID: "RB1", Name: "张伟", Email: "zhang.wei@example.com", Role: "rep", Team: "B", ManagerID: "MB", Territory: "北京", Active: true},
		// A rep filed under team A whose manager in the org chart is B's.
		{ID: "RX", Name: "Chen Jing", Email: "chen@example.com", Role: "rep", Team: "A", ManagerID: "MB", Territory: "上海", Active: true},
	}}
}

func TestRouteByOrgHierarchy(t *testing.T) {
	c := &Config{Lang: "en", Directors: []string{"cfo@example.com"}}
	if err := c.normalize(time.UTC); err != nil {
		t.Fatal(err)
	}
	r := &Rule{Name: "opened", Metric: MetricOppsOpened, Route: "auto"}
	type want struct{ email, lang string }
	cases := []struct {
		name string
		a    Anomaly
		want []want
	}{
		{"a team's anomaly goes to its manager", Anomaly{SegmentKind: SegTeam, Segment: "A", Team: "A"},
			[]want{{"anna@example.com", "en"}}},
		{"the other team's to the other manager, in Chinese", Anomaly{SegmentKind: SegTeam, Segment: "B", Team: "B"},
			[]want{{"li.qiang@example.com", "zh-CN"}}},
		{"an org-wide anomaly goes to the directors", Anomaly{SegmentKind: SegAll},
			[]want{{"director@example.com", "zh-CN"}, {"cfo@example.com", "en"}}},
		{"a rep's anomaly goes to the rep's own manager", Anomaly{SegmentKind: SegRep, Segment: "RA1", RepID: "RA1", Team: "A"},
			[]want{{"anna@example.com", "en"}}},
		{"the org chart's manager wins over the team column", Anomaly{SegmentKind: SegRep, Segment: "RX", RepID: "RX", Team: "A"},
			[]want{{"li.qiang@example.com", "zh-CN"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := route(r, &tc.a, testOrg(), c)
			var g []want
			for _, x := range got {
				g = append(g, want{x.Email, x.Lang})
			}
			if len(g) != len(tc.want) {
				t.Fatalf("recipients %v, want %v", g, tc.want)
			}
			for i := range g {
				if g[i] != tc.want[i] {
					t.Errorf("recipients %v, want %v", g, tc.want)
				}
			}
		})
	}
	t.Run("route director and extra addresses", func(t *testing.T) {
		rd := &Rule{Route: "director", To: []string{"ops@example.com", "Director@example.com"}}
		got := route(rd, &Anomaly{SegmentKind: SegTeam, Segment: "A", Team: "A"}, testOrg(), c)
		var emails []string
		for _, x := range got {
			emails = append(emails, x.Email)
		}
		if strings.Join(emails, ",") != "director@example.com,cfo@example.com,ops@example.com" {
			t.Errorf("recipients %v: want the directors once each, then the rule's extra address", emails)
		}
	})
}

// dropAnomaly is a team's drop of opportunities opened with a chart.
func dropAnomaly(team string) *Anomaly {
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	a := &Anomaly{Key: "opened|opportunities_opened|team|" + team + "|down", Rule: "opened", Metric: MetricOppsOpened, Grain: "week",
		SegmentKind: SegTeam, Segment: team, SegmentLabel: team, Team: team, Detector: "seasonal", Kind: "drop", Direction: -1,
		Actual: 3, Expected: 14.5, Low: 8, High: 21, Score: 5.2, Since: end.AddDate(0, 0, -6), From: end.AddDate(0, 0, -56), To: end}
	for d := a.From; d.Before(end); d = d.AddDate(0, 0, 1) {
		v := 14.0
		if !d.Before(a.Since) {
			v = 3
		}
		a.Chart = append(a.Chart, ChartPoint{Date: d, Actual: v, Expected: 14.5})
	}
	return a
}

func TestRenderEmail(t *testing.T) {
	l := linker{base: "https://pipelens.example.com/", path: "/trends", dealPath: "/funnel"}
	evil := `<script>alert("x")</script>华东一组`
	cases := []struct {
		lang                   string
		metric, dir, seg, more string
	}{
		{"en", "Opportunities opened", "down", "Team " + evil, "2 alerts: "},
		{"zh-CN", "新建商机", "下降", "团队 " + evil, "2 条预警："},
	}
	for _, tc := range cases {
		t.Run(tc.lang, func(t *testing.T) {
			a := dropAnomaly(evil)
			em, err := render(Recipient{Email: "m@example.com", Name: "Anna", Lang: tc.lang}, []*Anomaly{a}, l)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{tc.metric, tc.dir, "79%", tc.seg} {
				if !strings.Contains(em.Subject, w) {
					t.Errorf("subject %q does not say %q", em.Subject, w)
				}
			}
			if strings.Contains(em.HTML, "<script>") || !strings.Contains(em.HTML, "&lt;script&gt;") {
				t.Errorf("the CRM team name reaches the HTML unescaped: a manager's mail client would run it")
			}
			if !strings.Contains(em.Text, evil) {
				t.Errorf("the text part should carry the team name as written")
			}

			if len(em.Charts) != 1 {
				t.Fatalf("%d inline charts, want 1", len(em.Charts))
			}
			img, err := png.Decode(bytes.NewReader(em.Charts[0].PNG))
			if err != nil {
				t.Fatalf("the inline chart is not a PNG a mail client can show: %v", err)
			}
			if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 100 {
				t.Errorf("chart is %dx%d: too small to read", b.Dx(), b.Dy())
			}
			if !strings.Contains(em.HTML, `src="cid:`+em.Charts[0].CID+`"`) {
				t.Errorf("the HTML does not reference the inline chart %s", em.Charts[0].CID)
			}

			m := regexp.MustCompile(`href="([^"]+)"`).FindStringSubmatch(em.HTML)
			if m == nil {
				t.Fatal("no dashboard link in the HTML")
			}
			u, err := url.Parse(html.UnescapeString(m[1]))
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if u.Host != "pipelens.example.com" || u.Path != "/trends" || q.Get("team") != evil ||
				q.Get("from") != "2026-09-25" || q.Get("to") != "2026-11-20" || q.Get("metric") != MetricOppsOpened {
				t.Errorf("link %s: want /trends filtered to the team over the chart's range", u)
			}

			// Two anomalies in one email: the subject counts them.
			b := dropAnomaly("B")
			b.Key, b.Actual = "other", 5
			em2, err := render(Recipient{Email: "m@example.com", Lang: tc.lang}, []*Anomaly{a, b}, l)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(em2.Subject, tc.more) || len(em2.Charts) != 2 {
				t.Errorf("subject %q with %d charts: want %q and two charts", em2.Subject, len(em2.Charts), tc.more)
			}
		})
	}
	t.Run("deal link", func(t *testing.T) {
		a := &Anomaly{SegmentKind: SegRep, Segment: "RA1", Team: "A", Deal: &Deal{ID: "OPP-1"}, From: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}
		u, _ := url.Parse(l.link(a))
		if u.Path != "/funnel" || u.Query().Get("deal") != "OPP-1" || u.Query().Get("rep") != "RA1" || u.Query().Get("team") != "A" {
			t.Errorf("deal link %s: want /funnel with the deal, rep and team", u)
		}
	})
}

// staticSource serves fixed daily series: a steady number of opportunities
// opened per team and rep, with drops on the days bad says.
type staticSource struct {
	org Org
	bad func(d time.Time) bool
}

func (s staticSource) Org(context.Context) (Org, error) { return s.org, nil }
func (s staticSource) Deals(context.Context, time.Time) ([]Deal, error) {
	return nil, nil
}
func (s staticSource) StageNorms(context.Context, time.Time) ([]StageNorm, error) {
	return nil, nil
}

func (s staticSource) Series(_ context.Context, metric, kind string, from, to time.Time) ([]SegmentSeries, error) {
	// Team A (reps RA1 and RX) opens 27 a working day, 1 on a bad day; team B
	// (RB1) 10, unaffected.
	perRep := map[string][2]float64{"RA1": {12, 0}, "RX": {15, 1}, "RB1": {10, 10}}
	val := func(ids []string, d time.Time) float64 {
		var v float64
		for _, id := range ids {
			x := perRep[id][0]
			if s.bad(d) {
				x = perRep[id][1]
			}
			if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
				x = math.Round(x / 5)
			}
			v += x
		}
		return v
	}
	groups := map[string]map[string][]string{
		SegAll:  {"": {"RA1", "RX", "RB1"}},
		SegTeam: {"A": {"RA1", "RX"}, "B": {"RB1"}},
		SegRep:  {"RA1": {"RA1"}, "RX": {"RX"}, "RB1": {"RB1"}},
	}
	var out []SegmentSeries
	for _, key := range []string{"", "A", "B", "RA1", "RX", "RB1"} {
		ids, ok := groups[kind][key]
		if !ok {
			continue
		}
		ss := SegmentSeries{Kind: kind, Key: key, Label: key}
		for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
			v := val(ids, d)
			ss.Points = append(ss.Points, Point{Date: d, Sum: v, Den: 1})
		}
		out = append(out, ss)
	}
	return out, nil
}

// captureSender keeps what the engine sends.
type captureSender struct {
	mu  sync.Mutex
	got []*Message
}

func (c *captureSender) Send(_ context.Context, m *Message) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, m)
	return false, nil
}

func (c *captureSender) take() map[string]*Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]*Message{}
	for _, m := range c.got {
		out[m.To] = m
	}
	c.got = nil
	return out
}

// TestOneEmailPerRecipientAndRepeatInterval runs the engine on fixed series
// against the real event store and outbox: every recipient gets one email per
// evaluation however many anomalies concern them; a firing anomaly is not sent
// again before repeat_interval and is after it; a resolved one that comes back
// is a new episode, sent at once (resolve_after 1m: it resolves at the first
// evaluation that does not find it).
func TestOneEmailPerRecipientAndRepeatInterval(t *testing.T) {
	// Team A collapses on Tue 17 and Wed 18, is normal on Thu 19 and
	// collapses again on Fri 20.
	db, day, run := teamADrops(t, time.Minute)
	ctx := context.Background()
	subjects := func(ms map[string]*Message) string {
		var out []string
		for to, m := range ms {
			out = append(out, to+": "+m.Subject)
		}
		return strings.Join(out, "; ")
	}

	// Wed 18 08:00 judges Tue 17: team A, its two reps and the org total.
	s, ms := run(day(18).Add(8 * time.Hour))
	if s.Anomalies != 4 || s.Opened != 4 {
		t.Fatalf("summary %s: want 4 new anomalies (org, team A, reps RA1 and RX)", s)
	}
	if len(ms) != 3 || s.Emails != 3 {
		t.Fatalf("emails %s: want one each to Anna (team A, RA1), 李强 (RX reports to him) and the director", subjects(ms))
	}
	anna := ms["anna@example.com"]
	if anna == nil || len(anna.EventIDs) != 2 || !strings.HasPrefix(anna.Subject, "[pipelens] 2 alerts: ") || anna.Lang != "en" {
		t.Errorf("Anna's email %+v: want both team A anomalies in one English email", anna)
	}
	if m := ms["li.qiang@example.com"]; m == nil || len(m.EventIDs) != 1 || !strings.HasPrefix(m.Subject, "【pipelens】") {
		t.Errorf("李强's email: want one Chinese email about RX, got %s", subjects(ms))
	}
	if m := ms["director@example.com"]; m == nil || len(m.EventIDs) != 1 || !strings.Contains(m.Subject, "全公司") {
		t.Errorf("director's email: want the org-wide drop in Chinese, got %s", subjects(ms))
	}

	// An hour later nothing changed: nothing new, nothing re-sent.
	s, ms = run(day(18).Add(9 * time.Hour))
	if s.Anomalies != 4 || s.Opened != 0 || len(ms) != 0 {
		t.Errorf("an hour later: summary %s, emails %s: want the same 4 firing and no email", s, subjects(ms))
	}
	// Thu 19 08:00 judges Wed 18, still bad: 24 h < repeat_interval 30 h.
	s, ms = run(day(19).Add(8 * time.Hour))
	if s.Opened != 0 || s.Resolved != 0 || len(ms) != 0 {
		t.Errorf("a day later, still firing within the repeat interval: summary %s, emails %s: want none", s, subjects(ms))
	}
	// Thu 19 15:00: 31 h since the email, still firing: sent again.
	s, ms = run(day(19).Add(15 * time.Hour))
	if len(ms) != 3 || s.Opened != 0 {
		t.Errorf("after the repeat interval: summary %s, emails %s: want the 3 emails again", s, subjects(ms))
	}
	// Fri 20 08:00 judges Thu 19, normal: every episode resolves, no email.
	s, ms = run(day(20).Add(8 * time.Hour))
	if s.Anomalies != 0 || s.Resolved != 4 || len(ms) != 0 {
		t.Errorf("recovered: summary %s, emails %s: want 4 resolved and no email", s, subjects(ms))
	}
	// Sat 21 08:00 judges Fri 20, bad again: new episodes, sent though the
	// last email was 17 h ago.
	s, ms = run(day(21).Add(8 * time.Hour))
	if s.Opened != 4 || len(ms) != 3 {
		t.Errorf("back after resolving: summary %s, emails %s: want 4 new episodes in 3 emails", s, subjects(ms))
	}
	evs, err := ListEvents(ctx, db, EventQuery{Since: day(1)})
	if err != nil {
		t.Fatal(err)
	}
	var resolved, firing int
	for _, ev := range evs {
		switch ev.Status {
		case "resolved":
			resolved++
		case "firing":
			firing++
		}
	}
	if resolved != 4 || firing != 4 {
		t.Errorf("%d resolved and %d firing events: want 4 and 4", resolved, firing)
	}
}

// TestResolveAfterKeepsOneEpisode: with the default resolve_after (14 days) a
// drop that pauses for a day and comes back is one event, re-sent once
// repeat_interval has passed, not a new episode; the event resolves at the
// first evaluation 14 days after the last day it was found, not before.
func TestResolveAfterKeepsOneEpisode(t *testing.T) {
	db, day, run := teamADrops(t, 0)
	ctx := context.Background()
	if s, ms := run(day(18).Add(8 * time.Hour)); s.Opened != 4 || len(ms) != 3 {
		t.Fatalf("Wed 18: summary %s, %d emails: want 4 new anomalies in 3 emails", s, len(ms))
	}
	quiet := func(when string, want bool) {
		t.Helper()
		evs, err := ListEvents(ctx, db, EventQuery{Since: day(1), Status: "firing"})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Quiet() != want {
				t.Errorf("%s: %s quiet %v (last seen %s, checked %s), want %v", when, e.Key, e.Quiet(), e.LastSeenAt, e.CheckedAt, want)
			}
		}
		if len(evs) != 4 {
			t.Errorf("%s: %d open events, want 4", when, len(evs))
		}
	}
	quiet("Wed 18", false)
	// Fri 20 judges Thu 19, normal: nothing resolves, nothing is sent; the
	// 4 episodes stay open and say they have gone quiet.
	if s, ms := run(day(20).Add(8 * time.Hour)); s.Anomalies != 0 || s.Resolved != 0 || len(ms) != 0 {
		t.Errorf("Fri 20: summary %s, %d emails: want the 4 episodes open and quiet", s, len(ms))
	}
	quiet("Fri 20", true)
	// Sat 21 judges Fri 20, bad again: the same 4 events, re-sent (72 h > 30 h).
	if s, ms := run(day(21).Add(8 * time.Hour)); s.Opened != 0 || s.Anomalies != 4 || len(ms) != 3 {
		t.Errorf("Sat 21: summary %s, %d emails: want the same 4 events, emailed again", s, len(ms))
	}
	quiet("Sat 21", false)
	// Last found at Sat 21 08:00: still open 13 days later, resolved at 14.
	if s, _ := run(day(21).AddDate(0, 0, 13).Add(8 * time.Hour)); s.Resolved != 0 {
		t.Errorf("13 days later: summary %s: want nothing resolved yet", s)
	}
	if s, ms := run(day(21).AddDate(0, 0, 14).Add(8 * time.Hour)); s.Resolved != 4 || len(ms) != 0 {
		t.Errorf("14 days later: summary %s, %d emails: want the 4 resolved, no email", s, len(ms))
	}
	evs, err := ListEvents(ctx, db, EventQuery{Since: day(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 {
		t.Errorf("%d events: want 4, one per episode", len(evs))
	}
}

// teamADrops is an engine over the real event store and outbox whose series
// drop for team A (and so its reps and the org) on Tue 17, Wed 18 and Fri 20
// November 2026, with one rule (repeat_interval 30h, resolve_after as given:
// 0 for the default). It returns the database, the days and a run at a time
// that returns the summary and the emails it sent.
func teamADrops(t *testing.T, resolveAfter time.Duration) (*schemas.DB, func(int) time.Time, func(time.Time) (Summary, map[string]*Message)) {
	t.Helper()
	db := schemastest.Open(t)
	day := func(n int) time.Time { return time.Date(2026, 11, n, 0, 0, 0, 0, time.UTC) }
	bad := map[time.Time]bool{day(17): true, day(18): true, day(20): true}
	src := staticSource{org: testOrg(), bad: func(d time.Time) bool { return bad[d] }}
	c := config.Default()
	c.Server.BaseURL = "https://pipelens.example.com"
	rules := &Config{Rules: []Rule{{Name: "opened", Metric: MetricOppsOpened, Segments: []string{SegAll, SegTeam, SegRep},
		Detector: "seasonal", Direction: "down", RepeatInterval: 30 * time.Hour, ResolveAfter: resolveAfter}}}
	snd := &captureSender{}
	e, err := New(Options{DB: db, Config: c, Rules: rules, Source: src, Sender: snd, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if resolveAfter == 0 && e.cfg.Rules[0].ResolveAfter != 14*24*time.Hour {
		t.Fatalf("resolve_after %s: want the default, 14 days", e.cfg.Rules[0].ResolveAfter)
	}
	e.box.settle = 0
	run := func(at time.Time) (Summary, map[string]*Message) {
		t.Helper()
		s, err := e.RunOnce(context.Background(), at)
		if err != nil {
			t.Fatal(err)
		}
		return s, snd.take()
	}
	return db, day, run
}
