package dashboards

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestAnomaliesAPI: /api/v1/anomalies lists the alert events a caller may see
// (a manager the own team's, a rep the own), and acknowledging or snoozing
// one shows everywhere the event is read.
func TestAnomaliesAPI(t *testing.T) {
	db := schemastest.Open(t)
	loadAPIFixture(t, db)
	insertAlertEvents(t, db, "East", "West") // ev1 East, ev2 West (team bookings drops)
	now := time.Now().UTC().Truncate(time.Second)
	since := now.AddDate(0, 0, -3).Truncate(24 * time.Hour)
	// ev3: Ravi's (r3, West) win rate.
	if err := db.InsertRows(context.Background(), "test-alerts", `INSERT INTO alert_events (event_id, key, rule, metric, grain, segment_kind, segment, segment_label, team, detector, kind, direction,
    actual, expected, score, since, period_from, period_to, summary, drivers, recipients, status, opened_at, last_seen_at, notified_at, notify_count, resolved_at, version)`,
		[]any{"ev3", "kr3", "winrate", "win_rate", "week", "rep", "r3", "Ravi", "West", "rate", "rate", int8(-1),
			0.038, 0.126, 3.1, since, since.AddDate(0, 0, -60), now, "", "[]", []string{"m2@example.com"},
			"firing", now.Add(-time.Hour), now, now, uint32(1), time.Unix(0, 0).UTC(), uint64(3)}); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Auth.Tokens = []config.Token{
		{Name: "boss", Token: "tok-director", Role: "director"},
		{Name: "ming", Token: "tok-east", Role: "manager", Team: "East"},
		{Name: "mara", Token: "tok-west", Role: "manager", Team: "West"},
		{Name: "ravi", Token: "tok-ravi", Role: "rep", Rep: "r3"},
		{Name: "rui", Token: "tok-rui", Role: "rep", Rep: "r1"},
	}
	s := New(Options{Config: cfg, DB: db, Mount: []func(*Server){MountAPI}})
	ts := httptest.NewServer(s.Echo)
	t.Cleanup(ts.Close)

	type anomaly struct {
		ID, Metric, Unit, Status, SegmentKind string
		Acknowledged                          bool
		AckedBy                               string     `json:"acked_by"`
		SnoozedUntil                          *time.Time `json:"snoozed_until"`
		HigherIsBetter                        bool       `json:"higher_is_better"`
		Good                                  bool
		Quiet                                 bool
	}
	list := func(token, q string) (int, []anomaly) {
		t.Helper()
		var v struct{ Anomalies []anomaly }
		c := get(t, ts, token, "/api/v1/anomalies"+q, &v)
		return c, v.Anomalies
	}
	ids := func(as []anomaly) string {
		var out []string
		for _, a := range as {
			out = append(out, a.ID)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct{ token, q, want string }{
		{"tok-director", "", "ev1,ev2,ev3"},
		{"tok-east", "", "ev1"},
		{"tok-west", "", "ev2,ev3"},
		{"tok-ravi", "", "ev3"},
		{"tok-rui", "", ""},
		{"tok-director", "?metric=win_rate", "ev3"},
		{"tok-director", "?segment_kind=team&team=West", "ev2"},
		{"tok-director", "?rep=r3", "ev3"},
	} {
		code, as := list(c.token, c.q)
		got := ids(as)
		// Newest first: ev3 was opened last; compare as sets.
		if code != 200 || !sameIDs(got, c.want) {
			t.Errorf("%s sees %q with %q (status %d), want %q", c.token, got, c.q, code, c.want)
		}
	}
	// ev2 is open but was not found at its rule's latest evaluation.
	_, as := list("tok-director", "")
	for _, a := range as {
		if a.Quiet != (a.ID == "ev2") || a.Status != "firing" {
			t.Errorf("%s: status %s, quiet %v: want firing, quiet only for ev2", a.ID, a.Status, a.Quiet)
		}
	}
	_, as = list("tok-director", "?metric=win_rate")
	if len(as) != 1 || as[0].Unit != "rate" || !as[0].HigherIsBetter || as[0].Good {
		t.Errorf("a falling win rate reads as a rate whose fall is bad news: %+v", as)
	}
	for _, q := range []string{"?status=open", "?metric=close_rate", "?days=0", "?limit=x"} {
		if c, _ := list("tok-director", q); c != 400 {
			t.Errorf("%s: status %d, want 400", q, c)
		}
	}
	if c, _ := list("tok-east", "?team=West"); c != 403 {
		t.Errorf("East's manager asking for West's anomalies: %d, want 403", c)
	}
	if c, _ := list("tok-ravi", "?rep=r1"); c != 403 {
		t.Errorf("a rep asking for another rep's anomalies: %d, want 403", c)
	}
	if c, _ := list("", ""); c != 401 {
		t.Errorf("no token: %d, want 401", c)
	}

	post := func(token, path string, form url.Values) (int, anomaly) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var a anomaly
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(b, &a); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Logf("%s -> %d %s", path, resp.StatusCode, b)
		}
		return resp.StatusCode, a
	}
	for _, c := range []struct {
		token, path string
		form        url.Values
		code        int
	}{
		{"tok-east", "/api/v1/anomalies/ev2/ack", nil, 404}, // West's
		{"tok-ravi", "/api/v1/anomalies/ev3/ack", nil, 403}, // reps do not ack
		{"tok-director", "/api/v1/anomalies/nope/ack", nil, 404},
		{"tok-east", "/api/v1/anomalies/ev1/snooze", url.Values{"until": {"2020-01-01"}}, 400},
		{"tok-east", "/api/v1/anomalies/ev1/snooze", url.Values{"days": {"365"}}, 400},
	} {
		if got, _ := post(c.token, c.path, c.form); got != c.code {
			t.Errorf("POST %s by %s: %d, want %d", c.path, c.token, got, c.code)
		}
	}
	code, a := post("tok-east", "/api/v1/anomalies/ev1/ack", url.Values{"note": {"on it"}})
	if code != 200 || !a.Acknowledged || a.Status != "acknowledged" || a.AckedBy != "ming" {
		t.Errorf("ack by East's manager: %d %+v", code, a)
	}
	// Acknowledged everywhere: the director's list, the status filters.
	_, as = list("tok-director", "?team=East")
	if len(as) != 1 || !as[0].Acknowledged || as[0].Status != "acknowledged" {
		t.Errorf("the director sees ev1 as %+v, want acknowledged", as)
	}
	if _, as := list("tok-director", "?status=acknowledged"); ids(as) != "ev1" {
		t.Errorf("status=acknowledged: %q, want ev1", ids(as))
	}
	if _, as := list("tok-director", "?status=firing"); !sameIDs(ids(as), "ev2,ev3") {
		t.Errorf("status=firing: %q, want ev2,ev3 (ev1 is acknowledged)", ids(as))
	}
	until := time.Now().AddDate(0, 0, 10).Format(time.DateOnly)
	code, a = post("tok-west", "/api/v1/anomalies/ev3/snooze", url.Values{"until": {until}})
	if code != 200 || a.SnoozedUntil == nil || a.SnoozedUntil.In(time.UTC).Format(time.DateOnly) != until {
		t.Errorf("snooze ev3 until %s: %d %+v", until, code, a)
	}
	if _, as := list("tok-ravi", ""); len(as) != 1 || as[0].SnoozedUntil == nil {
		t.Errorf("Ravi's alert shows no snooze: %+v", as)
	}
	// The OpenAPI document describes the three operations.
	var doc struct {
		Paths map[string]map[string]any
	}
	if c := get(t, ts, "", "/api/v1/openapi.json", &doc); c != 200 {
		t.Fatal(c)
	}
	for p, m := range map[string]string{"/anomalies": "get", "/anomalies/{id}/ack": "post", "/anomalies/{id}/snooze": "post"} {
		if doc.Paths[p][m] == nil {
			t.Errorf("OpenAPI has no %s %s", m, p)
		}
	}
}

func sameIDs(a, b string) bool {
	set := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, x := range strings.Split(s, ",") {
			if x != "" {
				m[x] = true
			}
		}
		return m
	}
	x, y := set(a), set(b)
	if len(x) != len(y) {
		return false
	}
	for k := range x {
		if !y[k] {
			return false
		}
	}
	return true
}
