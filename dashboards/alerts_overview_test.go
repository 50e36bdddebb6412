package dashboards

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pipelens/pipelens/alerts"
)

// TestOverviewAnomaliesInTheReadersWords: the overview's anomalies panel says
// what the Alerts page says — in zh-CN the metric's name and 已确认 for an
// acknowledged alert (it said "firing" and showed the stored English
// summary), and its link opens the Alerts page on the event.
func TestOverviewAnomaliesInTheReadersWords(t *testing.T) {
	d := newDemo(t, 1500)
	if err := alerts.Ack(context.Background(), d.db, "ev1", "Manny", ""); err != nil {
		t.Fatal(err)
	}
	c := d.client(t)
	if code := d.login(t, c, "manager", demoPassword); code != 303 {
		t.Fatalf("sign in: %d", code)
	}
	code, body := d.page(t, c, "/")
	if code != 200 {
		t.Fatalf("overview: %d", code)
	}
	m := regexp.MustCompile(`(?s)id="anomalies".*?</section>`).FindString(body)
	if m == "" {
		t.Fatal("the overview has no anomalies panel")
	}
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(m, " ")
	for _, w := range []string{d.teamA + " · 成交金额", "已确认"} {
		if !strings.Contains(text, w) {
			t.Errorf("the overview's anomalies do not say %q:\n%s", w, text)
		}
	}
	for _, w := range []string{"firing", "进行中", "Bookings of"} {
		if strings.Contains(text, w) {
			t.Errorf("the overview's anomalies say %q under zh-CN:\n%s", w, text)
		}
	}
	if !strings.Contains(m, `href="/alerts?event=ev1"`) {
		t.Errorf("the overview's anomaly does not link to its event on the Alerts page:\n%s", m)
	}
	// The Alerts page opened on it shows that event only.
	code, page := d.page(t, c, "/alerts?event=ev1")
	if code != 200 || !strings.Contains(page, `id="ev1"`) || strings.Contains(page, `id="ev2"`) {
		t.Errorf("/alerts?event=ev1: status %d, ev1 shown %v, ev2 shown %v", code, strings.Contains(page, `id="ev1"`), strings.Contains(page, `id="ev2"`))
	}
	// Another team's event is not found for this manager.
	if code, _ := d.page(t, c, "/alerts?event=ev2"); code != 404 {
		t.Errorf("/alerts?event=ev2 (team B's) for team A's manager: %d, want 404", code)
	}
}

// TestOverviewAnomaliesFollowTheFilter: the overview's anomalies panel lists
// the events of the filter's segments only (it listed every event in scope
// whatever the filter): team A's event under team=A, none under another
// team's rep or a territory, both unfiltered.
func TestOverviewAnomaliesFollowTheFilter(t *testing.T) {
	d := newDemo(t, 1500)
	c := d.client(t)
	if code := d.login(t, c, "director", demoPassword); code != 303 {
		t.Fatalf("sign in: %d", code)
	}
	panel := func(q string) string {
		code, body := d.page(t, c, "/?lang=en"+q)
		if code != 200 {
			t.Fatalf("overview%s: %d", q, code)
		}
		return regexp.MustCompile(`(?s)id="anomalies".*?</section>`).FindString(body)
	}
	for _, tc := range []struct {
		q        string
		ev1, ev2 bool
	}{
		{"", true, true},
		{"&team=" + url.QueryEscape(d.teamA), true, false},
		{"&team=" + url.QueryEscape(d.teamB), false, true},
		{"&rep=" + url.QueryEscape(d.repA), false, false},
		{"&territory=nowhere", false, false},
	} {
		m := panel(tc.q)
		if got1, got2 := strings.Contains(m, "event=ev1"), strings.Contains(m, "event=ev2"); got1 != tc.ev1 || got2 != tc.ev2 {
			t.Errorf("overview%s: ev1 %v ev2 %v, want %v %v", tc.q, got1, got2, tc.ev1, tc.ev2)
		}
		if !tc.ev1 && !tc.ev2 && !strings.Contains(m, `class="empty"`) {
			t.Errorf("overview%s: no event and the panel does not say so:\n%s", tc.q, m)
		}
	}
}
