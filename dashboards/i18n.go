package dashboards

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// addMessages adds a feature area's catalogue to messages (from the area's
// init); a key defined twice is a bug and stops the program at start.
func addMessages(m map[string][2]string) {
	for k, v := range m {
		if _, dup := messages[k]; dup {
			panic("dashboards: message " + k + " is defined twice")
		}
		messages[k] = v
	}
}

// Languages the pages speak. The first is the fallback.
var languages = []string{"en", "zh-CN"}

// messages is the catalogue: key -> {en, zh-CN}. A missing key shows itself, so a
// forgotten translation is visible instead of blank.
var messages = map[string][2]string{
	"app.name":              {"pipelens", "pipelens"},
	"nav.overview":          {"Overview", "总览"},
	"nav.funnel":            {"Funnel", "漏斗"},
	"nav.trends":            {"Trends", "趋势"},
	"nav.reps":              {"Reps", "销售代表"},
	"nav.territories":       {"Territories", "区域"},
	"nav.alerts":            {"Alerts", "异常预警"},
	"nav.imports":           {"Imports", "数据导入"},
	"nav.signout":           {"Sign out", "退出"},
	"lang.switch":           {"中文", "English"},
	"login.title":           {"Sign in", "登录"},
	"login.user":            {"Username", "用户名"},
	"login.password":        {"Password", "密码"},
	"login.submit":          {"Sign in", "登录"},
	"login.failed":          {"Wrong username or password.", "用户名或密码错误。"},
	"login.limited":         {"Too many attempts. Wait a minute and try again.", "尝试次数过多，请一分钟后再试。"},
	"login.csrf":            {"The form expired. Please try again.", "表单已过期，请重试。"},
	"login.tagline":         {"Sales analytics for directors and managers", "面向销售总监与销售经理的销售分析"},
	"filter.range":          {"Period", "期间"},
	"filter.this_q":         {"This quarter", "本季度"},
	"filter.last_q":         {"Last quarter", "上季度"},
	"filter.ytd":            {"Year to date", "本财年至今"},
	"filter.last_12m":       {"Last 12 months", "近12个月"},
	"filter.custom":         {"Custom", "自定义"},
	"filter.from":           {"From", "开始"},
	"filter.to":             {"To (not included)", "截止（不含）"},
	"filter.apply":          {"Apply", "应用"},
	"filter.clear":          {"Clear filters", "清除筛选"},
	"filter.all":            {"All", "全部"},
	"filter.team":           {"Team", "团队"},
	"filter.manager":        {"Manager", "经理"},
	"filter.rep":            {"Rep", "销售代表"},
	"filter.territory":      {"Territory", "区域"},
	"filter.product":        {"Product", "产品"},
	"filter.source":         {"Source", "来源"},
	"filter.segment":        {"Segment", "客户分层"},
	"csv":                   {"CSV", "导出CSV"},
	"empty":                 {"No data for this selection.", "当前筛选条件下没有数据。"},
	"tbl.shown":             {"Showing", "显示"},
	"tbl.all":               {"Show all", "显示全部"},
	"kpi.bookings":          {"Bookings", "签约额"},
	"kpi.of_target":         {"of target", "目标"},
	"kpi.no_target":         {"no target in range", "期间内无目标"},
	"kpi.target_met":        {"target met", "已达成目标"},
	"ov.subscribe":          {"Email me these numbers", "订阅此报告邮件"},
	"kpi.cov_ended":         {"looks ahead: this range has no day left (see this quarter)", "只看未来：该期间已无剩余天数（请看本季度）"},
	"kpi.untargeted":        {"targets are not set by product, source or segment", "目标不按产品、来源或细分设定"},
	"kpi.open_upside":       {"open pipeline is upside", "未结管道为超额空间"},
	"kpi.prorated":          {"(target pro rata for the days in range)", "（目标按期间天数折算）"},
	"kpi.coverage":          {"Pipeline coverage", "管道覆盖率"},
	"kpi.coverage_sub":      {"open pipeline / remaining target", "未结管道 / 剩余目标"},
	"kpi.winrate":           {"Win rate", "赢单率"},
	"kpi.winrate_sub":       {"won / closed", "赢单 / 已结单"},
	"kpi.cycle":             {"Cycle time", "成交周期"},
	"kpi.cycle_sub":         {"median days, won deals", "赢单中位天数"},
	"kpi.velocity":          {"Sales velocity", "销售速度"},
	"kpi.velocity_sub":      {"opened per day × win rate × average won deal", "日均新增商机×赢单率×平均赢单金额"},
	"kpi.days":              {"days", "天"},
	"kpi.per_day":           {"/ day", "/ 天"},
	"ov.conversion":         {"Conversion trend", "转化率趋势"},
	"ov.conversion_sub":     {"each month's cohort; dashed = still maturing (over 20% open)", "按月队列；虚线表示仍在成熟中（超过20%未结）"},
	"ov.anomalies":          {"This week's anomalies", "本周异常"},
	"ov.no_anomalies":       {"Nothing abnormal this week.", "本周无异常。"},
	"ov.teams":              {"Teams side by side", "团队对比"},
	"ov.teams_sub":          {"bookings, target and win rate", "签约额、目标与赢单率"},
	"ov.headroom":           {"Territories with most headroom", "提升空间最大的区域"},
	"ov.headroom_sub":       {"potential − captured", "潜力 − 已获取"},
	"fc.title":              {"Forecast", "业绩预测"},
	"fc.sub":                {"this quarter: won so far + open deals × P(won in the quarter | stage, age, from your history) + deals not created yet", "本季度：已签约 + 未结商机 × 本季度赢单概率（按阶段与商机年龄，基于历史）+ 尚未创建的商机"},
	"fc.unavailable":        {"The forecast could not be computed.", "无法计算预测。"},
	"fc.computing":          {"The forecast is being computed: reload in a moment.", "正在计算预测，请稍后刷新。"},
	"fc.point":              {"Expected bookings", "预计签约额"},
	"fc.range":              {"80% range (p10–p90)", "80%区间（p10–p90）"},
	"fc.parts":              {"Won so far", "已签约"},
	"fc.won":                {"won", "已签约"},
	"fc.pipeline":           {"from open pipeline", "来自未结管道"},
	"fc.new":                {"from deals not created yet", "来自尚未创建的商机"},
	"fc.weighted":           {"CRM weighted pipeline", "CRM加权管道"},
	"fc.weighted_sub":       {"won + open × stage probability (for comparison)", "已签约 + 未结 × 阶段概率（对照）"},
	"fc.gap":                {"Gap to target", "距目标差额"},
	"fc.per_week":           {"needed per remaining week", "剩余每周所需"},
	"fc.prob":               {"chance to reach target", "达成目标概率"},
	"fc.reached":            {"Target reached", "已达成目标"},
	"fc.coverage":           {"Coverage: present / needed", "覆盖率：现有 / 所需"},
	"fc.coverage_sub":       {"open pipeline ÷ gap, against what the pipeline's expected yield needs", "未结管道 ÷ 差额，对比按预期转化所需"},
	"col.team":              {"Team", "团队"},
	"col.won":               {"Won", "赢单"},
	"col.lost":              {"Lost", "输单"},
	"col.winrate":           {"Win rate", "赢单率"},
	"col.bookings":          {"Bookings", "签约额"},
	"col.target":            {"Target", "目标"},
	"col.attainment":        {"Attainment", "达成率"},
	"col.stage":             {"Stage", "阶段"},
	"col.reached":           {"Reached", "到达数"},
	"col.conversion":        {"Conversion to next", "转化到下一阶段"},
	"col.rep":               {"Rep", "销售代表"},
	"col.peer":              {"Peers", "同组"},
	"col.interval":          {"95% interval", "95%区间"},
	"col.days_in_stage":     {"Median days in stage", "阶段停留中位天数"},
	"col.verdict":           {"Verdict", "判断"},
	"col.deal":              {"Deal", "商机"},
	"col.account":           {"Account", "客户"},
	"col.amount":            {"Amount", "金额"},
	"col.created":           {"Created", "创建日期"},
	"col.close":             {"Expected close", "预计成交"},
	"col.age":               {"Age (days)", "存续天数"},
	"col.status":            {"Status", "状态"},
	"col.owner":             {"Owner", "负责人"},
	"col.product":           {"Product", "产品"},
	"col.period":            {"Period", "期间"},
	"col.cohort":            {"Cohort", "队列"},
	"col.metric":            {"Metric", "指标"},
	"col.value":             {"Value", "数值"},
	"col.deals":             {"Deals", "商机数"},
	"col.deal_size":         {"Avg deal", "平均单额"},
	"col.cycle":             {"Cycle (days)", "周期（天）"},
	"col.strengths":         {"Strengths", "优势"},
	"col.weaknesses":        {"Weaknesses", "短板"},
	"col.worst_stage":       {"Weakest stage", "最弱阶段"},
	"col.territory":         {"Territory", "区域"},
	"col.potential":         {"Potential", "潜力"},
	"col.captured":          {"Captured", "已获取"},
	"col.penetration":       {"Penetration", "渗透率"},
	"col.headroom":          {"Headroom", "提升空间"},
	"col.accounts":          {"Accounts", "客户数"},
	"col.white_space":       {"White-space accounts", "空白客户"},
	"col.pipeline":          {"Open pipeline", "未结管道"},
	"col.source":            {"Potential from", "潜力来源"},
	"psrc.market":           {"market data", "市场数据"},
	"psrc.estimate":         {"estimate", "估算"},
	"col.median":            {"Median", "中位数"},
	"col.mean":              {"Mean", "平均"},
	"col.still_in":          {"Still in stage", "仍在阶段中"},
	"col.count":             {"Count", "数量"},
	"col.file":              {"File", "文件"},
	"col.run":               {"Run", "批次"},
	"col.profile":           {"Profile", "格式"},
	"col.read":              {"Read", "读取"},
	"col.loaded":            {"Loaded", "已加载"},
	"col.rejected":          {"Rejected", "已拒绝"},
	"col.started":           {"Started", "开始时间"},
	"col.row":               {"Row", "行"},
	"col.column":            {"Column", "列"},
	"col.raw":               {"Value", "原值"},
	"col.reason":            {"Reason", "原因"},
	"col.message":           {"Message", "说明"},
	"col.error":             {"Error", "错误"},
	"col.opened":            {"Opened", "新增"},
	"col.pushed":            {"Pushed out", "推迟"},
	"col.pulled":            {"Pulled in", "提前"},
	"fn.title":              {"Funnel by stage", "阶段漏斗"},
	"fn.sub":                {"deals created in the period; click a stage to see the reps", "期间内创建的商机；点击阶段查看销售代表"},
	"fn.stages":             {"Stage conversion", "阶段转化"},
	"fn.reps_at":            {"Reps at stage", "该阶段的销售代表"},
	"fn.reps_table":         {"Reps at stage, table", "该阶段的销售代表明细"},
	"fn.furthest":           {"furthest", "最远到达"},
	"fn.reps_sub":           {"conversion out of the stage with its 95% interval against peers; click a rep for the deals", "该阶段转化率及95%区间（与同组比较）；点击代表查看商机"},
	"fn.deals":              {"Deals in stage", "该阶段商机"},
	"fn.deals_sub":          {"open deals now in this stage; past their expected close first (overdue)", "当前处于该阶段的未结商机；已过预计成交日期的（逾期）排在前面"},
	"fn.deal":               {"Deal", "商机详情"},
	"fn.stuck":              {"overdue", "逾期"},
	"fn.all_stages":         {"All stages", "全部阶段"},
	"fn.outcome":            {"Outcome", "结果"},
	"fn.open":               {"Open", "未结"},
	"tr.period":             {"Period", "周期"},
	"tr.week":               {"Week", "周"},
	"tr.month":              {"Month", "月"},
	"tr.quarter":            {"Quarter", "季度"},
	"tr.conversion":         {"Stage-to-stage conversion", "阶段间转化率"},
	"tr.conversion_sub":     {"cohort of each period; hollow points and dashed lines: still maturing", "按期间队列；空心点与虚线表示仍在成熟中"},
	"tr.days":               {"Days in stage", "阶段停留天数"},
	"tr.days_sub":           {"from entering a stage to leaving it", "从进入阶段到离开"},
	"tr.movement":           {"Pipeline movement", "管道变动"},
	"tr.table":              {"Conversion by period", "各期间转化率"},
	"rp.ranking":            {"Rep ranking", "销售代表排名"},
	"rp.ranking_sub":        {"by bookings; strengths and weaknesses only where the interval clears the peers", "按签约额；仅当区间完全高于或低于同组时才判定优势或短板"},
	"rp.scorecard":          {"Scorecard", "能力评分卡"},
	"rp.radar":              {"Strengths and weaknesses against peers", "相对同组的优势与短板"},
	"rp.radar_sub":          {"1.0 = peer level; outside the ring is better", "1.0为同组水平；越靠外越好"},
	"rp.metrics":            {"Metrics with intervals", "指标与区间"},
	"rp.hints":              {"Coaching hints", "辅导建议"},
	"rp.no_hints":           {"No weakness stands out from the peers.", "没有明显低于同组的短板。"},
	"rp.trend":              {"Trend", "趋势"},
	"rp.trend_sub":          {"bookings and win rate per month", "每月签约额与赢单率"},
	"rp.rep":                {"This rep", "该代表"},
	"rp.peers":              {"Peers", "同组"},
	"v.strength":            {"strength", "优势"},
	"v.weakness":            {"weakness", "短板"},
	"m.conversion":          {"Conversion", "转化率"},
	"m.win_rate":            {"Win rate", "赢单率"},
	"m.deal_size":           {"Deal size", "客单价"},
	"m.cycle_time":          {"Cycle time", "成交周期"},
	"m.days_in_stage":       {"Days in stage", "阶段停留"},
	"m.activities_per_week": {"Activities / week", "每周活动数"},
	"te.map":                {"Penetration by province", "各省渗透率"},
	"te.map_sub":            {"captured ÷ potential; territories outside China are in the table", "已获取÷潜力；中国以外区域见下表"},
	"te.scatter":            {"Potential vs captured", "潜力与已获取"},
	"te.scatter_sub":        {"bubble size = accounts; below the diagonal = room to grow", "气泡大小=客户数；对角线以下表示有增长空间"},
	"te.treemap":            {"Headroom", "提升空间"},
	"te.table":              {"Territories", "区域明细"},
	"al.title":              {"Recent anomalies", "近期异常"},
	"al.none":               {"No anomalies in the last 30 days.", "近30天无异常。"},
	"al.ack":                {"Acknowledge", "确认"},
	"al.snooze":             {"Snooze 7 days", "暂停提醒7天"},
	"al.acked":              {"acknowledged by", "已确认："},
	"al.snoozed":            {"snoozed until", "暂停至"},
	"al.expected":           {"expected", "预期"},
	"al.actual":             {"actual", "实际"},
	"al.now":                {"now", "现为"},
	"al.before":             {"before", "此前"},
	"al.pushes":             {"pushes", "推迟次数"},
	"al.in_stage":           {"days in stage", "阶段停留天数"},
	"al.usual":              {"usual (median)", "通常（中位数）"},
	"al.since":              {"since", "开始于"},
	"al.last_found":         {"last found", "最近发现"},
	"al.firing":             {"firing", "进行中"},
	"al.quiet":              {"quiet", "已平息"},
	"al.resolved":           {"resolved", "已恢复"},
	"al.done":               {"Saved.", "已保存。"},
	"al.acknowledged":       {"acknowledged", "已确认"},
	"al.no_chart":           {"chart unavailable", "图表不可用"},
	"im.upload":             {"Upload an export", "上传导出文件"},
	"im.upload_sub":         {"CSV, TSV, XLSX, JSON or Parquet from Salesforce, HubSpot, Zoho, Pipedrive, Fxiaoke or a spreadsheet", "支持 Salesforce、HubSpot、Zoho、Pipedrive、纷享销客或表格导出的 CSV/TSV/XLSX/JSON/Parquet"},
	"im.file":               {"File", "文件"},
	"im.source":             {"Source (optional, detected from the header)", "来源（可选，默认按表头识别）"},
	"im.submit":             {"Upload and load", "上传并加载"},
	"im.runs":               {"Recent runs", "最近的导入批次"},
	"im.run":                {"Run report", "导入报告"},
	"im.rejects":            {"Rejected rows", "被拒绝的行"},
	"im.loaded":             {"Loaded.", "已加载。"},
	"im.progress":           {"Read so far (rows · input)", "已读取（行 · 输入）"},
	"im.loading":            {"Loading: this page shows the run as it goes.", "正在加载：本页显示进度。"},
	"err.forbidden":         {"You cannot see this: it is outside your team or your own numbers.", "无权查看：超出了您的团队或个人数据范围。"},
	"err.notfound":          {"Not found", "未找到"},
	"err.notfound_page":     {"This page does not exist.", "页面不存在。"},
	"err.rep_other_team":    {"This rep is not in your team.", "该销售代表不在您的团队中。"},
	"err.rep_not_you":       {"You can see only your own numbers.", "您只能查看自己的数据。"},
	"err.rep_unknown":       {"There is no rep with the id {id}.", "没有编号为 {id} 的销售代表。"},
	"err.rep_no_deals":      {"This rep has no deals in the selected range and filters.", "该销售代表在所选时间和筛选条件下没有商机。"},
	"err.bad":               {"The filter is not valid", "筛选条件无效"},
	"err.title":             {"Something went wrong", "出错了"},
	"err.back":              {"Back to the overview", "返回总览"},
	"role.director":         {"Director", "销售总监"},
	"role.manager":          {"Manager", "销售经理"},
	"role.rep":              {"Rep", "销售代表"},
	"role.admin":            {"Admin", "管理员"},
	"stage.lead":            {"Lead", "线索"},
	"stage.qualified":       {"Qualified", "需求确认"},
	"stage.proposal":        {"Proposal", "方案/报价"},
	"stage.negotiation":     {"Negotiation", "谈判"},
	"stage.won":             {"Won", "赢单"},
	"stage.lost":            {"Lost", "输单"},
	"status.open":           {"open", "未结"},
	"status.won":            {"won", "赢单"},
	"status.lost":           {"lost", "输单"},
	"period.incomplete":     {"maturing", "成熟中"},
	"asof":                  {"Data through", "数据截至"},
	"tip.maturing":          {"still maturing: deals of this cohort are still open", "仍在成熟中：该批商机仍有未结束的"},
	"spark.to_date":         {"to date: the month is not over", "截至目前：本月尚未结束"},
	"spark.opened":          {"Pipeline opened", "新增管道"},
}

// tr is a translator for one language.
type tr struct{ lang string }

func (t tr) idx() int {
	if t.lang == "zh-CN" {
		return 1
	}
	return 0
}

// Lang is the page's language tag.
func (t tr) Lang() string { return t.lang }

// T translates key.
func (t tr) T(key string) string {
	if m, ok := messages[key]; ok {
		return m[t.idx()]
	}
	return key
}

// Stage is a stage's display name (vendor-configured stages show as they are).
func (t tr) Stage(s string) string {
	if m, ok := messages["stage."+s]; ok {
		return m[t.idx()]
	}
	return s
}

// Money formats an amount compactly: 1.2M / 345k in English, 123.4万 / 1.2亿 in Chinese.
func (t tr) Money(v float64) string {
	neg := ""
	if v < 0 {
		neg, v = "-", -v
	}
	if t.lang == "zh-CN" {
		switch {
		case v >= 1e8:
			return neg + trimZero(fixed(v/1e8, 2)) + "亿"
		case v >= 1e4:
			return neg + trimZero(fixed(v/1e4, 1)) + "万"
		}
		return neg + fixed(v, 0)
	}
	switch {
	case v >= 1e9:
		return neg + trimZero(fixed(v/1e9, 2)) + "B"
	case v >= 1e6:
		return neg + trimZero(fixed(v/1e6, 2)) + "M"
	case v >= 1e3:
		return neg + trimZero(fixed(v/1e3, 1)) + "k"
	}
	return neg + fixed(v, 0)
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Pct formats a ratio as a percentage.
func (t tr) Pct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fixed(v*100, 1) + "%"
}

// Days formats a number of days.
func (t tr) Days(v float64) string {
	return fixed(v, 1)
}

// fixed is fmt.Sprintf("%.<prec>f", v) without fmt's reflection (the same
// output, TestFixedMatchesSprintf checks).
func fixed(v float64, prec int) string {
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// Int formats a count with thousands separators.
func (t tr) Int(v int64) string {
	s := strconv.FormatInt(v, 10)
	if v < 0 {
		return "-" + t.Int(-v)
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

const langCookie = "pl_lang"

// pickLang chooses the language: ?lang= (which also sets the cookie), the cookie,
// the signed-in user's configured language, then Accept-Language.
func pickLang(c echo.Context, userLang string) string {
	if l := normLang(c.QueryParam("lang")); l != "" {
		c.SetCookie(&http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 86400, SameSite: http.SameSiteLaxMode, HttpOnly: true, Secure: isHTTPS(c)})
		return l
	}
	if ck, err := c.Cookie(langCookie); err == nil {
		if l := normLang(ck.Value); l != "" {
			return l
		}
	}
	if l := normLang(userLang); l != "" {
		return l
	}
	return acceptLang(c.Request().Header.Get("Accept-Language"))
}

func normLang(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return ""
	case strings.HasPrefix(s, "zh"):
		return "zh-CN"
	case strings.HasPrefix(s, "en"):
		return "en"
	}
	return ""
}

// acceptLang picks the first supported language of an Accept-Language header by
// quality.
func acceptLang(h string) string {
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			fmt.Sscanf(v, "%g", &q)
		}
		if l := normLang(tag); l != "" && q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}
