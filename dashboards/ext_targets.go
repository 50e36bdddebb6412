package dashboards

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/query"
)

// Targets and forecast (issue 16): GET /api/v1/targets (top-down against
// bottom-up), GET /api/v1/targets/versions (the history of target loads) and
// POST /api/v1/targets (a new version: a split, or rows by hand), and the
// /targets page.
func (a *api) mountTargetsAPI(s *Server, g *echo.Group) {
	g.GET("/targets", a.targets)
	g.GET("/targets/versions", a.targetVersions)
	g.POST("/targets", func(c echo.Context) error { return a.saveTargets(c, s) }, s.requireImporter)
}

func (p *pages) mountTargetsPages(s *Server, g *echo.Group) {
	g.GET("/targets", p.targetsPage)
	g.POST("/targets", p.targetsSave, p.csrf, p.admin)
}

// targetsNavs: everyone signed in sees the targets of their scope.
func targetsNavs(r *request) []navItem { return []navItem{{"/targets", "targets"}} }

func (a *api) targets(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	req, err := forecastRequest(c, a.svc.Location())
	if err != nil {
		return apiError(err)
	}
	v, err := a.svc.Targets(c.Request().Context(), sc, f, req.Period, req.AsOf)
	return reply(c, v, err)
}

func (a *api) targetVersions(c echo.Context) error {
	sc, _, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.TargetVersions(c.Request().Context(), sc)
	return reply(c, struct {
		Versions []query.TargetVersion `json:"versions"`
	}{v}, err)
}

// targetsBody is POST /api/v1/targets: either a split to store (year, amount
// and the split's options, as GET /targets/split takes them) or rows.
type targetsBody struct {
	Year    int         `json:"year"`
	Amount  float64     `json:"amount"`
	GroupBy string      `json:"group_by"`
	Periods string      `json:"periods"`
	Groups  string      `json:"groups"`
	Weights []float64   `json:"weights"`
	Rows    []targetRow `json:"rows"`
	Note    string      `json:"note"`
}

// targetRow is one stored target: scope (company, territory, team, rep), its
// id, the period [period_start, period_end) and the amount.
type targetRow struct {
	Scope       string  `json:"scope"`
	ScopeID     string  `json:"scope_id"`
	PeriodStart string  `json:"period_start"`
	PeriodEnd   string  `json:"period_end"`
	Amount      float64 `json:"amount"`
}

func (a *api) saveTargets(c echo.Context, s *Server) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	var b targetsBody
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 8<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "body: "+err.Error())
	}
	rows := b.Rows
	if len(rows) == 0 {
		sp, err := a.svc.SplitTarget(c.Request().Context(), sc, f, query.SplitRequest{Year: b.Year, Amount: b.Amount,
			GroupBy: b.GroupBy, Periods: b.Periods, Groups: b.Groups, Weights: b.Weights})
		if err != nil {
			return apiError(err)
		}
		rows = splitRows(sp)
	}
	rep, err := storeTargets(c.Request().Context(), s.opts.Ingest, sc.Name, b.Note, rows)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// splitRows is a split as month rows per group (their cents add up to each
// quarter and to the target, TargetSplit).
func splitRows(sp query.TargetSplit) []targetRow {
	var rows []targetRow
	for _, g := range sp.Groups {
		for m, amt := range g.Months {
			rows = append(rows, targetRow{Scope: sp.GroupBy, ScopeID: g.Key, PeriodStart: sp.Months[m].Start, PeriodEnd: sp.Months[m].End, Amount: amt})
		}
	}
	return rows
}

// storeTargets loads rows as a canonical targets export through ingest's
// write path: a version is an ingest run (committed or not at all), listed by
// GET /targets/versions; a later version replaces the rows of the same scope,
// id and period start.
func storeTargets(ctx context.Context, ing *ingest.Service, user, note string, rows []targetRow) (*ingest.Report, error) {
	if ing == nil {
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "this server does not load targets")
	}
	if len(rows) == 0 {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "no targets to store")
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"scope", "scope_id", "period_start", "period_end", "metric", "amount", "currency"})
	for i, r := range rows {
		if err := r.check(); err != nil {
			return nil, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("rows[%d]: %v", i, err))
		}
		w.Write([]string{r.Scope, r.ScopeID, r.PeriodStart, r.PeriodEnd, "bookings", strconv.FormatFloat(r.Amount, 'f', 2, 64), ""})
	}
	w.Flush()
	name := fmt.Sprintf("targets-%s-%s.csv", time.Now().UTC().Format("20060102-150405"), fileSafe(user))
	if note != "" {
		name = fmt.Sprintf("targets-%s-%s-%s.csv", time.Now().UTC().Format("20060102-150405"), fileSafe(user), fileSafe(note))
	}
	rep, err := ing.LoadReader(ctx, name, &buf, ingest.LoadOptions{Source: "canonical:targets"})
	if err != nil {
		if rep != nil {
			return rep, echo.NewHTTPError(http.StatusUnprocessableEntity, err.Error()).WithInternal(err)
		}
		return nil, err
	}
	if rep.Rejected > 0 {
		return rep, echo.NewHTTPError(http.StatusUnprocessableEntity, fmt.Sprintf("%d target rows rejected", rep.Rejected))
	}
	return rep, nil
}

func (r targetRow) check() error {
	switch r.Scope {
	case "company", "territory", "team", "rep":
	default:
		return fmt.Errorf("scope %q: want company, territory, team or rep", r.Scope)
	}
	if r.Scope != "company" && strings.TrimSpace(r.ScopeID) == "" {
		return errors.New("scope_id is empty")
	}
	s, err1 := time.Parse(time.DateOnly, r.PeriodStart)
	e, err2 := time.Parse(time.DateOnly, r.PeriodEnd)
	if err1 != nil || err2 != nil || !e.After(s) {
		return fmt.Errorf("period %q..%q: want YYYY-MM-DD dates, the end after the start", r.PeriodStart, r.PeriodEnd)
	}
	if !(r.Amount >= 0) || r.Amount > 1e15 {
		return fmt.Errorf("amount %v: want a number ≥ 0", r.Amount)
	}
	return nil
}

func fileSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}

// targetsPage shows the period's targets against the forecast for the caller's
// levels; admins and directors also split a yearly target, edit the proposal
// by hand, store it as a new version, and see the versions.
func (p *pages) targetsPage(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	period := c.QueryParam("period")
	if period == "" {
		period = query.PeriodQuarter
	}
	v := &view{Title: r.T("nav.targets"), Nav: "targets"}
	for _, pr := range []string{query.PeriodQuarter, query.PeriodNextQuarter, query.PeriodMonth} {
		v.Links = append(v.Links, link{Label: r.T("tg.period." + pr), URL: r.url("/targets", "period", pr), Active: pr == period})
	}
	tv, err := p.svc.Targets(ctx, r.scope, r.f, period, time.Time{})
	if err != nil {
		return apiError(err)
	}
	v.Panels = append(v.Panels, &panel{ID: "topdown", Title: r.T("tg.topdown") + " " + tv.From + " – " + tv.To, Sub: r.T("tg.topdown_sub"),
		Table: topDownTable(r, tv), Empty: emptyIf(len(tv.Levels) == 0, r.T("tg.none"))})
	if r.scope.Role == query.RoleAdmin || r.scope.Role == query.RoleDirector {
		sp, perr := p.splitPanels(ctx, r)
		if perr != nil {
			return perr
		}
		v.Panels = append(v.Panels, sp...)
		vs, err := p.svc.TargetVersions(ctx, r.scope)
		if err != nil {
			return apiError(err)
		}
		v.Panels = append(v.Panels, &panel{ID: "versions", Title: r.T("tg.versions"), Sub: r.T("tg.versions_sub"), Table: versionsTable(r, vs),
			Empty: emptyIf(len(vs) == 0, r.T("tg.no_versions"))})
	}
	return p.render(r, v)
}

// parseWeights reads comma-separated weights ("" is none).
func parseWeights(s string) ([]float64, error) {
	var out []float64
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, f := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, &query.ParamError{Param: "weights", Msg: "want numbers separated by commas"}
		}
		out = append(out, x)
	}
	return out, nil
}

func emptyIf(b bool, s string) string {
	if b {
		return s
	}
	return ""
}

func topDownTable(r *request, tv query.TargetsView) *table {
	t := &table{ID: "topdown", Cols: []col{{Label: r.T("tg.level")}, {Label: r.T("tg.name")}, {Label: r.T("tg.target"), Num: true},
		{Label: r.T("fc.won"), Num: true}, {Label: r.T("fc.pipeline"), Num: true}, {Label: r.T("fc.point"), Num: true},
		{Label: r.T("fc.range"), Num: true}, {Label: r.T("tg.difference"), Num: true}, {Label: r.T("tg.ratio"), Num: true},
		{Label: r.T("fc.needed_week"), Num: true}, {Label: r.T("fc.prob_short"), Num: true}}}
	for _, l := range tv.Levels {
		name := l.Name
		if name == "" {
			name = l.Key
		}
		if l.Level == "company" {
			name = r.T("tg.company")
		}
		target, diff, ratio, needed, prob := cell{Text: "–"}, cell{Text: "–"}, cell{Text: "–"}, cell{Text: "–"}, cell{Text: "–"}
		if l.HasTarget {
			needed, prob = money(r, l.NeededPerWeek), pct(r, l.ProbReach)
			prob.Class = classBy(l.ProbReach, 0.6, 0.3)
			target, diff = money(r, l.Target), money(r, l.Difference)
			diff.Class = "good"
			if l.Difference < 0 {
				diff.Class = "bad"
			}
			if l.Ratio != nil {
				ratio = pct(r, *l.Ratio)
				ratio.Class = classBy(*l.Ratio, 1, 0.9)
			}
		}
		t.Rows = append(t.Rows, row{Cells: []cell{{Text: r.T("tg.level." + l.Level)}, {Text: name}, target, money(r, l.Won), money(r, l.Pipeline),
			money(r, l.Forecast), {Text: r.Money(l.P10) + " – " + r.Money(l.P90)}, diff, ratio, needed, prob}})
	}
	t.CSV = r.url("/targets", "csv", "topdown")
	return t
}

// splitPanels is the split form and, when it names an amount, the proposal
// as a grid of quarter amounts per group to edit and store.
func (p *pages) splitPanels(ctx context.Context, r *request) ([]*panel, error) {
	q := r.q
	year := time.Now().In(p.svc.Location()).Year() + 1
	if y, err := strconv.Atoi(q.Get("year")); err == nil {
		year = y
	}
	sel := func(name, cur string, vals ...string) formField {
		ff := formField{Label: r.T("tg.f." + name), Name: name}
		for _, v := range vals {
			ff.Options = append(ff.Options, formOption{Value: v, Label: r.T("tg.o." + v), Selected: v == cur})
		}
		return ff
	}
	req := query.SplitRequest{Year: year, GroupBy: q.Get("group_by"), Periods: q.Get("periods"), Groups: q.Get("groups")}
	form := &form{Method: "get", Action: "/targets", Submit: r.T("tg.propose"), Fields: []formField{
		{Label: r.T("tg.f.year"), Name: "year", Type: "number", Value: strconv.Itoa(year)},
		{Label: r.T("tg.f.amount"), Name: "amount", Type: "number", Value: q.Get("amount")},
		sel("group_by", req.GroupBy, "team", "rep", "territory"),
		sel("periods", req.Periods, query.SplitSeasonal, query.SplitEven, query.SplitManual),
		sel("groups", req.Groups, query.SplitHistory, query.SplitEven, query.SplitCapacity, query.SplitPotential),
		{Label: r.T("tg.f.weights"), Name: "weights", Type: "text", Value: q.Get("weights"), Placeholder: "1,1,1,1"},
	}}
	out := []*panel{{ID: "split", Title: r.T("tg.split"), Sub: r.T("tg.split_sub"), Form: form}}
	amount, err := strconv.ParseFloat(q.Get("amount"), 64)
	if q.Get("amount") == "" {
		return out, nil
	}
	if err != nil {
		out[0].Empty = r.T("tg.bad_amount")
		return out, nil
	}
	req.Amount = amount
	if req.Weights, err = parseWeights(q.Get("weights")); err != nil {
		out[0].Empty = r.T("tg.bad_weights")
		return out, nil
	}
	sp, err := p.svc.SplitTarget(ctx, r.scope, r.f, req)
	if errors.Is(err, query.ErrBadFilter) {
		out[0].Empty = err.Error()
		return out, nil
	}
	if err != nil {
		return nil, apiError(err)
	}
	return append(out, proposalPanel(r, sp)), nil
}

// proposalPanel is the split's quarters per group as inputs; posting it stores
// them (as edited) as quarter targets.
func proposalPanel(r *request, sp query.TargetSplit) *panel {
	grid := &formGrid{ID: "proposal", Cols: []string{r.T("tg.o." + sp.GroupBy)}}
	for q := range sp.Quarters {
		grid.Cols = append(grid.Cols, fmt.Sprintf("Q%d %d", q+1, sp.Year))
	}
	f := &form{Method: "post", Action: "/targets", Submit: r.T("tg.save"), Grid: grid,
		Hidden: []formField{{Name: "year", Value: strconv.Itoa(sp.Year)}, {Name: "group_by", Value: sp.GroupBy}}}
	for i, g := range sp.Groups {
		label := g.Key
		if g.Name != "" {
			label = g.Name + " (" + g.Key + ")"
		}
		f.Hidden = append(f.Hidden, formField{Name: fmt.Sprintf("k%d", i), Value: g.Key})
		gr := formGridRow{Label: label}
		for q, a := range g.Quarters {
			gr.Inputs = append(gr.Inputs, formField{Label: label + " " + grid.Cols[q+1], Name: fmt.Sprintf("a%dq%d", i, q+1), Value: strconv.FormatFloat(a, 'f', 2, 64)})
		}
		grid.Rows = append(grid.Rows, gr)
	}
	sub := fmt.Sprintf(r.T("tg.proposal_sub"), r.Money(sp.Amount), r.Money(sp.Basis))
	return &panel{ID: "proposal", Title: r.T("tg.proposal"), Sub: sub, Form: f}
}

// targetsSave stores the posted proposal grid as quarter targets.
func (p *pages) targetsSave(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	rows, err := gridRows(form)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	rep, err := storeTargets(c.Request().Context(), p.s.opts.Ingest, r.scope.Name, "", rows)
	if err != nil {
		return err
	}
	run := ""
	if rep != nil && len(rep.Files) > 0 {
		run = strconv.FormatUint(rep.Files[0].RunID, 10)
	}
	return c.Redirect(http.StatusSeeOther, "/targets?notice=tg.saved&version="+url.QueryEscape(run))
}

// gridRows reads the proposal grid: k<i> names group i, a<i>q<q> its quarter q.
func gridRows(form url.Values) ([]targetRow, error) {
	year, err := strconv.Atoi(form.Get("year"))
	if err != nil || year < 1972 || year > 2104 {
		return nil, fmt.Errorf("year %q: want a year", form.Get("year"))
	}
	scope := form.Get("group_by")
	var rows []targetRow
	for i := 0; ; i++ {
		key := form.Get(fmt.Sprintf("k%d", i))
		if key == "" {
			break
		}
		for q := 1; q <= 4; q++ {
			name := fmt.Sprintf("a%dq%d", i, q)
			a, err := strconv.ParseFloat(strings.TrimSpace(form.Get(name)), 64)
			if err != nil {
				return nil, fmt.Errorf("%s Q%d: %q is not an amount", key, q, form.Get(name))
			}
			s := time.Date(year, time.Month(3*q-2), 1, 0, 0, 0, 0, time.UTC)
			rows = append(rows, targetRow{Scope: scope, ScopeID: key, PeriodStart: s.Format(time.DateOnly), PeriodEnd: s.AddDate(0, 3, 0).Format(time.DateOnly), Amount: a})
		}
	}
	return rows, nil
}

func versionsTable(r *request, vs []query.TargetVersion) *table {
	t := &table{ID: "versions", Cols: []col{{Label: r.T("col.run"), Num: true}, {Label: r.T("col.file")}, {Label: r.T("tg.loaded_at")},
		{Label: r.T("tg.rows"), Num: true}, {Label: r.T("tg.in_force"), Num: true}, {Label: r.T("tg.total"), Num: true}, {Label: r.T("tg.span")}, {Label: r.T("tg.scopes")}}}
	for _, v := range vs {
		id := strconv.FormatUint(v.RunID, 10)
		var scopes []string
		for _, s := range v.Scopes {
			scopes = append(scopes, r.T("tg.level."+s))
		}
		t.Rows = append(t.Rows, row{Cells: []cell{{Text: id, Link: "/imports/" + id}, {Text: v.File}, {Text: v.LoadedAt.In(time.Local).Format("2006-01-02 15:04")},
			count(r, v.Rows), count(r, v.InForce), money(r, v.Total), {Text: v.From + " – " + v.To}, {Text: strings.Join(scopes, ", ")}}})
	}
	t.CSV = r.url("/targets", "csv", "versions")
	return t
}

func openAPITargets(schemas, paths obj) {
	level := props([]string{"level", "key", "target", "has_target", "forecast"}, obj{"level": enum("company", "team", "rep"), "key": str, "name": str,
		"target": number, "has_target": boolean, "won": number, "pipeline": number, "forecast": number, "p10": number, "p90": number,
		"difference": number, "ratio": obj{"type": "number", "nullable": true},
		"gap": number, "needed_per_week": number, "coverage": number, "prob_reach": number})
	schemas["Targets"] = props([]string{"period", "from", "to", "levels"}, obj{"period": str, "from": date, "to": date, "as_of": date, "levels": arr(level)})
	schemas["TargetVersions"] = props([]string{"versions"}, obj{"versions": arr(props(nil, obj{"run_id": integer, "file": str,
		"loaded_at": obj{"type": "string", "format": "date-time"}, "rows": integer, "in_force": integer, "total": number, "from": date, "to": date, "scopes": arr(str)}))})
	row := props([]string{"scope", "period_start", "period_end", "amount"}, obj{"scope": enum("company", "territory", "team", "rep"), "scope_id": str,
		"period_start": date, "period_end": date, "amount": number})
	schemas["TargetsSave"] = props(nil, obj{"year": integer, "amount": number, "group_by": enum("team", "rep", "territory"),
		"periods": enum(query.SplitSeasonal, query.SplitEven, query.SplitManual), "groups": enum(query.SplitHistory, query.SplitEven, query.SplitCapacity, query.SplitPotential),
		"weights": arr(number), "rows": arr(row), "note": str})
	get := op("Targets: top-down against bottom-up",
		"Per level the caller sees (company, teams, reps): the period's target (prorated by days), won, open pipeline and the forecast with its range, "+
			"the difference forecast − target and their ratio. See query/METRICS.md, Targets.", "Targets",
		param("period", "The period (default quarter).", enum(query.PeriodQuarter, query.PeriodNextQuarter, query.PeriodMonth)),
		param("as_of", "The day, YYYY-MM-DD (default today).", date))
	get["post"] = obj{"summary": "Store a new target version", "description": "Directors and admins. Either a split (year, amount, group_by, periods, groups, weights: " +
		"stored as month targets per group) or rows. Loaded through the ingest write path as one run: all rows or none; a later version replaces " +
		"the rows of the same scope, id and period start.",
		"requestBody": obj{"required": true, "content": obj{"application/json": obj{"schema": ref("TargetsSave")}}},
		"responses": obj{"200": jsonResp("the load's report", "ImportReport"), "400": jsonResp("bad body", "Error"),
			"403": jsonResp("not a director or admin", "Error"), "422": jsonResp("rows rejected", "ImportFailed")}}
	paths["/targets"] = get
	paths["/targets/versions"] = op("Target versions", "Every committed load of targets, newest first, with how many of its rows are still in force. Directors and admins.", "TargetVersions")
}

var targetsMessages = map[string][2]string{
	"nav.targets":            {"Targets", "目标"},
	"tg.period.quarter":      {"This quarter", "本季度"},
	"tg.period.next_quarter": {"Next quarter", "下季度"},
	"tg.period.month":        {"This month", "本月"},
	"tg.topdown":             {"Targets against the forecast", "目标与预测对比"},
	"tg.topdown_sub":         {"Top-down: the targets set. Bottom-up: won so far, open pipeline and the forecast (p10–p90). Difference = forecast − target.", "自上而下：已设定的目标；自下而上：已赢单、在途商机与预测（P10–P90）。差额 = 预测 − 目标。"},
	"tg.none":                {"Nothing to show for this period in your scope.", "您的范围内本期间没有数据。"},
	"tg.level":               {"Level", "层级"},
	"tg.name":                {"Name", "名称"},
	"tg.target":              {"Target", "目标"},
	"tg.difference":          {"Forecast − target", "预测 − 目标"},
	"tg.ratio":               {"Forecast / target", "预测 / 目标"},
	"tg.company":             {"Company", "公司"},
	"tg.level.company":       {"Company", "公司"},
	"tg.level.team":          {"Team", "团队"},
	"tg.level.rep":           {"Rep", "销售"},
	"tg.level.territory":     {"Territory", "区域"},
	"tg.split":               {"Split a yearly target", "分解年度目标"},
	"tg.split_sub":           {"Into teams, reps or territories and quarters: by last year's bookings (a quarter of it evenly), evenly, by reps (capacity) or by market potential; months by last year's seasonality, evenly or by hand (4 quarter or 12 month weights).", "分解到团队、销售或区域及各季度：按去年业绩（其中四分之一平均分配）、平均、按人数（产能）或按市场潜力；月份按去年季节性、平均或手工权重（4个季度或12个月）。"},
	"tg.f.year":              {"Year", "年度"},
	"tg.f.amount":            {"Yearly target", "年度目标"},
	"tg.f.group_by":          {"Among", "分解到"},
	"tg.f.periods":           {"Over the year", "时间分布"},
	"tg.f.groups":            {"Shares by", "份额依据"},
	"tg.f.weights":           {"Weights (manual)", "手工权重"},
	"tg.o.team":              {"Teams", "团队"},
	"tg.o.rep":               {"Reps", "销售"},
	"tg.o.territory":         {"Territories", "区域"},
	"tg.o.seasonal":          {"Last year's seasonality", "去年季节性"},
	"tg.o.even":              {"Evenly", "平均"},
	"tg.o.manual":            {"By hand", "手工"},
	"tg.o.history":           {"Last year's bookings", "去年业绩"},
	"tg.o.capacity":          {"Reps (capacity)", "人数（产能）"},
	"tg.o.potential":         {"Market potential", "市场潜力"},
	"tg.propose":             {"Propose", "生成方案"},
	"tg.proposal":            {"Proposal", "分解方案"},
	"tg.proposal_sub":        {"%s split exactly to the cent (last year's bookings %s). Edit any quarter, then store it as a new version.", "%s 精确到分地分解（去年业绩 %s）。可修改任一季度，然后保存为新版本。"},
	"tg.save":                {"Store as a new version", "保存为新版本"},
	"tg.saved":               {"Targets stored as a new version.", "目标已保存为新版本。"},
	"tg.bad_amount":          {"The yearly target must be a number.", "年度目标必须是数字。"},
	"tg.bad_weights":         {"Weights must be numbers separated by commas.", "权重必须是逗号分隔的数字。"},
	"tg.versions":            {"Target versions", "目标版本"},
	"tg.versions_sub":        {"Every load of targets, newest first: a later version replaces rows of the same scope and period start.", "每次目标导入，最新在前：新版本替换同一对象、同一起始期间的目标。"},
	"tg.no_versions":         {"No targets loaded yet.", "尚未导入目标。"},
	"tg.loaded_at":           {"Loaded", "导入时间"},
	"tg.rows":                {"Rows", "行数"},
	"tg.in_force":            {"In force", "生效行数"},
	"tg.total":               {"Total", "合计"},
	"tg.span":                {"Periods", "期间"},
	"tg.scopes":              {"Levels", "层级"},
}

func init() {
	addMessages(targetsMessages)
}
