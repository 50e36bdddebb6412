package dashboards

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pipelens/pipelens/schemas/config"
)

// rulesCall sends body (a rule set, YAML or JSON) as is.
func rulesCall(t *testing.T, d *demo, method, path, token, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, d.ts.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if strings.HasPrefix(strings.TrimSpace(body), "{") || strings.HasPrefix(strings.TrimSpace(body), "[") {
		req.Header.Set("Content-Type", "application/json")
	}
	c := &http.Client{CheckRedirect: noRedirect, Timeout: 2 * time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type ruleSetAnswer struct {
	Source   string           `json:"source"`
	Version  uint64           `json:"version"`
	SavedBy  string           `json:"saved_by"`
	Document string           `json:"document"`
	Rules    []map[string]any `json:"rules"`
	Errors   []ruleErrorJSON  `json:"errors"`
}

// TestAlertRulesAPI: only admins read, save and preview the alert rules; a
// bad rule is refused with its index and field; a saved set is what the API
// then reports in force; a preview lists, per rule, the events of the past
// days it would have raised, and its count.
func TestAlertRulesAPI(t *testing.T) {
	d := newDemo(t, 3000)
	d.srv.auth.tokens = append(d.srv.auth.tokens, config.Token{Name: "ada", Token: "tok-admin", Role: "admin"})
	good := "- name: stuck-team\n  detector: stuck_deal\n  segments: [team]\n- name: leads-all\n  metric: leads\n  segments: [all]\n"
	for _, c := range []struct{ method, path, token string }{
		{http.MethodGet, "/api/v1/alert-rules", "tok-director"},
		{http.MethodGet, "/api/v1/alert-rules", "tok-manager"},
		{http.MethodPut, "/api/v1/alert-rules", "tok-director"},
		{http.MethodPost, "/api/v1/alert-rules/preview", "tok-manager"},
	} {
		if code, b := rulesCall(t, d, c.method, c.path, c.token, good); code != http.StatusForbidden {
			t.Errorf("%s %s as %s: %d %s, want 403: only admins change who is alerted", c.method, c.path, c.token, code, b)
		}
	}
	var rs ruleSetAnswer
	code, b := rulesCall(t, d, http.MethodGet, "/api/v1/alert-rules", "tok-admin", "")
	if code != http.StatusOK || json.Unmarshal(b, &rs) != nil || rs.Source != "config" || len(rs.Rules) == 0 || rs.Document == "" {
		t.Fatalf("GET alert-rules as admin: %d %s, want the config's rules", code, b)
	}
	if strings.Contains(rs.Document, "schedule:") || rs.Rules[0]["schedule"] != "every 1h" {
		t.Errorf("the config's document should leave defaults out and its rules show them: %q, %v", rs.Document, rs.Rules[0])
	}
	for _, c := range []struct{ doc, field string }{
		{`[{"name": "a", "metric": "leads"}, {"name": "b", "metric": "revenue_per_moon"}]`, "metric"},
		{"- name: a\n  metric: leads\n- name: w\n  metric: opportunities_opened\n  grain: week\n  model: daily\n", "model"},
	} {
		var bad ruleSetAnswer
		code, b := rulesCall(t, d, http.MethodPut, "/api/v1/alert-rules", "tok-admin", c.doc)
		if code != http.StatusBadRequest || json.Unmarshal(b, &bad) != nil || len(bad.Errors) != 1 || bad.Errors[0].Index != 1 || bad.Errors[0].Field != c.field {
			t.Errorf("PUT %s: %d %s, want 400 naming rule index 1 and field %s", c.doc, code, b, c.field)
		}
	}
	var pv rulesPreviewJSON
	code, b = rulesCall(t, d, http.MethodPost, "/api/v1/alert-rules/preview?days=30", "tok-admin", good)
	if code != http.StatusOK || json.Unmarshal(b, &pv) != nil {
		t.Fatalf("preview: %d %s", code, b)
	}
	if pv.Days != 30 || len(pv.Rules) != 2 || pv.Rules[0].Rule != "stuck-team" || pv.Rules[1].Rule != "leads-all" {
		t.Fatalf("preview answered %+v, want 30 days of the two rules in order", pv)
	}
	for _, r := range pv.Rules {
		if pv.Complete && (r.DaysJudged != 30 || r.From != pv.From) {
			t.Errorf("rule %s: judged %d days from %s in a complete preview of 30 from %s", r.Rule, r.DaysJudged, r.From, pv.From)
		}
		if r.Count != len(r.Events) {
			t.Errorf("rule %s: count %d but %d events", r.Rule, r.Count, len(r.Events))
		}
		for _, e := range r.Events {
			if e.Day < pv.From || e.Day > pv.To || e.SegmentKind == "" || e.Summary == "" {
				t.Errorf("rule %s: event %+v outside %s–%s or without segment/summary", r.Rule, e, pv.From, pv.To)
			}
		}
	}
	if pv.Rules[0].Count == 0 {
		t.Errorf("the stuck-deal rule raised nothing in 30 days of a sample with planted stuck deals")
	}
	if code, b := rulesCall(t, d, http.MethodGet, "/api/v1/alert-rules", "tok-admin", ""); code != http.StatusOK || json.Unmarshal(b, &rs) != nil || rs.Source != "config" {
		t.Fatalf("a preview changed the rules in force: %d %s", code, b)
	}
	code, b = rulesCall(t, d, http.MethodPut, "/api/v1/alert-rules", "tok-admin", good)
	if code != http.StatusOK {
		t.Fatalf("PUT a good set: %d %s", code, b)
	}
	code, b = rulesCall(t, d, http.MethodGet, "/api/v1/alert-rules", "tok-admin", "")
	if code != http.StatusOK || json.Unmarshal(b, &rs) != nil || rs.Source != "saved" || rs.Version != 1 || rs.SavedBy != "ada" || len(rs.Rules) != 2 || rs.Document != good {
		t.Fatalf("after the save GET says %d %s, want saved set 1 by ada with its two rules", code, b)
	}
	if rs.Rules[1]["grain"] != "day" || rs.Rules[1]["detector"] != "seasonal" {
		t.Errorf("the rules in force do not show their defaults: %v", rs.Rules[1])
	}
}

// TestAlertRulesPage: an admin finds the editor in the menu, previews and
// saves from it in either language, and sees a bad rule's fault by the text;
// a director is turned away and has no menu entry.
func TestAlertRulesPage(t *testing.T) {
	d := newDemo(t, 3000)
	dir := d.client(t)
	if code := d.login(t, dir, "director", demoPassword); code != http.StatusSeeOther {
		t.Fatalf("director sign-in: %d", code)
	}
	if code, _ := d.page(t, dir, "/alerts/rules"); code != http.StatusForbidden {
		t.Errorf("a director opens the rules editor: %d, want 403", code)
	}
	if _, body := d.page(t, dir, "/alerts"); strings.Contains(body, `href="/alerts/rules`) {
		t.Error("a director's menu links the rules editor")
	}
	adm := d.client(t)
	if code := d.login(t, adm, "admin", demoPassword); code != http.StatusSeeOther {
		t.Fatalf("admin sign-in: %d", code)
	}
	if _, body := d.page(t, adm, "/alerts"); !strings.Contains(body, `href="/alerts/rules`) {
		t.Error("the admin's menu has no link to the rules editor")
	}
	code, body := d.page(t, adm, "/alerts/rules?lang=zh-CN")
	if code != http.StatusOK || !strings.Contains(body, "预警规则") || !strings.Contains(body, "当前生效：配置文件中的规则") || !strings.Contains(body, "name: opened") {
		t.Fatalf("the zh-CN editor: %d, want its title, where the rules come from and the config's rules in the text", code)
	}
	// Back to English (the language sticks in a cookie).
	_, body = d.page(t, adm, "/alerts/rules?lang=en")
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the editor's form has no CSRF field")
	}
	post := func(action, doc string) (int, string) {
		resp, err := adm.PostForm(d.ts.URL+"/alerts/rules", url.Values{"csrf": {m[1]}, "action": {action}, "document": {doc}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body = post("save", "- name: a\n  metric: leads\n- name: b\n  metric: revenue_per_moon\n")
	if code != http.StatusBadRequest || !strings.Contains(body, `id="faults"`) || !strings.Contains(body, "Rule 2 (b)") || !strings.Contains(body, "<code>metric</code>") ||
		!strings.Contains(body, "revenue_per_moon") {
		t.Errorf("saving a bad rule: %d, want 400 with rule 2's metric named next to the text", code)
	}
	code, body = post("preview", "- name: stuck-team\n  detector: stuck_deal\n")
	if code != http.StatusOK || !strings.Contains(body, `id="preview"`) || !strings.Contains(body, `data-rule="stuck-team"`) || !strings.Contains(body, "<td>") {
		t.Errorf("preview from the page: %d, want the rule's events listed", code)
	}
	code, _ = post("save", "- name: stuck-team\n  detector: stuck_deal\n")
	if code != http.StatusSeeOther {
		t.Fatalf("saving a good set: %d, want a redirect", code)
	}
	if _, body := d.page(t, adm, "/alerts/rules?notice=ru.saved"); !strings.Contains(body, "saved set 1, by admin") || !strings.Contains(body, "name: stuck-team") {
		t.Errorf("after the save the editor does not show saved set 1 by admin and its text")
	}
}

// TestBrowserAlertRulesPhone: on a 360 px phone in zh-CN an admin previews
// the rules and the page, its text box and the preview's tables fit the width
// (tables scroll inside their frame).
func TestBrowserAlertRulesPhone(t *testing.T) {
	d := newDemo(t, 3000)
	b := newBrowser(t)
	b.signIn(t, d.ts.URL, "admin")
	err := chromedp.Do(b.ctx, chromedp.EmulateViewport(360, 780), chromedp.Navigate(d.ts.URL+"/alerts/rules?lang=zh-CN"),
		chromedp.WaitVisible(chromedp.CSS(`#document`)))
	if err != nil {
		t.Fatal(err)
	}
	// One rule keeps the preview short.
	err = chromedp.Do(b.ctx, chromedp.SetValue(chromedp.CSS(`#document`), "- name: stuck-team\n  detector: stuck_deal\n"),
		chromedp.Click(chromedp.CSS(`button[value=preview]`)), chromedp.WaitVisible(chromedp.CSS(`#preview`)))
	if err != nil {
		t.Fatalf("preview on a phone: %v", err)
	}
	type sizes struct {
		Page, Box, Rows int
		Head            string
	}
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[sizes](`({page: document.documentElement.scrollWidth,
		box: document.querySelector('#document').getBoundingClientRect().right, rows: document.querySelectorAll('#preview tbody tr').length,
		head: document.querySelector('#preview h2').textContent})`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Page > 360 || s.Box > 360 {
		t.Errorf("at 360 px the rules page is %d px wide, its text box ends at %d px", s.Page, s.Box)
	}
	if s.Rows == 0 || s.Head != "这些规则本会触发的预警" {
		t.Errorf("the zh-CN preview shows %d rows under %q", s.Rows, s.Head)
	}
	b.shot(t, "rules-phone")
	problems, _ := b.take()
	for _, p := range problems {
		t.Error(p)
	}
}
