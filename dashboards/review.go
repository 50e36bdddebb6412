package dashboards

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/pipelens/pipelens/query"
)

// The review pack (绩效面谈): one printable A4 page per rep with the results,
// the KAI, strengths and weaknesses with their intervals, the 12-month trend
// and the coaching plans, in the reader's language (templates/review.html,
// static/review.css).

func init() {
	addMessages(reviewMessages)
}

var reviewMessages = map[string][2]string{
	"rv.title":        {"Performance review", "绩效面谈"},
	"rv.back":         {"Scorecard", "返回记分卡"},
	"rv.print":        {"Print / PDF", "打印 / PDF"},
	"rv.manager":      {"Manager", "经理"},
	"rv.period":       {"Period", "期间"},
	"rv.generated":    {"Prepared", "生成日期"},
	"rv.results":      {"Results (KPI)", "业绩结果（KPI）"},
	"rv.trend":        {"Bookings per month, last 12 months", "近12个月每月签约额"},
	"rv.findings":     {"Strengths and weaknesses (95% intervals against the peers)", "优势与待改进项（与同组相比的95%区间）"},
	"rv.hint":         {"Coaching hint", "辅导建议"},
	"rv.plans":        {"Coaching plans", "辅导改进计划"},
	"rv.no_plans":     {"No coaching plan yet.", "暂无辅导计划。"},
	"rv.sign_rep":     {"Rep", "销售代表签字"},
	"rv.sign_manager": {"Manager", "经理签字"},
	"rv.date":         {"Date", "日期"},
}

type reviewFinding struct {
	Metric, N, Value, Interval, Peer, Verdict, Hint, Class string
}

type reviewView struct {
	tr
	Title, Team, Manager, Period, Generated, V, Back, LangURL string
	KPIs                                                      []kpi
	KAI, Plans                                                *table
	Findings                                                  []reviewFinding
	Trend                                                     template.HTML
}

// reviewPack is /review/{id}: the rep's review pack over the page's range.
func (p *pages) reviewPack(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	id := c.Param("id")
	ctx := c.Request().Context()
	if err := p.checkRep(ctx, r, id); err != nil {
		return err
	}
	f := r.f
	f.Product, f.Source, f.Segment = nil, nil, nil
	tf := r.f
	tf.From = monthStart(tf.To.AddDate(-1, 0, 0))
	tf.Rep = []string{id}
	var (
		rs         query.RepScore
		mine, team query.Activity
		plans      []query.Plan
		mv         query.Movement
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		rs, err = fetch(gctx, p, r, "rep", r.f, func(ctx context.Context, f query.Filter) (query.RepScore, error) {
			return p.svc.Rep(ctx, r.scope, f, id)
		}, id)
		return
	})
	g.Go(func() (err error) {
		rf := f
		rf.Rep = []string{id}
		mine, err = p.svc.Activity(gctx, r.scope, rf)
		return
	})
	g.Go(func() (err error) { plans, err = p.plansWithProgress(gctx, r, id, 0); return })
	g.Go(func() (err error) { mv, err = p.repMonths(gctx, r, tf, id); return })
	if err := g.Wait(); err != nil {
		if errors.Is(err, query.ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, sentence(r.T("err.rep_no_deals"))).WithInternal(err)
		}
		return err
	}
	if rs.Team != "" && r.scope.Role != query.RoleRep {
		tf := f
		tf.Rep, tf.Manager, tf.Territory, tf.Team = nil, nil, nil, []string{rs.Team}
		team, _ = p.svc.ActivityCounts(ctx, r.scope, tf)
	}
	name := rs.Name
	if name == "" {
		name = id
	}
	other := "zh-CN"
	if r.lang == "zh-CN" {
		other = "en"
	}
	rv := &reviewView{tr: r.tr, Title: r.T("rv.title") + " · " + name, Team: rs.Team,
		Period:    f.From.Format(time.DateOnly) + " – " + f.To.AddDate(0, 0, -1).Format(time.DateOnly),
		Generated: time.Now().In(p.svc.Location()).Format(time.DateOnly), V: p.version,
		Back: r.filterURL("/reps/" + url.PathEscape(id)), LangURL: r.url(c.Request().URL.Path, "lang", other)}
	rv.KPIs = reviewKPIs(r, rs)
	if len(mine.Reps) > 0 {
		var tk *query.KAI
		if len(team.Reps) > 0 {
			tk = &team.Total
		}
		rv.KAI = kaiTable(r, "review-kai", mine.Reps[0], tk, len(team.Reps))
	}
	rv.Findings = reviewFindings(r, rs)
	rv.Trend = trendSVG(r, mv)
	if len(plans) > 0 {
		pt := plansTable(r, "review-plans", plans, false)
		// The pack keeps the columns a conversation needs: metric, baseline,
		// goal, since start, status, review date, actions.
		keep := []int{0, 1, 2, 3, 6, 7, 8}
		rv.Plans = &table{ID: pt.ID}
		for _, i := range keep {
			rv.Plans.Cols = append(rv.Plans.Cols, pt.Cols[i])
		}
		for _, row0 := range pt.Rows {
			var cells []cell
			for _, i := range keep {
				cells = append(cells, row0.Cells[i])
			}
			rv.Plans.Rows = append(rv.Plans.Rows, row{Cells: cells})
		}
	}
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, "review.html", rv); err != nil {
		return fmt.Errorf("render review pack: %w", err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

func reviewKPIs(r *request, rs query.RepScore) []kpi {
	out := []kpi{
		{Label: r.T("col.bookings"), Value: r.Money(rs.WonAmount), Progress: -1},
		{Label: r.T("col.deals"), Value: r.Int(rs.Deals), Sub: r.T("col.won") + " " + r.Int(rs.Won) + " · " + r.T("col.lost") + " " + r.Int(rs.Lost), Progress: -1},
	}
	for _, name := range []string{"win_rate", "deal_size", "cycle_time"} {
		if m, ok := metricOf(rs, name); ok {
			out = append(out, kpi{Label: r.T("m." + name), Value: fmtValue(r, m), Sub: r.T("co.peer") + " " + fmtPeer(r, m), Progress: -1})
		}
	}
	out = append(out, kpi{Label: r.T("col.strengths") + " / " + r.T("col.weaknesses"), Value: itoa(rs.Strengths) + " / " + itoa(rs.Weaknesses),
		Sub: r.T("col.worst_stage") + ": " + r.Stage(rs.WorstStage), Progress: -1})
	return out
}

// reviewFindings are the scorecard's claims (strengths, weaknesses, and a win
// rate explained by a stage), weaknesses first, each with its interval.
func reviewFindings(r *request, rs query.RepScore) []reviewFinding {
	var weak, strong []reviewFinding
	for _, m := range rs.Metrics {
		if m.Verdict == "" {
			continue
		}
		hint := ""
		if m.Verdict == query.Weakness {
			hint = m.HintEN
			if r.lang == "zh-CN" {
				hint = m.HintZH
			}
		}
		f := reviewFinding{Metric: planMetricLabel(r, m.Metric, m.Stage), N: r.Int(m.N), Value: fmtValue(r, m), Interval: fmtRange(r, m),
			Peer: fmtPeer(r, m), Verdict: r.T("v." + m.Verdict), Hint: hint, Class: verdictClass(m.Verdict)}
		if m.Verdict == query.Weakness {
			weak = append(weak, f)
		} else {
			strong = append(strong, f)
		}
	}
	return append(weak, strong...)
}

// trendSVG draws the monthly bookings as bars in plain SVG: it prints the same
// in every browser and needs no script.
func trendSVG(r *request, mv query.Movement) template.HTML {
	if len(mv.Periods) == 0 {
		return template.HTML(`<p class="empty">` + template.HTMLEscapeString(r.T("empty")) + `</p>`)
	}
	const w, h, top, bottom = 320.0, 170.0, 12.0, 16.0
	mx := 0.0
	for _, pp := range mv.Periods {
		mx = math.Max(mx, pp.WonAmount)
	}
	n := float64(len(mv.Periods))
	bw := w / n
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, w, h, template.HTMLEscapeString(r.T("rv.trend")))
	for i, pp := range mv.Periods {
		bh := 0.0
		if mx > 0 {
			bh = (h - top - bottom) * pp.WonAmount / mx
		}
		x := float64(i) * bw
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#3b6fd8"><title>%s %s</title></rect>`,
			x+bw*0.15, h-bottom-bh, bw*0.7, bh, template.HTMLEscapeString(pp.Period[:7]), template.HTMLEscapeString(r.Money(pp.WonAmount)))
		if pp.WonAmount == mx && mx > 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="8" text-anchor="middle" fill="#1f2933">%s</text>`, x+bw/2, h-bottom-bh-2, template.HTMLEscapeString(r.Money(pp.WonAmount)))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="7" text-anchor="middle" fill="#55627a">%s</text>`, x+bw/2, h-4, template.HTMLEscapeString(pp.Period[5:7]))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
