package dashboards

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/pipelens/pipelens/query"
)

// funnel is the manager's page: the funnel by stage; ?stage= drills into the reps
// at that stage, &rep= into that rep's deals there (overdue first), &deal= into one
// deal. Breadcrumbs lead back up.
func (p *pages) funnel(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	svc := p.svc
	stage := c.QueryParam("stage")
	if stage != "" && !contains(svc.Stages(), stage) {
		return echo.NewHTTPError(400, "stage: unknown stage "+stage)
	}
	repID := c.QueryParam("rep")
	dealID := c.QueryParam("deal")
	f := r.f
	// The reps at a stage are compared with all reps of the filter, so the rep
	// filter does not narrow them.
	peerF := f
	if r.scope.Role != query.RoleRep {
		peerF.Rep = nil
	}
	var (
		fn    query.Funnel
		reps  []query.RepScore
		deals query.Deals
		fb    *filterBar
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		fn, err = fetch(gctx, p, r, "funnel", f, func(ctx context.Context, f query.Filter) (query.Funnel, error) { return svc.Funnel(ctx, r.scope, f) })
		return
	})
	if stage != "" {
		g.Go(func() (err error) {
			reps, err = fetch(gctx, p, r, "reps", peerF, func(ctx context.Context, f query.Filter) ([]query.RepScore, error) { return svc.Reps(ctx, r.scope, f) })
			return
		})
	}
	if stage != "" && repID != "" {
		g.Go(func() (err error) {
			deals, err = fetch(gctx, p, r, "deals", f, func(ctx context.Context, f query.Filter) (query.Deals, error) {
				return svc.Deals(ctx, r.scope, f, query.DealQuery{Basis: "created", Stage: stage, Status: "open", Sort: "close", PageSize: 200})
			}, stage)
			return
		})
	}
	g.Go(func() error { fb = p.filterBar(gctx, r, "/funnel", "stage", "deal"); return nil })
	if err := g.Wait(); err != nil {
		return err
	}
	v := &view{Title: r.T("nav.funnel"), Nav: "funnel", Filter: fb}
	v.Crumbs = append(v.Crumbs, link{Label: r.T("fn.all_stages"), URL: r.url("/funnel", "stage", "", "rep", "", "deal", "")})
	if stage != "" {
		v.Crumbs = append(v.Crumbs, link{Label: r.Stage(stage), URL: r.url("/funnel", "rep", "", "deal", "")})
	}

	// The funnel and its table.
	links := map[string]string{}
	for _, s := range fn.Stages {
		links[r.Stage(s.Stage)] = r.url("/funnel", "stage", s.Stage, "rep", "", "deal", "")
	}
	fp := &panel{ID: "funnel", Title: r.T("fn.title"), Sub: r.T("fn.sub"), Span: 7}
	if fn.Cohort > 0 {
		sel := ""
		if stage != "" {
			sel = r.Stage(stage)
		}
		fp.Chart = funnelChart("chart-funnel", r.tr, fn, links, sel)
	} else {
		fp.Empty = r.T("empty")
	}
	st := &table{ID: "stages", Cols: []col{{Label: r.T("col.stage")}, {Label: r.T("col.reached"), Num: true}, {Label: r.T("col.conversion"), Num: true}}}
	for _, s := range fn.Stages {
		cl := cell{Text: r.Stage(s.Stage), Link: links[r.Stage(s.Stage)]}
		rw := row{Cells: []cell{cl, count(r, s.Reached), {Text: r.Pct(s.Conversion), Raw: num(round(s.Conversion)), Bar: s.Conversion}}}
		if s.Stage == stage {
			rw.Class = "selected"
		}
		st.Rows = append(st.Rows, rw)
	}
	// Won is the last row: there is no next stage to convert to (lead→won is the
	// win conversion, not this column's).
	st.Rows = append(st.Rows, row{Cells: []cell{{Text: r.Stage("won")}, count(r, fn.Won), {Text: "–"}}})
	sp := &panel{ID: "stages", Title: r.T("fn.stages"), Span: 5, Table: st,
		Items: []item{{Title: r.T("col.cohort"), Text: r.Int(fn.Cohort) + " · " + r.Money(fn.Amount)},
			{Title: r.T("fn.outcome"), Text: r.T("col.won") + " " + r.Int(fn.Won) + " · " + r.T("col.lost") + " " + r.Int(fn.Lost) + " · " + r.T("fn.open") + " " + r.Int(fn.Open)}}}
	v.Panels = append(v.Panels, fp, sp)

	if stage == "" {
		return p.render(r, v)
	}
	// Reps at the stage.
	type repRow struct {
		rs        query.RepScore
		conv      query.MetricScore
		dis       query.MetricScore
		hasDIS    bool
		hasConv   bool
		reachedAt int64
	}
	rows := make([]*repRow, 0, len(reps))
	for _, rs := range reps {
		rr := repRow{rs: rs}
		for i := range rs.Metrics {
			m := &rs.Metrics[i]
			if m.Stage != stage {
				continue
			}
			switch m.Metric {
			case "conversion":
				rr.conv, rr.hasConv = *m, true
			case "days_in_stage":
				rr.dis, rr.hasDIS = *m, true
			}
		}
		if rr.hasConv && rr.conv.N > 0 {
			rows = append(rows, &rr)
		}
	}
	// Pointers, so that sorting hundreds of reps swaps words, not structs (the
	// order is the same: the same comparisons, the same swaps).
	sort.Slice(rows, func(i, j int) bool { return rows[i].conv.Value < rows[j].conv.Value })
	n := len(rows)
	names := make([]string, 0, n)
	vals, lows, highs := make([]float64, 0, n), make([]float64, 0, n), make([]float64, 0, n)
	verdicts := make([]string, 0, n)
	peer := 0.0
	repLinks := make(map[string]string, n)
	repURL := r.urlFunc("/funnel", "rep", "deal", "")
	rt := &table{ID: "reps-at-stage", Cols: []col{{Label: r.T("col.rep")}, {Label: r.T("col.team")}, {Label: r.T("col.reached"), Num: true}, {Label: r.T("col.conversion"), Num: true},
		{Label: r.T("col.interval"), Num: true}, {Label: r.T("col.peer"), Num: true}, {Label: r.T("col.days_in_stage"), Num: true}, {Label: r.T("col.verdict")}}}
	rt.Rows = make([]row, 0, n)
	repName := repID
	for _, rr := range rows {
		u := repURL(rr.rs.RepID)
		label := rr.rs.Name
		if label == "" {
			label = rr.rs.RepID
		}
		if rr.rs.RepID == repID {
			repName = label
		}
		repLinks[label] = u
		names = append(names, label)
		vals, lows, highs = append(vals, rr.conv.Value), append(lows, rr.conv.Low), append(highs, rr.conv.High)
		verdicts = append(verdicts, rr.conv.Verdict)
		peer = rr.conv.Peer
		d := cell{Text: "–"}
		if rr.hasDIS && rr.dis.N > 0 {
			d = days(r, rr.dis.Value)
		}
		vc := cell{}
		if rr.conv.Verdict != "" {
			vc = cell{Text: r.T("v." + rr.conv.Verdict), Class: verdictClass(rr.conv.Verdict)}
		}
		rw := row{Cells: []cell{{Text: label, Link: u, Raw: rr.rs.RepID}, {Text: rr.rs.Team}, count(r, rr.conv.N), pct(r, rr.conv.Value),
			{Text: r.Pct(rr.conv.Low) + " – " + r.Pct(rr.conv.High), Raw: num(round(rr.conv.Low)) + ".." + num(round(rr.conv.High))}, pct(r, rr.conv.Peer), d, vc}}
		if rr.rs.RepID == repID {
			rw.Class = "selected"
		}
		rt.Rows = append(rt.Rows, rw)
	}
	if c.QueryParam("all") != rt.ID && len(rt.Rows) > repTableRows {
		// Hundreds of reps make a page no one reads and a slow one to render: the
		// weakest first, the selected rep always, "show all" and the CSV the rest.
		rt.Limit, rt.AllURL = repTableRows, r.url("/funnel", "all", rt.ID)
	}
	rp := &panel{ID: "reps", Title: r.T("fn.reps_at") + ": " + r.Stage(stage), Sub: r.T("fn.reps_sub"), Span: 12}
	if len(names) > 0 {
		rp.Chart = intervalChart("chart-reps", r.tr, names, vals, lows, highs, verdicts, peer, "pct", repLinks)
	} else {
		rp.Empty = r.T("empty")
	}
	// A title gives the table its header and with it the CSV link.
	v.Panels = append(v.Panels, rp, &panel{ID: "reps-table", Title: r.T("fn.reps_table") + ": " + r.Stage(stage), Table: rt})
	if repID == "" {
		return p.render(r, v)
	}
	v.Crumbs = append(v.Crumbs, link{Label: repName, URL: r.url("/funnel", "deal", "")})

	// The rep's deals in the stage, overdue (past expected close) first; stuck
	// (days in stage against the stage's norm) is /stuck's.
	today := time.Now().In(svc.Location()).Format(time.DateOnly)
	dt := &table{ID: "deals", Cols: []col{{Label: r.T("col.deal")}, {Label: r.T("col.account")}, {Label: r.T("col.owner")}, {Label: r.T("col.amount"), Num: true},
		{Label: r.T("col.created")}, {Label: r.T("col.close")}, {Label: r.T("col.age"), Num: true}, {Label: r.T("col.product")}, {Label: r.T("col.status")}}}
	var found *query.Deal
	// A chosen deal opens next to the list, scrolled into view (#deal).
	dealURL := r.urlFunc("/funnel", "deal")
	dt.Rows = make([]row, 0, len(deals.Deals))
	for i, d := range deals.Deals {
		if d.OpportunityID == dealID {
			found = &deals.Deals[i]
		}
		age := ageDays(d.Created, svc.Location())
		status := cell{Text: r.T("status." + d.Status)}
		rw := row{}
		if d.CloseDate != "" && d.CloseDate < today {
			status = cell{Text: r.T("fn.stuck"), Class: "bad"}
			rw.Class = "stuck"
		}
		name := d.Name
		if name == "" {
			name = d.OpportunityID
		}
		rw.Cells = []cell{{Text: name, Link: dealURL(d.OpportunityID) + "#deal", Raw: d.OpportunityID}, {Text: d.AccountName}, {Text: d.OwnerName},
			money(r, d.Amount), {Text: d.Created}, {Text: d.CloseDate}, count(r, age), {Text: d.Product}, status}
		if d.OpportunityID == dealID {
			rw.Class += " selected"
		}
		dt.Rows = append(dt.Rows, rw)
	}
	dp := &panel{ID: "deals", Title: r.T("fn.deals") + ": " + r.Stage(stage) + " · " + repName, Sub: r.T("fn.deals_sub") + " (" + r.Int(deals.Total) + ")", Table: dt,
		Links: []link{{Label: r.T("nav.stuck") + " →", URL: r.filterURL("/stuck", "rep", repID)}}}
	if len(dt.Rows) == 0 {
		dp.Empty = r.T("empty")
	}
	v.Panels = append(v.Panels, dp)
	if found != nil {
		d := found
		name := d.Name
		if name == "" {
			name = d.OpportunityID
		}
		v.Crumbs = append(v.Crumbs, link{Label: name, URL: r.url("/funnel")})
		// The list and the deal side by side: the deal's top is where the
		// list's is, and its full history one link away.
		dp.Span = 7
		full := dealLink(d.OpportunityID, r.url("/funnel")+"#deal")
		v.Panels = append(v.Panels, &panel{ID: "deal", Title: r.T("fn.deal") + ": " + name, Span: 5, Links: []link{{Label: r.T("deal.full"), URL: full}}, Items: []item{
			{Title: r.T("col.account"), Text: d.AccountName}, {Title: r.T("col.owner"), Text: d.OwnerName + " · " + d.Team},
			{Title: r.T("col.amount"), Text: r.Money(d.Amount)}, {Title: r.T("col.stage"), Text: dealStage(r, d)},
			{Title: r.T("col.created"), Text: d.Created}, {Title: r.T("col.close"), Text: d.CloseDate},
			{Title: r.T("col.territory"), Text: d.Territory + " · " + d.Segment}, {Title: r.T("col.product"), Text: d.Product + " · " + d.Source},
		}})
	}
	return p.render(r, v)
}

// dealStage is the deal's stage, and the furthest it reached when that is another.
func dealStage(r *request, d *query.Deal) string {
	if d.Furthest == "" || d.Furthest == d.Stage {
		return r.Stage(d.Stage)
	}
	return r.Stage(d.Stage) + " (" + r.T("fn.furthest") + ": " + r.Stage(d.Furthest) + ")"
}

// repTableRows is how many reps the stage drill-down's table shows before "show all".
const repTableRows = 100

func ageDays(created string, loc *time.Location) int64 {
	t, err := time.ParseInLocation(time.DateOnly, created, loc)
	if err != nil {
		return 0
	}
	return int64(math.Floor(time.Since(t).Hours() / 24))
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
