package dashboards

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/query"
)

// dealsPage is the deals behind a number: /deals with the filter and
// /api/v1/deals's parameters (dealsURL makes the links), paged, in the
// server's sort orders, as CSV too.
func (p *pages) dealsPage(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	dq := query.DealQuery{Basis: c.QueryParam("basis"), Stage: c.QueryParam("stage"), Status: c.QueryParam("status"), Sort: c.QueryParam("sort")}
	if dq.Reached, err = boolParam(c, "reached"); err != nil {
		return err
	}
	if dq.Page, err = intParam(c, "page"); err != nil {
		return err
	}
	var deals query.Deals
	if c.QueryParam("csv") != "" {
		deals, err = p.allDeals(r, dq)
	} else {
		deals, err = p.svc.Deals(ctx, r.scope, r.f, dq)
	}
	if err != nil {
		return apiError(err)
	}
	if dq.Sort == "" {
		dq.Sort = "-amount"
	}
	v := &view{Title: dealsTitle(r, dq, deals.Deals), Nav: "deals", Filter: p.filterBar(ctx, r, "/deals", "basis", "status", "stage", "reached", "sort")}
	back := c.Request().URL.RequestURI()
	t := &table{ID: "deals", Cols: []col{{Label: r.T("col.deal")}, {Label: r.T("col.account")}, {Label: r.T("col.owner")}, {Label: r.T("col.stage")},
		{Label: r.T("col.amount"), Num: true}, {Label: r.T("col.created")}, {Label: r.T("col.close")}, {Label: r.T("col.status")}}}
	for i := range deals.Deals {
		d := &deals.Deals[i]
		t.Rows = append(t.Rows, row{Cells: []cell{dealCell(d.OpportunityID, d.Name, back), {Text: d.AccountName}, {Text: d.OwnerName, Raw: d.OwnerID},
			{Text: dealStage(r, d), Raw: d.Stage}, money(r, d.Amount), {Text: d.Created}, {Text: d.CloseDate}, {Text: r.T("status." + d.Status), Raw: d.Status}}})
	}
	pn := &panel{ID: "deals", Title: r.T("deals.title"), Sub: fmt.Sprintf(r.T("deals.sub"), r.Int(deals.Total), dealsSummary(r, deals)), Table: t}
	pn.Links = sortLinks(r, "/deals", "deals.sort.", dq.Sort, "-amount", "amount", "-created", "created", "close", "-close")
	pn.Links = append(pn.Links, pageLinks(r, "/deals", deals.Page, deals.PageSize, deals.Total)...)
	if len(t.Rows) == 0 {
		pn.Empty = r.T("deals.empty")
	}
	v.Panels = append(v.Panels, pn)
	return p.render(r, v)
}

// csvDeals caps the rows of the deals CSV.
const csvDeals = 20000

// allDeals is every deal of dq (up to csvDeals) in one list, for the CSV.
func (p *pages) allDeals(r *request, dq query.DealQuery) (query.Deals, error) {
	dq.Page, dq.PageSize = 1, 500
	var all query.Deals
	for {
		d, err := p.svc.Deals(r.c.Request().Context(), r.scope, r.f, dq)
		if err != nil {
			return all, err
		}
		if dq.Page == 1 {
			all = d
		} else {
			all.Deals = append(all.Deals, d.Deals...)
		}
		if len(d.Deals) < dq.PageSize || len(all.Deals) >= csvDeals {
			return all, nil
		}
		dq.Page++
	}
}

// dealCell links a deal's name to its detail, which links back to back.
func dealCell(id, name, back string) cell {
	if name == "" {
		name = id
	}
	return cell{Text: name, Link: dealLink(id, back), Raw: id}
}

func dealLink(id, back string) string {
	u := "/deals/" + url.PathEscape(id)
	if back != "" {
		u += "?back=" + url.QueryEscape(back)
	}
	return u
}

// dealsSummary says which page of how many this is (the amounts of the whole
// set are the number the link came from).
func dealsSummary(r *request, d query.Deals) string {
	return fmt.Sprintf(r.T("deals.page"), d.Page, pageCount(d.Total, d.PageSize))
}

func pageCount(total int64, size int) int {
	if size <= 0 || total <= 0 {
		return 1
	}
	return int((total + int64(size) - 1) / int64(size))
}

// dealsTitle says which deals these are: "Won deals · in Proposal · closed
// 2026-Q3 · East".
func dealsTitle(r *request, dq query.DealQuery, deals []query.Deal) string {
	head := r.T("deals.title")
	if dq.Status != "" {
		head = r.T("deals.status." + dq.Status)
	}
	parts := []string{head}
	if dq.Stage != "" {
		w := r.T("deals.in_stage")
		if dq.Reached {
			w = r.T("deals.reached")
		}
		parts = append(parts, w+" "+r.Stage(dq.Stage))
	}
	basis := dq.Basis
	if basis == "" {
		basis = "created"
	}
	parts = append(parts, r.T("deals.basis."+basis)+" "+rangeLabel(r.f))
	names := map[string]string{}
	for _, d := range deals {
		names[d.OwnerID] = d.OwnerName
	}
	var who []string
	for _, l := range [][]string{r.f.Team, r.f.Manager, r.f.Territory, r.f.Product, r.f.Source, r.f.Segment} {
		who = append(who, l...)
	}
	for _, id := range r.f.Rep {
		if n := names[id]; n != "" {
			id = n
		}
		who = append(who, id)
	}
	if len(who) > 0 {
		parts = append(parts, strings.Join(who, ", "))
	}
	return strings.Join(parts, " · ")
}

// rangeLabel names [from, to): a year "2026", a quarter "2026-Q3", a month
// "2026-07", else the first and last day.
func rangeLabel(f query.Filter) string {
	from, to := f.From, f.To
	if from.Day() == 1 {
		switch {
		case from.Month() == time.January && to.Equal(from.AddDate(1, 0, 0)):
			return strconv.Itoa(from.Year())
		case (from.Month()-1)%3 == 0 && to.Equal(from.AddDate(0, 3, 0)):
			return fmt.Sprintf("%d-Q%d", from.Year(), (from.Month()-1)/3+1)
		case to.Equal(from.AddDate(0, 1, 0)):
			return from.Format("2006-01")
		}
	}
	return from.Format(time.DateOnly) + " – " + to.AddDate(0, 0, -1).Format(time.DateOnly)
}

// sortLinks are the page's sort switches (the server's orders), labelled by
// prefix+sort; page goes back to 1.
func sortLinks(r *request, path, prefix, cur string, sorts ...string) []link {
	out := make([]link, 0, len(sorts))
	for _, s := range sorts {
		out = append(out, link{Label: r.T(prefix + s), URL: r.url(path, "sort", s, "page", ""), Active: s == cur})
	}
	return out
}

// pageLinks are the previous and next page links, when there are such pages.
func pageLinks(r *request, path string, page, size int, total int64) []link {
	var out []link
	if page > 1 {
		out = append(out, link{Label: r.T("deals.prev"), URL: r.url(path, "page", strconv.Itoa(page-1))})
	}
	if int64(page)*int64(size) < total {
		out = append(out, link{Label: r.T("deals.next"), URL: r.url(path, "page", strconv.Itoa(page+1))})
	}
	return out
}

// safeBack is a back link that stays on this server (a path, no scheme or
// host), else "".
func safeBack(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return s
}

// dealPage is one deal: what the funnel's deal panel showed, the CRM record,
// the stage history, the close-date and amount changes and the activities.
func (p *pages) dealPage(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	dd, err := p.svc.DealDetail(c.Request().Context(), r.scope, c.Param("id"), time.Time{})
	if errors.Is(err, query.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, sentence(r.T("deal.not_found"))).WithInternal(err)
	}
	if err != nil {
		return apiError(err)
	}
	d := &dd.Deal
	name := d.Name
	if name == "" {
		name = d.OpportunityID
	}
	v := &view{Title: r.T("deal.title") + ": " + name, Nav: "deals"}
	if back := safeBack(c.QueryParam("back")); back != "" {
		v.Crumbs = append(v.Crumbs, link{Label: "← " + r.T("deal.back"), URL: back})
	} else {
		v.Crumbs = append(v.Crumbs, link{Label: r.T("nav.stuck"), URL: r.filterURL("/stuck")})
	}
	p.s.withCRMURL(&dd)
	crm := dd.SourceSystem
	if crm == "" {
		crm = r.T("deal.crm_unknown")
	}
	v.Panels = append(v.Panels, &panel{ID: "deal", Title: r.T("deal.summary"), Span: 5, Items: []item{
		{Title: r.T("col.account"), Text: d.AccountName}, {Title: r.T("col.owner"), Text: d.OwnerName + " · " + d.Team},
		{Title: r.T("col.amount"), Text: r.Money(d.Amount)}, {Title: r.T("col.stage"), Text: dealStage(r, d)},
		{Title: r.T("col.status"), Text: r.T("status." + d.Status)},
		{Title: r.T("col.created"), Text: d.Created}, {Title: r.T("col.close"), Text: d.CloseDate},
		{Title: r.T("col.territory"), Text: d.Territory + " · " + d.Segment}, {Title: r.T("col.product"), Text: d.Product + " · " + d.Source},
		{Title: r.T("deal.crm"), Text: crm + " · " + dd.CRMID, Link: dd.CRMURL},
	}}, dealStagesPanel(r, dd), dealMovesPanel(r, dd), dealActivitiesPanel(r, dd))
	return p.render(r, v)
}

func dealStagesPanel(r *request, dd query.DealDetail) *panel {
	t := &table{ID: "deal-stages", Cols: []col{{Label: r.T("col.stage")}, {Label: r.T("deal.entered")}, {Label: r.T("deal.left")}, {Label: r.T("deal.days"), Num: true}}}
	for _, s := range dd.Stages {
		left, dc := cell{Text: s.Left}, days(r, s.Days)
		rw := row{}
		switch {
		case s.Terminal:
			left, dc = cell{}, cell{Text: "–"}
		case s.Current:
			left, rw.Class = cell{Text: r.T("deal.still_in")}, "selected"
		}
		rw.Cells = []cell{{Text: r.Stage(s.Stage), Raw: s.Stage}, {Text: s.Entered}, left, dc}
		t.Rows = append(t.Rows, rw)
	}
	return &panel{ID: "deal-stages", Title: r.T("deal.stages"), Sub: r.T("deal.stages_sub"), Span: 7, Table: t}
}

func dealMovesPanel(r *request, dd query.DealDetail) *panel {
	t := &table{ID: "deal-moves", Cols: []col{{Label: r.T("deal.date")}, {Label: r.T("deal.close_from")}, {Label: r.T("deal.close_to")},
		{Label: r.T("deal.shift"), Num: true}, {Label: r.T("deal.amount_from"), Num: true}, {Label: r.T("deal.amount_to"), Num: true}}}
	for _, m := range dd.Moves {
		shift := int64(0)
		if o, err := time.Parse(time.DateOnly, m.OldClose); err == nil {
			if n, err := time.Parse(time.DateOnly, m.NewClose); err == nil {
				shift = int64(n.Sub(o).Hours() / 24)
			}
		}
		sc := count(r, shift)
		if shift > 0 {
			sc.Class = "bad"
		}
		t.Rows = append(t.Rows, row{Cells: []cell{{Text: m.Date}, {Text: m.OldClose}, {Text: m.NewClose}, sc, money(r, m.OldAmount), money(r, m.NewAmount)}})
	}
	pn := &panel{ID: "deal-moves", Title: r.T("deal.moves"), Sub: fmt.Sprintf(r.T("deal.moves_sub"), dd.Pushes.Pushes, r.Int(dd.Pushes.DaysPushed)), Span: 6, Table: t}
	if len(t.Rows) == 0 {
		pn.Empty = r.T("empty")
	}
	return pn
}

func dealActivitiesPanel(r *request, dd query.DealDetail) *panel {
	t := &table{ID: "deal-activities", Cols: []col{{Label: r.T("deal.when")}, {Label: r.T("deal.kind")}, {Label: r.T("col.rep")}, {Label: r.T("deal.on")}, {Label: r.T("deal.minutes"), Num: true}}}
	for _, a := range dd.Activities {
		on := r.T("deal.on_deal")
		if !a.OnDeal {
			on = r.T("deal.on_account")
		}
		who := a.RepName
		if who == "" {
			who = a.RepID
		}
		t.Rows = append(t.Rows, row{Cells: []cell{{Text: a.At}, {Text: a.Type, Raw: a.Kind + ":" + a.Type}, {Text: who, Raw: a.RepID}, {Text: on}, count(r, int64(a.Minutes))}})
	}
	pn := &panel{ID: "deal-activities", Title: r.T("deal.activities"), Sub: r.T("deal.activities_sub"), Span: 6, Table: t}
	if len(t.Rows) == 0 {
		pn.Empty = r.T("empty")
	}
	return pn
}

// stuckPage is every open deal of the filter by days in its stage against the
// stage's norm, for a manager's whole team at once.
func (p *pages) stuckPage(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	sq, err := stuckQuery(c)
	if err != nil {
		return err
	}
	sq.All = c.QueryParam("csv") != ""
	st, err := p.svc.Stuck(ctx, r.scope, r.f, sq)
	if err != nil {
		return apiError(err)
	}
	v := &view{Title: r.T("stuck.title"), Nav: "stuck", Filter: p.filterBar(ctx, r, "/stuck", "sort")}
	np := &panel{ID: "norms", Title: r.T("stuck.norms"), Sub: r.T("stuck.sub")}
	for _, n := range st.Norms {
		txt := r.T("stuck.no_norm")
		if n.Count > 0 {
			txt = fmt.Sprintf(r.T("stuck.norm_text"), r.Days(n.Median), r.Int(n.Count))
		}
		np.Items = append(np.Items, item{Title: r.Stage(n.Stage), Text: txt})
	}
	back := c.Request().URL.RequestURI()
	t := &table{ID: "stuck", Cols: []col{{Label: r.T("col.deal")}, {Label: r.T("col.account")}, {Label: r.T("col.owner")}, {Label: r.T("col.team")},
		{Label: r.T("col.stage")}, {Label: r.T("col.amount"), Num: true}, {Label: r.T("col.close")}, {Label: r.T("stuck.since")},
		{Label: r.T("stuck.days"), Num: true}, {Label: r.T("stuck.norm"), Num: true}, {Label: r.T("stuck.ratio"), Num: true}}}
	for _, d := range st.Deals {
		norm, ratio := cell{Text: "–"}, cell{Text: "–"}
		if d.Ratio != nil {
			norm, ratio = days(r, d.Norm), cell{Text: fixed(*d.Ratio, 1) + "×", Raw: num(round(*d.Ratio))}
			if *d.Ratio >= 2 {
				ratio.Class = "bad"
			}
		}
		t.Rows = append(t.Rows, row{Cells: []cell{dealCell(d.OpportunityID, d.Name, back), {Text: d.AccountName}, {Text: d.OwnerName, Raw: d.OwnerID}, {Text: d.Team},
			{Text: r.Stage(d.Stage), Raw: d.Stage}, money(r, d.Amount), {Text: d.CloseDate}, {Text: d.Entered}, days(r, d.Days), norm, ratio}})
	}
	tp := &panel{ID: "stuck-deals", Title: r.T("stuck.title"), Sub: fmt.Sprintf(r.T("stuck.total"), r.Int(int64(st.Total))) + " · " + fmt.Sprintf(r.T("deals.page"), st.Page, pageCount(int64(st.Total), st.PageSize)), Table: t}
	tp.Links = sortLinks(r, "/stuck", "stuck.sort.", st.Sort, "-ratio", "ratio", "-days", "days", "-amount", "amount")
	tp.Links = append(tp.Links, pageLinks(r, "/stuck", st.Page, st.PageSize, int64(st.Total))...)
	if len(t.Rows) == 0 {
		tp.Empty = r.T("stuck.none")
	}
	v.Panels = append(v.Panels, np, tp)
	return p.render(r, v)
}
