package alerts

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	htmltemplate "html/template"
	"math"
	"net/url"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var (
	htmlTmpl = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/email.html.tmpl"))
	textTmpl = texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/email.txt.tmpl"))
)

// Email is a rendered alert email: one per recipient per evaluation.
type Email struct {
	To      Recipient
	Subject string
	Text    string
	HTML    string
	Charts  []InlineImage
}

// InlineImage is a PNG referenced from the HTML as cid:CID.
type InlineImage struct {
	CID string `json:"cid"`
	PNG []byte `json:"png"`
}

// messages holds the words of the emails per language.
var messages = map[string]map[string]string{
	"en": {
		"subject.prefix": "[pipelens] ", "subject.more": " (+%d more)", "subject.many": "%d alerts: ",
		"greeting": "Hello %s,", "intro.one": "pipelens found an anomaly in your numbers.",
		"intro.many": "pipelens found %d anomalies in your numbers.",
		"up":         "up", "down": "down",
		"actual": "Actual", "expected": "Expected", "deviation": "Deviation", "since": "Since",
		"range": "Expected range", "volume": "Volume",
		"drivers": "Top drivers:", "link": "Open the dashboard for this segment and period",
		"footer":  "Sent by pipelens. The same anomaly is not sent again until its repeat interval passes or it resolves.",
		"seg.all": "Whole organisation", "seg.team": "Team", "seg.rep": "Rep", "seg.territory": "Territory",
		"seg.product": "Product", "seg.source": "Source",
		"kind.spike": "spike", "kind.drop": "drop", "kind.level_shift": "level shift", "kind.trend_change": "trend change",
		"kind.rate": "rate change",
		"per.day":   "per day", "per.week": "per week",
		"m.leads": "Leads", "m.opportunities_opened": "Opportunities opened", "m.pipeline_created": "Pipeline created",
		"m.bookings": "Bookings", "m.deals_won": "Deals won", "m.activities": "Activities", "m.win_rate": "Win rate",
		"m.stage_conversion": "Stage conversion", "m.days_in_stage": "Days in stage",
		"deal.stuck_deal": "Deal stuck in %s", "deal.pushed_close": "Close date pushed %d times",
		"deal.amount_cut":     "Deal amount cut by %s",
		"dealkind.stuck_deal": "Deal stuck", "dealkind.pushed_close": "Close date pushed", "dealkind.amount_cut": "Deal amount cut",
		"deal": "Deal", "account": "Account", "owner": "Owner", "stage": "Stage", "amount": "Amount", "amount.change": "Amount change", "close": "Close date",
		"days.in.stage": "Days in stage", "usual": "Usual (median / 90th percentile)", "pushes": "Pushes",
		"trend.slope": "%s per week", "pts": "%s pts",
		"through": "Data through", "through.text": "%s (the last day the export covers; later days are not judged)",
		"move.up": "rise", "move.down": "fall",
		"drv.sum":            "%s: %s since the start, where its own earlier level predicted %s (%s)%s.",
		"drv.mean":           "%s: %s on average since the start, where %s was usual before (%s)%s.",
		"drv.rate":           "%s: %s won of %s closed since the start, where its earlier win rate predicted %s won (%s)%s.",
		"drv.share":          ", %s of the whole %s",
		"among":              "Also flagged under this segment (same rule):",
		"among.deals":        "Other deals the same rule flags:",
		"among.more":         "and %d more on the Alerts page",
		"unit.days_to_close": "days from each export to the expected close date", "unit.days": "days", "unit.count": "count",
		"unit.wan": "万", "unit.yi": "亿",
		"cap.actual": "Blue: actual per day", "cap.rolling": "Blue: the rate of the last 7 days, day by day",
		"cap.pushed": "Blue: the expected close date, as days ahead of each export", "cap.amount": "Blue: the deal's amount in each export",
		"cap.unit": " (%s)", "cap.sep": ". ", "cap.expected": "Grey dashed: expected", "cap.band": "grey band: the expected range",
		"cap.shaded_bad": "Shaded red: the anomalous period (bad news)", "cap.shaded_good": "Shaded green: the anomalous period (good news)", "cap.end": ".",
	},
	"zh-CN": {
		"subject.prefix": "【pipelens】", "subject.more": "（另有 %d 条）", "subject.many": "%d 条预警：",
		"greeting": "%s，您好：", "intro.one": "pipelens 发现您的数据中有一项异常。",
		"intro.many": "pipelens 发现您的数据中有 %d 项异常。",
		"up":         "上升", "down": "下降",
		"actual": "实际值", "expected": "预期值", "deviation": "偏差", "since": "开始于",
		"range": "预期范围", "volume": "样本量",
		"drivers": "主要驱动因素：", "link": "打开该细分与时段的仪表盘",
		"footer":  "由 pipelens 发送。同一异常在重复间隔之前或恢复之前不会重复发送。",
		"seg.all": "全公司", "seg.team": "团队", "seg.rep": "销售", "seg.territory": "区域",
		"seg.product": "产品", "seg.source": "来源",
		"kind.spike": "突增", "kind.drop": "骤降", "kind.level_shift": "水平变化", "kind.trend_change": "趋势变化",
		"kind.rate": "比率变化",
		"per.day":   "每天", "per.week": "每周",
		"m.leads": "线索数", "m.opportunities_opened": "新建商机", "m.pipeline_created": "新增管道金额",
		"m.bookings": "成交金额", "m.deals_won": "赢单数", "m.activities": "销售活动", "m.win_rate": "赢单率",
		"m.stage_conversion": "阶段转化率", "m.days_in_stage": "阶段停留天数",
		"deal.stuck_deal": "商机在“%s”阶段停滞", "deal.pushed_close": "预计成交日期已推迟 %d 次",
		"deal.amount_cut":     "商机金额下调 %s",
		"dealkind.stuck_deal": "商机停滞", "dealkind.pushed_close": "预计成交日期推迟", "dealkind.amount_cut": "商机金额下调",
		"deal": "商机", "account": "客户", "owner": "负责人", "stage": "阶段", "amount": "金额", "amount.change": "金额变化", "close": "预计成交日期",
		"days.in.stage": "阶段停留天数", "usual": "通常（中位数 / 90 分位）", "pushes": "推迟次数",
		"trend.slope": "每周 %s", "pts": "%s 个百分点",
		"through": "数据截至", "through.text": "%s（导出数据覆盖的最后一天；之后的日期不参与判断）",
		"move.up": "上升", "move.down": "下降",
		"drv.sum":            "%s：自异常开始以来为 %s，按其此前水平预期 %s（%s）%s。",
		"drv.mean":           "%s：自异常开始以来平均 %s，此前通常为 %s（%s）%s。",
		"drv.rate":           "%s：自异常开始以来关闭 %[3]s 个商机，赢单 %[2]s 个；按其此前赢单率预期赢单 %[4]s 个（%[5]s）%[6]s。",
		"drv.share":          "，占整体%[2]s的 %[1]s",
		"among":              "该细分下同一规则的其他异常：",
		"among.deals":        "同一规则标出的其他商机：",
		"among.more":         "另有 %d 条，见告警页",
		"unit.days_to_close": "每次导出距预计成交日期的天数", "unit.days": "天", "unit.count": "个",
		"unit.wan": "单位：万", "unit.yi": "单位：亿",
		"cap.actual": "蓝线：每日实际值", "cap.rolling": "蓝线：逐日计算的近 7 天比率",
		"cap.pushed": "蓝线：预计成交日期距每次导出的天数", "cap.amount": "蓝线：每次导出中的商机金额",
		"cap.unit": "（%s）", "cap.sep": "；", "cap.expected": "灰色虚线：预期值", "cap.band": "灰色带：预期范围",
		"cap.shaded_bad": "红色阴影：异常时段（不利）", "cap.shaded_good": "绿色阴影：异常时段（有利）", "cap.end": "。",
	},
}

// stageName is a canonical stage in the recipient's language; a configured
// pipeline's own stage names pass through as they are.
func stageName(lang, stage string) string {
	if lang != "zh-CN" {
		return stage
	}
	if zh, ok := map[string]string{"lead": "线索", "qualified": "需求确认", "proposal": "方案/报价",
		"negotiation": "谈判", "won": "赢单", "lost": "输单"}[stage]; ok {
		return zh
	}
	return stage
}

func tr(lang, key string, args ...any) string {
	m := messages[lang]
	if m == nil {
		m = messages["en"]
	}
	s, ok := m[key]
	if !ok {
		s = messages["en"][key]
	}
	if s == "" {
		s = key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

type fact struct{ Label, Value string }

type item struct {
	Direction    int
	Good         bool // good news for the metric: the arrow's colour
	Arrow        string
	Title        string
	SegmentLine  string
	Facts        []fact
	Drivers      []string
	ChartCID     string
	ChartAlt     string
	Link         string
	ChartCaption string // what the chart draws, in the reader's words and unit
	// Among: the anomalies grouped under this section (groupTree), at most
	// maxAmong of them, then one line saying how many more.
	Among      []line
	AmongLabel string
	short      string // for the subject
}

// line is a line of text, linked when Link is set.
type line struct{ Text, Link string }

// maxAmong is how many grouped anomalies a section lists: a manager with 40
// stuck deals reads the ten longest stuck and a count, not 40 sections.
const maxAmong = 10

type page struct {
	Lang, Subject, Greeting, Intro string
	DriversLabel                   string
	LinkLabel, Footer              string
	Items                          []item
}

// linker builds dashboard links.
type linker struct {
	base, path, dealPath string
	ratePath             string // win rate: the trends page has no chart of it
}

func (l linker) link(a *Anomaly) string {
	q := url.Values{}
	switch a.SegmentKind {
	case SegTeam:
		q.Set("team", a.Segment)
	case SegRep:
		q.Set("rep", a.Segment)
		if a.Team != "" {
			q.Set("team", a.Team)
		}
	case SegTerritory:
		q.Set("territory", a.Segment)
	case SegProduct:
		q.Set("product", a.Segment)
	case SegSource:
		q.Set("source", a.Segment)
	}
	path := l.path
	// The range starts at or before the anomaly (and a deal's creation: the
	// funnel lists deals created in the range) and holds the day it was seen
	// (to is exclusive).
	from, to := a.From, a.To
	if !a.Since.IsZero() && (from.IsZero() || a.Since.Before(from)) {
		from = a.Since
	}
	if a.Deal != nil {
		// The funnel selects a deal by stage, rep and id.
		path = l.dealPath
		q.Set("deal", a.Deal.ID)
		q.Set("stage", a.Deal.Stage)
		if !a.Deal.Created.IsZero() && a.Deal.Created.Before(from) {
			from = a.Deal.Created
		}
		if !to.IsZero() {
			to = dayAfter(to) // deal rules judge today's export
		}
	}
	if !a.Since.IsZero() && !to.After(a.Since) {
		to = dayAfter(a.Since)
	}
	if !from.IsZero() {
		q.Set("from", from.Format(time.DateOnly))
	}
	if !to.IsZero() {
		q.Set("to", to.Format(time.DateOnly))
	}
	switch {
	case a.Deal != nil:
	case tierDetectors[a.Kind]:
		// The tiers page lists the owner's accounts below their level.
		path = "/tiers"
	case a.Metric == MetricWinRate && l.path == "/trends":
		// The trends page has no win-rate chart; the reps page shows the
		// win rate of each rep of the segment with its interval.
		path = l.ratePath
	case a.EventID != "" && l.path == "/trends":
		// The trends page draws none of the daily metrics: the Alerts page
		// opened on the event draws its metric for its segment over the range,
		// with the expected level and the anomalous span.
		path = "/alerts"
		q.Set("event", a.EventID)
		q.Set("metric", a.Metric)
	case a.Metric != "":
		q.Set("metric", a.Metric)
	}
	return strings.TrimRight(l.base, "/") + path + "?" + q.Encode()
}

func dirWord(lang string, d int) string {
	if d < 0 {
		return tr(lang, "down")
	}
	return tr(lang, "up")
}

func groupThousands(v float64) string {
	s := fmt.Sprintf("%.0f", math.Abs(v))
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if v < 0 {
		return "-" + b.String()
	}
	return b.String()
}

func pct(actual, expected float64) string {
	if expected == 0 {
		return "–"
	}
	return fmt.Sprintf("%+.0f%%", (actual-expected)/math.Abs(expected)*100)
}

func segLine(lang string, a *Anomaly) string {
	if a.SegmentKind == SegAll || a.SegmentKind == "" {
		return tr(lang, "seg.all")
	}
	return tr(lang, "seg."+a.SegmentKind) + " " + a.SegmentLabel
}

func fmtDate(lang string, t time.Time) string {
	if lang == "zh-CN" {
		return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
	}
	return t.Format("Mon 2 Jan 2006")
}

// buildItem turns an anomaly into the words and facts of its section.
func buildItem(lang string, a *Anomaly, l linker) item {
	it := item{Direction: a.Direction, Good: Good(a.Metric, a.Kind, a.Direction), Arrow: "▲", Link: l.link(a)}
	if a.Direction < 0 {
		it.Arrow = "▼"
	}
	seg := segLine(lang, a)
	it.SegmentLine = seg
	if tierDetectors[a.Kind] {
		return tierItem(lang, a, it)
	}
	if a.Deal != nil {
		d := a.Deal
		var seen []fact
		it.Title, seen = dealFinding(lang, a)
		it.Facts = append([]fact{{tr(lang, "deal"), d.Name}, {tr(lang, "account"), d.Account}, {tr(lang, "owner"), a.SegmentLabel},
			{tr(lang, "stage"), stageName(lang, d.Stage)}, {tr(lang, "amount"), money(lang, d.Amount) + " " + d.Currency},
			{tr(lang, "close"), d.CloseDate.Format(time.DateOnly)}}, seen...)
		it.Facts = append(it.Facts, fact{tr(lang, "since"), fmtDate(lang, a.Since)})
		it.short = it.Title + " · " + d.Name
		it.Title += " · " + d.Name
		it.ChartAlt = it.Title
		return it
	}
	metric := tr(lang, "m."+a.Metric)
	dir := dirWord(lang, a.Direction)
	var dev string
	switch {
	case a.Kind == "trend_change":
		dev = fmt.Sprintf("%s → %s", tr(lang, "trend.slope", fmtSigned(lang, a.Metric, a.Expected)), tr(lang, "trend.slope", fmtSigned(lang, a.Metric, a.Actual)))
	case metricKinds[a.Metric] == "rate":
		dev = tr(lang, "pts", fmt.Sprintf("%+.1f", (a.Actual-a.Expected)*100))
	default:
		dev = pct(a.Actual, a.Expected)
	}
	short := dev
	if a.Kind == "trend_change" {
		short = tr(lang, "kind.trend_change")
	}
	sep := " "
	if lang == "zh-CN" {
		sep = "" // 赢单率下降, not 赢单率 下降
	}
	it.Title = metric + sep + dir + " " + strings.TrimPrefix(strings.TrimPrefix(short, "+"), "-")
	if a.Kind == "trend_change" {
		it.Title = metric + sep + tr(lang, "kind.trend_change") + " (" + dir + ")"
	}
	if a.Kind == "level_shift" {
		it.Title += " (" + tr(lang, "kind.level_shift") + ")"
	}
	it.short = it.Title + " · " + seg
	per := ""
	if a.Kind == "level_shift" {
		per = " " + tr(lang, "per."+a.Grain)
	}
	if a.Kind != "trend_change" {
		it.Facts = append(it.Facts,
			fact{tr(lang, "actual"), FormatValue(lang, a.Metric, a.Actual) + per},
			fact{tr(lang, "expected"), FormatValue(lang, a.Metric, a.Expected) + per})
	}
	it.Facts = append(it.Facts, fact{tr(lang, "deviation"), dev})
	if a.Kind == "spike" || a.Kind == "drop" || a.Kind == "rate" {
		if a.High > a.Low {
			it.Facts = append(it.Facts, fact{tr(lang, "range"), FormatValue(lang, a.Metric, math.Max(a.Low, 0)) + " – " + FormatValue(lang, a.Metric, a.High)})
		}
	}
	if a.Volume > 0 {
		it.Facts = append(it.Facts, fact{tr(lang, "volume"), fmt.Sprintf("%.0f", a.Volume)})
	}
	it.Facts = append(it.Facts, fact{tr(lang, "since"), fmtDate(lang, a.Since)})
	if !a.DataThrough.IsZero() {
		it.Facts = append(it.Facts, fact{tr(lang, "through"), tr(lang, "through.text", fmtDate(lang, a.DataThrough))})
	}
	for _, d := range a.Drivers {
		it.Drivers = append(it.Drivers, driverSentence(lang, a, d))
	}
	it.ChartAlt = metric + " · " + seg
	return it
}

func signed(lang string, v float64, metric string) string {
	s := FormatValue(lang, metric, math.Abs(v))
	if metricKinds[metric] == "rate" {
		s = fmt.Sprintf("%.1f", math.Abs(v))
	}
	if v < 0 {
		return "−" + s
	}
	return "+" + s
}

func fmtSigned(lang, metric string, v float64) string {
	if metricKinds[metric] == "rate" {
		return tr(lang, "pts", fmt.Sprintf("%+.1f", v*100))
	}
	return fmt.Sprintf("%+.1f", v)
}

// dealFinding is a deal alert's title and what its rule saw.
func dealFinding(lang string, a *Anomaly) (string, []fact) {
	switch a.Kind {
	case "stuck_deal":
		return tr(lang, "deal.stuck_deal", stageName(lang, a.Deal.Stage)), []fact{{tr(lang, "days.in.stage"), fmt.Sprintf("%.0f", a.Actual)},
			{tr(lang, "usual"), fmt.Sprintf("%.0f / %.0f", a.Expected, a.High)}}
	case "pushed_close":
		return tr(lang, "deal.pushed_close", int(a.Actual)), []fact{{tr(lang, "pushes"), fmt.Sprintf("%.0f", a.Actual)}}
	case "amount_cut":
		return tr(lang, "deal.amount_cut", fmt.Sprintf("%.0f%%", a.Score*100)),
			[]fact{{tr(lang, "amount.change"), money(lang, a.Expected) + " → " + money(lang, a.Actual) + " " + a.Deal.Currency}}
	}
	return "", nil
}

// amongLine is one anomaly grouped under another's section: its segment, its
// actual against expected, and since when; a deal's name, owner and what the
// rule saw, linked to the deal.
func amongLine(lang string, a *Anomaly, l linker) line {
	switch {
	case tierDetectors[a.Kind]:
		return line{Text: segLine(lang, a) + ": " + tr(lang, "tier.title", int(a.Actual))}
	case a.Deal != nil:
		_, seen := dealFinding(lang, a)
		text := a.Deal.Name + " · " + a.SegmentLabel + " · " + stageName(lang, a.Deal.Stage)
		for _, f := range seen {
			text += " · " + f.Label + " " + f.Value
		}
		return line{Text: text, Link: l.link(a)}
	}
	return line{Text: segLine(lang, a) + ": " + FormatValue(lang, a.Metric, a.Actual) + " / " + tr(lang, "expected") + " " +
		FormatValue(lang, a.Metric, a.Expected) + " · " + tr(lang, "since") + " " + fmtDate(lang, a.Since)}
}

// amongLines are the lines of the anomalies grouped under a section: the
// first maxAmong, then how many more, linked to the Alerts page.
func amongLines(lang string, as []*Anomaly, l linker) []line {
	var out []line
	for i, a := range as {
		if i == maxAmong {
			out = append(out, line{Text: tr(lang, "among.more", len(as)-maxAmong), Link: strings.TrimRight(l.base, "/") + "/alerts"})
			break
		}
		out = append(out, amongLine(lang, a, l))
	}
	return out
}

// driverSentence explains a driver in a sentence: what the segment did since
// the anomaly started, what its own earlier level predicted, the difference
// and its share of the whole move.
func driverSentence(lang string, a *Anomaly, d Driver) string {
	who := tr(lang, "seg."+d.Kind) + " " + d.Label
	move := tr(lang, "move.up")
	if a.Direction < 0 {
		move = tr(lang, "move.down")
	}
	share := ""
	if d.Share > 0 {
		share = tr(lang, "drv.share", fmt.Sprintf("%.0f%%", d.Share*100), move)
	}
	switch metricKinds[a.Metric] {
	case "rate":
		return tr(lang, "drv.rate", who, FormatValue(lang, "count", d.Actual), FormatValue(lang, "count", d.Trials),
			strconv.FormatFloat(d.Expected, 'f', 1, 64), signed(lang, d.Delta, "count"), share)
	case "mean":
		return tr(lang, "drv.mean", who, FormatValue(lang, a.Metric, d.Actual), FormatValue(lang, a.Metric, d.Expected), signed(lang, d.Delta, a.Metric), share)
	}
	return tr(lang, "drv.sum", who, FormatValue(lang, a.Metric, d.Actual), FormatValue(lang, a.Metric, d.Expected), signed(lang, d.Delta, a.Metric), share)
}

// render builds the email for one recipient from its anomalies (already sorted).
func render(to Recipient, as []*Anomaly, l linker) (Email, error) {
	return renderGrouped(to, as, l, nil)
}

// renderGrouped is render with anomalies grouped along the org tree (see
// groupTree): among[a] are the anomalies shown as lines under a's section.
func renderGrouped(to Recipient, as []*Anomaly, l linker, among map[*Anomaly][]*Anomaly) (Email, error) {
	lang := to.Lang
	if messages[lang] == nil {
		lang = "en"
	}
	pg := page{Lang: lang, DriversLabel: tr(lang, "drivers"), LinkLabel: tr(lang, "link"), Footer: tr(lang, "footer")}
	name := to.Name
	if name == "" {
		name = to.Email
	}
	pg.Greeting = tr(lang, "greeting", name)
	// Every anomaly counts, grouped or not.
	n := len(as)
	for _, a := range as {
		n += len(among[a])
	}
	if n == 1 {
		pg.Intro = tr(lang, "intro.one")
	} else {
		pg.Intro = tr(lang, "intro.many", n)
	}
	em := Email{To: to}
	for i, a := range as {
		it := buildItem(lang, a, l)
		it.Among, it.AmongLabel = amongLines(lang, among[a], l), tr(lang, "among")
		if a.Deal != nil {
			it.AmongLabel = tr(lang, "among.deals")
		}
		png, caption, err := renderChart(lang, a)
		if err != nil {
			return Email{}, err
		}
		it.ChartCaption = caption
		if png != nil {
			sum := sha256.Sum256([]byte(a.Key))
			it.ChartCID = fmt.Sprintf("chart%d-%s@pipelens", i+1, hex.EncodeToString(sum[:6]))
			em.Charts = append(em.Charts, InlineImage{CID: it.ChartCID, PNG: png})
		}
		pg.Items = append(pg.Items, it)
	}
	subj := tr(lang, "subject.prefix")
	if n > 1 {
		subj += tr(lang, "subject.many", n)
	}
	subj += pg.Items[0].short
	if n > 1 {
		subj += tr(lang, "subject.more", n-1)
	}
	pg.Subject = subj
	em.Subject = subj
	var hb, tb bytes.Buffer
	if err := htmlTmpl.Execute(&hb, pg); err != nil {
		return Email{}, fmt.Errorf("render html email: %w", err)
	}
	if err := textTmpl.Execute(&tb, pg); err != nil {
		return Email{}, fmt.Errorf("render text email: %w", err)
	}
	em.HTML, em.Text = hb.String(), tb.String()
	return em, nil
}
