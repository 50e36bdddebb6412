package dashboards

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/query"
)

func coachPost(t *testing.T, ts *httptest.Server, token, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCoachingAPIScoped: /api/v1/plans and /api/v1/activity answer each role
// with its own scope, refuse what is outside it, and name bad input.
func TestCoachingAPIScoped(t *testing.T) {
	ts := newAPIServer(t)
	// r1's win rate over Q1 2024: o1 won, o2 lost.
	review := time.Now().AddDate(0, 0, 30).Format(time.DateOnly)
	body := `{"rep_id":"r1","metric":"win_rate","goal":0.6,"actions":"Drop weak deals at qualification.","review_date":"` + review + `","baseline_from":"2024-01-01","baseline_to":"2024-04-01"}`
	code, out := coachPost(t, ts, "tok-east", "/api/v1/plans", body)
	if code != http.StatusCreated {
		t.Fatalf("the manager records a plan for the own rep: %d %s", code, out)
	}
	var p query.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if p.Baseline != 0.5 || p.BaselineN != 2 || p.CreatedBy != "ming" || p.Team != "East" || p.Status != "open" {
		t.Errorf("the recorded plan: %+v; want baseline 0.5 of 2 by ming", p)
	}
	for _, c := range []struct {
		token, body string
		code        int
		says        string
	}{
		{"tok-east", strings.Replace(body, `"r1"`, `"r3"`, 1), 403, "r3"},
		{"tok-ravi", strings.Replace(body, `"r1"`, `"r3"`, 1), 403, "rep"},
		{"tok-east", strings.Replace(body, `"goal"`, `"goals"`, 1), 400, "goals"},
		{"tok-east", strings.Replace(body, `"win_rate"`, `"mood"`, 1), 400, "metric"},
		{"tok-east", strings.Replace(body, `0.6`, `0.4`, 1), 400, "goal"},
		{"tok-east", strings.Replace(body, review, `2024-13-01`, 1), 400, "review_date"},
		{"", body, 401, ""},
	} {
		code, out := coachPost(t, ts, c.token, "/api/v1/plans", c.body)
		if code != c.code || !strings.Contains(out, c.says) {
			t.Errorf("POST /plans as %q: %d %s; want %d naming %q", c.token, code, out, c.code, c.says)
		}
	}
	for tok, n := range map[string]int{"tok-director": 1, "tok-east": 1, "tok-ravi": 0} {
		var ps []query.Plan
		if code := get(t, ts, tok, "/api/v1/plans", &ps); code != 200 || len(ps) != n {
			t.Errorf("GET /plans as %s: %d, %d plans; want %d", tok, code, len(ps), n)
		}
	}
	var one query.Plan
	if code := get(t, ts, "tok-east", "/api/v1/plans/"+p.ID, &one); code != 200 || one.Progress == nil || one.Progress.Verdict != query.VerdictTooFew {
		t.Errorf("GET /plans/{id} as the manager: %d %+v", code, one.Progress)
	}
	if code := get(t, ts, "tok-ravi", "/api/v1/plans/"+p.ID, nil); code != 404 {
		t.Errorf("another rep reads the plan: %d, want 404", code)
	}
	if code := get(t, ts, "tok-east", "/api/v1/plans?status=done", nil); code != 400 {
		t.Errorf("a bad status: %d, want 400", code)
	}

	var act query.Activity
	if code := get(t, ts, "tok-east", "/api/v1/activity?from=2024-01-01&to=2024-04-01", &act); code != 200 || len(act.Reps) != 1 || act.Reps[0].RepID != "r1" {
		t.Errorf("GET /activity as East's manager: %d %+v", code, act.Reps)
	}
	if code := get(t, ts, "tok-east", "/api/v1/activity?team=West", nil); code != 403 {
		t.Errorf("another team's activities: %d, want 403", code)
	}
	if code := get(t, ts, "tok-director", "/api/v1/activity?product=Pro", nil); code != 400 {
		t.Errorf("a product filter on activities: %d, want 400", code)
	}

	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if code := get(t, ts, "", "/api/v1/openapi.json", &doc); code != 200 {
		t.Fatal(code)
	}
	for path, methods := range map[string][]string{"/activity": {"get"}, "/plans": {"get", "post"}, "/plans/{id}": {"get"}} {
		for _, m := range methods {
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("the OpenAPI document lacks %s %s", strings.ToUpper(m), path)
			}
		}
	}
}

// TestCoachingFormPosts: the plan form as a signed-in manager posts it — a
// mistake shows the form again naming the field, a good plan goes back to the
// scorecard with the notice, another team's rep is refused, and a post without
// the session's CSRF token is refused.
func TestCoachingFormPosts(t *testing.T) {
	d := newSmallServer(t)
	c := d.client(t)
	if code := d.login(t, c, "manager", demoPassword); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}
	code, body := d.page(t, c, "/coaching/new?rep=r1&metric=win_rate&from=2024-01-01&to=2024-04-01")
	if code != 200 || !strings.Contains(body, `action="/coaching/plans"`) {
		t.Fatalf("the plan form: %d", code)
	}
	tok := csrfField.FindStringSubmatch(body)[1]
	post := func(form url.Values) (int, string, string) {
		t.Helper()
		resp, err := c.PostForm(d.ts.URL+"/coaching/plans", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	review := time.Now().AddDate(0, 0, 14).Format(time.DateOnly)
	form := url.Values{"csrf": {tok}, "rep_id": {"r1"}, "metric": {"win_rate"}, "stage": {""}, "goal": {"abc"}, "actions": {"Qualify harder."},
		"review_date": {review}, "baseline_from": {"2024-01-01"}, "baseline_to": {"2024-04-01"}}
	if code, _, b := post(form); code != 200 || !strings.Contains(b, "Goal") || !strings.Contains(b, `id="plan-form"`) {
		t.Errorf("a goal that is no number: %d, want the form again naming the goal", code)
	}
	form.Set("goal", "40") // percent: below the baseline 50%
	if code, _, b := post(form); code != 200 || !strings.Contains(b, "Goal: 0.4 is not better than the baseline 0.5") {
		t.Errorf("a goal below the baseline: %d, want the form naming the goal", code)
	}
	form.Set("goal", "60")
	code, loc, _ := post(form)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/reps/r1?") || !strings.Contains(loc, "notice=co.saved") {
		t.Errorf("a good plan: %d %q, want a redirect to r1's scorecard with the notice", code, loc)
	}
	form.Set("rep_id", "r3")
	if code, _, _ := post(form); code != http.StatusForbidden {
		t.Errorf("a plan for another team's rep: %d, want 403", code)
	}
	form.Set("rep_id", "r1")
	form.Del("csrf")
	if code, _, _ := post(form); code != http.StatusForbidden {
		t.Errorf("a post without the CSRF token: %d, want 403", code)
	}
}
