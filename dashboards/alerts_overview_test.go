package dashboards

import (
	"context"
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
