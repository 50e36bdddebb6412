package alerts

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var testLinks = linker{base: "https://pipelens.example.com", path: "/trends", dealPath: "/funnel", ratePath: "/reps"}

// dealAnomaly is a deal alert of kind on a deal created long before the range
// the rule looks at, seen in today's export.
func dealAnomaly(kind string) *Anomaly {
	today := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	d := &Deal{ID: "OPP-42", Name: "Big deal", Account: "Acme", OwnerID: "RA1", Stage: "proposal", Amount: 523000, Currency: "CNY",
		CloseDate: today.AddDate(0, 1, 0), Created: today.AddDate(0, -8, 0)}
	a := &Anomaly{Key: kind + "|deal|OPP-42", Rule: kind, Metric: "deals", Detector: kind, Kind: kind, Grain: "day", SegmentKind: SegRep,
		Segment: "RA1", SegmentLabel: "Tom Lee", Team: "A", RepID: "RA1", Deal: d, Direction: 1, Since: today, To: today}
	switch kind {
	case "stuck_deal":
		a.Actual, a.Expected, a.High, a.Since = 120, 20, 45, today.AddDate(0, 0, -120)
	case "pushed_close":
		a.Actual = 3
	case "amount_cut":
		a.Actual, a.Expected, a.Direction, a.Score = 52300, 523000, -1, 0.9
	}
	a.From = a.Since.AddDate(0, 0, -28)
	return a
}

func winRateAnomaly() *Anomaly {
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	return &Anomaly{Key: "winrate|win_rate|team|华北一组|down", Rule: "winrate", Metric: MetricWinRate, Grain: "day", SegmentKind: SegTeam,
		Segment: "华北一组", SegmentLabel: "华北一组", Team: "华北一组", Detector: "rate", Kind: "rate", Direction: -1,
		Actual: 0.038, Expected: 0.126, Low: 0.09, High: 0.16, Since: end.AddDate(0, 0, -70), From: end.AddDate(0, 0, -56), To: end}
}

// TestEmailLinksOpenWhatTheyNamed: a deal's link opens the funnel on that
// deal (the funnel selects it by stage, rep and id, among deals created in the
// range), the win rate's opens the reps page (the trends page has no win-rate
// chart), and every range starts by the anomaly's start and holds its day.
func TestEmailLinksOpenWhatTheyNamed(t *testing.T) {
	cases := []struct {
		name     string
		a        *Anomaly
		path     string
		want     map[string]string
		earliest time.Time // from must be on or before
		seen     time.Time // to must be after
	}{
		{"stuck deal", dealAnomaly("stuck_deal"), "/funnel", map[string]string{"deal": "OPP-42", "rep": "RA1", "stage": "proposal"},
			time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)},
		{"pushed close date", dealAnomaly("pushed_close"), "/funnel", map[string]string{"deal": "OPP-42", "rep": "RA1", "stage": "proposal"},
			time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)},
		{"win rate", winRateAnomaly(), "/reps", map[string]string{"team": "华北一组"},
			time.Date(2026, 9, 11, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)},
		{"opportunities opened", dropAnomaly("A"), "/trends", map[string]string{"team": "A", "metric": MetricOppsOpened},
			time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(testLinks.link(tc.a))
			if err != nil {
				t.Fatal(err)
			}
			if u.Path != tc.path {
				t.Errorf("link %s goes to %s, want %s", u, u.Path, tc.path)
			}
			q := u.Query()
			for k, v := range tc.want {
				if q.Get(k) != v {
					t.Errorf("link %s: %s=%q, want %q: the page would not open on it", u, k, q.Get(k), v)
				}
			}
			from, err1 := time.Parse(time.DateOnly, q.Get("from"))
			to, err2 := time.Parse(time.DateOnly, q.Get("to"))
			if err1 != nil || err2 != nil {
				t.Fatalf("link %s: no from/to range", u)
			}
			if from.After(tc.earliest) {
				t.Errorf("link %s starts %s, after %s: the anomaly's start (or the deal) is outside the range", u, q.Get("from"), tc.earliest.Format(time.DateOnly))
			}
			if !to.After(tc.seen) {
				t.Errorf("link %s ends %s (exclusive): the day it was seen, %s, is not in the range", u, q.Get("to"), tc.seen.Format(time.DateOnly))
			}
		})
	}
}

// TestArrowColourMeansGoodOrBad: green is good news for the metric and red
// bad, whichever way the arrow points.
func TestArrowColourMeansGoodOrBad(t *testing.T) {
	const green, red = "#1e8449", "#c0392b"
	spike := dropAnomaly("A")
	spike.Kind, spike.Direction, spike.Actual = "spike", 1, 30
	slower := dropAnomaly("A")
	slower.Metric, slower.Direction, slower.Actual, slower.Expected = MetricDaysInStage, 1, 40, 20
	faster := dropAnomaly("A")
	faster.Metric, faster.Direction, faster.Actual, faster.Expected = MetricDaysInStage, -1, 10, 20
	cases := []struct {
		name   string
		a      *Anomaly
		arrow  string
		colour string
	}{
		{"stuck deal", dealAnomaly("stuck_deal"), "▲", red},
		{"pushed close date", dealAnomaly("pushed_close"), "▲", red},
		{"amount cut", dealAnomaly("amount_cut"), "▼", red},
		{"fewer opportunities", dropAnomaly("A"), "▼", red},
		{"more opportunities", spike, "▲", green},
		{"longer in stage", slower, "▲", red},
		{"shorter in stage", faster, "▼", green},
		{"lower win rate", winRateAnomaly(), "▼", red},
	}
	re := regexp.MustCompile(`<span style="color:(#[0-9a-f]{6});">([^<]*)</span>`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			em, err := render(Recipient{Email: "m@example.com", Lang: "en"}, []*Anomaly{tc.a}, testLinks)
			if err != nil {
				t.Fatal(err)
			}
			m := re.FindStringSubmatch(em.HTML)
			if m == nil {
				t.Fatal("no coloured arrow in the HTML")
			}
			if m[2] != tc.arrow || m[1] != tc.colour {
				t.Errorf("arrow %s in %s, want %s in %s (green is good news, red bad)", m[2], m[1], tc.arrow, tc.colour)
			}
		})
	}
}

// TestChineseEmailFormatsByUnit: a Chinese email says 3.8% and 12.6%, not 0.0
// and 0.1, amounts in 万, and no metric key.
func TestChineseEmailFormatsByUnit(t *testing.T) {
	cases := []struct {
		name string
		a    *Anomaly
		want []string
	}{
		{"win rate", winRateAnomaly(), []string{"赢单率下降", "3.8%", "12.6%", "9.0% – 16.0%"}},
		{"amount cut", dealAnomaly("amount_cut"), []string{"52.3万 → 52.3万", "金额"}},
		{"bookings", func() *Anomaly {
			a := dropAnomaly("A")
			a.Metric, a.Actual, a.Expected, a.Low, a.High = MetricBookings, 52300, 1234567, 0, 0
			return a
		}(), []string{"成交金额", "5.2万", "123.5万"}},
	}
	cases[1].want = []string{"金额变化: 52.3万 → 5.2万", "52.3万 CNY"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			em, err := render(Recipient{Email: "m@example.com", Lang: "zh-CN"}, []*Anomaly{tc.a}, testLinks)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(em.Text, w) {
					t.Errorf("the Chinese email does not say %q:\n%s", w, em.Text)
				}
			}
			for _, bad := range []string{"win_rate", "0.0 ", "52300", "52,300", "firing"} {
				if strings.Contains(em.Text, bad) {
					t.Errorf("the Chinese email says %q:\n%s", bad, em.Text)
				}
			}
		})
	}
}

// TestDescribeNamesTheDeal: a deal alert reads with its deal's name (kept in
// the stored summary after the English title), in the reader's language; the
// name may itself hold " · ".
func TestDescribeNamesTheDeal(t *testing.T) {
	a := dealAnomaly("amount_cut")
	var e Event
	fillEvent(&e, a, nil, time.Now(), linker{})
	got := Describe("zh-CN", e)
	want := "商机金额下调 · " + a.Deal.Name + " · " + a.SegmentLabel
	if got != want {
		t.Errorf("Describe = %q, want %q (stored summary %q)", got, want, e.Summary)
	}
	e.Summary = "Deal amount cut by 75% · 华光 · 年度支持"
	if got := Describe("en", e); got != "Deal amount cut · 华光 · 年度支持 · "+a.SegmentLabel {
		t.Errorf("a name with a dot: Describe = %q", got)
	}
	e.Key = a.Key
	if id := DealID(e); id != "OPP-42" {
		t.Errorf("DealID of key %q = %q, want OPP-42", e.Key, id)
	}
}
