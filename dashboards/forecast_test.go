package dashboards

import (
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/query"
)

// TestForecastAPI: /api/v1/forecast answers each caller within the own
// scope. In the API fixture, as of 2024-03-01 in Q1 2024: r1 (East) won o1
// (100, 02-10) and holds o3 open (80); r3 (West) has only o5, lost 03-01 — so
// still open on 03-01's morning (30).
func TestForecastAPI(t *testing.T) {
	ts := newAPIServer(t)
	const path = "/api/v1/forecast?period=quarter&as_of=2024-03-01"
	cases := []struct {
		name, token, query string
		won, open          float64
		groups             []string
	}{
		{"director sees everything", "tok-director", "&group_by=team", 100, 110, []string{"East", "West"}},
		{"manager sees the own team", "tok-east", "&group_by=rep", 100, 80, []string{"r1"}},
		{"rep sees the own deals", "tok-ravi", "", 0, 30, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var fc query.Forecast
			if code := get(t, ts, c.token, path+c.query, &fc); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			if fc.From != "2024-01-01" || fc.To != "2024-04-01" || fc.AsOf != "2024-03-01" {
				t.Errorf("period %s..%s as of %s, want Q1 2024 as of 2024-03-01", fc.From, fc.To, fc.AsOf)
			}
			if math.Abs(fc.Total.Won-c.won) > 1e-9 || math.Abs(fc.Total.OpenAmount-c.open) > 1e-9 {
				t.Errorf("won %v, open %v; want %v, %v", fc.Total.Won, fc.Total.OpenAmount, c.won, c.open)
			}
			if fc.Total.Point < fc.Total.Won || fc.Total.P10 > fc.Total.Point || fc.Total.P90 < fc.Total.Point {
				t.Errorf("point %v outside won %v or range %v..%v", fc.Total.Point, fc.Total.Won, fc.Total.P10, fc.Total.P90)
			}
			var keys []string
			for _, g := range fc.Groups {
				keys = append(keys, g.Key)
			}
			if strings.Join(keys, ",") != strings.Join(c.groups, ",") {
				t.Errorf("groups %v, want %v", keys, c.groups)
			}
		})
	}
	for _, c := range []struct {
		token, query string
		code         int
	}{
		{"tok-east", "&team=West", http.StatusForbidden},
		{"tok-ravi", "&rep=r1", http.StatusForbidden},
		{"tok-director", "&period=year", http.StatusBadRequest},
		{"tok-director", "&group_by=segment", http.StatusBadRequest},
		{"tok-director", "&as_of=March", http.StatusBadRequest},
		{"", "", http.StatusUnauthorized},
	} {
		q := path + c.query
		switch {
		case strings.Contains(c.query, "period="):
			q = "/api/v1/forecast?as_of=2024-03-01" + c.query
		case strings.Contains(c.query, "as_of="):
			q = "/api/v1/forecast?period=quarter" + c.query
		}
		if code := get(t, ts, c.token, q, nil); code != c.code {
			t.Errorf("%s with %q: status %d, want %d", q, c.token, code, c.code)
		}
	}
}

// TestForecastPanel: the overview shows the forecast panel, in English and
// in Chinese; a forecast slower than the panel waits for does not hold the
// page, and shows at the next load.
func TestForecastPanel(t *testing.T) {
	d := newSmallServer(t)
	overview := func(lang string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, d.ts.URL+"/", nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Accept-Language", lang)
		req.Header.Set("X-Remote-User", "manager")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `id="forecast"`) {
			t.Fatalf("%s overview: status %d, no forecast panel: %.500s", lang, resp.StatusCode, b)
		}
		return string(b)
	}
	defer func(w time.Duration) { forecastPanelWait = w }(forecastPanelWait)
	forecastPanelWait = time.Nanosecond
	if body := overview("en"); !strings.Contains(body, "being computed") {
		t.Errorf("a forecast slower than the panel's wait does not say it is coming: %.500s", body)
	}
	forecastPanelWait = 5 * time.Second
	for _, c := range []struct{ lang, want string }{{"en", "Expected bookings"}, {"zh-CN", "预计签约额"}} {
		if body := overview(c.lang); !strings.Contains(body, c.want) {
			t.Errorf("%s overview: the forecast panel lacks %q: %.500s", c.lang, c.want, body)
		}
	}
}

// TestTargetSplitAPI: a proposed split answers within the caller's scope.
// The API fixture's bookings of 2024: o1 100 (r1, East).
func TestTargetSplitAPI(t *testing.T) {
	ts := newAPIServer(t)
	var v query.TargetSplit
	if code := get(t, ts, "tok-director", "/api/v1/targets/split?year=2025&amount=1000&group_by=team", &v); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if len(v.Groups) != 2 || v.Groups[0].Key != "East" || math.Abs(v.Groups[0].Share-(0.75+0.125)) > 1e-9 || len(v.Months) != 12 {
		t.Errorf("director's team split %+v", v.Groups)
	}
	if code := get(t, ts, "tok-east", "/api/v1/targets/split?year=2025&amount=600&group_by=rep", &v); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if len(v.Groups) != 1 || v.Groups[0].Key != "r1" || math.Abs(v.Groups[0].Amount-600) > 1e-9 {
		t.Errorf("East's manager splits among East's reps only: %+v", v.Groups)
	}
	for _, c := range []struct {
		token, q string
		code     int
	}{
		{"tok-east", "year=2025&amount=600&team=West", http.StatusForbidden},
		{"tok-director", "year=2025", http.StatusBadRequest},
		{"tok-director", "year=x&amount=1", http.StatusBadRequest},
	} {
		if code := get(t, ts, c.token, "/api/v1/targets/split?"+c.q, nil); code != c.code {
			t.Errorf("%s: status %d, want %d", c.q, code, c.code)
		}
	}
}
