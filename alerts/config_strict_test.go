package alerts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/alerts/detect"
	"github.com/pipelens/pipelens/schemas/config"
)

// TestAlertsSectionIsDecodedStrictly reads whole config files and checks their
// alerts section: a misspelt key is refused naming the key and its line in
// the file (a typo in `detector` or `quiet_hours` used to leave the rule on
// its default without a word), and a correct section still loads.
func TestAlertsSectionIsDecodedStrictly(t *testing.T) {
	for _, k := range []string{"PIPELENS_CONFIG", "PIPELENS_HOME", "PIPELENS_ADDR", "PIPELENS_TIMEZONE", "PIPELENS_CLICKHOUSE_URL"} {
		t.Setenv(k, "")
	}
	for _, tc := range []struct{ name, body, want string }{
		{"top", "timezone: UTC\nalerts:\n  evaluate_evry: 5m\n", "line 3: unknown key alerts.evaluate_evry"},
		{"rule", "alerts:\n  rules:\n    - name: opened\n      metric: opportunities_opened\n      detectr: seasonal\n", "line 5: unknown key alerts.rules[0].detectr"},
		{"defaults", "alerts:\n  defaults:\n    quiet_hour: 22:00-07:00\n", "line 3: unknown key alerts.defaults.quiet_hour"},
		{"calendar", "alerts:\n  calendar:\n    preset: cn\n    holiday: [2026-10-01]\n", "line 4: unknown key alerts.calendar.holiday"},
		{"silence", "alerts:\n  silences:\n    - {rule: opened, untill: 2026-12-01}\n", "line 3: unknown key alerts.silences[0].untill"},
		{"type", "alerts:\n  max_attempts: many\n", "cannot unmarshal"},
		{"good", "alerts:\n  evaluate_every: 1m\n  lang: zh-CN\n  defaults: {quiet_hours: \"22:00-07:00\"}\n  rules:\n    - {name: opened, metric: opportunities_opened, segments: [team], detector: seasonal}\n", ""},
		{"empty", "home: x\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "pipelens.yaml")
			if err := os.WriteFile(p, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := config.Load(p)
			if err != nil {
				t.Fatalf("config.Load: %v (the alerts section is the alerts package's to check)", err)
			}
			rules, err := ParseConfig(&c.Alerts, time.UTC)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("a correct alerts section was refused: %v", err)
			case tc.want == "" && len(rules.Rules) == 0:
				t.Fatal("no rules")
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("alerts section %q: error %v, want one saying %q", tc.body, err, tc.want)
			}
		})
	}
}

// A rule's model is "daily", "classic" or none, and set only on day-grain
// seasonal or level_shift rules on counts and amounts; daily (and none, the
// default) reads a year of history, classic 16 weeks.
func TestRuleModel(t *testing.T) {
	for _, c := range []struct {
		rule Rule
		ok   bool
	}{
		{Rule{Name: "a", Metric: MetricOppsOpened, Detector: "seasonal", Model: "daily"}, true},
		{Rule{Name: "b", Metric: MetricBookings, Detector: "level_shift", Model: "daily"}, true},
		{Rule{Name: "c", Metric: MetricWinRate, Detector: "rate", Model: "daily"}, false},
		{Rule{Name: "d", Metric: MetricOppsOpened, Detector: "seasonal", Grain: "week", Model: "daily"}, false},
		{Rule{Name: "e", Metric: MetricOppsOpened, Detector: "seasonal", Model: "weekly"}, false},
		{Rule{Name: "f", Metric: MetricOppsOpened, Detector: "seasonal", Model: "classic"}, true},
		{Rule{Name: "g", Metric: MetricWinRate, Detector: "rate", Model: "classic"}, false},
		{Rule{Name: "h", Metric: MetricPipelineCreated, Detector: "level_shift"}, true},
	} {
		cfg := Config{Rules: []Rule{c.rule}}
		err := cfg.normalize(time.UTC)
		if (err == nil) != c.ok {
			t.Errorf("%s (%s, %s, model %q): %v, want ok %v", c.rule.Name, c.rule.Metric, c.rule.Detector, c.rule.Model, err, c.ok)
		}
		want := detect.DailyLookback
		if c.rule.Model == "classic" {
			want = 16 * 7 * 24 * time.Hour
		}
		if err == nil && cfg.Rules[0].Lookback != want {
			t.Errorf("%s: model %q reads %v of history, want %v", c.rule.Name, c.rule.Model, cfg.Rules[0].Lookback, want)
		}
	}
}
