package alerts

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// pageEvents runs the default rules over the last twelve weeks of the demo's
// sample and stores what they find as events (at most perRule per rule), plus
// one made-up event for a default rule that found nothing, so every default
// rule has an event on the Alerts page. as[i] is the anomaly of evs[i], with
// its EventID.
func pageEvents(t *testing.T, db *schemas.DB, truth *gen.Truth, perRule int) (evs []*Event, as []Anomaly) {
	t.Helper()
	ctx := context.Background()
	e, err := New(Options{DB: db, Rules: plantedRules(), Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	asOf := mustDate(t, truth.AsOf).AddDate(0, 0, 1)
	eps := sweep(t, e, asOf.AddDate(0, 0, -84), asOf)
	org, err := e.src.Org(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	n := map[string]int{}
	add := func(a Anomaly) {
		x := &Event{Key: a.Key, OpenedAt: now}
		fillEvent(x, &a, nil, now, e.links)
		x.ID = eventID(x.Key, x.OpenedAt)
		a.EventID = x.ID
		evs = append(evs, x)
		as = append(as, a)
		n[a.Rule+"|"+a.SegmentKind]++
	}
	// One episode per key: every event here opens at now, so two episodes of one
	// segment would share an event id.
	keys := map[string]bool{}
	for _, ep := range eps {
		if n[ep.a.Rule+"|"+ep.a.SegmentKind] < perRule && !keys[ep.a.Key] {
			keys[ep.a.Key] = true
			add(ep.a)
		}
	}
	var team, territory string
	var rep Person
	for _, p := range org.Reps {
		if p.Team != "" && p.Role == "rep" && team == "" {
			team, rep = p.Team, p
		}
		if p.Territory != "" && territory == "" {
			territory = p.Territory
		}
	}
	for _, r := range DefaultRules() {
		kinds := r.Segments
		if dealDetectors[r.Detector] {
			kinds = []string{SegRep}
		}
		for _, k := range kinds {
			if n[r.Name+"|"+k] > 0 {
				continue
			}
			t.Logf("rule %s by %s found nothing in twelve weeks: a made-up event stands in", r.Name, k)
			a := Anomaly{Rule: r.Name, Metric: r.Metric, Detector: r.Detector, Kind: r.Detector, Grain: "day", SegmentKind: k,
				Direction: -1, Actual: 3, Expected: 9, Since: asOf.AddDate(0, 0, -10), From: asOf.AddDate(0, 0, -60), To: asOf}
			switch k {
			case SegTeam:
				a.Segment, a.SegmentLabel, a.Team = team, team, team
			case SegTerritory:
				a.Segment, a.SegmentLabel = territory, territory
			case SegRep:
				a.Segment, a.SegmentLabel, a.Team, a.RepID = rep.ID, rep.Name, rep.Team, rep.ID
			}
			if r.Metric == MetricWinRate {
				a.Actual, a.Expected = 0.038, 0.126
			}
			if r.Metric == "" {
				a.Metric = "deals"
			}
			a.Key = strings.Join([]string{a.Rule, a.Metric, a.SegmentKind, a.Segment, "down"}, "|")
			add(a)
		}
	}
	if err := writeEvents(ctx, db, evs); err != nil {
		t.Fatal(err)
	}
	return evs, as
}

var articleRE = regexp.MustCompile(`(?s)<article class="alert[^"]*" id="([^"]+)">(.*?)</article>`)

// TestAlertsPageChartsEveryDefaultRule: on the demo's data, every event the
// default rules raise shows its chart on the Alerts page. Before, only
// leads had one: opportunities_opened, win_rate, segment kind all and the
// deal alerts silently showed none.
func TestAlertsPageChartsEveryDefaultRule(t *testing.T) {
	if StartDashboards == nil {
		t.Fatal("dashboards not linked into this test binary (alerts/e2e_dashboards_test.go)")
	}
	db := schemastest.Open(t)
	truth := loadGen(t, db, gen.Config{Seed: 7, Opportunities: demoOpps})
	evs, _ := pageEvents(t, db, truth, 3)
	base := StartDashboards(t, db, e2eToken, "")
	req, _ := http.NewRequest(http.MethodGet, base+"/alerts", nil)
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/alerts: status %d: %.500s", resp.StatusCode, b)
	}
	arts := map[string]string{}
	for _, m := range articleRE.FindAllStringSubmatch(string(b), -1) {
		arts[m[1]] = m[2]
	}
	rules := map[string]bool{}
	for _, x := range evs {
		art, ok := arts[x.ID]
		if !ok {
			t.Errorf("event %s (%s %s %s) is not on the Alerts page", x.ID, x.Rule, x.Metric, x.SegmentKind)
			continue
		}
		if !strings.Contains(art, `class="chart"`) {
			why := ""
			if m := regexp.MustCompile(`chart-error">([^<]*)`).FindStringSubmatch(art); m != nil {
				why = ": " + m[1]
			}
			t.Errorf("rule %s, %s by %s %s: the Alerts page shows no chart%s", x.Rule, x.Metric, x.SegmentKind, x.SegmentLabel, why)
		}
		rules[x.Rule] = true
	}
	for _, r := range DefaultRules() {
		if !rules[r.Name] {
			t.Errorf("no event of default rule %s on the page", r.Name)
		}
	}
	t.Logf("%d events of %d rules, each with its chart checked", len(evs), len(rules))
}

// TestAlertsPageSpeaksTheReadersLanguage: under zh-CN the Alerts page says
// 3.8% and 12.6% (not 0.0 and 0.1), 5.2万 (not 52300.0), the metric's name
// (not win_rate), 已确认 on an acknowledged alert (not 进行中), and colours a
// stuck deal bad though its arrow points up.
func TestAlertsPageSpeaksTheReadersLanguage(t *testing.T) {
	if StartDashboards == nil {
		t.Fatal("dashboards not linked into this test binary (alerts/e2e_dashboards_test.go)")
	}
	ctx := context.Background()
	db := schemastest.Open(t)
	truth := loadGen(t, db, gen.Config{Seed: 7, Opportunities: 2000})
	asOf := mustDate(t, truth.AsOf)
	now := time.Now().UTC().Truncate(time.Second)
	mk := func(a *Anomaly) *Event {
		x := &Event{Key: a.Key, OpenedAt: now}
		fillEvent(x, a, nil, now, testLinks)
		x.ID = eventID(x.Key, now)
		return x
	}
	wr := winRateAnomaly()
	wr.Since, wr.From, wr.To = asOf.AddDate(0, 0, -20), asOf.AddDate(0, 0, -56), asOf
	bk := dropAnomaly("华北一组")
	bk.Key, bk.Metric, bk.Actual, bk.Expected = "bookings|bookings|team|华北一组|down", MetricBookings, 52300, 1234567
	st := dealAnomaly("stuck_deal")
	evs := []*Event{mk(wr), mk(bk), mk(st)}
	if err := writeEvents(ctx, db, evs); err != nil {
		t.Fatal(err)
	}
	if err := Ack(ctx, db, evs[1].ID, "Anna", ""); err != nil {
		t.Fatal(err)
	}
	base := StartDashboards(t, db, e2eToken, "")
	req, _ := http.NewRequest(http.MethodGet, base+"/alerts?lang=zh-CN", nil)
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	arts := map[string][2]string{}
	for _, m := range regexp.MustCompile(`(?s)<article class="alert ([^"]*)" id="([^"]+)">(.*?)</article>`).FindAllStringSubmatch(string(b), -1) {
		arts[m[2]] = [2]string{m[1], m[3]}
	}
	cases := []struct {
		name       string
		ev         *Event
		class      string
		want, miss []string
	}{
		{"win rate", evs[0], "bad", []string{"华北一组 · 赢单率", "3.8%", "12.6%", "进行中"}, []string{"win_rate", "0.0 ", "firing"}},
		{"acknowledged bookings", evs[1], "bad", []string{"成交金额", "5.2万", "123.5万", "已确认"}, []string{"52300", "进行中", "firing", "bookings"}},
		{"stuck deal", evs[2], "bad", []string{"商机停滞", "120.0", "20.0"}, []string{"deals", "firing"}},
	}
	for _, tc := range cases {
		art, ok := arts[tc.ev.ID]
		if !ok {
			t.Errorf("%s: not on the page", tc.name)
			continue
		}
		if art[0] != tc.class {
			t.Errorf("%s: coloured %q, want %q", tc.name, art[0], tc.class)
		}
		// What a reader sees: no markup, class names or chart specs.
		text := regexp.MustCompile(`(?s)<form.*?</form>|<script.*?</script>`).ReplaceAllString(art[1], "")
		text = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(text, " ")
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the page does not say %q:\n%s", tc.name, w, text)
			}
		}
		for _, w := range tc.miss {
			if strings.Contains(text, w) {
				t.Errorf("%s: the page says %q:\n%s", tc.name, w, text)
			}
		}
	}
}

// TestAlertLinksOpenOnTheDashboards follows the links of the deal alerts the
// default rules raise on the demo's data, and of a team's win-rate alert, into
// the dashboards: the funnel opens on the deal (its panel is there), and the
// reps page answers for the team with its win rates.
func TestAlertLinksOpenOnTheDashboards(t *testing.T) {
	if StartDashboards == nil {
		t.Fatal("dashboards not linked into this test binary (alerts/e2e_dashboards_test.go)")
	}
	ctx := context.Background()
	db := schemastest.Open(t)
	truth := loadGen(t, db, gen.Config{Seed: 7, Opportunities: demoOpps})
	e, err := New(Options{DB: db, Rules: plantedRules(), Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	asOf := mustDate(t, truth.AsOf).AddDate(0, 0, 1)
	org, err := e.src.Org(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base := StartDashboards(t, db, e2eToken, "")
	l := linker{base: base, path: "/trends", dealPath: "/funnel", ratePath: "/reps"}
	get := func(u string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+e2eToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("follow %s: %v", u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ev := &evaluator{src: e.src, loc: e.loc, cal: e.cal, org: org}
	for _, r := range DefaultRules() {
		if !dealDetectors[r.Detector] {
			continue
		}
		c := &Config{Rules: []Rule{r}}
		if err := c.normalize(time.UTC); err != nil {
			t.Fatal(err)
		}
		as, err := ev.rule(ctx, &c.Rules[0], asOf)
		if err != nil {
			t.Fatal(err)
		}
		if len(as) == 0 {
			t.Logf("rule %s found no deal on the demo's data", r.Name)
			continue
		}
		for _, a := range as[:min(len(as), 3)] {
			u := l.link(&a)
			code, body := get(u)
			if code != http.StatusOK || !strings.Contains(body, `id="deal"`) {
				t.Errorf("rule %s: the link %s answers %d without the deal %s's panel: a manager clicking it would not see the deal", r.Name, u, code, a.Deal.ID)
			}
		}
	}
	team := ""
	for _, p := range org.Reps {
		if p.Team != "" {
			team = p.Team
			break
		}
	}
	wr := winRateAnomaly()
	wr.Segment, wr.SegmentLabel, wr.Team = team, team, team
	wr.Since, wr.From, wr.To = asOf.AddDate(0, 0, -40), asOf.AddDate(0, 0, -56), asOf
	u := l.link(wr)
	if code, body := get(u); code != http.StatusOK || !strings.Contains(body, team) || !strings.Contains(body, "chart-winrates") {
		t.Errorf("win-rate link %s: status %d, names the team %v, shows win rates %v", u, code, strings.Contains(body, team), strings.Contains(body, "chart-winrates"))
	}
}
