package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/query"
)

// Contests (issue 17): the API under /api/v1/contests, the contests page (list,
// rankings, an admin's form) and the office board (board.go).

func init() {
	addMessages(contestMessages)
}

var contestMessages = map[string][2]string{
	"nav.contests":           {"Contests", "销售竞赛"},
	"ct.list":                {"Contests", "竞赛列表"},
	"ct.new":                 {"New contest", "新建竞赛"},
	"ct.manage":              {"Manage contests", "管理竞赛"},
	"ct.name":                {"Name", "名称"},
	"ct.metric":              {"Metric", "指标"},
	"ct.period":              {"Period", "期间"},
	"ct.baseline":            {"Baseline", "基准期"},
	"ct.categories":          {"Categories", "奖项"},
	"ct.who":                 {"Who competes", "参赛人员"},
	"ct.teams":               {"Teams (comma-separated; empty: every rep)", "团队（逗号分隔；留空：所有销售）"},
	"ct.reps":                {"Reps (rep ids, comma-separated)", "销售（销售编号，逗号分隔）"},
	"ct.groups":              {"Groups: one per line, name: rep ids", "分组：每行一组，组名: 销售编号"},
	"ct.newcomer_days":       {"Newcomer: hired at most this many days before the start", "新人：开始前该天数内入职"},
	"ct.from":                {"From", "开始"},
	"ct.to":                  {"To (exclusive)", "结束（不含）"},
	"ct.baseline_from":       {"Baseline from (optional)", "基准期开始（可选）"},
	"ct.baseline_to":         {"Baseline to (optional)", "基准期结束（可选）"},
	"ct.create":              {"Create contest", "创建竞赛"},
	"ct.created":             {"Contest created. Its board link, with its board token, is shown this once: open it on the office screen.", "竞赛已创建。电子看板链接（含看板令牌）仅显示这一次，请在办公室大屏上打开。"},
	"ct.token_new":           {"New board link", "重新生成看板链接"},
	"ct.token_made":          {"New board link made; the old one no longer opens the board. Shown this once:", "已生成新的看板链接，旧链接失效。仅显示这一次："},
	"ct.delete":              {"Delete", "删除"},
	"ct.deleted":             {"Contest deleted.", "竞赛已删除。"},
	"ct.board":               {"Board", "电子看板"},
	"ct.none":                {"No contest yet.", "暂无竞赛。"},
	"ct.rank":                {"Rank", "名次"},
	"ct.rep":                 {"Rep", "销售"},
	"ct.team":                {"Team", "团队"},
	"ct.value":               {"Value", "数值"},
	"ct.current":             {"This period", "本期"},
	"ct.base":                {"Baseline", "基准期"},
	"ct.participants":        {"participants", "名参赛者"},
	"ct.updated":             {"Updated", "更新于"},
	"ct.live":                {"live", "实时"},
	"ct.offline":             {"reconnecting…", "正在重连…"},
	"ct.back":                {"Back to contests", "返回竞赛列表"},
	"ct.group.others":        {"Others", "其他"},
	"ct.group.newcomers":     {"Newcomers", "新人"},
	"ct.cat.top":             {"Top performers", "业绩榜"},
	"ct.cat.improvement":     {"Biggest improvement", "进步最大"},
	"ct.cat.newcomer":        {"Best newcomer", "最佳新人"},
	"ct.cat.new_accounts":    {"Most new accounts", "新客户最多"},
	"ct.metric.won_amount":   {"Won amount", "赢单金额"},
	"ct.metric.deals_won":    {"Deals won", "赢单数"},
	"ct.metric.win_rate":     {"Win rate", "赢率"},
	"ct.metric.new_accounts": {"New accounts", "新客户数"},
	"ct.admin_only":          {"Contests are defined by admins and directors.", "竞赛由管理员和销售总监设置。"},
	"ct.board_token":         {"This board needs its board link (with its token): ask the admin who set up the contest.", "此看板需要带令牌的看板链接，请联系设置竞赛的管理员。"},
}

// mountContests registers the contests API.
func (a *api) contestsAPI(g *echo.Group) {
	g.GET("/contests", a.contestList)
	g.POST("/contests", a.contestCreate)
	g.GET("/contests/:id", a.contestGet)
	g.PUT("/contests/:id", a.contestUpdate)
	g.DELETE("/contests/:id", a.contestDelete)
	g.POST("/contests/:id/token", a.contestToken)
	g.GET("/contests/:id/ranking", a.contestRanking)
}

// contestCreated is the answer to a creation or a new token: the only time
// the board token is shown.
type contestCreated struct {
	Contest    *query.Contest `json:"contest,omitempty"`
	BoardToken string         `json:"board_token"`
	BoardURL   string         `json:"board_url"`
}

func (a *api) scope(c echo.Context) (query.Scope, error) {
	sc, ok := ScopeOf(c)
	if !ok || sc.Role == "" {
		return sc, echo.NewHTTPError(http.StatusUnauthorized, "sign in or send Authorization: Bearer <token>")
	}
	return sc, nil
}

func (a *api) contestList(c echo.Context) error {
	sc, err := a.scope(c)
	if err != nil {
		return err
	}
	cs, err := a.svc.Contests(c.Request().Context(), sc)
	return reply(c, map[string][]query.Contest{"contests": cs}, err)
}

func (a *api) contestGet(c echo.Context) error {
	sc, err := a.scope(c)
	if err != nil {
		return err
	}
	ct, err := a.svc.Contest(c.Request().Context(), sc, c.Param("id"))
	return reply(c, ct, err)
}

func (a *api) contestRanking(c echo.Context) error {
	sc, err := a.scope(c)
	if err != nil {
		return err
	}
	rk, err := a.svc.Ranking(c.Request().Context(), sc, c.Param("id"))
	return reply(c, rk, err)
}

// decodeContest reads a contest definition strictly: an unknown field is a
// 400 naming it.
func decodeContest(c echo.Context) (query.ContestInput, error) {
	var in query.ContestInput
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20))
	if err != nil {
		return in, echo.NewHTTPError(http.StatusBadRequest, "read the body: "+err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, echo.NewHTTPError(http.StatusBadRequest, "contest: "+err.Error()+" (fields: name, metric, from, to, baseline_from, baseline_to, newcomer_days, teams, reps, groups, categories)")
	}
	return in, nil
}

func (a *api) contestCreate(c echo.Context) error {
	sc, err := a.scope(c)
	if err != nil {
		return err
	}
	in, err := decodeContest(c)
	if err != nil {
		return err
	}
	ct, tok, err := a.svc.CreateContest(c.Request().Context(), sc, in)
	if err != nil {
		return apiError(err)
	}
	return c.JSON(http.StatusCreated, contestCreated{Contest: &ct, BoardToken: tok, BoardURL: boardURL(c, ct.ID, tok)})
}

func (a *api) contestUpdate(c echo.Context) error {
	sc, err := a.scope(c)
	if err != nil {
		return err
	}
	in, err := decodeContest(c)
	if err != nil {
		return err
	}
	ct, err := a.svc.UpdateContest(c.Request().Context(), sc, c.Param("id"), in)
	return reply(c, ct, err)
}

func (a *api) contestDelete(c echo.Context) error {
	sc, err := a.scope(c)
	if err != nil {
		return err
	}
	if err := a.svc.DeleteContest(c.Request().Context(), sc, c.Param("id")); err != nil {
		return apiError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (a *api) contestToken(c echo.Context) error {
	sc, err := a.scope(c)
	if err != nil {
		return err
	}
	tok, err := a.svc.RotateBoardToken(c.Request().Context(), sc, c.Param("id"))
	if err != nil {
		return apiError(err)
	}
	return c.JSON(http.StatusOK, contestCreated{BoardToken: tok, BoardURL: boardURL(c, c.Param("id"), tok)})
}

// boardURL is the board's address with its token, on the host the request
// came to.
func boardURL(c echo.Context, id, token string) string {
	scheme := "http"
	if isHTTPS(c) {
		scheme = "https"
	}
	return scheme + "://" + c.Request().Host + "/board/" + url.PathEscape(id) + "?token=" + url.QueryEscape(token)
}

// --- pages ---

func (p *pages) contestsPages(g *echo.Group) {
	g.GET("/contests", p.contestsPage)
	g.GET("/contests/new", p.contestNew, p.admin)
	g.POST("/contests", p.contestSubmit, p.admin, p.csrf)
	g.GET("/contests/:id", p.contestPage)
	g.POST("/contests/:id/token", p.contestNewToken, p.admin, p.csrf)
	g.POST("/contests/:id/delete", p.contestRemove, p.admin, p.csrf)
}

func metricName(r *request, m string) string { return r.T("ct.metric." + m) }

func groupName(t tr, g string) string {
	switch g {
	case query.OthersGroup, query.NewcomersGroup:
		return t.T("ct.group." + g)
	}
	return g
}

// contestsPage lists the contests; admins and directors get the link to a new
// one and each contest's actions.
func (p *pages) contestsPage(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	cs, err := p.svc.Contests(c.Request().Context(), r.scope)
	if err != nil {
		return apiError(err)
	}
	v := &view{Title: r.T("nav.contests"), Nav: "contests"}
	t := &table{ID: "contests", Cols: []col{{Label: r.T("ct.name")}, {Label: r.T("ct.metric")}, {Label: r.T("ct.period")}, {Label: r.T("ct.categories")}, {Label: r.T("ct.board")}}}
	for _, ct := range cs {
		var cats []string
		for _, k := range ct.Categories {
			cats = append(cats, r.T("ct.cat."+k))
		}
		t.Rows = append(t.Rows, row{Cells: []cell{{Text: ct.Name, Link: "/contests/" + url.PathEscape(ct.ID)}, {Text: metricName(r, ct.Metric)},
			{Text: ct.From + " – " + ct.To}, {Text: strings.Join(cats, ", ")}, {Text: "/board/" + ct.ID, Link: "/board/" + url.PathEscape(ct.ID)}}})
	}
	pn := &panel{ID: "contests-list", Title: r.T("ct.list"), Table: t}
	if len(cs) == 0 {
		pn.Empty = r.T("ct.none")
	}
	if r.scope.SeesAll() {
		pn.Links = []link{{Label: r.T("ct.new"), URL: "/contests/new"}}
	}
	v.Panels = append(v.Panels, pn)
	return p.render(r, v)
}

// contestPage shows a contest's rankings in the caller's scope.
func (p *pages) contestPage(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	rk, err := p.svc.Ranking(c.Request().Context(), r.scope, c.Param("id"))
	if err != nil {
		return apiError(err)
	}
	ct := rk.Contest
	v := &view{Title: ct.Name, Nav: "contests", Crumbs: []link{{Label: r.T("nav.contests"), URL: "/contests"}}}
	sub := metricName(r, ct.Metric) + " · " + ct.From + " – " + ct.To + " · " + strconv.Itoa(rk.Participants) + " " + r.T("ct.participants")
	info := &panel{ID: "contest-info", Title: r.T("ct.board"), Sub: sub, Links: []link{{Label: r.T("ct.board"), URL: "/board/" + url.PathEscape(ct.ID)}}}
	info.Items = []item{{Title: r.T("ct.baseline"), Text: ct.BaselineFrom + " – " + ct.BaselineTo}}
	if r.scope.SeesAll() {
		info.Links = append(info.Links, link{Label: r.T("ct.manage"), URL: "/contests/new"})
	}
	v.Panels = append(v.Panels, info)
	for _, cr := range rk.Categories {
		if len(cr.Groups) == 0 {
			// Nobody qualifies (no newcomer): the category still shows.
			cr.Groups = []query.RankGroup{{}}
		}
		for _, g := range cr.Groups {
			v.Panels = append(v.Panels, rankingPanel(r, cr, g))
		}
	}
	return p.render(r, v)
}

func rankingPanel(r *request, cr query.CategoryRanking, g query.RankGroup) *panel {
	title := r.T("ct.cat." + cr.Category)
	if g.Name != "" {
		title += " · " + groupName(r.tr, g.Name)
	}
	cols := []col{{Label: r.T("ct.rank"), Num: true}, {Label: r.T("ct.rep")}, {Label: r.T("ct.team")}, {Label: metricName(r, cr.Metric), Num: true}}
	if cr.Category == query.CategoryImprovement {
		cols = append(cols, col{Label: r.T("ct.current"), Num: true}, col{Label: r.T("ct.base"), Num: true})
	}
	t := &table{ID: "rank-" + cr.Category + "-" + g.Name, Cols: cols}
	for _, x := range g.Rows {
		cells := []cell{count(r, int64(x.Rank)), {Text: x.Name}, {Text: x.Team}, metricCell(r, cr.Metric, x.Value)}
		if x.Current != nil {
			cells = append(cells, metricCell(r, cr.Metric, *x.Current), metricCell(r, cr.Metric, *x.Baseline))
		}
		t.Rows = append(t.Rows, row{Cells: cells})
	}
	pn := &panel{ID: "rank-" + cr.Category + "-" + g.Name, Title: title, Span: 6, Table: t}
	if len(t.Rows) == 0 {
		pn.Empty = r.T("empty")
	}
	return pn
}

func metricCell(r *request, metric string, v float64) cell {
	switch metric {
	case query.ContestWonAmount:
		return money(r, v)
	case query.ContestWinRate:
		return pct(r, v)
	}
	return count(r, int64(v))
}

// contestNew is the admin's form (its own page: the layout has no forms but
// the upload's).
func (p *pages) contestNew(c echo.Context) error {
	return p.contestForm(c, "", "", "")
}

type contestFormView struct {
	tr
	V, CSRF, Error, Made, Notice string
	// MadeText says what Made (a board link, shown once) is.
	MadeText            string
	Metrics, Categories []string
	Contests            []query.Contest
	In                  url.Values
}

// Checked says whether category c is ticked: as sent back after an error,
// else top only.
func (v contestFormView) Checked(c string) bool {
	if cs, ok := v.In["categories"]; ok {
		return listHas(cs, c)
	}
	return c == query.CategoryTop
}

func listHas(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

func (p *pages) contestForm(c echo.Context, errMsg, made, madeText string) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	cs, _ := p.svc.Contests(c.Request().Context(), r.scope)
	in, _ := c.FormParams()
	if made != "" {
		in = url.Values{}
	}
	v := contestFormView{tr: r.tr, V: p.version, CSRF: p.s.auth.csrfFor(r.user), Error: errMsg, Made: made, MadeText: madeText,
		Notice:  contestMessages[c.QueryParam("notice")][r.idx()],
		Metrics: query.ContestMetrics, Categories: query.ContestCategories, Contests: cs, In: in}
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, "contest_form.html", v); err != nil {
		return fmt.Errorf("render contest form: %w", err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	code := http.StatusOK
	if errMsg != "" {
		code = http.StatusBadRequest
	}
	return c.HTMLBlob(code, buf.Bytes())
}

// contestSubmit creates a contest from the form and shows its board link once.
func (p *pages) contestSubmit(c echo.Context) error {
	sc, _ := ScopeOf(c)
	in, err := contestFromForm(c)
	if err == nil {
		var ct query.Contest
		var tok string
		ct, tok, err = p.svc.CreateContest(c.Request().Context(), sc, in)
		if err == nil {
			return p.contestForm(c, "", boardURL(c, ct.ID, tok), "ct.created")
		}
	}
	if errors.Is(err, query.ErrBadFilter) || errors.As(err, new(*echo.HTTPError)) {
		return p.contestForm(c, err.Error(), "", "")
	}
	return apiError(err)
}

// contestFromForm reads the form: lists are comma-separated, groups one per
// line as "name: r1, r2".
func contestFromForm(c echo.Context) (query.ContestInput, error) {
	split := func(s string) []string {
		var out []string
		for _, x := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == ' ' || r == '\n' || r == '\r' }) {
			out = append(out, x)
		}
		return out
	}
	in := query.ContestInput{Name: c.FormValue("name"), Metric: c.FormValue("metric"), From: c.FormValue("from"), To: c.FormValue("to"),
		BaselineFrom: c.FormValue("baseline_from"), BaselineTo: c.FormValue("baseline_to"), Teams: split(c.FormValue("teams")), Reps: split(c.FormValue("reps"))}
	form, _ := c.FormParams()
	in.Categories = form["categories"]
	if s := strings.TrimSpace(c.FormValue("newcomer_days")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return in, echo.NewHTTPError(http.StatusBadRequest, "newcomer_days: "+strconv.Quote(s)+" is not a number of days")
		}
		in.NewcomerDays = n
	}
	for i, line := range strings.Split(c.FormValue("groups"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, reps, ok := strings.Cut(strings.ReplaceAll(line, "：", ":"), ":")
		if !ok {
			return in, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("groups line %d %q: want name: rep ids", i+1, line))
		}
		in.Groups = append(in.Groups, query.ContestGroup{Name: strings.TrimSpace(name), Reps: split(reps)})
	}
	return in, nil
}

func (p *pages) contestNewToken(c echo.Context) error {
	sc, _ := ScopeOf(c)
	tok, err := p.svc.RotateBoardToken(c.Request().Context(), sc, c.Param("id"))
	if err != nil {
		return apiError(err)
	}
	// Shown on the answer, never put in a URL (history, logs).
	return p.contestForm(c, "", boardURL(c, c.Param("id"), tok), "ct.token_made")
}

func (p *pages) contestRemove(c echo.Context) error {
	sc, _ := ScopeOf(c)
	if err := p.svc.DeleteContest(c.Request().Context(), sc, c.Param("id")); err != nil {
		return apiError(err)
	}
	return c.Redirect(http.StatusSeeOther, "/contests/new?notice=ct.deleted")
}
