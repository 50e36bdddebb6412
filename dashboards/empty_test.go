package dashboards

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Every endpoint and page answers a range or filter that selects nothing with
// 200 and explicit zeros, never 500 (avg() of no rows is NaN, which JSON
// cannot carry: /api/v1/cycle answered "json: unsupported value: NaN").
var panelRe = regexp.MustCompile(`(?s)<section class="panel.*?</section>`)

func TestEmptySelectionAnswers(t *testing.T) {
	d := newDemo(t, 300)
	endpoints := []string{"funnel", "conversion", "winrate", "winrate?group_by=team", "cycle", "cycle?group_by=rep",
		"days-in-stage", "movement", "leads", "attainment", "coverage", "reps", "territories", "deals", "series?metric=bookings"}
	pages := []string{"/", "/funnel", "/trends", "/reps", "/territories"}
	for _, filter := range []string{"from=2019-01-01&to=2019-02-01", "from=2019-01-01&to=2028-01-01&rep=nobody", "from=2019-01-01&to=2028-01-01&team=nobody"} {
		for _, e := range endpoints {
			sep := "?"
			if strings.Contains(e, "?") {
				sep = "&"
			}
			path := "/api/v1/" + e + sep + filter
			var v any
			if code := get(t, d.ts, "tok-director", path, &v); code != http.StatusOK {
				t.Errorf("%s: %d", path, code)
			}
		}
		for _, p := range pages {
			req, _ := http.NewRequest(http.MethodGet, d.ts.URL+p+"?"+filter, nil)
			req.Header.Set("Authorization", "Bearer tok-director")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("page %s?%s: %d %s", p, filter, resp.StatusCode, b)
			}
			// Every panel shows something: a table, chart, cards, list or
			// form, or a sentence saying there is nothing.
			for _, sec := range panelRe.FindAllString(string(b), -1) {
				if !strings.Contains(sec, "<table") && !strings.Contains(sec, `class="empty"`) && !strings.Contains(sec, `class="chart`) &&
					!strings.Contains(sec, `class="kpis"`) && !strings.Contains(sec, `class="items"`) && !strings.Contains(sec, "<form") && !strings.Contains(sec, `class="alerts"`) {
					t.Errorf("page %s?%s: a panel says nothing:\n%.600s", p, filter, sec)
				}
			}
		}
	}
	var c struct {
		Total struct {
			Count  int64    `json:"count"`
			Median *float64 `json:"median_days"`
		} `json:"total"`
	}
	if code := get(t, d.ts, "tok-director", "/api/v1/cycle?from=2019-01-01&to=2019-02-01", &c); code == http.StatusOK && (c.Total.Count != 0 || c.Total.Median == nil || *c.Total.Median != 0) {
		b, _ := json.Marshal(c)
		t.Errorf("cycle of an empty range: %s, want count 0 and zeros", b)
	}
}
