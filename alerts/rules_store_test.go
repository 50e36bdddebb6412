package alerts

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestRulesEditorRefusesBadRules: the editor answers a bad rule with its index
// and the setting at fault, through the config's own validation; an admin
// would otherwise save a set that never alerts.
func TestRulesEditorRefusesBadRules(t *testing.T) {
	e := &Engine{cfg: &Config{Defaults: RuleDefaults{Sensitivity: "medium", Mode: "immediate", DigestAt: "08:00", Schedule: "every 1h"}}, loc: time.UTC}
	cases := []struct {
		name, doc string
		index     int
		field     string
	}{
		{"unknown metric", "- name: ok\n  metric: leads\n- name: bad\n  metric: revenue_per_moon\n", 1, "metric"},
		{"daily model on a week grain", "- name: w\n  metric: opportunities_opened\n  grain: week\n  model: daily\n", 0, "model"},
		{"daily model on a rate", "rules:\n  - name: ok\n    metric: leads\n  - name: ok2\n    metric: leads\n  - name: wr\n    metric: win_rate\n    model: daily\n", 2, "model"},
		{"misspelt setting", `{"rules": [{"name": "x", "metric": "leads", "detectr": "seasonal"}]}`, 0, "detectr"},
		{"segment the metric cannot be cut by", "- metric: leads\n  segments: [galaxy]\n", 0, "segment"},
		{"same name twice", "- name: a\n  metric: leads\n- name: a\n  metric: opportunities_opened\n", 1, "name"},
		{"bad sensitivity", "- metric: leads\n  sensitivity: extreme\n", 0, "sensitivity"},
		{"config keys beside the rules", "rules:\n  - metric: leads\ndefaults:\n  sensitivity: high\n", -1, "defaults"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ParseRules(tc.doc)
			if err == nil {
				t.Fatalf("%s was accepted", tc.doc)
			}
			errs := RuleErrors(err)
			if len(errs) != 1 || errs[0].Index != tc.index || errs[0].Field != tc.field {
				var got []string
				for _, x := range errs {
					got = append(got, fmt.Sprintf("[%d] %s: %v", x.Index, x.Field, x.Err))
				}
				t.Fatalf("errors %v, want one at index %d on %s (%v)", got, tc.index, tc.field, err)
			}
		})
	}
	rules, err := e.ParseRules(`{"name": "one", "metric": "leads", "segments": ["all", "territory"]}`)
	if err != nil || len(rules) != 1 || rules[0].Detector != "seasonal" || rules[0].Grain != "day" {
		t.Fatalf("a single rule: %+v, %v; want one seasonal day rule", rules, err)
	}
	if _, err := e.ParseRules("[]"); !errors.Is(err, ErrNoRules) {
		t.Fatalf("an empty set: %v, want ErrNoRules", err)
	}
	// What the editor shows of a set reads back as the same set.
	doc, err := RulesDocument(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	back, err := e.ParseRules(doc)
	if err != nil || len(back) != len(DefaultRules()) {
		t.Fatalf("the default rules written out do not read back: %v\n%s", err, doc)
	}
	if strings.Contains(doc, "model:") || strings.Contains(doc, "lookback: 0s") {
		t.Errorf("the document lists settings left to their defaults:\n%s", doc)
	}
}

// TestSavedRulesRunNext: once an admin saves a set, the next evaluation runs
// it: a rule only in the saved set raises its events; the config's rules stop.
func TestSavedRulesRunNext(t *testing.T) {
	ctx := context.Background()
	db := schemastest.Open(t)
	truth := loadGen(t, db, gen.Config{Seed: 7, Opportunities: 2000})
	now := mustDate(t, truth.AsOf).AddDate(0, 0, 1)
	cfg := &Config{Rules: []Rule{{Name: "leads-only", Metric: MetricLeads, Segments: []string{SegAll}, Detector: "seasonal", Sensitivity: "low"}}}
	e, err := New(Options{DB: db, Config: config.Default(), Rules: cfg, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := e.Rules(ctx)
	if err != nil || rs.Source != "config" || len(rs.Rules) != 1 {
		t.Fatalf("before any save: %s v%d %d rules (%v), want the config's one rule", rs.Source, rs.Version, len(rs.Rules), err)
	}
	if !strings.Contains(rs.Document, "sensitivity: low") || strings.Contains(rs.Document, "schedule:") || rs.Rules[0].Schedule != "every 1h" {
		t.Errorf("the config's rules should read as written (defaults left out) and be in force with them:\n%s", rs.Document)
	}
	if _, err := e.RunOnce(ctx, now); err != nil {
		t.Fatal(err)
	}
	if n := countRule(t, e, "saved-stuck"); n != 0 {
		t.Fatalf("%d saved-stuck events before the set was saved", n)
	}
	saved, err := e.SaveRules(ctx, "- name: saved-stuck\n  detector: stuck_deal\n  segments: [team]\n", "admin")
	if err != nil {
		t.Fatal(err)
	}
	if saved.Version != 1 {
		t.Errorf("first saved set is version %d, want 1", saved.Version)
	}
	rs, err = e.Rules(ctx)
	if err != nil || rs.Source != "saved" || rs.Version != 1 || rs.SavedBy != "admin" || len(rs.Rules) != 1 || rs.Rules[0].Name != "saved-stuck" {
		t.Fatalf("after the save the rules in force are %s v%d by %q: %d rules (%v)", rs.Source, rs.Version, rs.SavedBy, len(rs.Rules), err)
	}
	s, err := e.RunOnce(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rules != 1 {
		t.Errorf("the evaluation after the save ran %d rules, want the saved set's 1", s.Rules)
	}
	if n := countRule(t, e, "saved-stuck"); n == 0 {
		t.Fatalf("no event of the saved rule after the evaluation (%s): the saved set was not used", s)
	}
	if _, err := e.SaveRules(ctx, "- name: other\n  metric: leads\n", "admin"); err != nil {
		t.Fatal(err)
	}
	if rs, _ := e.Rules(ctx); rs.Version != 2 || rs.Rules[0].Name != "other" {
		t.Fatalf("after a second save the set in force is v%d %s, want v2 other", rs.Version, rs.Rules[0].Name)
	}
}

func countRule(t *testing.T, e *Engine, rule string) int {
	t.Helper()
	evs, err := readEvents(context.Background(), e.db, "rule = ?", rule)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// TestPreviewIsWhatRunAtRaises: a preview judges each day as `pipelens alerts
// run --at DAY` does: on the last days of a 90-day preview, the anomalies of
// each day and the events each run opens are RunOnce's, one run a day. A
// preview that differed would promise an admin alerts that never come.
func TestPreviewIsWhatRunAtRaises(t *testing.T) {
	ctx := context.Background()
	db := schemastest.Open(t)
	truth := loadGen(t, db, gen.Config{Seed: 7, Opportunities: demoOpps})
	rules := DefaultRules()
	rules = append(rules, Rule{Name: "bookings-weekly", Metric: MetricBookings, Grain: "week", Segments: []string{SegAll, SegTeam}, Detector: "level_shift"})
	cfg := &Config{Rules: rules}
	e, err := New(Options{DB: db, Config: config.Default(), Rules: cfg, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	now := mustDate(t, truth.AsOf).AddDate(0, 0, 1)
	p, err := e.Preview(ctx, e.cfg.Rules, 90, now.AddDate(0, 0, 30), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("90-day preview of %d rules on %d opportunities: %s", len(rules), demoOpps, p.Took)
	if !p.To.Equal(now) || p.Days != 90 {
		t.Fatalf("preview %s – %s (%d days), want 90 days to the day after the export %s", p.From, p.To, p.Days, now)
	}
	total := 0
	for _, r := range p.Rules {
		total += len(r.Events)
		if r.Days != 90 || !r.From.Equal(p.From) {
			t.Errorf("rule %s judged %d days from %s without a time budget, want 90 from %s", r.Rule, r.Days, r.From, p.From)
		}
	}
	if !p.Complete {
		t.Error("a preview without a time budget says it is incomplete")
	}
	if cut, err := e.Preview(ctx, e.cfg.Rules, 90, now, time.Nanosecond); err != nil || cut.Complete || cut.Rules[0].Days != 0 || len(cut.Rules[0].Events) != 0 {
		t.Errorf("a preview whose budget is spent at once: complete %v, first rule %d days %d events (%v); want incomplete and nothing judged",
			cut.Complete, cut.Rules[0].Days, len(cut.Rules[0].Events), err)
	}
	if total == 0 {
		t.Fatal("the preview raised nothing in 90 days of a sample with planted anomalies")
	}
	// Per day, what the preview judged; the last four days are compared.
	days := 4
	from := now.AddDate(0, 0, 1-days)
	judged, err := e.judgeAll(ctx, e.cfg.Rules, from, now, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[time.Time][]string{}
	for _, days := range judged {
		for k, as := range days {
			for _, a := range as {
				d := from.AddDate(0, 0, k)
				want[d] = append(want[d], fmt.Sprintf("%s %.4g %.4g", a.Key, a.Actual, a.Expected))
			}
		}
	}
	opened := map[time.Time]int{}
	for _, r := range p.Rules {
		for _, x := range r.Events {
			opened[x.Day]++
		}
	}
	for d := from; !d.After(now); d = d.AddDate(0, 0, 1) {
		s, err := e.RunOnce(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := readEvents(ctx, db, "status = 'firing'")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range evs {
			got = append(got, fmt.Sprintf("%s %.4g %.4g", x.Key, x.Actual, x.Expected))
		}
		sort.Strings(got)
		sort.Strings(want[d])
		if strings.Join(got, "\n") != strings.Join(want[d], "\n") {
			t.Errorf("as of %s, alerts run fires\n%s\nthe preview\n%s", d.Format(time.DateOnly), strings.Join(got, "\n"), strings.Join(want[d], "\n"))
		}
		if d.After(from) && s.Opened != opened[d] {
			t.Errorf("as of %s, alerts run opened %d events, the preview %d", d.Format(time.DateOnly), s.Opened, opened[d])
		}
	}
}
