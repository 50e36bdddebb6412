package dashboards

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/pipelens/pipelens/query"
)

// Coaching pages (issue 17): the KAI and plans page (/coaching), the plan form
// reached from a scorecard's weakness (/coaching/new), the panels the
// scorecard and the overview show, and the review pack (review.go).

func init() {
	addMessages(coachingMessages)
}

var coachingMessages = map[string][2]string{
	"nav.coaching":             {"Coaching", "辅导"},
	"co.title":                 {"Coaching: activities and plans", "辅导：客户活动与改进计划"},
	"co.kai":                   {"Activity indicators (KAI)", "客户活动指标（KAI）"},
	"co.kai_sub":               {"Per week over the range, against the activity targets", "区间内每周次数，对比活动目标"},
	"co.kai_weekly":            {"Activities per week", "每周客户活动"},
	"co.kai_weekly_sub":        {"The selection's activities by kind, weeks starting Monday", "按类型统计的每周客户活动（周一为一周开始）"},
	"co.kai_team":              {"Activities per rep per week", "每位销售每周客户活动"},
	"co.kind.visit":            {"Visits", "拜访"},
	"co.kind.call":             {"Calls", "电话"},
	"co.kind.meeting":          {"Meetings", "会议"},
	"co.kind.proposal":         {"Proposals sent", "发送方案/报价"},
	"co.kind.follow_up":        {"Follow-ups", "跟进"},
	"co.kind.other":            {"Other", "其他"},
	"co.per_week":              {"Per week", "每周"},
	"co.target":                {"Target per week", "每周目标"},
	"co.attain":                {"Of target", "目标达成"},
	"co.count":                 {"In the range", "区间合计"},
	"co.team_week":             {"Team per rep per week", "团队人均每周"},
	"co.no_target":             {"no target", "未设目标"},
	"co.stages":                {"Activities before stage moves", "阶段推进前的客户活动"},
	"co.stages_sub":            {"Conversion of deals with the activity while in the stage vs. without it; 95% interval; a finding only when the interval clears by 10%", "阶段内有该活动的商机与没有的商机的转化率对比；95%区间；区间超出10%以上才下结论"},
	"co.with":                  {"With", "有该活动"},
	"co.without":               {"Without", "无该活动"},
	"co.finding":               {"Finding", "结论"},
	"co.higher":                {"converts better", "转化更高"},
	"co.lower":                 {"converts worse", "转化更低"},
	"co.no_finding":            {"no clear difference", "无明显差异"},
	"co.plans":                 {"Coaching plans", "辅导改进计划"},
	"co.plans_sub":             {"Plan, do, check, act: each plan's metric since it started, judged with the scorecard's interval", "计划-执行-检查-改进：每个计划自开始以来的指标，按记分卡的区间判断"},
	"co.no_plans":              {"No coaching plans yet. Record one from a weakness on a rep's scorecard.", "暂无辅导计划。可在销售代表记分卡的待改进项上制定计划。"},
	"co.record":                {"Record a plan", "制定改进计划"},
	"co.record_sub":            {"A plan for this weakness", "针对此待改进项制定计划"},
	"co.review_pack":           {"Review pack (print)", "绩效面谈资料（打印）"},
	"co.rep":                   {"Rep", "销售代表"},
	"co.metric":                {"Metric", "指标"},
	"co.baseline":              {"Baseline", "基线"},
	"co.goal":                  {"Goal", "目标"},
	"co.now":                   {"Since start", "开始以来"},
	"co.review":                {"Review", "复盘日期"},
	"co.status":                {"Status", "状态"},
	"co.actions":               {"Actions", "行动"},
	"co.next":                  {"Next step", "下一步"},
	"co.v.improved":            {"improved", "已改善"},
	"co.v.not_yet":             {"not yet", "尚未改善"},
	"co.v.too_few":             {"too few deals to tell", "商机太少，无法判断"},
	"co.s.open":                {"open", "进行中"},
	"co.s.reviewed":            {"reviewed", "已复盘"},
	"co.goal_met":              {"goal reached", "已达成目标"},
	"co.saved":                 {"The coaching plan is recorded. pipelens tracks its metric from today and emails the review on its date.", "辅导计划已保存。pipelens 从今天起跟踪该指标，并在复盘日期发送复盘邮件。"},
	"co.form":                  {"Record a coaching plan", "制定辅导改进计划"},
	"co.form_sub":              {"The baseline is the scorecard's value over the range shown; the plan is tracked from today.", "基线为当前所示区间内记分卡的数值；计划从今天开始跟踪。"},
	"co.f.rep_id":              {"Rep", "销售代表"},
	"co.f.metric":              {"Metric", "指标"},
	"co.f.stage":               {"Stage", "阶段"},
	"co.f.goal":                {"Goal", "目标"},
	"co.f.actions":             {"Actions", "行动"},
	"co.f.review_date":         {"Review date", "复盘日期"},
	"co.f.baseline_from":       {"Baseline from", "基线开始"},
	"co.f.baseline_to":         {"Baseline to", "基线截止"},
	"co.f.submit":              {"Record the plan", "保存计划"},
	"co.f.goal_hint":           {"rates as a percentage (e.g. 45), days or amounts as numbers", "比率填百分数（如 45），天数或金额填数字"},
	"co.weakness":              {"Weakness", "待改进项"},
	"co.peer":                  {"Peers", "同组"},
	"co.m.activities_per_week": {"Activities per week", "每周客户活动"},
}

// planMetricLabel is a plan's metric (and stage) in the reader's language.
func planMetricLabel(r *request, metric, stage string) string {
	s := r.T("m." + metric)
	if s == "m."+metric {
		s = r.T("co.m." + metric)
	}
	if stage != "" {
		s += " · " + r.Stage(stage)
	}
	return s
}

// fmtPlanValue formats a plan metric's value the way the scorecard does.
func fmtPlanValue(r *request, metric string, v float64) string { return fmtMetric(r, metric, v) }

func verdictText(r *request, c *query.PlanCheck) (string, string) {
	if c == nil {
		return "–", ""
	}
	t := r.T("co.v." + c.Verdict)
	cls := map[string]string{query.VerdictImproved: "good", query.VerdictNotYet: "bad"}[c.Verdict]
	if c.GoalMet && c.Verdict == query.VerdictImproved {
		t += " · " + r.T("co.goal_met")
	}
	return t, cls
}

// plansWithProgress lists the plans in scope (of rep, or all) with each open
// plan's progress to today; at most limit open plans get one (0: all).
func (p *pages) plansWithProgress(ctx context.Context, r *request, rep string, limit int) ([]query.Plan, error) {
	ps, err := p.svc.Plans(ctx, r.scope, rep, "")
	if err != nil {
		return nil, err
	}
	now := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	n := 0
	for i := range ps {
		if ps[i].Status != query.PlanOpen || (limit > 0 && n >= limit) {
			continue
		}
		n++
		pl := &ps[i]
		g.Go(func() error { return p.svc.PlanProgress(gctx, pl, now) })
	}
	return ps, g.Wait()
}

// plansTable is the table of plans with their baseline, goal, progress or
// result and next step.
func plansTable(r *request, id string, ps []query.Plan, withRep bool) *table {
	t := &table{ID: id, Cols: []col{{Label: r.T("co.metric")}, {Label: r.T("co.baseline"), Num: true}, {Label: r.T("co.goal"), Num: true},
		{Label: r.T("co.now"), Num: true}, {Label: r.T("col.interval"), Num: true}, {Label: "n", Num: true}, {Label: r.T("co.status")},
		{Label: r.T("co.review")}, {Label: r.T("co.actions")}, {Label: r.T("co.next")}}}
	if withRep {
		t.Cols = append([]col{{Label: r.T("co.rep")}}, t.Cols...)
	}
	for _, pl := range ps {
		c := pl.Progress
		if pl.Result != nil {
			c = pl.Result
		}
		vt, cls := verdictText(r, c)
		status := r.T("co.s."+pl.Status) + " · " + vt
		var cells []cell
		if withRep {
			name := pl.RepName
			if name == "" {
				name = pl.RepID
			}
			cells = append(cells, cell{Text: name, Link: r.filterURL("/reps/"+url.PathEscape(pl.RepID), "from", pl.Start, "to", pl.Review, "preset", "")})
		}
		cells = append(cells, cell{Text: planMetricLabel(r, pl.Metric, pl.Stage)},
			cell{Text: fmtPlanValue(r, pl.Metric, pl.Baseline), Raw: num(round(pl.Baseline))},
			cell{Text: fmtPlanValue(r, pl.Metric, pl.Goal), Raw: num(round(pl.Goal))})
		next := ""
		if c != nil && c.N == 0 {
			// Nothing counted since the start: no value, not a value of 0.
			cells = append(cells, cell{Text: "–"}, cell{Text: "–"}, count(r, 0))
		}
		if c != nil && c.N > 0 {
			cells = append(cells, cell{Text: fmtPlanValue(r, pl.Metric, c.Value), Raw: num(round(c.Value))},
				cell{Text: fmtPlanValue(r, pl.Metric, c.Low) + " – " + fmtPlanValue(r, pl.Metric, c.High), Raw: num(round(c.Low)) + ".." + num(round(c.High))},
				count(r, c.N))
		}
		if c != nil {
			next = c.NextEN
			if r.lang == "zh-CN" {
				next = c.NextZH
			}
		}
		if c == nil {
			cells = append(cells, cell{Text: "–"}, cell{Text: "–"}, cell{Text: "–"})
		}
		cells = append(cells, cell{Text: status, Class: cls, Raw: pl.Status + ":" + planVerdict(c)}, cell{Text: pl.Review}, cell{Text: pl.Actions}, cell{Text: next})
		t.Rows = append(t.Rows, row{Cells: cells})
	}
	return t
}

func planVerdict(c *query.PlanCheck) string {
	if c == nil {
		return ""
	}
	return c.Verdict
}

// kaiTable is the KAI of one rep (or the selection) by kind: in the range,
// per week, target per week, attainment, and the team's per rep per week.
func kaiTable(r *request, id string, k query.KAI, team *query.KAI, reps int) *table {
	t := &table{ID: id, Cols: []col{{Label: r.T("co.kai")}, {Label: r.T("co.count"), Num: true}, {Label: r.T("co.per_week"), Num: true},
		{Label: r.T("co.target"), Num: true}, {Label: r.T("co.attain"), Num: true}}}
	if team != nil {
		t.Cols = append(t.Cols, col{Label: r.T("co.team_week"), Num: true})
	}
	for _, kind := range append(query.ActivityKinds, query.KindOther) {
		cells := []cell{{Text: r.T("co.kind." + kind)}, count(r, k.Counts[kind]),
			{Text: fmtf("%.1f", k.PerWeek[kind]), Raw: num(round(k.PerWeek[kind]))}}
		if tg, ok := k.Targets[kind]; ok {
			a := k.Attainment[kind]
			cls := "good"
			if a < 1 {
				cls = "bad"
			}
			cells = append(cells, cell{Text: fmtf("%.1f", tg), Raw: num(round(tg))}, cell{Text: r.Pct(a), Raw: num(round(a)), Class: cls, Bar: coachMin(a, 1)})
		} else {
			cells = append(cells, cell{Text: r.T("co.no_target")}, cell{Text: "–"})
		}
		if team != nil {
			v := 0.0
			if reps > 0 {
				v = team.PerWeek[kind] / float64(reps)
			}
			cells = append(cells, cell{Text: fmtf("%.1f", v), Raw: num(round(v))})
		}
		t.Rows = append(t.Rows, row{Cells: cells})
	}
	return t
}

func coachMin(a, b float64) float64 {
	if a < b {
		return a
	}
	return b
}

// stagesTable relates activities to stage conversions; rows without a
// finding are kept (their interval says why) but only for kinds that occur.
func stagesTable(r *request, id string, ss []query.StageActivity) *table {
	t := &table{ID: id, Cols: []col{{Label: r.T("col.stage")}, {Label: r.T("co.kai")}, {Label: r.T("co.with") + " n", Num: true},
		{Label: r.T("co.with"), Num: true}, {Label: r.T("col.interval"), Num: true}, {Label: r.T("co.without") + " n", Num: true},
		{Label: r.T("co.without"), Num: true}, {Label: r.T("co.finding")}}}
	for _, s := range ss {
		if s.WithN == 0 {
			continue
		}
		f := cell{Text: r.T("co.no_finding")}
		switch s.Verdict {
		case "higher":
			f = cell{Text: r.T("co.higher"), Class: "good"}
		case "lower":
			f = cell{Text: r.T("co.lower"), Class: "bad"}
		}
		f.Raw = s.Verdict
		iv := "–"
		if s.Low != 0 || s.High != 0 {
			iv = r.Pct(s.Low) + " – " + r.Pct(s.High)
		}
		t.Rows = append(t.Rows, row{Cells: []cell{{Text: r.Stage(s.Stage)}, {Text: r.T("co.kind." + s.Kind)}, count(r, s.WithN),
			{Text: r.Pct(s.WithConv), Raw: num(round(s.WithConv))}, {Text: iv, Raw: num(round(s.Low)) + ".." + num(round(s.High))},
			count(r, s.OtherN), {Text: r.Pct(s.OtherConv), Raw: num(round(s.OtherConv))}, f}})
	}
	return t
}

// coachingScorecardPanels are the rep scorecard's KAI and plans panels: the
// rep's activities against targets and the team, the open and reviewed plans
// with progress, and a "record a plan" entry per weakness (managers,
// directors, admins).
func (p *pages) coachingScorecardPanels(ctx context.Context, r *request, rs query.RepScore) []*panel {
	id := rs.RepID
	f := r.f
	f.Product, f.Source, f.Segment = nil, nil, nil
	var (
		mine, team query.Activity
		plans      []query.Plan
		errA, errP error
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		rf := f
		rf.Rep = []string{id}
		mine, errA = fetch(gctx, p, r, "activity", rf, func(ctx context.Context, f query.Filter) (query.Activity, error) {
			return p.svc.Activity(ctx, r.scope, f)
		})
		if errA != nil {
			return nil
		}
		if r.scope.Role != query.RoleRep && rs.Team != "" {
			tf := f
			tf.Rep, tf.Manager, tf.Territory, tf.Team = nil, nil, nil, []string{rs.Team}
			team, _ = fetch(gctx, p, r, "activity-counts", tf, func(ctx context.Context, f query.Filter) (query.Activity, error) {
				return p.svc.ActivityCounts(ctx, r.scope, f)
			})
		}
		return nil
	})
	g.Go(func() error { plans, errP = p.plansWithProgress(gctx, r, id, 0); return nil })
	_ = g.Wait()
	kp := &panel{ID: "kai", Title: r.T("co.kai"), Sub: r.T("co.kai_sub"), Span: 6}
	switch {
	case errA != nil:
		kp.Empty = errA.Error()
	case len(mine.Reps) == 0:
		kp.Empty = r.T("empty")
	default:
		var tk *query.KAI
		if len(team.Reps) > 0 {
			tk = &team.Total
		}
		kp.Table = kaiTable(r, "kai", mine.Reps[0], tk, len(team.Reps))
	}
	pp := &panel{ID: "plans", Title: r.T("co.plans"), Sub: r.T("co.plans_sub"), Span: 6,
		Links: []link{{Label: r.T("co.review_pack"), URL: r.filterURL("/review/" + url.PathEscape(id))}}}
	if r.scope.Role != query.RoleRep {
		for _, m := range rs.Metrics {
			if m.Verdict != query.Weakness || !coachHas(query.PlanMetrics, m.Metric) {
				continue
			}
			u := r.filterURL("/coaching/new", "rep", id, "metric", m.Metric, "stage", m.Stage)
			pp.Items = append(pp.Items, item{Title: r.T("co.record") + ": " + planMetricLabel(r, m.Metric, m.Stage), Link: u, Class: "bad",
				Badge: fmtValue(r, m) + " vs " + fmtPeer(r, m)})
		}
	}
	switch {
	case errP != nil:
		pp.Empty = errP.Error()
	case len(plans) > 0:
		pp.Table = plansTable(r, "plans", plans, false)
	case len(pp.Items) == 0:
		pp.Empty = r.T("co.no_plans")
	}
	out := []*panel{kp, pp}
	if errA == nil && len(mine.Reps) > 0 {
		if st := stagesTable(r, "kai-stages", mine.Stages); len(st.Rows) > 0 {
			out = append(out, &panel{ID: "kai-stages", Title: r.T("co.stages"), Sub: r.T("co.stages_sub"), Table: st})
		}
	}
	return out
}

func coachHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// coachingOverviewPanel is the overview's list of open coaching plans in scope
// with their progress (a director's or manager's follow-up list).
func (p *pages) coachingOverviewPanel(ctx context.Context, r *request) *panel {
	pn := &panel{ID: "coaching", Title: r.T("co.plans"), Sub: r.T("co.plans_sub"), Links: []link{{Label: r.T("nav.coaching"), URL: "/coaching"}}}
	ps, err := p.svc.Plans(ctx, r.scope, "", query.PlanOpen)
	if err != nil {
		pn.Empty = err.Error()
		return pn
	}
	if len(ps) > 8 {
		ps = ps[:8]
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i := range ps {
		pl := &ps[i]
		g.Go(func() error { return p.svc.PlanProgress(gctx, pl, time.Now()) })
	}
	if err := g.Wait(); err != nil {
		pn.Empty = err.Error()
		return pn
	}
	if len(ps) == 0 {
		pn.Empty = r.T("co.no_plans")
		return pn
	}
	pn.Table = plansTable(r, "coaching-plans", ps, true)
	return pn
}

// coachingPage is /coaching: the selection's KAI per rep, activities before
// stage moves, and every plan in scope.
func (p *pages) coachingPage(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var (
		act   query.Activity
		plans []query.Plan
		fb    *filterBar
	)
	f := r.f
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		act, err = fetch(gctx, p, r, "activity", f, func(ctx context.Context, f query.Filter) (query.Activity, error) {
			return p.svc.Activity(ctx, r.scope, f)
		})
		return
	})
	g.Go(func() (err error) { plans, err = p.plansWithProgress(gctx, r, "", 30); return })
	g.Go(func() error { fb = p.filterBar(gctx, r, "/coaching"); return nil })
	if err := g.Wait(); err != nil {
		return err
	}
	v := &view{Title: r.T("co.title"), Nav: "coaching", Filter: fb}
	v.Panels = append(v.Panels, &panel{ID: "kai-total", Title: r.T("co.kai"), Sub: r.T("co.kai_sub"), Span: 5, Table: kaiTable(r, "kai-total", act.Total, nil, 0)})
	rt := &table{ID: "kai-reps", Cols: []col{{Label: r.T("co.rep")}}}
	for _, kind := range query.ActivityKinds {
		rt.Cols = append(rt.Cols, col{Label: r.T("co.kind." + kind), Num: true})
	}
	for _, k := range act.Reps {
		name := k.Name
		if name == "" {
			name = k.RepID
		}
		cells := []cell{{Text: name, Link: r.filterURL("/reps/" + url.PathEscape(k.RepID))}}
		for _, kind := range query.ActivityKinds {
			cl := cell{Text: fmtf("%.1f", k.PerWeek[kind]), Raw: num(round(k.PerWeek[kind]))}
			if a, ok := k.Attainment[kind]; ok {
				cl.Text += " / " + fmtf("%.1f", k.Targets[kind])
				cl.Class = map[bool]string{true: "good", false: "bad"}[a >= 1]
			}
			cells = append(cells, cl)
		}
		rt.Rows = append(rt.Rows, row{Cells: cells})
	}
	v.Panels = append(v.Panels, &panel{ID: "kai-reps", Title: r.T("co.kai_team"), Sub: r.T("co.kai_sub"), Span: 7, Table: rt})
	if len(act.Weekly) > 0 {
		v.Panels = append(v.Panels, &panel{ID: "kai-weekly", Title: r.T("co.kai_weekly"), Sub: r.T("co.kai_weekly_sub"), Chart: kaiWeeklyChart("chart-kai-weekly", r.tr, act.Weekly)})
	}
	v.Panels = append(v.Panels, &panel{ID: "kai-stages", Title: r.T("co.stages"), Sub: r.T("co.stages_sub"), Table: stagesTable(r, "kai-stages", act.Stages)})
	pp := &panel{ID: "plans", Title: r.T("co.plans"), Sub: r.T("co.plans_sub")}
	if len(plans) > 0 {
		pp.Table = plansTable(r, "plans", plans, true)
	} else {
		pp.Empty = r.T("co.no_plans")
	}
	v.Panels = append(v.Panels, pp)
	return p.render(r, v)
}

// coachingNew is the plan form for a weakness: /coaching/new?rep=&metric=&stage=
// with the scorecard's range as the baseline.
func (p *pages) coachingNew(c echo.Context) error {
	return p.coachingForm(c, "")
}

func (p *pages) coachingForm(c echo.Context, errMsg string) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	if r.scope.Role == query.RoleRep {
		return echo.NewHTTPError(http.StatusForbidden, sentence(r.T("err.forbidden")))
	}
	q := c.QueryParams()
	if c.Request().Method == http.MethodPost {
		q, _ = c.FormParams()
	}
	rep := q.Get("rep")
	if rep == "" {
		rep = q.Get("rep_id")
	}
	if err := p.checkRep(c.Request().Context(), r, rep); err != nil {
		return err
	}
	metric, stage := q.Get("metric"), q.Get("stage")
	ctx := c.Request().Context()
	bf, bt := r.f.From.Format(time.DateOnly), r.f.To.Format(time.DateOnly)
	if q.Get("baseline_from") != "" {
		bf, bt = q.Get("baseline_from"), q.Get("baseline_to")
	}
	v := &view{Title: r.T("co.form"), Nav: "coaching", Notice: errMsg}
	// The weakness as the scorecard shows it: the rep against the peers (the
	// link's rep= names the rep, it is not a filter here).
	sf := r.f
	sf.Rep = nil
	rs, err := p.svc.Rep(ctx, r.scope, sf, rep)
	name := rep
	if err == nil {
		if rs.Name != "" {
			name = rs.Name
		}
		for _, m := range rs.Metrics {
			if m.Metric == metric && m.Stage == stage {
				hint := m.HintEN
				if r.lang == "zh-CN" {
					hint = m.HintZH
				}
				v.Panels = append(v.Panels, &panel{ID: "weakness", Title: r.T("co.weakness") + ": " + planMetricLabel(r, metric, stage), KPIs: []kpi{
					{Label: r.T("co.baseline"), Value: fmtValue(r, m), Sub: bf + " – " + bt + " · n " + r.Int(m.N) + " · " + r.T("col.interval") + " " + fmtRange(r, m), Progress: -1},
					{Label: r.T("co.peer"), Value: fmtPeer(r, m), Progress: -1},
				}})
				if hint != "" {
					v.Panels[len(v.Panels)-1].Items = []item{{Title: r.T("rp.hints"), Text: hint}}
				}
			}
		}
	}
	v.Crumbs = []link{{Label: r.T("nav.reps"), URL: r.filterURL("/reps")}, {Label: name, URL: r.filterURL("/reps/" + url.PathEscape(rep))}}
	var metrics []formOption
	for _, m := range query.PlanMetrics {
		metrics = append(metrics, formOption{Value: m, Label: planMetricLabel(r, m, ""), Selected: m == metric})
	}
	stages := []formOption{{Value: "", Label: "–"}}
	for _, s := range p.svc.Stages() {
		stages = append(stages, formOption{Value: s, Label: r.Stage(s), Selected: s == stage})
	}
	review := q.Get("review_date")
	if review == "" {
		review = time.Now().In(p.svc.Location()).AddDate(0, 0, 28).Format(time.DateOnly)
	}
	fm := &form{Method: "post", Action: "/coaching/plans", Submit: r.T("co.f.submit"),
		Hidden: []formField{{Name: "rep_id", Value: rep}, {Name: "baseline_from", Value: bf}, {Name: "baseline_to", Value: bt}, {Name: "lang", Value: r.lang}},
		Fields: []formField{
			{Label: r.T("co.f.metric"), Name: "metric", Options: metrics},
			{Label: r.T("co.f.stage"), Name: "stage", Options: stages},
			{Label: r.T("co.f.goal"), Name: "goal", Type: "number", Value: q.Get("goal"), Placeholder: r.T("co.f.goal_hint")},
			{Label: r.T("co.f.actions"), Name: "actions", Type: "text", Value: q.Get("actions")},
			{Label: r.T("co.f.review_date"), Name: "review_date", Type: "date", Value: review},
		}}
	v.Panels = append(v.Panels, &panel{ID: "plan-form", Title: r.T("co.form"), Sub: r.T("co.form_sub"), Form: fm})
	return p.render(r, v)
}

// coachingCreate records the form's plan and goes back to the scorecard; a
// mistake shows the form again with the field named.
func (p *pages) coachingCreate(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	in := query.PlanInput{RepID: c.FormValue("rep_id"), Metric: c.FormValue("metric"), Stage: c.FormValue("stage"),
		Actions: c.FormValue("actions"), Review: c.FormValue("review_date"), BaselineFrom: c.FormValue("baseline_from"), BaselineTo: c.FormValue("baseline_to")}
	goal := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(c.FormValue("goal")), "%"))
	g, gerr := strconv.ParseFloat(goal, 64)
	if gerr != nil {
		return p.coachingForm(c, r.T("co.f.goal")+": "+strconv.Quote(goal)+" ≠ "+r.T("co.f.goal_hint"))
	}
	if in.Metric == "conversion" || in.Metric == "win_rate" {
		g /= 100 // the form takes rates as percentages
	}
	in.Goal = g
	pl, err := p.svc.CreatePlan(c.Request().Context(), r.scope, in, time.Now())
	if err != nil {
		if he := apiError(err); he != err {
			if e, ok := he.(*echo.HTTPError); ok && e.Code == http.StatusBadRequest {
				return p.coachingForm(c, planErr(r, err))
			}
			return he
		}
		return err
	}
	u := "/reps/" + url.PathEscape(pl.RepID) + "?" + url.Values{"from": {pl.BaselineFrom}, "to": {pl.BaselineTo}, "notice": {"co.saved"}}.Encode()
	return c.Redirect(http.StatusSeeOther, u)
}

// kaiWeeklyChart stacks the selection's activities per week by kind.
func kaiWeeklyChart(id string, t tr, weeks []query.ActivityWeek) *chartView {
	b := charts.NewBar()
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value"}),
		grid("8", "8", "36", "8"),
	)
	labels := make([]string, len(weeks))
	for i, w := range weeks {
		labels[i] = w.Week[5:]
	}
	b.SetXAxis(labels)
	for i, kind := range append(query.ActivityKinds, query.KindOther) {
		d := make([]opts.BarData, len(weeks))
		for j, w := range weeks {
			d[j] = opts.BarData{Value: w.Counts[kind]}
		}
		b.AddSeries(t.T("co.kind."+kind), d, charts.WithBarChartOpts(opts.BarChart{Stack: "k"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: palette[i%len(palette)]}))
	}
	return spec(id, 260, t, b, nil, nil, nil)
}
