package dashboards

import (
	"context"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/config"
)

// Account tiers (issue 17): /api/v1/tiers, the /tiers page and the tier share
// panel of the territories page. The levels come from the config's tiers
// section.

func init() {
	addMessages(tierMessages)
}

var tierMessages = map[string][2]string{
	"nav.tiers":         {"Account tiers", "客户分级"},
	"ti.summary":        {"Tiers and their service", "分级与服务标准"},
	"ti.summary_sub":    {"Coverage: accounts contacted within their tier's interval before the end of the range", "覆盖率：在期末前按所属级别的间隔内被联系过的客户占比"},
	"ti.share":          {"Tier share of bookings and pipeline", "各级客户的赢单与商机占比"},
	"ti.share_sub":      {"Bookings closed in the range and open pipeline, by the account's tier", "本期赢单金额与未结商机，按客户级别"},
	"ti.below":          {"Accounts below their tier's service level", "未达服务标准的客户"},
	"ti.below_sub":      {"Not contacted within their tier's interval; never contacted first", "未在所属级别的间隔内联系；从未联系的排在前面"},
	"ti.by_rep":         {"Below the level, per rep", "未达标客户（按销售）"},
	"ti.by_team":        {"Below the level, per team", "未达标客户（按团队）"},
	"ti.tier":           {"Tier", "级别"},
	"ti.every":          {"Contact every", "联系频率"},
	"ti.response":       {"Response", "响应时间"},
	"ti.covered_by":     {"Covered by", "负责人"},
	"ti.accounts":       {"Accounts", "客户数"},
	"ti.covered":        {"Contacted in time", "按时联系"},
	"ti.coverage":       {"Coverage", "覆盖率"},
	"ti.bookings":       {"Bookings", "赢单金额"},
	"ti.bookings_share": {"Share of bookings", "赢单占比"},
	"ti.pipeline":       {"Pipeline", "商机金额"},
	"ti.pipeline_share": {"Share of pipeline", "商机占比"},
	"ti.account":        {"Account", "客户"},
	"ti.rep":            {"Rep", "销售"},
	"ti.team":           {"Team", "团队"},
	"ti.last":           {"Last contact", "最近联系"},
	"ti.since":          {"Days since", "距今天数"},
	"ti.never":          {"never", "从未联系"},
	"ti.below_n":        {"Below", "未达标"},
	"ti.no_account":     {"No account", "无客户"},
	"ti.no_rep":         {"(no rep)", "（无负责人）"},
	"ti.days":           {"days", "天"},
	"ti.hours":          {"h", "小时"},
	"ti.by.rep":         {"the rep", "客户负责人"},
	"ti.by.team":        {"the rep's team", "负责人所在团队"},
	"ti.by.anyone":      {"anyone", "任何人"},
	"ti.not_applicable": {"Account tiers cannot be cut by product or source.", "客户分级不能按产品或来源筛选。"},
}

func (a *api) tiersAPI(g *echo.Group, tiers func() config.Tiers) {
	g.GET("/tiers", func(c echo.Context) error {
		sc, f, err := a.request(c)
		if err != nil {
			return err
		}
		all, err := boolParam(c, "accounts")
		if err != nil {
			return err
		}
		v, err := a.svc.Tiers(c.Request().Context(), sc, f, tiers(), all)
		return reply(c, v, err)
	})
}

// tierName is a tier's name in the reader's language.
func tierName(t tr, ts query.TierSummary) string {
	if t.idx() == 1 {
		return ts.NameZH
	}
	return ts.NameEN
}

func (p *pages) tierConfig() config.Tiers {
	if p.s.opts.Config == nil || len(p.s.opts.Config.Tiers.Levels) == 0 {
		return config.DefaultTiers()
	}
	return p.s.opts.Config.Tiers
}

func (p *pages) tiersPage(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	fb := p.filterBar(ctx, r, "/tiers")
	// Accounts have no product or source: those filters would only be refused.
	sel := fb.Selects[:0]
	for _, b := range fb.Selects {
		if b.Name != "product" && b.Name != "source" {
			sel = append(sel, b)
		}
	}
	fb.Selects = sel
	v := &view{Title: r.T("nav.tiers"), Nav: "tiers", Filter: fb}
	at, err := p.tiers(ctx, r)
	if err != nil {
		return apiError(err)
	}
	names := map[string]string{}
	for _, ts := range at.Tiers {
		names[ts.Key] = tierName(r.tr, ts)
	}
	v.Panels = append(v.Panels, tierSummaryPanel(r, at), tierSharePanelOf(r, at))
	v.Panels = append(v.Panels, tierOwnersPanel(r, "tiers-teams", "ti.by_team", at.ByTeam, false), tierOwnersPanel(r, "tiers-reps", "ti.by_rep", at.ByRep, true))
	v.Panels = append(v.Panels, tierBelowPanel(r, at, names))
	return p.render(r, v)
}

func (p *pages) tiers(ctx context.Context, r *request) (query.AccountTiers, error) {
	return fetch(ctx, p, r, "tiers", r.f, func(ctx context.Context, f query.Filter) (query.AccountTiers, error) {
		return p.svc.Tiers(ctx, r.scope, f, p.tierConfig(), false)
	})
}

func coveredBy(r *request, by string) string { return r.T("ti.by." + by) }

func tierSummaryPanel(r *request, at query.AccountTiers) *panel {
	t := &table{ID: "tiers", Cols: []col{{Label: r.T("ti.tier")}, {Label: r.T("ti.every"), Num: true}, {Label: r.T("ti.response"), Num: true}, {Label: r.T("ti.covered_by")},
		{Label: r.T("ti.accounts"), Num: true}, {Label: r.T("ti.covered"), Num: true}, {Label: r.T("ti.coverage"), Num: true}}}
	for _, ts := range at.Tiers {
		cov := pct(r, ts.Coverage)
		cov.Bar = ts.Coverage
		t.Rows = append(t.Rows, row{Cells: []cell{{Text: tierName(r.tr, ts), Raw: ts.Key}, {Text: strconv.Itoa(ts.Service.ContactEveryDays) + " " + r.T("ti.days"), Raw: strconv.Itoa(ts.Service.ContactEveryDays)},
			{Text: strconv.Itoa(ts.Service.ResponseHours) + " " + r.T("ti.hours"), Raw: strconv.Itoa(ts.Service.ResponseHours)}, {Text: coveredBy(r, ts.Service.CoveredBy)},
			count(r, int64(ts.Accounts)), count(r, int64(ts.Covered)), cov}})
	}
	return &panel{ID: "tiers-summary", Title: r.T("ti.summary"), Sub: r.T("ti.summary_sub"), Span: 6, Table: t}
}

// tierSharePanelOf: each tier's bookings and pipeline with their shares, and
// the deals without an account, so the shares add up.
func tierSharePanelOf(r *request, at query.AccountTiers) *panel {
	t := &table{ID: "tier-share", Cols: []col{{Label: r.T("ti.tier")}, {Label: r.T("ti.accounts"), Num: true}, {Label: r.T("ti.bookings"), Num: true}, {Label: r.T("ti.bookings_share"), Num: true},
		{Label: r.T("ti.pipeline"), Num: true}, {Label: r.T("ti.pipeline_share"), Num: true}}}
	add := func(name string, ts query.TierSummary) {
		bs, ps := pct(r, ts.BookingsShare), pct(r, ts.PipelineShare)
		bs.Bar, ps.Bar = math.Min(ts.BookingsShare, 1), math.Min(ts.PipelineShare, 1)
		t.Rows = append(t.Rows, row{Cells: []cell{{Text: name}, count(r, int64(ts.Accounts)), money(r, ts.Bookings), bs, money(r, ts.Pipeline), ps}})
	}
	for _, ts := range at.Tiers {
		add(tierName(r.tr, ts), ts)
	}
	if at.NoAccount.Bookings != 0 || at.NoAccount.Pipeline != 0 {
		add(r.T("ti.no_account"), at.NoAccount)
	}
	return &panel{ID: "tier-share", Title: r.T("ti.share"), Sub: r.T("ti.share_sub"), Span: 6, Table: t}
}

func tierOwnersPanel(r *request, id, title string, os []query.TierOwner, reps bool) *panel {
	cols := []col{{Label: r.T("ti.team")}, {Label: r.T("ti.accounts"), Num: true}, {Label: r.T("ti.below_n"), Num: true}}
	if reps {
		cols = append([]col{{Label: r.T("ti.rep")}}, cols...)
	}
	t := &table{ID: id, Cols: cols, Limit: 15, AllURL: r.url("/tiers", "all", "1")}
	if r.q.Get("all") != "" {
		t.Limit = 0
	}
	for _, o := range os {
		cells := []cell{{Text: o.Team}, count(r, int64(o.Accounts)), count(r, int64(o.Below))}
		if reps {
			name := o.Name
			if o.Key == query.NoRep {
				name = r.T("ti.no_rep")
			}
			cells = append([]cell{{Text: name, Link: r.filterURL("/reps/" + o.Key)}}, cells...)
			if o.Key == query.NoRep {
				cells[0].Link = ""
			}
		} else {
			cells[0].Text = o.Key
			if o.Key == "" {
				cells[0].Text = r.T("ti.no_rep")
			}
		}
		t.Rows = append(t.Rows, row{Cells: cells})
	}
	pn := &panel{ID: id, Title: r.T(title), Span: 6, Table: t}
	if len(t.Rows) == 0 {
		pn.Empty = r.T("empty")
	}
	return pn
}

func tierBelowPanel(r *request, at query.AccountTiers, names map[string]string) *panel {
	t := &table{ID: "tiers-below", Cols: []col{{Label: r.T("ti.account")}, {Label: r.T("ti.tier")}, {Label: r.T("ti.rep")}, {Label: r.T("ti.team")},
		{Label: r.T("ti.last")}, {Label: r.T("ti.since"), Num: true}, {Label: r.T("ti.every"), Num: true}}, Limit: 50, AllURL: r.url("/tiers", "all", "1")}
	if r.q.Get("all") != "" {
		t.Limit = 0
	}
	for _, a := range at.Below {
		since := cell{Text: r.T("ti.never"), Raw: "", Class: "bad"}
		if a.DaysSince >= 0 {
			since = count(r, int64(a.DaysSince))
		}
		rep := a.RepName
		if a.Rep == query.NoRep {
			rep = r.T("ti.no_rep")
		}
		t.Rows = append(t.Rows, row{Cells: []cell{{Text: a.Name, Raw: a.Account}, {Text: names[a.Tier], Raw: a.Tier}, {Text: rep, Raw: a.Rep}, {Text: a.Team},
			{Text: a.LastContact}, since, count(r, int64(a.ContactEvery))}})
	}
	pn := &panel{ID: "tiers-below", Title: r.T("ti.below"), Sub: r.T("ti.below_sub"), Table: t}
	if len(t.Rows) == 0 {
		pn.Empty = r.T("empty")
	}
	return pn
}

// tierSharePanel is the territories page's panel: the tiers' shares of the
// selection's bookings and pipeline. A filter tiers cannot take says so in
// the panel instead of failing the page.
func (p *pages) tierSharePanel(ctx context.Context, r *request) *panel {
	at, err := p.tiers(ctx, r)
	if err != nil {
		pn := &panel{ID: "tier-share", Title: r.T("ti.share"), Span: 12}
		if he, ok := apiError(err).(*echo.HTTPError); ok && he.Code == http.StatusBadRequest {
			pn.Empty = r.T("ti.not_applicable")
		} else {
			p.s.log.Warn("tier shares on the territories page", "err", err)
			pn.Empty = r.T("empty") + " (" + err.Error() + ")"
		}
		return pn
	}
	pn := tierSharePanelOf(r, at)
	pn.Span = 12
	pn.Links = []link{{Label: r.T("nav.tiers"), URL: r.filterURL("/tiers")}}
	return pn
}
