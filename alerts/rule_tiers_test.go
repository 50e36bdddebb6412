package alerts

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestTierRuleConfig: a tier_service rule defaults to reps, threshold 1 and
// its metric; territory and another metric are refused with the field.
func TestTierRuleConfig(t *testing.T) {
	c := &Config{Rules: []Rule{{Name: "tiers", Detector: "tier_service"}}}
	if err := c.normalize(time.UTC); err != nil {
		t.Fatal(err)
	}
	r := c.Rules[0]
	if r.Metric != MetricAccountsBelowTier || strings.Join(r.Segments, ",") != SegRep || r.Threshold != 1 {
		t.Errorf("defaults: metric %q segments %v threshold %v", r.Metric, r.Segments, r.Threshold)
	}
	for _, bad := range []Rule{
		{Detector: "tier_service", Segments: []string{SegTerritory}},
		{Detector: "tier_service", Metric: MetricBookings},
	} {
		c := &Config{Rules: []Rule{bad}}
		err := c.normalize(time.UTC)
		if err == nil || !strings.Contains(err.Error(), "tier_service") {
			t.Errorf("%+v: got %v, want an error naming tier_service", bad, err)
		}
	}
}

// TestTierRuleEmailsTheManager: on the generated sample, a tier_service rule
// per rep and team raises one alert per owner with at least its threshold of
// accounts below their tier's service level — exactly query.Tiers' count
// for that owner, as of the export's last day — names the worst accounts,
// links to the tiers page of that rep, and the manager's email (real SMTP)
// says it in Chinese.
func TestTierRuleEmailsTheManager(t *testing.T) {
	db := schemastest.Open(t)
	truth := loadGen(t, db, gen.Config{Seed: 11, Opportunities: 1500})
	ctx := context.Background()
	asOf := mustDate(t, truth.AsOf).Add(9 * time.Hour)
	q := query.New(db, time.UTC, quietLog())
	at, err := q.Tiers(ctx, query.Unrestricted, query.Filter{From: mustDate(t, truth.AsOf), To: mustDate(t, truth.AsOf).AddDate(0, 0, 1)}, config.DefaultTiers(), false)
	if err != nil {
		t.Fatal(err)
	}
	const threshold = 3
	want := map[string]int{}
	for _, o := range at.ByRep {
		if o.Key != query.NoRep && o.Below >= threshold {
			want["rep|"+o.Key] = o.Below
		}
	}
	for _, o := range at.ByTeam {
		if o.Below >= threshold {
			want["team|"+o.Key] = o.Below
		}
	}
	if len(want) < 2 || len(want) == len(at.ByRep)+len(at.ByTeam) {
		t.Fatalf("the sample should have some owners at or above %d accounts below their level and some not: %d of %d", threshold, len(want), len(at.ByRep)+len(at.ByTeam))
	}
	ms := startMailServer(t)
	cfg := config.Default()
	cfg.SMTP = smtpConfig(ms.addr)
	cfg.Server.BaseURL = "https://pipelens.example.com"
	rules := &Config{Lang: "zh-CN", Rules: []Rule{{Name: "tiers", Detector: "tier_service", Segments: []string{SegRep, SegTeam}, Threshold: threshold}}}
	e, err := New(Options{DB: db, Config: cfg, Rules: rules, Logger: quietLog(), Now: func() time.Time { return asOf }})
	if err != nil {
		t.Fatal(err)
	}
	org, err := e.src.Org(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ev := &evaluator{src: e.src, loc: e.loc, cal: e.cal, org: org, last: map[string]lastDay{}}
	as, err := ev.tierService(ctx, &e.cfg.Rules[0], asOf)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, a := range as {
		got[a.SegmentKind+"|"+a.Segment] = int(a.Actual)
		if len(a.Drivers) == 0 || len(a.Drivers) > maxTierAccounts || len(a.Drivers) > int(a.Actual) {
			t.Errorf("%s: %d accounts named for %v below", a.Key, len(a.Drivers), a.Actual)
		}
		if link := e.links.link(&a); !strings.Contains(link, "/tiers?") || (a.SegmentKind == SegRep && !strings.Contains(link, "rep="+a.Segment)) {
			t.Errorf("%s links to %s, want the tiers page of its owner", a.Key, link)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d alerts, want %d", len(got), len(want))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d accounts below, want %d (query.Tiers)", k, got[k], n)
		}
	}
	s, err := e.RunOnce(ctx, asOf)
	if err != nil {
		t.Fatal(err)
	}
	if s.Anomalies != len(want) || s.Delivery.Sent == 0 {
		t.Fatalf("run: %s", s)
	}
	var zh int
	for _, m := range ms.received() {
		subject, body := planDecodeMail(t, m.data)
		body = subject + body
		if strings.Contains(body, "个客户低于其分级的联系频率") && (strings.Contains(body, "天前") || strings.Contains(body, "从未联系")) &&
			(strings.Contains(body, "（战略）") || strings.Contains(body, "（重点）") || strings.Contains(body, "（核心）") || strings.Contains(body, "（普通）")) {
			zh++
		}
	}
	if zh == 0 {
		t.Errorf("no email says in Chinese how many accounts are below their level and when they were last contacted (%d emails)", len(ms.received()))
	}
}
