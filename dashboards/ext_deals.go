package dashboards

import (
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/query"
)

// Deals (issue 15): the deals behind a number (/deals), one deal's detail
// (/deals/{id}) and a team's stuck deals (/stuck), with their API under
// /api/v1 (the list itself is /api/v1/deals, in api.go).
func (a *api) mountDealsAPI(s *Server, g *echo.Group) {
	g.GET("/deals/:id", a.dealDetail)
	g.GET("/stuck", a.stuck)
}

func (p *pages) mountDealsPages(s *Server, g *echo.Group) {
	g.GET("/deals", p.dealsPage)
	g.GET("/deals/:id", p.dealPage)
	g.GET("/stuck", p.stuckPage)
}

// dealsNavs: the menu entries of the area.
func dealsNavs(r *request) []navItem { return []navItem{{"/stuck", "stuck"}} }

// dealsURL is the drill-through link from a number to the deals behind it: the
// /deals page with the page's filter and the deal query's parameters, the same
// as /api/v1/deals takes (basis created|closed|open, status open|won|lost|closed,
// stage, reached). Extra pairs (key, value) are added after them, e.g. "rep", id
// for a table row's rep.
func (r *request) dealsURL(basis, status, stage string, reached bool, set ...string) string {
	rc := ""
	if reached {
		rc = "true"
	}
	return r.filterURL("/deals", append([]string{"basis", basis, "status", status, "stage", stage, "reached", rc}, set...)...)
}

// dealDetail is one deal with its history; 404 when it is not in the caller's
// scope (as when it does not exist: the caller learns nothing about it).
func (a *api) dealDetail(c echo.Context) error {
	sc, ok := ScopeOf(c)
	if !ok {
		return echo.NewHTTPError(401, "sign in or send Authorization: Bearer <token>")
	}
	if cur := a.svc.Currency(); cur != "" {
		c.Response().Header().Set("X-Currency", cur)
	}
	v, err := a.svc.DealDetail(c.Request().Context(), sc, c.Param("id"), time.Time{})
	a.srv.withCRMURL(&v)
	return reply(c, v, err)
}

// withCRMURL sets the deal's link to its CRM record from crm.record_urls.
func (s *Server) withCRMURL(dd *query.DealDetail) {
	if s != nil && s.opts.Config != nil {
		dd.CRMURL = s.opts.Config.CRM.RecordURL(dd.SourceSystem, dd.CRMID)
	}
}

// stuck is the open deals of the filter by days in their stage against the
// stage's norm (METRICS.md, "Stuck deals").
func (a *api) stuck(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	sq, err := stuckQuery(c)
	if err != nil {
		return err
	}
	v, err := a.svc.Stuck(c.Request().Context(), sc, f, sq)
	return reply(c, v, err)
}

// stuckQuery reads sort, page and page_size.
func stuckQuery(c echo.Context) (query.StuckQuery, error) {
	sq := query.StuckQuery{Sort: c.QueryParam("sort")}
	var err error
	if sq.Page, err = intParam(c, "page"); err != nil {
		return sq, err
	}
	sq.PageSize, err = intParam(c, "page_size")
	return sq, err
}

// openAPIDeals adds /deals/{id} and /stuck.
func openAPIDeals(schemas, paths obj) {
	dt := obj{"type": "string", "description": "YYYY-MM-DD HH:MM in the business time zone"}
	schemas["StageStay"] = props([]string{"stage", "entered", "days"}, obj{"stage": str, "entered": dt,
		"left": obj{"type": "string", "description": "empty while the deal is still in the stage"}, "days": number,
		"current": boolean, "terminal": obj{"type": "boolean", "description": "the won or lost event itself (no days)"}})
	schemas["DealMove"] = props(nil, obj{"date": date, "old_close": date, "new_close": date, "old_amount": number, "new_amount": number})
	schemas["DealActivity"] = props(nil, obj{"id": str, "type": str, "kind": enum(append(append([]string{}, query.ActivityKinds...), query.KindOther)...),
		"rep_id": str, "rep_name": str, "at": dt, "minutes": integer, "on_deal": obj{"type": "boolean", "description": "false: logged on the deal's account"}, "opportunity_id": str})
	deal := schemas["Deals"].(obj)["properties"].(obj)["deals"].(obj)["items"]
	schemas["DealDetail"] = props([]string{"deal", "stages", "moves", "pushes", "activities"}, obj{"deal": deal,
		"source_system": obj{"type": "string", "description": "the CRM the export came from"}, "crm_id": obj{"type": "string", "description": "the opportunity's id in that CRM"},
		"crm_url": obj{"type": "string", "description": "the record in the CRM (config crm.record_urls), absent without a template for the source"},
		"as_of":   obj{"type": "string", "format": "date-time"}, "stages": arr(ref("StageStay")), "moves": arr(ref("DealMove")),
		"pushes":     props(nil, obj{"opportunity_id": str, "name": str, "owner_id": str, "pushes": integer, "days_pushed": integer}),
		"activities": arr(ref("DealActivity"))})
	schemas["Stuck"] = props([]string{"total", "norms", "deals"}, obj{"from": date, "to": date, "as_of": obj{"type": "string", "format": "date-time"}, "sort": str,
		"total": integer, "page": integer, "page_size": integer,
		"norms": arr(props(nil, obj{"stage": str, "median_days": number, "count": integer})),
		"deals": arr(props(nil, obj{"opportunity_id": str, "name": str, "account_name": str, "owner_id": str, "owner_name": str, "team": str, "stage": str,
			"amount": number, "close_date": date, "entered": dt, "days": number, "norm_days": number,
			"ratio": obj{"type": "number", "nullable": true, "description": "days / norm_days; null when the stage has no norm"}}))})
	errResp := jsonResp("error", "Error")
	id := obj{"name": "id", "in": "path", "required": true, "schema": str, "description": "The opportunity id."}
	paths["/deals/{id}"] = obj{"get": obj{"summary": "One deal's detail",
		"description": "Stage history with days in each stage, close-date and amount changes between snapshots (pushes), activities on the deal or its account (newest 200), " +
			"and the CRM record's source and id. 404 when the deal does not exist or is outside the caller's scope.",
		"parameters": []any{id}, "responses": obj{"200": jsonResp("OK", "DealDetail"), "401": errResp, "404": errResp, "503": errResp}}}
	paths["/stuck"] = op("Stuck deals", "Every open deal of the filter (created before now; the range does not select deals) with the days since it entered its current stage "+
		"against the stage's norm: the median of Days in stage over the same filter and range (METRICS.md, Stuck deals).", "Stuck",
		param("sort", "Order (default -ratio; deals without a norm last).", enum("ratio", "-ratio", "days", "-days", "amount", "-amount")),
		param("page", "1-based page.", integer), param("page_size", "Deals per page, 1..1000 (default 100).", integer))
}

func init() {
	addMessages(map[string][2]string{
		"nav.stuck":           {"Stuck deals", "停滞商机"},
		"deals.title":         {"Deals", "商机"},
		"deals.status.open":   {"Open deals", "进行中的商机"},
		"deals.status.won":    {"Won deals", "赢单商机"},
		"deals.status.lost":   {"Lost deals", "输单商机"},
		"deals.status.closed": {"Closed deals", "已关闭商机"},
		"deals.basis.created": {"created", "创建于"},
		"deals.basis.closed":  {"closed", "关闭于"},
		"deals.basis.open":    {"expected to close", "预计关闭于"},
		"deals.in_stage":      {"in", "处于"},
		"deals.reached":       {"reached", "到达"},
		"deals.sort":          {"Sort", "排序"},
		"deals.sort.-amount":  {"Amount ↓", "金额 ↓"},
		"deals.sort.amount":   {"Amount ↑", "金额 ↑"},
		"deals.sort.-created": {"Newest", "最新创建"},
		"deals.sort.created":  {"Oldest", "最早创建"},
		"deals.sort.close":    {"Closing first", "最先关闭"},
		"deals.sort.-close":   {"Closing last", "最后关闭"},
		"deals.page":          {"Page %d of %d", "第 %d / %d 页"},
		"deals.prev":          {"← Previous", "← 上一页"},
		"deals.next":          {"Next →", "下一页 →"},
		"deals.sub":           {"%s deals · %s", "%s 个商机 · %s"},
		"deal.title":          {"Deal", "商机"},
		"deal.summary":        {"Summary", "概要"},
		"deal.back":           {"Back", "返回"},
		"deal.full":           {"Stage history, pushes, activities →", "阶段历史、推迟、活动 →"},
		"deal.not_found":      {"This deal does not exist or is not among the deals you can see.", "该商机不存在，或不在您可查看的范围内。"},
		"deal.crm":            {"CRM record", "CRM 记录"},
		"deal.crm_unknown":    {"source not recorded", "来源未记录"},
		"deal.stages":         {"Stage history", "阶段历史"},
		"deal.stages_sub":     {"Days from entering each stage to the next stage change or the close", "从进入每个阶段到下一次阶段变化或关闭的天数"},
		"deal.left":           {"Left", "离开"},
		"deal.entered":        {"Entered", "进入"},
		"deal.days":           {"Days", "天数"},
		"deal.still_in":       {"still in it", "仍在此阶段"},
		"deal.moves":          {"Close date and amount changes", "预计关闭日期与金额变化"},
		"deal.moves_sub":      {"Between consecutive snapshots while open: %d pushes, %s days pushed in all", "在相邻快照之间（商机进行中）：推迟 %d 次，共推迟 %s 天"},
		"deal.date":           {"Date", "日期"},
		"deal.close_from":     {"Close date from", "原关闭日期"},
		"deal.close_to":       {"to", "新关闭日期"},
		"deal.shift":          {"Shift (days)", "变化（天）"},
		"deal.amount_from":    {"Amount from", "原金额"},
		"deal.amount_to":      {"to", "新金额"},
		"deal.activities":     {"Activities", "活动"},
		"deal.activities_sub": {"On the deal or its account, newest first", "商机或其客户上的活动，最新在前"},
		"deal.when":           {"When", "时间"},
		"deal.kind":           {"Kind", "类型"},
		"deal.on":             {"On", "对象"},
		"deal.on_deal":        {"this deal", "本商机"},
		"deal.on_account":     {"the account", "客户"},
		"deal.minutes":        {"Minutes", "分钟"},
		"stuck.title":         {"Stuck deals", "停滞商机"},
		"stuck.sub":           {"Open deals by days in their current stage against the stage's norm (median days of the stays that left it in the range)", "进行中的商机：在当前阶段的天数与该阶段常态（区间内离开该阶段的停留天数中位数）之比"},
		"stuck.norms":         {"Norms", "阶段常态"},
		"stuck.norm_text":     {"median %s days (n=%s)", "中位数 %s 天（n=%s）"},
		"stuck.no_norm":       {"no stay left it in the range", "区间内无离开该阶段的停留"},
		"stuck.since":         {"In stage since", "进入当前阶段"},
		"stuck.days":          {"Days in stage", "当前阶段天数"},
		"stuck.norm":          {"Norm (days)", "常态（天）"},
		"stuck.ratio":         {"× norm", "× 常态"},
		"stuck.sort.-ratio":   {"Most stuck", "最停滞"},
		"stuck.sort.ratio":    {"Least stuck", "最不停滞"},
		"stuck.sort.-days":    {"Longest in stage", "停留最久"},
		"stuck.sort.-amount":  {"Largest", "金额最大"},
		"stuck.sort.amount":   {"Smallest", "金额最小"},
		"stuck.sort.days":     {"Shortest in stage", "停留最短"},
		"stuck.none":          {"No open deal in this selection.", "此筛选下没有进行中的商机。"},
		"stuck.total":         {"%s open deals", "%s 个进行中的商机"},
		"deals.empty":         {"No deal in this selection.", "此筛选下没有商机。"},
	})
}
