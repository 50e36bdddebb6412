package dashboards

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/query"
)

// call sends a request with an optional bearer token and JSON body, and
// returns the status and body.
func call(t *testing.T, d *demo, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.ts.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := &http.Client{CheckRedirect: noRedirect, Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// makeContest defines a contest over every date of the sample, ranked by won
// amount, through the API as the director, and returns it with its token.
func makeContest(t *testing.T, d *demo, name string) contestCreated {
	t.Helper()
	code, b := call(t, d, http.MethodPost, "/api/v1/contests", "tok-director", query.ContestInput{Name: name, Metric: query.ContestWonAmount,
		From: "2000-01-01", To: "2100-01-01", Teams: []string{d.teamA, d.teamB}, Categories: []string{query.CategoryTop, query.CategoryNewAccounts}})
	if code != http.StatusCreated {
		t.Fatalf("define a contest: %d %s", code, b)
	}
	var out contestCreated
	if err := json.Unmarshal(b, &out); err != nil || out.Contest == nil || out.BoardToken == "" {
		t.Fatalf("created contest %s: %v", b, err)
	}
	return out
}

// TestBoardTokenOpensTheBoardOnly: the board link opens the board and its
// stream with no sign-in, and nothing else: not another contest's board, not
// the API (as ?token= or as a bearer token), not the pages.
func TestBoardTokenOpensTheBoardOnly(t *testing.T) {
	d := newDemo(t, 300)
	a, b := makeContest(t, d, "Contest A"), makeContest(t, d, "Contest B")
	id, tok := a.Contest.ID, a.BoardToken
	if !strings.Contains(a.BoardURL, "/board/"+id+"?token=") {
		t.Errorf("board_url %q does not open the board", a.BoardURL)
	}
	code, page := call(t, d, http.MethodGet, "/board/"+id+"?token="+tok, "", nil)
	if code != http.StatusOK || !strings.Contains(string(page), "Contest A") || !strings.Contains(string(page), `class="b-row r1"`) {
		t.Fatalf("the board with its token: %d, want 200 with the contest and its ranking:\n%.600s", code, page)
	}
	// The stream answers with a ranking at once.
	req, _ := http.NewRequest(http.MethodGet, d.ts.URL+"/board/"+id+"/events?token="+tok, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("event stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var event, data string
	for sc.Scan() && data == "" {
		if v, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = v
		}
	}
	resp.Body.Close()
	var bv boardView
	if event != "ranking" || json.Unmarshal([]byte(data), &bv) != nil || bv.Title != "Contest A" || len(bv.Categories) != 2 {
		t.Fatalf("first event %q %.300s: want a ranking of Contest A with 2 categories", event, data)
	}

	refused := []struct {
		path, bearer string
		want         int
	}{
		{"/board/" + b.Contest.ID + "?token=" + tok, "", http.StatusForbidden},        // another contest's board
		{"/board/" + b.Contest.ID + "/events?token=" + tok, "", http.StatusForbidden}, // and its stream
		{"/board/" + id + "?token=" + tok + "x", "", http.StatusForbidden},            // a wrong token
		{"/board/nosuch?token=" + tok, "", http.StatusForbidden},                      // an unknown contest says no more
		{"/board/" + id, "", http.StatusSeeOther},                                     // no token: sign in
		{"/board/" + id + "/events", "", http.StatusUnauthorized},
		{"/api/v1/contests?token=" + tok, "", http.StatusUnauthorized},
		{"/api/v1/contests/" + id + "/ranking?token=" + tok, "", http.StatusUnauthorized},
		{"/api/v1/contests/" + id + "/ranking", tok, http.StatusUnauthorized},
		{"/api/v1/winrate", tok, http.StatusUnauthorized},
		{"/board/" + id, tok, http.StatusUnauthorized}, // not a bearer token either
		{"/contests/" + id + "?token=" + tok, "", http.StatusSeeOther},
		{"/?token=" + tok, "", http.StatusSeeOther},
		{"/tiers?token=" + tok, "", http.StatusSeeOther},
	}
	for _, r := range refused {
		code, body := call(t, d, http.MethodGet, r.path, r.bearer, nil)
		if code != r.want {
			t.Errorf("GET %s (bearer %v) with the board token: %d, want %d: %.200s", r.path, r.bearer != "", code, r.want, body)
		}
		if code == http.StatusSeeOther || code == http.StatusOK {
			continue
		}
		if strings.Contains(string(body), "Contest A") {
			t.Errorf("GET %s answered with the contest", r.path)
		}
	}
	// A new token replaces the old one.
	code, nb := call(t, d, http.MethodPost, "/api/v1/contests/"+id+"/token", "tok-director", nil)
	if code != http.StatusOK {
		t.Fatalf("new token: %d %s", code, nb)
	}
	if code, _ := call(t, d, http.MethodGet, "/board/"+id+"?token="+tok, "", nil); code != http.StatusForbidden {
		t.Errorf("the old token still opens the board: %d", code)
	}
}

// TestContestsAndTiersAPI: contests are defined by directors and admins, read
// by everyone in their scope; the tiers are served with the default levels;
// both are in the OpenAPI document; the territories page shows the tier share.
func TestContestsAndTiersAPI(t *testing.T) {
	d := newDemo(t, 300)
	in := query.ContestInput{Name: "Q", Metric: query.ContestDealsWon, From: "2000-01-01", To: "2100-01-01"}
	if code, b := call(t, d, http.MethodPost, "/api/v1/contests", "tok-manager", in); code != http.StatusForbidden {
		t.Errorf("a manager defined a contest: %d %s", code, b)
	}
	code, b := call(t, d, http.MethodPost, "/api/v1/contests", "tok-director", map[string]any{"name": "Q", "metric": "deals_won", "from": "2000-01-01", "to": "2100-01-01", "prize": "car"})
	if code != http.StatusBadRequest || !strings.Contains(string(b), "prize") {
		t.Errorf("an unknown field: %d %s, want 400 naming it", code, b)
	}
	code, b = call(t, d, http.MethodPost, "/api/v1/contests", "tok-director", query.ContestInput{Name: "Q", Metric: "revenue", From: "2000-01-01", To: "2100-01-01"})
	if code != http.StatusBadRequest || !strings.Contains(string(b), "metric") {
		t.Errorf("an unknown metric: %d %s, want 400 naming metric", code, b)
	}
	ct := makeContest(t, d, "Everyone")
	var all, mine query.ContestRanking
	if code, b := call(t, d, http.MethodGet, "/api/v1/contests/"+ct.Contest.ID+"/ranking", "tok-director", nil); code != 200 || json.Unmarshal(b, &all) != nil {
		t.Fatalf("ranking as director: %d %s", code, b)
	}
	if code, b := call(t, d, http.MethodGet, "/api/v1/contests/"+ct.Contest.ID+"/ranking", "tok-manager", nil); code != 200 || json.Unmarshal(b, &mine) != nil {
		t.Fatalf("ranking as manager: %d %s", code, b)
	}
	teams := map[string]int{}
	for _, r := range all.Categories[0].Groups[0].Rows {
		teams[r.Team]++
	}
	rows := mine.Categories[0].Groups[0].Rows
	if teams[d.teamA] == 0 || teams[d.teamB] == 0 || len(rows) != teams[d.teamA] {
		t.Errorf("director sees %v; manager of %s sees %d rows, want the %d of the own team", teams, d.teamA, len(rows), teams[d.teamA])
	}
	for _, r := range rows {
		if r.Team != d.teamA {
			t.Errorf("manager of %s sees %s of %s", d.teamA, r.Name, r.Team)
		}
	}
	var list map[string][]query.Contest
	if code, b := call(t, d, http.MethodGet, "/api/v1/contests", "tok-manager", nil); code != 200 || json.Unmarshal(b, &list) != nil || len(list["contests"]) != 1 {
		t.Errorf("contest list for a manager: %d %s", code, b)
	}
	if code, _ := call(t, d, http.MethodDelete, "/api/v1/contests/"+ct.Contest.ID, "tok-manager", nil); code != http.StatusForbidden {
		t.Errorf("a manager deleted a contest: %d", code)
	}

	// The admin's form: groups one per line; the board link is shown once.
	admin := d.client(t)
	if code := d.login(t, admin, "admin", demoPassword); code != http.StatusSeeOther {
		t.Fatalf("sign in as admin: %d", code)
	}
	tok := csrfOf(t, d, admin, "/contests/new")
	form := url.Values{"csrf": {tok}, "name": {"看板竞赛"}, "metric": {"deals_won"}, "from": {"2000-01-01"}, "to": {"2100-01-01"},
		"categories": {"top", "newcomer"}, "groups": {"A组: " + d.repA + "\nB组：" + d.repB}}
	resp, err := admin.PostForm(d.ts.URL+"/contests", form)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	link := regexp.MustCompile(`href="(/board/[^"?]+\?token=[^"]+)"|href="(http://[^"]+/board/[^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || link == nil {
		t.Fatalf("the form: %d, no board link:\n%.800s", resp.StatusCode, page)
	}
	board := html.UnescapeString(string(link[2]))
	bresp, err := http.Get(board)
	if err != nil {
		t.Fatal(err)
	}
	bpage, _ := io.ReadAll(bresp.Body)
	bresp.Body.Close()
	if bresp.StatusCode != 200 || !strings.Contains(string(bpage), "看板竞赛") || !strings.Contains(string(bpage), "A组") {
		t.Errorf("the form's board link %s: %d %.300s", board, bresp.StatusCode, bpage)
	}
	form.Set("to", "1999-01-01")
	resp, err = admin.PostForm(d.ts.URL+"/contests", form)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(page), "is not after from") || !strings.Contains(string(page), `value="看板竞赛"`) ||
		!strings.Contains(string(page), `value="newcomer" checked`) {
		t.Errorf("a bad form: %d, want 400 saying what is wrong and keeping what was typed:\n%.500s", resp.StatusCode, page)
	}
	mgr := d.client(t)
	d.login(t, mgr, "manager", demoPassword)
	if code, _ := d.page(t, mgr, "/contests/new"); code != http.StatusForbidden {
		t.Errorf("a manager opened the contest form: %d", code)
	}

	var tiers query.AccountTiers
	if code, b := call(t, d, http.MethodGet, "/api/v1/tiers", "tok-director", nil); code != 200 || json.Unmarshal(b, &tiers) != nil {
		t.Fatalf("tiers: %d %s", code, b)
	}
	n, share := 0, 0.0
	for _, ts := range tiers.Tiers {
		n += ts.Accounts
		share += ts.BookingsShare
	}
	var accounts uint64
	if err := d.db.Conn.QueryRow(context.Background(), "SELECT uniqExact(account_id) FROM accounts").Scan(&accounts); err != nil {
		t.Fatal(err)
	}
	if len(tiers.Tiers) != 4 || n != int(accounts) || share+tiers.NoAccount.BookingsShare < 0.999 {
		t.Errorf("tiers: %d levels, %d accounts of %d, shares add to %.3f; want the 4 defaults, every account, 1", len(tiers.Tiers), n, accounts, share+tiers.NoAccount.BookingsShare)
	}
	if code, b := call(t, d, http.MethodGet, "/api/v1/tiers?product=x", "tok-director", nil); code != http.StatusBadRequest || !strings.Contains(string(b), "product") {
		t.Errorf("tiers by product: %d %s, want 400 naming product", code, b)
	}

	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if code, b := call(t, d, http.MethodGet, "/api/v1/openapi.json", "", nil); code != 200 || json.Unmarshal(b, &doc) != nil {
		t.Fatalf("openapi: %d", code)
	}
	for p, ms := range map[string][]string{"/contests": {"get", "post"}, "/contests/{id}": {"get", "put", "delete"}, "/contests/{id}/token": {"post"},
		"/contests/{id}/ranking": {"get"}, "/tiers": {"get"}} {
		for _, m := range ms {
			if doc.Paths[p][m] == nil {
				t.Errorf("OpenAPI has no %s %s", m, p)
			}
		}
	}
	for _, p := range []string{"/territories", "/tiers", "/contests", "/contests/" + ct.Contest.ID} {
		code, b := call(t, d, http.MethodGet, p, "tok-director", nil)
		if code != 200 {
			t.Errorf("page %s: %d %.300s", p, code, b)
		}
		if p == "/territories" && !strings.Contains(string(b), `id="tier-share"`) {
			t.Errorf("the territories page has no tier share panel")
		}
	}
}

// TestBoardUpdatesOverSSE opens the board in Chromium with its link (no
// sign-in), loads a won deal through the ingest service, and expects the
// board to show it within seconds, pushed by the event stream.
func TestBoardUpdatesOverSSE(t *testing.T) {
	br := newBrowser(t)
	d := newDemo(t, 300)
	// Leave the board before the server closes: its stream would hold Close.
	t.Cleanup(func() { _ = chromedp.Do(br.ctx, chromedp.Navigate("about:blank")) })
	ct := makeContest(t, d, "Office board")
	if err := chromedp.Do(br.ctx, chromedp.Navigate(ct.BoardURL), chromedp.WaitVisible(chromedp.CSS(".b-row"))); err != nil {
		t.Fatalf("open the board: %v", err)
	}
	loc := br.location()
	if strings.Contains(loc, "/login") {
		t.Fatalf("the board asked to sign in: %s", loc)
	}
	wait := func(js string, within time.Duration) (time.Duration, error) {
		t0 := time.Now()
		for time.Since(t0) < within {
			ok, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](js))
			if err == nil && ok {
				return time.Since(t0), nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return time.Since(t0), fmt.Errorf("not within %s", within)
	}
	// The stream is open: its first event marks the status live.
	if _, err := wait(`document.getElementById('b-status').className === 'b-status'`, 10*time.Second); err != nil {
		t.Fatalf("the event stream did not start: %v", err)
	}
	pub0, _ := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.body.getAttribute('data-pub')`))
	var name, currency, account string
	if err := d.db.Conn.QueryRow(context.Background(), "SELECT name FROM reps WHERE rep_id = ? LIMIT 1", d.repB).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if err := d.db.Conn.QueryRow(context.Background(), "SELECT currency, account_id FROM opportunities WHERE won = 1 LIMIT 1").Scan(&currency, &account); err != nil {
		t.Fatal(err)
	}
	first := `(() => { const n = document.querySelector('.b-cat .b-row .b-name'); return n ? n.firstChild.textContent : ''; })()`
	if top, _ := chromedp.Run(br.ctx, chromedp.Evaluate[string](first)); top == name {
		t.Fatalf("%s already leads the board; the test needs someone else first", name)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	csvText := "opportunity_id,name,account_id,owner_id,product,pipeline,source,stage,vendor_stage,amount,currency,probability,created_at,close_date,closed,won,lost_reason,snapshot_date,source_system\n" +
		"board-deal-1,Board deal," + account + "," + d.repB + ",,,,won,won,900000000," + currency + ",1," + today + " 09:00:00," + today + ",1,1,," + today + ",canonical\n"
	t0 := time.Now()
	rep, err := d.srv.Options().Ingest.LoadReader(context.Background(), "opportunities.csv", strings.NewReader(csvText), ingest.LoadOptions{Source: "canonical"})
	if err != nil {
		t.Fatalf("load the deal: %v", err)
	}
	loaded := time.Since(t0)
	took, err := wait(fmt.Sprintf(`(%s) === %q && document.body.getAttribute('data-pub') !== %q`, first, name, pub0), 10*time.Second)
	problems, _ := br.take()
	br.shot(t, "board")
	if err != nil {
		top, _ := chromedp.Run(br.ctx, chromedp.Evaluate[string](first))
		t.Fatalf("after the load (%s, %+v) the board still shows %q first, want %s: %v; page problems %v", loaded, rep, top, name, err, problems)
	}
	t.Logf("load took %s; the board showed it %s after the load returned", loaded, took)
	for _, p := range problems {
		if !strings.Contains(p, "EventSource") {
			t.Errorf("board page problem: %s", p)
		}
	}
}

// TestBoardShowsTheLeaders: a board shows ranks up to 10 per group, all who
// tie at the 10th included.
func TestBoardShowsTheLeaders(t *testing.T) {
	var rows []query.RankRow
	for i, rank := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 12, 13} {
		rows = append(rows, query.RankRow{Rank: rank, Name: fmt.Sprint("p", i), Value: float64(100 - i)})
	}
	rk := query.ContestRanking{Contest: query.Contest{ContestInput: query.ContestInput{Name: "c", Metric: query.ContestDealsWon}},
		Categories: []query.CategoryRanking{{Category: query.CategoryTop, Metric: query.ContestDealsWon, Groups: []query.RankGroup{{Name: "g", Rows: rows}}}}}
	bv := boardOf(tr{"en"}, rk, time.Now())
	if n := len(bv.Categories[0].Groups[0].Rows); n != 11 {
		t.Errorf("the board shows %d rows, want 11 (ranks 1-10 with the tie at 10)", n)
	}
}
