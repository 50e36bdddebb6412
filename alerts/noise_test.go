package alerts

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestBenjaminiHochberg: over 100 reps tested at alpha 0.01, Bonferroni keeps
// only p ≤ 0.0001; Benjamini–Hochberg keeps the k smallest p with p(k) ≤
// k/100·0.01. Hand-computed: p = 0.00005 (rank 1 ≤ 0.0001), 0.00015 (rank 2 ≤
// 0.0002), 0.00029 (rank 3 ≤ 0.0003), 0.0009 (rank 4 > 0.0004, rank 5? no
// fifth): the first three are kept; 0.0009 is not. A robust-z finding (p 0)
// is kept as it is.
func TestBenjaminiHochberg(t *testing.T) {
	as := []Anomaly{{Segment: "d", pValue: 0.0009}, {Segment: "b", pValue: 0.00015}, {Segment: "z"}, {Segment: "a", pValue: 0.00005}, {Segment: "c", pValue: 0.00029}}
	keep := benjaminiHochberg(as, 100, 0.01)
	var got []string
	for i, k := range keep {
		if k {
			got = append(got, as[i].Segment)
		}
	}
	if strings.Join(got, ",") != "b,z,a,c" {
		t.Errorf("kept %v, want b, z, a, c (d's p 0.0009 is above 4/100·0.01)", got)
	}
	// Step-up: a larger p at a higher rank lifts the smaller ones with it.
	as = []Anomaly{{Segment: "a", pValue: 0.0002}, {Segment: "b", pValue: 0.00025}, {Segment: "c", pValue: 0.0003}}
	keep = benjaminiHochberg(as, 100, 0.01)
	if !keep[0] || !keep[1] || !keep[2] {
		t.Errorf("step-up: p(3) = 0.0003 ≤ 3/100·0.01 keeps all three, got %v", keep)
	}
	// One segment alone: the plain test at alpha.
	if k := benjaminiHochberg([]Anomaly{{pValue: 0.009}}, 1, 0.01); !k[0] {
		t.Error("a single segment at p 0.009 < 0.01 must be kept")
	}
}

// TestGroupTree: a manager's email with the team's drop and two of its reps'
// drops of the same rule reads one section with the reps under it; a rep of
// another team, another rule, the other direction and a deal alert keep their
// own sections.
func TestGroupTree(t *testing.T) {
	org := Org{Reps: []Person{{ID: "r1", Team: "East"}, {ID: "r2", Team: "East"}, {ID: "r3", Team: "West"}}}
	mk := func(rule, kind, seg string, dir int) *Anomaly {
		return &Anomaly{Rule: rule, Metric: MetricBookings, SegmentKind: kind, Segment: seg, SegmentLabel: seg, Direction: dir}
	}
	team := mk("bookings", SegTeam, "East", -1)
	r1, r2, r3 := mk("bookings", SegRep, "r1", -1), mk("bookings", SegRep, "r2", -1), mk("bookings", SegRep, "r3", -1)
	r1up := mk("bookings", SegRep, "r1", 1)
	other := mk("leads", SegRep, "r2", -1)
	deal := mk("bookings", SegRep, "r1", -1)
	deal.Deal = &Deal{ID: "o1"}
	top, among := groupTree([]*Anomaly{r1, team, r2, r3, r1up, other, deal}, org)
	if len(top) != 5 || top[0] != team || top[1] != r3 || top[2] != r1up || top[3] != other || top[4] != deal {
		t.Errorf("sections %d: %+v", len(top), top)
	}
	if len(among[team]) != 2 || among[team][0] != r1 || among[team][1] != r2 {
		t.Errorf("under East: %+v, want r1 and r2", among[team])
	}
	// The whole organisation's drop gathers the team and its reps.
	all := mk("bookings", SegAll, "", -1)
	top, among = groupTree([]*Anomaly{team, r1, all}, org)
	if len(top) != 1 || top[0] != all || len(among[all]) != 2 {
		t.Errorf("org-wide: sections %+v, under it %+v", top, among[all])
	}
	em, err := renderGrouped(Recipient{Email: "m@example.com", Lang: "en"}, []*Anomaly{team}, testLinks, map[*Anomaly][]*Anomaly{team: {r1, r2}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(em.Text, "Also flagged under this segment") || !strings.Contains(em.Text, "Rep r1") || !strings.Contains(em.HTML, "Rep r2") {
		t.Errorf("the email does not list the reps under the team:\n%s", em.Text)
	}
}

// TestDealAlertsGroupByRule: a manager's 14 stuck deals and one pushed deal
// read as two sections: the first stuck deal's, listing ten more deals, each
// by name and days in stage and linked to the deal, and a count of the other
// three; and the pushed deal's own.
func TestDealAlertsGroupByRule(t *testing.T) {
	org := Org{Reps: []Person{{ID: "r1", Team: "East"}}}
	var as []*Anomaly
	for i := range 14 {
		id := fmt.Sprintf("o%02d", i)
		as = append(as, &Anomaly{Rule: "stuck", Kind: "stuck_deal", Detector: "stuck_deal", SegmentKind: SegRep, Segment: "r1", SegmentLabel: "Rep One",
			Actual: float64(200 - i), Expected: 16, High: 35, Direction: 1, Key: "stuck|deal|" + id,
			Deal: &Deal{ID: id, Name: "Deal " + id, Stage: "proposal", Currency: "CNY"}})
	}
	pushed := &Anomaly{Rule: "pushed", Kind: "pushed_close", Detector: "pushed_close", SegmentKind: SegRep, Segment: "r1", SegmentLabel: "Rep One",
		Actual: 5, Direction: 1, Key: "pushed|deal|p1", Deal: &Deal{ID: "p1", Name: "Deal p1", Stage: "negotiation", Currency: "CNY"}}
	as = append(as, pushed)
	top, among := groupTree(as, org)
	if len(top) != 2 || top[0] != as[0] || top[1] != pushed || len(among[as[0]]) != 13 {
		t.Fatalf("sections %d, under the first stuck deal %d: want 2 sections, 13 deals under the first", len(top), len(among[as[0]]))
	}
	for _, lang := range []string{"en", "zh-CN"} {
		em, err := renderGrouped(Recipient{Email: "m@example.com", Lang: lang}, top, testLinks, among)
		if err != nil {
			t.Fatal(err)
		}
		more := map[string]string{"en": "and 3 more on the Alerts page", "zh-CN": "另有 3 条，见告警页"}[lang]
		days := map[string]string{"en": "proposal · Days in stage 199", "zh-CN": "方案/报价 · 阶段停留天数 199"}[lang]
		for _, want := range []string{"Deal o01 · Rep One · " + days, "Deal o10", more, "deal=o01"} {
			if !strings.Contains(em.Text, want) || !strings.Contains(em.HTML, want) {
				t.Errorf("%s: the email does not say %q:\n%s", lang, want, em.Text)
			}
		}
		if strings.Contains(em.Text, "Deal o11") || !strings.Contains(em.Subject, "15") {
			t.Errorf("%s: lists past ten deals, or the subject %q does not count all 15", lang, em.Subject)
		}
	}
}

// staleSource is staticSource whose export ends on last: the days after it
// read zero, as a real source's would, and LastDay says so.
type staleSource struct {
	staticSource
	last time.Time
}

func (s staleSource) LastDay(context.Context, string) (time.Time, bool, error) {
	return s.last, true, nil
}

// TestJudgedUpToTheLastLoadedDay: an export four days old makes the days
// since look like a collapse of opportunities opened; judged up to the last
// day the export covers, nothing fires, and what does fire says up to when.
func TestJudgedUpToTheLastLoadedDay(t *testing.T) {
	ctx := context.Background()
	last := time.Date(2026, 11, 13, 0, 0, 0, 0, time.UTC) // a Friday
	now := last.AddDate(0, 0, 5).Add(9 * time.Hour)       // Wednesday after
	org := Org{Reps: []Person{{ID: "RA1", Team: "A"}, {ID: "RX", Team: "A"}, {ID: "RB1", Team: "B"}}}
	missing := func(d time.Time) bool { return d.After(last) }
	c := &Config{Rules: []Rule{{Name: "opened", Metric: MetricOppsOpened, Segments: []string{SegTeam}, Detector: "seasonal", Direction: "down"}}}
	if err := c.normalize(time.UTC); err != nil {
		t.Fatal(err)
	}
	judge := func(src Source) []Anomaly {
		ev := &evaluator{src: src, loc: time.UTC, org: org}
		as, err := ev.rule(ctx, &c.Rules[0], now)
		if err != nil {
			t.Fatal(err)
		}
		return as
	}
	if as := judge(staticSource{org: org, bad: missing}); len(as) == 0 {
		t.Fatal("without the last loaded day the missing days must look like a drop (else this test proves nothing)")
	}
	if as := judge(staleSource{staticSource{org: org, bad: missing}, last}); len(as) != 0 {
		t.Errorf("judged up to %s, the missing days still fire: %+v", last.Format(time.DateOnly), as[0].Key)
	}
	// A real drop before the last day fires, and says up to when.
	bad := func(d time.Time) bool { return d.After(last) || d.Equal(last) }
	as := judge(staleSource{staticSource{org: org, bad: bad}, last})
	if len(as) == 0 || !as[0].DataThrough.Equal(last) {
		t.Fatalf("a drop on the last day: %d anomalies, data through %v", len(as), func() any {
			if len(as) > 0 {
				return as[0].DataThrough
			}
			return nil
		}())
	}
	em, err := render(Recipient{Email: "m@example.com", Lang: "zh-CN"}, []*Anomaly{&as[0]}, testLinks)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(em.Text, "数据截至: 2026年11月13日") {
		t.Errorf("the email does not say up to when the data was judged:\n%s", em.Text)
	}
}
