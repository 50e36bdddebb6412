package dashboards

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// subsServer serves the small fixture with users that have email addresses
// (reports go there) and one that has none, signed in by the trusted header.
func subsServer(t *testing.T) *demo {
	db := schemastest.Open(t)
	loadAPIFixture(t, db)
	hash, _ := bcrypt.GenerateFromPassword([]byte(demoPassword), bcrypt.MinCost)
	h := config.Secret(hash)
	cfg := config.Default()
	cfg.Auth.SessionSecret = "test-secret"
	cfg.Auth.Users = []config.User{
		{Username: "director", PasswordHash: h, Role: "director", Email: "director@example.com", Lang: "zh-CN"},
		{Username: "manager", PasswordHash: h, Role: "manager", Team: "East", Email: "manager@example.com"},
		{Username: "admin", PasswordHash: h, Role: "admin", Email: "admin@example.com"},
		{Username: "nomail", PasswordHash: h, Role: "director"},
	}
	cfg.Auth.TrustedHeader = "X-Remote-User"
	d := &demo{db: db}
	d.srv = New(Options{Config: cfg, DB: db, Mount: []func(*Server){MountAPI}})
	d.ts = httptest.NewServer(d.srv.Echo)
	t.Cleanup(d.ts.Close)
	return d
}

func subsCall(t *testing.T, d *demo, user, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, d.ts.URL+path, rd)
	req.Header.Set("X-Remote-User", user)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func subsList(t *testing.T, d *demo, user string) []alerts.Subscription {
	t.Helper()
	code, body := subsCall(t, d, user, http.MethodGet, "/api/v1/subscriptions", "")
	var out struct {
		Subscriptions []alerts.Subscription `json:"subscriptions"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("list %s's subscriptions: %d %s", user, code, body)
	}
	return out.Subscriptions
}

// TestSubscriptionsAPI: users subscribe themselves (their email, their
// language by default), see and delete only their own; an admin sees and
// manages everyone's; bad bodies are 400s naming the field.
func TestSubscriptionsAPI(t *testing.T) {
	d := subsServer(t)
	weekly := `{"kind":"overview","filter":"team=East&from=2024-01-01","schedule":{"every":"weekly","weekday":1,"hour":8}}`
	code, body := subsCall(t, d, "director", http.MethodPost, "/api/v1/subscriptions", weekly)
	var dir alerts.Subscription
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &dir) != nil {
		t.Fatalf("the director subscribes: %d %s", code, body)
	}
	if dir.Owner != "director" || len(dir.Recipients) != 1 || dir.Recipients[0] != "director@example.com" || dir.Lang != "zh-CN" || dir.Filter != "team=East" || !dir.SkipIfEmpty {
		t.Errorf("stored %+v: want the director's email and language, the filter without its dates, skip if empty", dir)
	}
	for _, c := range []struct{ user, body, field string }{
		{"director", `{"schedule":{"every":"weekly","weekday":1,"hour":8},"colour":"red"}`, "colour"},
		{"director", `{"kind":"digest","schedule":{"every":"daily","hour":8}}`, "kind"},
		{"director", `{"schedule":{"every":"hourly","hour":8}}`, "schedule.every"},
		{"director", `{"schedule":{"every":"weekly","weekday":1,"hour":8,"minute":5}}`, "minute"},
		{"director", `{"schedule":{"every":"monthly","day":30,"hour":8}}`, "schedule.day"},
		{"director", `{"schedule":{"every":"daily","hour":8},"lang":"de"}`, "lang"},
		{"director", `{"schedule":{"every":"daily","hour":8},"filter":"region=x"}`, "filter.region"},
		{"nomail", `{"schedule":{"every":"daily","hour":8}}`, "owner"},
	} {
		code, body := subsCall(t, d, c.user, http.MethodPost, "/api/v1/subscriptions", c.body)
		if code != http.StatusBadRequest || !strings.Contains(body, c.field) {
			t.Errorf("%s posts %s: %d %s; want 400 naming %s", c.user, c.body, code, body, c.field)
		}
	}
	if code, body := subsCall(t, d, "manager", http.MethodPost, "/api/v1/subscriptions", `{"owner":"director","schedule":{"every":"daily","hour":7}}`); code != http.StatusForbidden {
		t.Errorf("a manager subscribes the director: %d %s, want 403", code, body)
	}
	if code, body := subsCall(t, d, "manager", http.MethodPost, "/api/v1/subscriptions", `{"filter":"team=West","schedule":{"every":"daily","hour":7}}`); code != http.StatusForbidden {
		t.Errorf("a manager subscribes to another team's view: %d %s, want 403", code, body)
	}
	code, body = subsCall(t, d, "manager", http.MethodPost, "/api/v1/subscriptions", `{"kind":"team","schedule":{"every":"monthly","day":1,"hour":7},"lang":"zh-CN","skip_if_empty":false}`)
	var mgr alerts.Subscription
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &mgr) != nil || mgr.Owner != "manager" || mgr.SkipIfEmpty {
		t.Fatalf("the manager subscribes: %d %s", code, body)
	}
	if code, body := subsCall(t, d, "admin", http.MethodPost, "/api/v1/subscriptions", `{"owner":"manager","schedule":{"every":"daily","hour":6}}`); code != http.StatusCreated || !strings.Contains(body, `"owner":"manager"`) {
		t.Errorf("an admin subscribes the manager: %d %s", code, body)
	}
	if l := subsList(t, d, "director"); len(l) != 1 || l[0].ID != dir.ID {
		t.Errorf("the director sees %+v, want only the own subscription", l)
	}
	if l := subsList(t, d, "manager"); len(l) != 2 {
		t.Errorf("the manager sees %d subscriptions, want the own two", len(l))
	}
	if l := subsList(t, d, "admin"); len(l) != 3 {
		t.Errorf("the admin sees %d subscriptions, want all three", len(l))
	}
	if code, _ := subsCall(t, d, "manager", http.MethodDelete, "/api/v1/subscriptions/"+dir.ID, ""); code != http.StatusForbidden {
		t.Errorf("the manager deletes the director's subscription: %d, want 403", code)
	}
	if code, _ := subsCall(t, d, "director", http.MethodDelete, "/api/v1/subscriptions/nope", ""); code != http.StatusNotFound {
		t.Errorf("deleting an unknown subscription: %d, want 404", code)
	}
	if code, _ := subsCall(t, d, "director", http.MethodDelete, "/api/v1/subscriptions/"+dir.ID, ""); code != http.StatusNoContent {
		t.Errorf("the director unsubscribes: %d, want 204", code)
	}
	if l := subsList(t, d, "director"); len(l) != 0 {
		t.Errorf("after deleting, the director still sees %+v", l)
	}
	if code, body := subsCall(t, d, "director", http.MethodGet, "/api/v1/openapi.json", ""); code != 200 || !strings.Contains(body, `"/subscriptions/{id}"`) {
		t.Errorf("the OpenAPI document does not describe /subscriptions: %d", code)
	}
}

// TestSubscriptionsPage: the menu leads to the page, which offers the page's
// filter as the view; the form subscribes (a mistake shows the page again
// naming the field) and lists the subscription; the second form removes it.
func TestSubscriptionsPage(t *testing.T) {
	d := subsServer(t)
	c := d.client(t)
	if code := d.login(t, c, "manager", demoPassword); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}
	code, body := d.page(t, c, "/?from=2024-01-01&to=2024-04-01&product=Pro")
	if code != 200 || !strings.Contains(body, `href="/subscriptions?`) {
		t.Fatalf("the overview has no menu entry to the subscriptions: %d", code)
	}
	// The overview's cards offer the same numbers by email, with its filter.
	if !regexp.MustCompile(`(?s)id="kpis".*?href="/subscriptions\?[^"]*product=Pro[^"]*"[^>]*>Email me these numbers`).MatchString(body) {
		t.Errorf("the overview's cards have no 'Email me these numbers' link carrying the filter")
	}
	code, body = d.page(t, c, "/subscriptions?from=2024-01-01&to=2024-04-01&product=Pro")
	if code != 200 || !strings.Contains(body, `action="/subscriptions"`) || !strings.Contains(body, `value="product=Pro"`) {
		t.Fatalf("the subscriptions page: %d, want the form with the page's filter product=Pro", code)
	}
	tok := csrfField.FindStringSubmatch(body)[1]
	post := func(path string, form url.Values) (int, string, string) {
		t.Helper()
		resp, err := c.PostForm(d.ts.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	form := url.Values{"csrf": {tok}, "kind": {"team"}, "every": {"weekly"}, "weekday": {"9"}, "day": {"1"}, "hour": {"8"}, "lang": {"en"}, "filter": {"product=Pro"}, "skip_if_empty": {"1"}}
	if code, _, b := post("/subscriptions", form); code != 200 || !strings.Contains(b, "schedule.weekday") {
		t.Errorf("weekday 9: %d, want the page again naming schedule.weekday", code)
	}
	form.Set("weekday", "5")
	if code, loc, _ := post("/subscriptions", form); code != http.StatusSeeOther || !strings.Contains(loc, "notice=sub.saved") {
		t.Fatalf("a good subscription: %d %q", code, loc)
	}
	subs, err := alerts.ListSubscriptions(t.Context(), d.db, "manager")
	if err != nil || len(subs) != 1 || subs[0].Schedule != (alerts.Schedule{Every: "weekly", Weekday: 5, Hour: 8}) || subs[0].Filter != "product=Pro" || subs[0].Kind != "team" {
		t.Fatalf("stored %+v, %v: want the manager's weekly Friday 08:00 team report of product=Pro", subs, err)
	}
	_, body = d.page(t, c, "/subscriptions?notice=sub.saved")
	if !strings.Contains(body, "Fridays at 08:00") || !strings.Contains(body, "Subscription saved.") || !strings.Contains(body, "manager@example.com") || !strings.Contains(body, "not yet") {
		t.Errorf("the page does not list the new subscription (Fridays at 08:00, to manager@example.com, not sent yet)")
	}
	if code, loc, _ := post("/subscriptions/delete", url.Values{"csrf": {tok}, "id": {subs[0].ID}}); code != http.StatusSeeOther || !strings.Contains(loc, "sub.removed") {
		t.Errorf("unsubscribe: %d %q", code, loc)
	}
	if subs, _ := alerts.ListSubscriptions(t.Context(), d.db, "manager"); len(subs) != 0 {
		t.Errorf("after unsubscribing: %+v", subs)
	}
	if code, _, _ := post("/subscriptions", url.Values{"kind": {"overview"}, "every": {"daily"}, "hour": {"8"}}); code != http.StatusForbidden {
		t.Errorf("a post without the CSRF token: %d, want 403", code)
	}
}

// TestBrowserSubscriptionsPhone: in Chromium at 360 px, in zh-CN, the
// manager subscribes through the page's form: the page is no wider than the
// screen before and after, and the new subscription is listed.
func TestBrowserSubscriptionsPhone(t *testing.T) {
	d := subsServer(t)
	b := newBrowser(t)
	b.signIn(t, d.ts.URL, "manager")
	width := func(when string) {
		t.Helper()
		w, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.scrollingElement.scrollWidth`))
		if err != nil || w > 360 {
			t.Errorf("%s: the subscriptions page is %d px wide at 360 px (%v)", when, w, err)
		}
	}
	err := chromedp.Do(b.ctx, chromedp.EmulateViewport(360, 780), chromedp.Navigate(d.ts.URL+"/subscriptions?lang=zh-CN&product=Pro"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/subscriptions"]`)))
	if err != nil {
		t.Fatal(err)
	}
	width("the empty list and the form")
	err = chromedp.Do(b.ctx,
		chromedp.SetValue(chromedp.CSS(`select[name=weekday]`), "5"),
		chromedp.Submit(chromedp.CSS(`form[action="/subscriptions"] select[name=kind]`)),
		chromedp.WaitVisible(chromedp.CSS(`#unsubscribe`)))
	if err != nil {
		t.Fatalf("subscribe through the form: %v", err)
	}
	width("the list with one subscription")
	text, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('#subscriptions').innerText`))
	if err != nil || !strings.Contains(text, "每周五 08:00") || !strings.Contains(text, "product=Pro") {
		t.Errorf("the list does not show the Friday 08:00 report of product=Pro: %q %v", text, err)
	}
	b.shot(t, "subscriptions-360-zh")
	if problems, _ := b.take(); len(problems) > 0 {
		t.Errorf("browser problems: %v", problems)
	}
}
