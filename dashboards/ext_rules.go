package dashboards

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	yaml "go.yaml.in/yaml/v3"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/query"
)

// Rules (issue 15): alert rules an admin edits. GET/PUT /api/v1/alert-rules
// (the set in force; save a new one), POST /api/v1/alert-rules/preview (what a
// set would have raised over the past days, nothing stored or sent) and the
// /alerts/rules page. The checks, storage and preview are the alert engine's
// (alerts.Engine.ParseRules, SaveRules, Preview).
func (a *api) mountRulesAPI(s *Server, g *echo.Group) {
	g.GET("/alert-rules", func(c echo.Context) error { return a.alertRules(c, s) }, rulesAdmin)
	g.PUT("/alert-rules", func(c echo.Context) error { return a.saveAlertRules(c, s) }, rulesAdmin)
	g.POST("/alert-rules/preview", func(c echo.Context) error { return a.previewAlertRules(c, s) }, rulesAdmin)
}

func (p *pages) mountRulesPages(s *Server, g *echo.Group) {
	g.GET("/alerts/rules", p.rulesPage, rulesAdmin)
	g.POST("/alerts/rules", p.rulesSubmit, rulesAdmin, p.csrf)
}

// rulesNavs: admins edit the alert rules.
func rulesNavs(r *request) []navItem {
	if r.scope.Role != query.RoleAdmin {
		return nil
	}
	return []navItem{{"/alerts/rules", "rules"}}
}

// rulesAdmin lets admins through: the rules decide who is emailed about what.
func rulesAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sc, ok := ScopeOf(c)
		if !ok {
			return echo.NewHTTPError(http.StatusUnauthorized, "sign in or send Authorization: Bearer <token>")
		}
		if sc.Role != query.RoleAdmin {
			return echo.NewHTTPError(http.StatusForbidden, "alert rules are for admins")
		}
		return next(c)
	}
}

// rulesEngine is an alert engine over the server's database and query
// service: the editor checks, stores and previews with the engine's code.
func (s *Server) rulesEngine(svc *query.Service) (*alerts.Engine, error) {
	if s.opts.DB == nil {
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "no database")
	}
	return alerts.New(alerts.Options{DB: s.opts.DB, Config: s.opts.Config, Source: alerts.NewQuerySource(svc), Logger: s.log})
}

// ruleSetJSON is GET /api/v1/alert-rules.
type ruleSetJSON struct {
	Source   string           `json:"source"`
	Version  uint64           `json:"version"`
	SavedBy  string           `json:"saved_by,omitempty"`
	SavedAt  *time.Time       `json:"saved_at,omitempty"`
	Document string           `json:"document"`
	Rules    []map[string]any `json:"rules"`
}

func ruleSetOf(rs alerts.RuleSet) (ruleSetJSON, error) {
	out := ruleSetJSON{Source: rs.Source, Version: rs.Version, SavedBy: rs.SavedBy, Document: rs.Document}
	if !rs.SavedAt.IsZero() {
		out.SavedAt = &rs.SavedAt
	}
	// The rules with every setting in force, under the document's keys.
	full, err := alerts.RulesDocument(rs.Rules)
	if err == nil {
		err = yaml.Unmarshal([]byte(full), &out.Rules)
	}
	return out, err
}

// ruleErrorJSON is one fault of a refused rule set (index -1: the document).
type ruleErrorJSON struct {
	Index   int    `json:"index"`
	Rule    string `json:"rule,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// refusedRules answers a rule set that does not pass the checks: 400 with
// each fault's rule index and field.
func refusedRules(c echo.Context, err error) error {
	faults := alerts.RuleErrors(err)
	if len(faults) == 0 {
		return err
	}
	out := struct {
		Message string          `json:"message"`
		Errors  []ruleErrorJSON `json:"errors"`
	}{Message: err.Error()}
	for _, f := range faults {
		out.Errors = append(out.Errors, ruleErrorJSON{Index: f.Index, Rule: f.Name, Field: f.Field, Message: f.Err.Error()})
	}
	return c.JSON(http.StatusBadRequest, out)
}

func (a *api) alertRules(c echo.Context, s *Server) error {
	e, err := s.rulesEngine(a.svc)
	if err != nil {
		return err
	}
	rs, err := e.Rules(c.Request().Context())
	if err != nil {
		return err
	}
	v, err := ruleSetOf(rs)
	return reply(c, v, err)
}

// ruleDocument is the request body: the rule set as YAML or JSON.
func ruleDocument(c echo.Context) (string, error) {
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20+1))
	if err != nil {
		return "", echo.NewHTTPError(http.StatusBadRequest, "read body: "+err.Error())
	}
	if len(b) > 1<<20 {
		return "", echo.NewHTTPError(http.StatusRequestEntityTooLarge, "a rule set is at most 1 MB")
	}
	return string(b), nil
}

func (a *api) saveAlertRules(c echo.Context, s *Server) error {
	doc, err := ruleDocument(c)
	if err != nil {
		return err
	}
	e, err := s.rulesEngine(a.svc)
	if err != nil {
		return err
	}
	sc, _ := ScopeOf(c)
	rs, err := e.SaveRules(c.Request().Context(), doc, sc.Name)
	if err != nil {
		return refusedRules(c, err)
	}
	v, err := ruleSetOf(rs)
	return reply(c, v, err)
}

// rulesPreviewBudget bounds a preview well inside the request's 60 s: metric
// rules are judged on every day in well under a second, deal rules read the
// open deals of each day (about a second a day on a 100,000-deal export), and
// the newest days go first.
const rulesPreviewBudget = 25 * time.Second

// rulesPreviewJSON is POST /api/v1/alert-rules/preview.
type rulesPreviewJSON struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Days   int    `json:"days"`
	TookMS int64  `json:"took_ms"`
	// Complete is false when the time budget ran out: each rule says the
	// days it was judged on.
	Complete bool                   `json:"complete"`
	Rules    []rulesPreviewRuleJSON `json:"rules"`
}

type rulesPreviewRuleJSON struct {
	Rule       string                  `json:"rule"`
	From       string                  `json:"from"`
	DaysJudged int                     `json:"days_judged"`
	Count      int                     `json:"count"`
	Events     []rulesPreviewEventJSON `json:"events"`
}

type rulesPreviewEventJSON struct {
	Day          string  `json:"day"`
	LastDay      string  `json:"last_day"`
	DaysFiring   int     `json:"days_firing"`
	Metric       string  `json:"metric"`
	SegmentKind  string  `json:"segment_kind"`
	Segment      string  `json:"segment"`
	SegmentLabel string  `json:"segment_label"`
	Kind         string  `json:"kind"`
	Direction    int     `json:"direction"`
	Actual       float64 `json:"actual"`
	Expected     float64 `json:"expected"`
	Since        string  `json:"since,omitempty"`
	Summary      string  `json:"summary"`
}

// rulesPreviewDays reads ?days= (default 90).
func rulesPreviewDays(c echo.Context) (int, error) {
	s := c.QueryParam("days")
	if s == "" {
		return 90, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > alerts.MaxPreviewDays {
		return 0, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("days %q: want 1 to %d", s, alerts.MaxPreviewDays))
	}
	return n, nil
}

// previewRules checks doc and previews it as of today.
func (s *Server) previewRules(c echo.Context, svc *query.Service, doc string, days int) (alerts.Preview, error) {
	e, err := s.rulesEngine(svc)
	if err != nil {
		return alerts.Preview{}, err
	}
	rules, err := e.ParseRules(doc)
	if err != nil {
		return alerts.Preview{}, err
	}
	return e.Preview(c.Request().Context(), rules, days, time.Now(), rulesPreviewBudget)
}

func (a *api) previewAlertRules(c echo.Context, s *Server) error {
	days, err := rulesPreviewDays(c)
	if err != nil {
		return err
	}
	doc, err := ruleDocument(c)
	if err != nil {
		return err
	}
	p, err := s.previewRules(c, a.svc, doc, days)
	if err != nil {
		return refusedRules(c, err)
	}
	out := rulesPreviewJSON{From: p.From.Format(time.DateOnly), To: p.To.Format(time.DateOnly), Days: p.Days, TookMS: p.Took.Milliseconds(), Complete: p.Complete}
	for _, r := range p.Rules {
		pr := rulesPreviewRuleJSON{Rule: r.Rule, From: r.From.Format(time.DateOnly), DaysJudged: r.Days, Count: len(r.Events), Events: []rulesPreviewEventJSON{}}
		for _, x := range r.Events {
			ev := rulesPreviewEventJSON{Day: x.Day.Format(time.DateOnly), LastDay: x.Last.Format(time.DateOnly), DaysFiring: x.Days, Metric: x.Metric,
				SegmentKind: x.SegmentKind, Segment: x.Segment, SegmentLabel: x.SegmentLabel, Kind: x.Kind, Direction: x.Direction,
				Actual: x.Actual, Expected: x.Expected, Summary: alerts.Describe("en", x.Event)}
			if !x.Since.IsZero() {
				ev.Since = x.Since.Format(time.DateOnly)
			}
			pr.Events = append(pr.Events, ev)
		}
		out.Rules = append(out.Rules, pr)
	}
	return c.JSON(http.StatusOK, out)
}

// rulesView is the /alerts/rules page (templates/rules.html): the rule set as
// YAML to edit, its faults next to it, and a preview.
type rulesView struct {
	tr
	V, CSRF, Notice, InForce, Document string
	Faults                             []ruleFault
	Preview                            *rulesPreview
	Metrics                            []rulesRef
}

type ruleFault struct{ Where, Field, Msg string }

type rulesRef struct{ Name, Label string }

type rulesPreview struct {
	Range, Took string
	Rules       []rulesPreviewRule
}

type rulesPreviewRule struct {
	Name   string
	Count  int
	Cut    string // the days judged when the time budget cut the preview short
	More   int    // events not listed
	Events []rulesPreviewEvent
}

type rulesPreviewEvent struct {
	Day, Segment, What, Actual, Expected, Summary string
	Days                                          int
	Class                                         string
}

// rulesMaxListed is how many events per rule the page lists (the count is all).
const rulesMaxListed = 50

func (p *pages) rulesPage(c echo.Context) error {
	return p.rulesRender(c, "", nil, nil, http.StatusOK)
}

// rulesSubmit previews or saves the posted document (action preview|save).
func (p *pages) rulesSubmit(c echo.Context) error {
	doc := c.FormValue("document")
	if c.FormValue("action") == "preview" {
		pv, err := p.s.previewRules(c, p.svc, doc, 90)
		if err != nil {
			return p.rulesFault(c, doc, err)
		}
		return p.rulesRender(c, doc, &pv, nil, http.StatusOK)
	}
	e, err := p.s.rulesEngine(p.svc)
	if err != nil {
		return err
	}
	sc, _ := ScopeOf(c)
	if _, err := e.SaveRules(c.Request().Context(), doc, sc.Name); err != nil {
		return p.rulesFault(c, doc, err)
	}
	return c.Redirect(http.StatusSeeOther, "/alerts/rules?notice=ru.saved")
}

// rulesFault shows the document again with its faults, or fails the request
// when the fault is not the document's.
func (p *pages) rulesFault(c echo.Context, doc string, err error) error {
	faults := alerts.RuleErrors(err)
	if len(faults) == 0 {
		return err
	}
	return p.rulesRender(c, doc, nil, faults, http.StatusBadRequest)
}

func (p *pages) rulesRender(c echo.Context, doc string, pv *alerts.Preview, faults []*alerts.RuleError, code int) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	e, err := p.s.rulesEngine(p.svc)
	if err != nil {
		return err
	}
	rs, err := e.Rules(c.Request().Context())
	if err != nil {
		return err
	}
	v := rulesView{tr: r.tr, V: p.version, CSRF: p.s.auth.csrfFor(r.user), Document: doc, InForce: r.T("ru.from_config")}
	if msg, ok := rulesMessages[c.QueryParam("notice")]; ok {
		v.Notice = msg[r.idx()]
	}
	if rs.Source == "saved" {
		v.InForce = fmt.Sprintf(r.T("ru.from_saved"), rs.Version, rs.SavedBy, rs.SavedAt.In(p.svc.Location()).Format("2006-01-02 15:04"))
	}
	if doc == "" {
		v.Document = rs.Document
	}
	for _, f := range faults {
		where := r.T("ru.document")
		if f.Index >= 0 {
			where = fmt.Sprintf(r.T("ru.rule_n"), f.Index+1, f.Name)
		}
		v.Faults = append(v.Faults, ruleFault{Where: where, Field: f.Field, Msg: f.Err.Error()})
	}
	for _, m := range alerts.MetricNames() {
		v.Metrics = append(v.Metrics, rulesRef{Name: m, Label: alerts.MetricName(r.lang, m, "")})
	}
	if pv != nil {
		v.Preview = rulesPreviewOf(r, *pv)
	}
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, "rules.html", v); err != nil {
		return fmt.Errorf("render alert rules: %w", err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(code, buf.Bytes())
}

func rulesPreviewOf(r *request, p alerts.Preview) *rulesPreview {
	out := &rulesPreview{Range: p.From.Format(time.DateOnly) + " – " + p.To.Format(time.DateOnly),
		Took: strconv.FormatFloat(p.Took.Seconds(), 'f', 1, 64)}
	for _, pr := range p.Rules {
		x := rulesPreviewRule{Name: pr.Rule, Count: len(pr.Events)}
		if pr.Days < p.Days {
			x.Cut = fmt.Sprintf(r.T("ru.cut"), pr.Days, p.Days)
		}
		for i, ev := range pr.Events {
			if i == rulesMaxListed {
				x.More = len(pr.Events) - rulesMaxListed
				break
			}
			class := "bad"
			if alerts.Good(ev.Metric, ev.Kind, ev.Direction) {
				class = "good"
			}
			x.Events = append(x.Events, rulesPreviewEvent{Day: ev.Day.Format(time.DateOnly), Segment: alerts.SegmentName(r.lang, ev.Event),
				What: alerts.MetricName(r.lang, ev.Metric, ev.Kind), Actual: alerts.FormatEventValue(r.lang, ev.Event, ev.Actual),
				Expected: alerts.FormatEventValue(r.lang, ev.Event, ev.Expected), Summary: alerts.Describe(r.lang, ev.Event), Days: ev.Days, Class: class})
		}
		out.Rules = append(out.Rules, x)
	}
	return out
}

func openAPIRules(schemas, paths obj) {
	schemas["AlertRuleSet"] = props([]string{"source", "version", "document", "rules"}, obj{
		"source":   enum("config", "saved"),
		"version":  obj{"type": "integer", "description": "The saved set's number; 0 for the config file's rules."},
		"saved_by": str, "saved_at": obj{"type": "string", "format": "date-time"},
		"document": obj{"type": "string", "description": "The rule list as YAML, with the keys of alerts.rules in the config file."},
		"rules":    arr(obj{"type": "object", "description": "A rule with every setting in force (defaults filled in)."})})
	schemas["AlertRuleErrors"] = props([]string{"message", "errors"}, obj{"message": str, "errors": arr(props([]string{"index", "message"}, obj{
		"index": obj{"type": "integer", "description": "The rule's index in the list (0-based); -1 for the document as a whole."},
		"rule":  str, "field": obj{"type": "string", "description": "The setting at fault (metric, model, grain, ...)."}, "message": str}))})
	event := props(nil, obj{"day": date, "last_day": date, "days_firing": integer, "metric": str, "segment_kind": str, "segment": str,
		"segment_label": str, "kind": str, "direction": integer, "actual": number, "expected": number, "since": date, "summary": str})
	schemas["AlertRulesPreview"] = props([]string{"from", "to", "days", "rules"}, obj{"from": date, "to": date, "days": integer, "took_ms": integer,
		"complete": boolean,
		"rules":    arr(props([]string{"rule", "count", "events"}, obj{"rule": str, "from": date, "days_judged": integer, "count": integer, "events": arr(event)}))})
	body := obj{"required": true, "description": "A rule set: a YAML or JSON list of rules, {\"rules\": [...]}, or one rule. Unknown keys are refused.",
		"content": obj{"application/json": obj{"schema": obj{"type": "object"}}, "application/yaml": obj{"schema": str}}}
	errResp := jsonResp("error", "Error")
	refused := jsonResp("the set does not pass the config's checks: each fault with its rule index and field", "AlertRuleErrors")
	paths["/alert-rules"] = obj{
		"get": obj{"summary": "Alert rules in force", "description": "The newest set saved by an admin, else the config file's rules. Admins only.",
			"responses": obj{"200": jsonResp("OK", "AlertRuleSet"), "401": errResp, "403": errResp, "503": errResp}},
		"put": obj{"summary": "Save alert rules", "description": "Checked as the config file's alerts.rules are, then stored as the next version; " +
			"every evaluation from then on runs it. Admins only.", "requestBody": body,
			"responses": obj{"200": jsonResp("the set now in force", "AlertRuleSet"), "400": refused, "401": errResp, "403": errResp, "503": errResp}},
	}
	paths["/alert-rules/preview"] = obj{"post": obj{"summary": "Preview alert rules",
		"description": "What each rule would have raised, judged as of each of the past days as `pipelens alerts run --at DAY` judges (ending the day after " +
			"the last day the export covers): the events one run a day would have opened, with their day, segment, actual and expected values. " +
			"Nothing is stored or sent; the newest days are judged first, and when the time limit (25 s) runs out the answer says so " +
			"(complete false) and which days each rule was judged on. Admins only.",
		"parameters":  []any{param("days", fmt.Sprintf("Days to judge (1..%d, default 90).", alerts.MaxPreviewDays), integer)},
		"requestBody": body,
		"responses":   obj{"200": jsonResp("OK", "AlertRulesPreview"), "400": refused, "401": errResp, "403": errResp, "503": errResp}}}
}

var rulesMessages = map[string][2]string{
	"nav.rules":       {"Alert rules", "预警规则"},
	"ru.title":        {"Alert rules", "预警规则"},
	"ru.back":         {"← Alerts", "← 异常预警"},
	"ru.from_config":  {"In force: the rules of the config file (no set saved here yet).", "当前生效：配置文件中的规则（尚未在此保存过规则集）。"},
	"ru.from_saved":   {"In force: saved set %d, by %s at %s.", "当前生效：第 %d 版规则集，由 %s 于 %s 保存。"},
	"ru.saved":        {"Rules saved: the next evaluation runs them.", "规则已保存，下次评估起生效。"},
	"ru.edit":         {"Rules (YAML)", "规则（YAML）"},
	"ru.edit_sub":     {"One rule per list item, with the keys of alerts.rules in the config file: name, metric, segments, detector, model, grain, sensitivity, direction, min_volume, min_change, lookback, window, threshold, drivers, schedule, route, to, mode, digest_at, group_wait, repeat_interval, quiet_hours, page. A setting left out takes its default.", "每个列表项一条规则，键与配置文件 alerts.rules 相同：name、metric、segments、detector、model、grain、sensitivity、direction、min_volume、min_change、lookback、window、threshold、drivers、schedule、route、to、mode、digest_at、group_wait、repeat_interval、quiet_hours、page。未写的设置取默认值。"},
	"ru.preview":      {"Preview 90 days", "预览近 90 天"},
	"ru.save":         {"Save", "保存"},
	"ru.faults":       {"These rules cannot be saved:", "以下规则无法保存："},
	"ru.document":     {"The document", "文档"},
	"ru.rule_n":       {"Rule %d (%s)", "第 %d 条规则（%s）"},
	"ru.field":        {"setting", "设置项"},
	"ru.preview_head": {"What these rules would have raised", "这些规则本会触发的预警"},
	"ru.preview_sub":  {"Judged as of each day %s as `alerts run --at` judges; nothing stored or sent (%s s).", "按 `alerts run --at` 的方式逐日评估 %s；不保存、不发送（%s 秒）。"},
	"ru.events":       {"events", "条预警"},
	"ru.cut":          {"Judged on the last %d of %d days: the preview's time limit ran out (deal rules read each day's open deals).", "在 %[2]d 天中仅评估了最近 %[1]d 天：预览已达时间上限（商机规则需逐日读取在途商机）。"},
	"ru.none":         {"Nothing in these days.", "这些天内没有预警。"},
	"ru.more":         {"and %d more", "另有 %d 条"},
	"ru.day":          {"Raised as of", "触发日"},
	"ru.segment":      {"Segment", "对象"},
	"ru.what":         {"Metric", "指标"},
	"ru.actual":       {"Actual", "实际"},
	"ru.expected":     {"Expected", "预期"},
	"ru.days":         {"Days firing", "持续天数"},
	"ru.summary":      {"Summary", "说明"},
	"ru.metrics":      {"Metrics a rule can watch", "规则可监控的指标"},
	"ru.deal_rules":   {"Deal rules: detector stuck_deal, pushed_close or amount_cut (no metric).", "商机规则：detector 为 stuck_deal、pushed_close 或 amount_cut（无需 metric）。"},
}

func init() {
	addMessages(rulesMessages)
}
