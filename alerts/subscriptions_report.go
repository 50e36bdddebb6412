package alerts

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"math"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pipelens/pipelens/query"
)

var (
	subHTMLTmpl = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/subscription.html.tmpl"))
	subTextTmpl = texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/subscription.txt.tmpl"))
)

// subWords are the report email's words: [en, zh-CN].
var subWords = map[string][2]string{
	"subject.overview": {"Weekly report", "周报"},
	"subject.daily":    {"Daily report", "日报"},
	"subject.monthly":  {"Monthly report", "月报"},
	"subject.team":     {"team report", "团队报告"},
	"all":              {"Whole organisation", "全公司"},
	"team":             {"Team", "团队"},
	"rep":              {"Rep", "销售"},
	"greeting":         {"Hello %s,", "%s，您好："},
	"intro":            {"Your report for %s – %s (%s).", "以下是 %s 至 %s 的报告（%s）。"},
	"bookings":         {"Bookings", "成交金额"},
	"of_target":        {"%s of target %s", "完成目标 %s 的 %s"},
	"prorated":         {"(target prorated to the period)", "（目标按时段折算）"},
	"no_target":        {"no target set", "未设目标"},
	"untargeted":       {"targets are not set by product, source or segment", "目标不按产品、来源或客户分层设定"},
	"winrate":          {"Win rate", "赢单率"},
	"winrate_sub":      {"%s won of %s closed", "关闭 %[2]s 个，赢单 %[1]s 个"},
	"coverage":         {"Pipeline coverage", "管道覆盖率"},
	"coverage_sub":     {"open pipeline %s / remaining target %s", "未结管道 %s / 剩余目标 %s"},
	"target_met":       {"target reached; open pipeline %s is upside", "目标已达成；未结管道 %s 为额外空间"},
	"cycle":            {"Sales cycle (median)", "销售周期（中位数）"},
	"cycle_sub":        {"won deals, n=%s", "赢单商机，n=%s"},
	"days":             {"%s days", "%s 天"},
	"velocity":         {"Sales velocity", "销售速度"},
	"per_day":          {"%s per day", "每天 %s"},
	"created":          {"Opportunities created", "新建商机"},
	"chart.bookings":   {"Bookings per week, the last 12 weeks (the axis in %s)", "近 12 周每周成交金额（坐标单位：%s）"},
	"chart.conversion": {"Lead-to-won conversion of each month's new opportunities, the last 6 months; months marked open have more than 20%% still open", "近 6 个月每月新建商机的线索→赢单转化率；标记“未完结”的月份仍有超过 20%% 未关闭"},
	"chart.funnel":     {"Funnel of the period's new opportunities: reached each stage", "本期新建商机漏斗：到达各阶段的数量"},
	"incomplete":       {"open: %s", "未完结：%s"},
	"table.team":       {"By team", "按团队"},
	"table.rep":        {"By rep", "按销售"},
	"col.name":         {"Name", "名称"},
	"col.won_amount":   {"Bookings", "成交金额"},
	"col.closed":       {"Won / closed", "赢单 / 关闭"},
	"link":             {"Open the dashboard with this view", "打开该视图的仪表盘"},
	"footer":           {"Sent by pipelens because you subscribed to this report. Manage your subscriptions at %s", "您订阅了此报告，由 pipelens 发送。管理订阅：%s"},
	"unit.money":       {"the reporting currency", "报告币种"},
	"empty":            {"Nothing closed and nothing created in this period.", "本期没有关闭的商机，也没有新建商机。"},
}

func sw(lang, key string, args ...any) string {
	w := subWords[key]
	s := w[0]
	if lang == "zh-CN" {
		s = w[1]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// reportData is what a report is built from: the numbers the overview shows,
// read through query.Service for the subscriber's scope and the period.
type reportData struct {
	f      query.Filter
	cov    query.Coverage
	wr     query.WinRate
	cyc    query.CycleTime
	mv     query.Movement // the period, by month (the overview's velocity)
	weeks  query.Movement // 12 weeks to the period's end
	conv   []query.ConversionPeriod
	funnel query.Funnel
	groups query.WinRate // team kind: by team (directors) or rep (managers)
	link   string
	empty  bool
	scope  query.Scope
}

func (r *SubscriptionRunner) build(ctx context.Context, s *Subscription, sc query.Scope, from, to time.Time) (*reportData, error) {
	f, v, err := r.reportFilter(s, from, to)
	if err != nil {
		return nil, err
	}
	d := &reportData{f: f, scope: sc}
	wf := f
	wf.From = to.AddDate(0, 0, -84)
	cf := f
	cf.From = time.Date(to.Year(), to.Month()-5, 1, 0, 0, 0, 0, to.Location())
	if !cf.From.Before(to) {
		cf.From = to.AddDate(0, -6, 0)
	}
	q := r.q
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { d.cov, err = q.Coverage(gctx, sc, f); return })
	g.Go(func() (err error) { d.wr, err = q.WinRate(gctx, sc, f, ""); return })
	g.Go(func() (err error) { d.cyc, err = q.CycleTime(gctx, sc, f, ""); return })
	g.Go(func() (err error) { d.mv, err = q.Movement(gctx, sc, f, "month"); return })
	g.Go(func() (err error) { d.weeks, err = q.Movement(gctx, sc, wf, "week"); return })
	g.Go(func() (err error) { d.conv, err = q.Conversion(gctx, sc, cf, "month"); return })
	g.Go(func() (err error) { d.funnel, err = q.Funnel(gctx, sc, f); return })
	if s.Kind == KindTeam && sc.Role != query.RoleRep {
		by := "team"
		if sc.Role == query.RoleManager {
			by = "rep"
		}
		g.Go(func() (err error) { d.groups, err = q.WinRate(gctx, sc, f, by); return })
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("subscription %s report: %w", s.ID, err)
	}
	// Empty: nothing closed and nothing created in the period.
	d.empty = d.wr.Total.Won+d.wr.Total.Lost == 0 && d.funnel.Cohort == 0 && d.opened() == 0
	path := "/"
	if s.Kind == KindTeam {
		path = "/funnel"
	}
	d.link = strings.TrimRight(r.e.links.base, "/") + path + "?" + v.Encode()
	return d, nil
}

func (d *reportData) opened() int64 {
	var n int64
	for _, p := range d.mv.Periods {
		n += p.Opened
	}
	return n
}

// velocity is the overview's: query.Velocity over the period's days.
func (d *reportData) velocity() *float64 {
	days := int(d.f.To.Sub(d.f.From).Hours()/24 + 0.5)
	return query.Velocity(d.opened(), days, d.wr.Total.Won, d.wr.Total.Lost, d.wr.Total.WonAmount)
}

type reportKPI struct{ Label, Value, Sub string }

type reportChart struct{ CID, Title, Alt string }

type reportTable struct {
	Title string
	Cols  []string
	Rows  [][]string
}

type reportPage struct {
	Lang, Subject, Greeting, Intro, Empty string
	KPIs                                  []reportKPI
	Charts                                []reportChart
	Table                                 *reportTable
	Link, LinkLabel, Footer               string
}

func pct1(v float64) string { return strconv.FormatFloat(v*100, 'f', 1, 64) + "%" }

func num(v int64) string { return groupThousands(float64(v)) }

// kpis are the overview's cards in the reader's language: bookings against
// target, win rate, coverage, cycle, velocity, and opportunities created.
func (d *reportData) kpis(lang string) []reportKPI {
	c := d.cov
	bk := reportKPI{Label: sw(lang, "bookings"), Value: money(lang, c.Won)}
	switch {
	case c.Target > 0:
		bk.Sub = sw(lang, "of_target", pct1(c.Won/c.Target), money(lang, c.Target))
		if lang == "zh-CN" {
			bk.Sub = sw(lang, "of_target", money(lang, c.Target), pct1(c.Won/c.Target))
		}
		if c.Prorated {
			bk.Sub += " " + sw(lang, "prorated")
		}
	case c.Status == "not_comparable":
		bk.Sub = sw(lang, "untargeted")
	default:
		bk.Sub = sw(lang, "no_target")
	}
	wr := reportKPI{Label: sw(lang, "winrate"), Value: "–", Sub: sw(lang, "winrate_sub", num(d.wr.Total.Won), num(d.wr.Total.Won+d.wr.Total.Lost))}
	if d.wr.Total.Won+d.wr.Total.Lost > 0 {
		wr.Value = pct1(d.wr.Total.WinRate)
	}
	cv := reportKPI{Label: sw(lang, "coverage"), Value: "–"}
	switch c.Status {
	case "ok":
		cv.Value = strconv.FormatFloat(*c.Coverage, 'f', 1, 64) + "×"
		cv.Sub = sw(lang, "coverage_sub", money(lang, c.Pipeline), money(lang, c.Remaining))
	case "target_met":
		cv.Sub = sw(lang, "target_met", money(lang, c.Pipeline))
	case "not_comparable":
		cv.Sub = sw(lang, "untargeted")
	default:
		cv.Sub = sw(lang, "no_target")
	}
	ck := reportKPI{Label: sw(lang, "cycle"), Value: "–", Sub: sw(lang, "cycle_sub", num(d.cyc.Total.Count))}
	if d.cyc.Total.Count > 0 {
		ck.Value = sw(lang, "days", strconv.FormatFloat(d.cyc.Total.Median, 'f', 1, 64))
	}
	vk := reportKPI{Label: sw(lang, "velocity"), Value: "–"}
	if v := d.velocity(); v != nil {
		vk.Value = sw(lang, "per_day", money(lang, *v))
	}
	ok := reportKPI{Label: sw(lang, "created"), Value: num(d.funnel.Cohort)}
	return []reportKPI{bk, wr, cv, ck, vk, ok}
}

// table is the team kind's breakdown: each team (or rep) with its bookings
// and win rate.
func (d *reportData) table(lang string) *reportTable {
	if len(d.groups.Groups) == 0 {
		return nil
	}
	t := &reportTable{Title: sw(lang, "table.team"), Cols: []string{sw(lang, "col.name"), sw(lang, "col.won_amount"), sw(lang, "col.closed"), sw(lang, "winrate")}}
	if d.groups.GroupBy == "rep" {
		t.Title = sw(lang, "table.rep")
	}
	for _, g := range d.groups.Groups {
		name := g.Name
		if name == "" {
			name = g.Key
		}
		rate := "–"
		if g.Won+g.Lost > 0 {
			rate = pct1(g.WinRate)
		}
		t.Rows = append(t.Rows, []string{name, money(lang, g.WonAmount), num(g.Won) + " / " + num(g.Won+g.Lost), rate})
	}
	return t
}

func (r *SubscriptionRunner) render(d *reportData, s *Subscription, name string) (Email, error) {
	lang := s.Lang
	if lang != "zh-CN" {
		lang = "en"
	}
	who := sw(lang, "all")
	switch {
	case d.scope.Role == query.RoleManager:
		who = sw(lang, "team") + " " + d.scope.Team
	case d.scope.Role == query.RoleRep:
		who = sw(lang, "rep") + " " + d.scope.Rep
	}
	kind := map[string]string{EveryDaily: "subject.daily", EveryWeekly: "subject.overview", EveryMonthly: "subject.monthly"}[s.Schedule.Every]
	subj := tr(lang, "subject.prefix") + sw(lang, kind)
	if s.Kind == KindTeam {
		subj += " · " + sw(lang, "subject.team")
	}
	last := d.f.To.AddDate(0, 0, -1)
	subj += " · " + who + " · " + fmtDate(lang, d.f.From) + " – " + fmtDate(lang, last)
	base := strings.TrimRight(r.e.links.base, "/")
	pg := reportPage{Lang: lang, Subject: subj, Greeting: sw(lang, "greeting", name),
		Intro: sw(lang, "intro", fmtDate(lang, d.f.From), fmtDate(lang, last), who),
		KPIs:  d.kpis(lang), Table: d.table(lang), Link: d.link, LinkLabel: sw(lang, "link"),
		Footer: sw(lang, "footer", base+"/subscriptions")}
	if d.empty {
		pg.Empty = sw(lang, "empty")
	}
	em := Email{Subject: subj}
	charts, err := d.charts(lang, s.ID)
	if err != nil {
		return Email{}, err
	}
	for _, c := range charts {
		pg.Charts = append(pg.Charts, reportChart{CID: c.cid, Title: c.title, Alt: c.title})
		em.Charts = append(em.Charts, InlineImage{CID: c.cid, PNG: c.png})
	}
	var hb, tb bytes.Buffer
	if err := subHTMLTmpl.Execute(&hb, pg); err != nil {
		return Email{}, fmt.Errorf("render subscription html: %w", err)
	}
	if err := subTextTmpl.Execute(&tb, pg); err != nil {
		return Email{}, fmt.Errorf("render subscription text: %w", err)
	}
	em.HTML, em.Text = hb.String(), tb.String()
	return em, nil
}

// finite is v, or 0 when it is not a number (an empty cohort's rate).
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
