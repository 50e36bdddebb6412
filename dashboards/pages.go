package dashboards

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/query"
)

//go:embed static templates
var assets embed.FS

// pages renders the server-side pages. Every number comes from query.Service under
// the caller's scope; the page state lives in the URL.
type pages struct {
	s       *Server
	svc     *query.Service
	tmpl    *template.Template
	version string // of the static files, for cache busting
	fyStart time.Month
}

func (s *Server) mountPages() {
	svc := s.opts.Query
	if svc == nil && s.opts.DB != nil {
		svc = query.New(s.opts.DB, s.opts.Config.Location(), s.log).WithStages(s.opts.Config.Stages.Open).WithFiscalYear(s.opts.Config.FiscalYear.StartMonth).WithCurrency(s.opts.Config.Currency.Reporting, s.opts.Config.Currency.Rates)
	}
	p := &pages{s: s, svc: svc, fyStart: time.Month(max(1, s.opts.Config.FiscalYear.StartMonth))}
	p.tmpl = template.Must(template.New("").Funcs(template.FuncMap{
		"pct":  pctWidth,
		"add":  func(a, b int) int { return a + b },
		"json": func(v any) template.JS { return safeJSON(v) },
	}).ParseFS(assets, "templates/*.html"))
	h := sha256.New()
	_ = fs.WalkDir(assets, "static", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := assets.ReadFile(path)
			h.Write(b)
		}
		return nil
	})
	p.version = hex.EncodeToString(h.Sum(nil))[:12]
	s.pages = p
	static, _ := fs.Sub(assets, "static")
	fileServer := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	s.Echo.GET("/static/*", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		fileServer.ServeHTTP(c.Response(), c.Request())
		return nil
	})
	s.Echo.GET("/favicon.ico", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	s.Echo.GET("/login", p.loginPage)
	s.Echo.POST("/login", p.loginSubmit)
	s.Echo.POST("/logout", p.logout, p.signedIn)
	if svc == nil {
		return
	}
	g := s.Echo.Group("", p.signedIn)
	g.GET("/", p.overview)
	g.GET("/funnel", p.funnel)
	g.GET("/trends", p.trends)
	g.GET("/reps", p.reps)
	g.GET("/reps/:id", p.scorecard)
	g.GET("/territories", p.territories)
	g.GET("/alerts", p.alerts)
	g.POST("/alerts/:id/ack", p.alertAck, p.csrf)
	g.POST("/alerts/:id/snooze", p.alertSnooze, p.csrf)
	g.GET("/imports", p.imports, p.admin)
	g.POST("/imports", p.importUpload, p.admin) // checks the streamed csrf field itself
	g.GET("/imports/:id", p.importRun, p.admin)
	p.mountTargetsPages(s, g)
	p.mountCoachingPages(s, g)
	p.mountContestsPages(s, g)
	p.mountDealsPages(s, g)
	p.mountSubscriptionsPages(s, g)
	p.mountRulesPages(s, g)
}

// signedIn sends anonymous visitors to the sign-in page (and back afterwards).
func (p *pages) signedIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := userOf(c); ok {
			return next(c)
		}
		if sc, ok := ScopeOf(c); ok && sc.Role != "" {
			// A bearer token on a page: allowed, as the API allows it.
			return next(c)
		}
		return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
	}
}

func (p *pages) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !p.s.auth.writeOK(c, "") {
			return echo.NewHTTPError(http.StatusForbidden, "missing or wrong CSRF token")
		}
		return next(c)
	}
}

// admin lets directors and admins through: imports change everyone's numbers.
func (p *pages) admin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sc, _ := ScopeOf(c)
		if sc.Role != query.RoleAdmin && sc.Role != query.RoleDirector {
			return echo.NewHTTPError(http.StatusForbidden, "imports are for directors and admins")
		}
		return next(c)
	}
}

// view is what the layout template renders.
type view struct {
	tr
	Title   string
	Nav     string
	User    sessionUser
	CSRF    string
	Filter  *filterBar
	Crumbs  []link
	Notice  string
	Panels  []*panel
	LangURL string
	V       string
	Navs    []link
	AsOf    string
	Links   []link // page-level switches (period, sort)
	// Currency says which currency the page's amounts are in (when set).
	Currency string
}

type link struct {
	Label, URL string
	Active     bool
}

type panel struct {
	ID, Title, Sub string
	Span           int // of 12 columns
	Chart          *chartView
	Table          *table
	KPIs           []kpi
	Items          []item
	Alerts         []alertView
	Upload         bool
	Sources        []string
	Empty          string
	Links          []link
	Form           *form
}

type chartView struct {
	ID     string
	Height int
	Spec   template.JS
}

type kpi struct {
	Label, Value, Sub, Class string
	// Link opens the deals behind the value; Compare are its comparisons.
	Link          string
	Compare       []cmpView
	Progress      float64 // 0..1 of target; <0 none
	ProgressLabel string
	Spark         *chartView
}

type item struct {
	Title, Text, Link, Class, Badge string
}

type table struct {
	ID   string
	Cols []col
	Rows []row
	CSV  string
	// Limit caps the rows the page shows (0: all); AllURL shows them all.
	Limit  int
	AllURL string
}

type col struct {
	Label string
	Num   bool
}

type row struct {
	Cells []cell
	Class string
}

type cell struct {
	Text, Link, Class, Raw string
	// Money: an amount (in the reporting currency, which CSV headers name).
	Money bool
	// Bar draws a small bar behind the text (0..1); 0 none.
	Bar float64
}

// request is what a page starts from: the caller, the language and the filter
// (presets resolved).
type request struct {
	tr
	c     echo.Context
	scope query.Scope
	user  sessionUser
	f     query.Filter
	q     url.Values // the page URL's parameters
}

func (p *pages) start(c echo.Context) (*request, error) {
	sc, _ := ScopeOf(c)
	u, _ := userOf(c)
	if u.Role == "" {
		u = sessionUser{Username: sc.Name, Name: sc.Name, Role: sc.Role, Team: sc.Team, Rep: sc.Rep}
	}
	r := &request{tr: tr{pickLang(c, u.Lang)}, c: c, scope: sc, user: u, q: c.QueryParams()}
	v := url.Values{}
	for k, vs := range r.q {
		v[k] = vs
	}
	if v.Get("from") == "" && v.Get("to") == "" {
		from, to := p.preset(v.Get("preset"), time.Now().In(p.svc.Location()))
		v.Set("from", from.Format(time.DateOnly))
		v.Set("to", to.Format(time.DateOnly))
	}
	f, err := query.ParseFilter(v, p.svc.Location())
	if err != nil {
		return r, apiError(err)
	}
	r.f = f
	// A manager following another team's rep link would see empty pages (the
	// team scope and the rep filter exclude each other): say why instead.
	if r.scope.Role == query.RoleManager {
		for _, id := range f.Rep {
			if err := p.checkRep(c.Request().Context(), r, id); err != nil {
				return r, err
			}
		}
	}
	return r, nil
}

// preset turns a preset name into [from, to) with the configured fiscal year.
// Unknown or empty means year to date.
func (p *pages) preset(name string, now time.Time) (time.Time, time.Time) {
	loc := now.Location()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	tomorrow := today.AddDate(0, 0, 1)
	// Start of the fiscal year containing today.
	fy := time.Date(today.Year(), p.fyStart, 1, 0, 0, 0, 0, loc)
	if fy.After(today) {
		fy = fy.AddDate(-1, 0, 0)
	}
	qStart := fy
	for !qStart.AddDate(0, 3, 0).After(today) {
		qStart = qStart.AddDate(0, 3, 0)
	}
	switch name {
	case "this_q":
		return qStart, qStart.AddDate(0, 3, 0)
	case "last_q":
		return qStart.AddDate(0, -3, 0), qStart
	case "last_12m":
		return tomorrow.AddDate(-1, 0, 0), tomorrow
	case "last_fy":
		return fy.AddDate(-1, 0, 0), fy
	}
	return fy, tomorrow
}

var presetNames = []struct{ key, msg string }{{"this_q", "filter.this_q"}, {"last_q", "filter.last_q"}, {"ytd", "filter.ytd"}, {"last_12m", "filter.last_12m"}}

// url is the current page's URL with some parameters changed ("" removes).
func (r *request) url(path string, set ...string) string {
	v := url.Values{}
	for k, vs := range r.q {
		if k == "lang" || k == "csv" || k == "notice" {
			continue
		}
		v[k] = vs
	}
	for i := 0; i+1 < len(set); i += 2 {
		if set[i+1] == "" {
			v.Del(set[i])
		} else {
			v.Set(set[i], set[i+1])
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// urlFunc is r.url(path, key, v, set...) as a function of v, for the links of a
// long table: the URL is encoded once and each v escaped into its place.
func (r *request) urlFunc(path, key string, set ...string) func(v string) string {
	const ph = "PLACEHOLDER"
	slow := func(v string) string { return r.url(path, append([]string{key, v}, set...)...) }
	base := slow(ph)
	pair := url.QueryEscape(key) + "=" + ph
	for i := 0; i < len(base); {
		j := strings.Index(base[i:], pair)
		if j < 0 {
			break
		}
		j += i
		end := j + len(pair)
		if j > 0 && (base[j-1] == '?' || base[j-1] == '&') && (end == len(base) || base[end] == '&') {
			pre, post := base[:end-len(ph)], base[end:]
			return func(v string) string {
				if v == "" {
					return slow(v)
				}
				return pre + url.QueryEscape(v) + post
			}
		}
		i = j + 1
	}
	return slow
}

// filterURL keeps only the filter (and preset) parameters: links from one page
// to another carry the filter, not the page's own state.
func (r *request) filterURL(path string, set ...string) string {
	v := url.Values{}
	for _, k := range append([]string{"preset"}, query.FilterParams...) {
		if vs, ok := r.q[k]; ok {
			v[k] = vs
		}
	}
	for i := 0; i+1 < len(set); i += 2 {
		if set[i+1] == "" {
			v.Del(set[i])
		} else {
			v.Set(set[i], set[i+1])
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

type filterBar struct {
	Action   string
	Presets  []link
	Custom   bool
	From, To string
	Selects  []selectBox
	Hidden   []link // Label = name, URL = value
	ClearURL string
}

type selectBox struct {
	Name, Label string
	all         string      // the label of the first option, "All" (value "")
	dim         *dimOptions // the dimension's values
	cur         string      // the value asked for; "" none
}

type option struct {
	Value, Label string
	Selected     bool
}

// dims are the values the filter's select boxes offer, within the caller's scope.
type dims map[string]*dimOptions

func (p *pages) dims(ctx context.Context, r *request) dims {
	to := time.Now().In(p.svc.Location()).AddDate(0, 0, 1)
	f := query.Filter{From: to.AddDate(-3, 0, 0), To: to}
	out := dims{}
	for _, kind := range []string{"team", "manager", "rep", "territory", "product", "source", "segment"} {
		// The sorted options are cached, not the query result: sorting hundreds of
		// reps on every page view showed in profiles.
		key := cacheKey(r.scope, "dims", f, kind)
		opts, err := cached(ctx, p.s, key, "dims", func(ctx context.Context) (*dimOptions, error) {
			wr, err := p.svc.WinRate(ctx, r.scope, f, kind)
			if err != nil {
				return nil, err
			}
			var opts []option
			for _, g := range wr.Groups {
				if g.Key == "" {
					continue
				}
				label := g.Name
				if label == "" {
					label = g.Key
				}
				opts = append(opts, option{Value: g.Key, Label: label})
			}
			sort.Slice(opts, func(i, j int) bool { return opts[i].Label < opts[j].Label })
			return newDimOptions(opts), nil
		})
		if err != nil {
			continue
		}
		out[kind] = opts // shared and read-only
	}
	return out
}

// filterBar builds the filter form for a page; keep lists page parameters that
// survive applying the filter.
func (p *pages) filterBar(ctx context.Context, r *request, path string, keep ...string) *filterBar {
	fb := &filterBar{Action: path, ClearURL: path}
	active := r.q.Get("preset")
	custom := r.q.Get("from") != "" || r.q.Get("to") != ""
	if active == "" && !custom {
		active = "ytd"
	}
	for _, pn := range presetNames {
		fb.Presets = append(fb.Presets, link{Label: r.T(pn.msg), URL: r.url(path, "preset", pn.key, "from", "", "to", ""), Active: !custom && active == pn.key})
	}
	fb.Custom = custom
	fb.From = r.f.From.Format(time.DateOnly)
	fb.To = r.f.To.Format(time.DateOnly)
	d := p.dims(ctx, r)
	for _, kind := range []string{"team", "manager", "rep", "territory", "product", "source", "segment"} {
		if kind == "team" && r.scope.Role == query.RoleManager || (kind == "team" || kind == "manager" || kind == "rep") && r.scope.Role == query.RoleRep {
			continue
		}
		fb.Selects = append(fb.Selects, selectBox{Name: kind, Label: r.T("filter." + kind), all: r.T("filter.all"), dim: d[kind], cur: strings.Join(r.q[kind], ",")})
	}
	for _, k := range keep {
		if v := r.q.Get(k); v != "" {
			fb.Hidden = append(fb.Hidden, link{Label: k, URL: v})
		}
	}
	return fb
}

func cacheKey(sc query.Scope, metric string, f query.Filter, extra ...string) string {
	return sc.Role + "|" + sc.Team + "|" + sc.Rep + "|" + metric + "|" + f.Values().Encode() + "|" + strings.Join(extra, "|")
}

// navItem is one entry of the menu: its path and the key of its label
// (nav.<key>).
type navItem struct{ path, key string }

// filtered says whether the entry's link carries the page's filter.
func (n navItem) filtered() bool {
	switch n.key {
	case "imports", "alerts", "targets", "coaching", "contests":
		return false
	}
	return true
}

// render writes the page, or one of its tables as CSV when ?csv=ID.
func (p *pages) render(r *request, v *view) error {
	c := r.c
	if id := c.QueryParam("csv"); id != "" {
		for _, pn := range v.Panels {
			if pn.Table != nil && pn.Table.ID == id {
				return writeCSV(c, pn.Table, p.svc.Currency())
			}
		}
		return echo.NewHTTPError(http.StatusNotFound, "no table "+strconv.Quote(id)+" on this page")
	}
	v.tr = r.tr
	v.User = r.user
	v.CSRF = p.s.auth.csrfFor(r.user)
	v.V = p.version
	if cur := p.svc.Currency(); cur != "" {
		v.Currency = fmt.Sprintf(r.T("unit.currency"), cur)
	}
	if v.Notice == "" {
		v.Notice = r.T(c.QueryParam("notice"))
		if v.Notice == c.QueryParam("notice") {
			v.Notice = ""
		}
	}
	other := "zh-CN"
	if r.lang == "zh-CN" {
		other = "en"
	}
	v.LangURL = r.url(c.Request().URL.Path, "lang", other)
	navs := []navItem{{"/", "overview"}, {"/funnel", "funnel"}, {"/trends", "trends"}, {"/reps", "reps"}, {"/territories", "territories"}, {"/alerts", "alerts"}}
	navs = append(navs, targetsNavs(r)...)
	navs = append(navs, coachingNavs(r)...)
	navs = append(navs, contestsNavs(r)...)
	navs = append(navs, dealsNavs(r)...)
	navs = append(navs, subscriptionsNavs(r)...)
	navs = append(navs, rulesNavs(r)...)
	if r.scope.Role == query.RoleAdmin || r.scope.Role == query.RoleDirector {
		navs = append(navs, navItem{"/imports", "imports"})
	}
	for _, n := range navs {
		u := n.path
		if n.filtered() {
			u = r.filterURL(n.path)
		}
		v.Navs = append(v.Navs, link{Label: r.T("nav." + n.key), URL: u, Active: v.Nav == n.key})
	}
	for i, pn := range v.Panels {
		if pn.Span == 0 {
			pn.Span = 12
		}
		if pn.ID == "" {
			pn.ID = "p" + strconv.Itoa(i)
		}
		if pn.Table != nil && pn.Table.CSV == "" {
			pn.Table.CSV = r.url(c.Request().URL.Path, "csv", pn.Table.ID)
		}
		if pn.Table != nil && len(pn.Table.Rows) == 0 && pn.Empty == "" && pn.Chart == nil && len(pn.KPIs) == 0 && len(pn.Items) == 0 {
			pn.Empty = r.T("empty") // a table without rows says so
		}
	}
	buf := renderBufs.Get().(*bytes.Buffer)
	defer putRenderBuf(buf)
	if err := p.tmpl.ExecuteTemplate(buf, "layout.html", v); err != nil {
		return fmt.Errorf("render %s: %w", v.Nav, err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// sentence is an HTTP error message already written for the user in the page's
// language: the error page shows it as it is, without the status's sentence.
type sentence string

// checkRep turns query's answer on a rep the caller asked for into the page's
// error: 403 "this rep is not in your team" for another team's rep, 404 for an
// unknown rep, nil when the rep is in scope.
func (p *pages) checkRep(ctx context.Context, r *request, id string) error {
	err := p.svc.CheckRep(ctx, r.scope, id)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, query.ErrForbidden):
		key := "err.rep_other_team"
		if r.scope.Role == query.RoleRep {
			key = "err.rep_not_you"
		}
		return echo.NewHTTPError(http.StatusForbidden, sentence(r.T(key))).WithInternal(err)
	case errors.Is(err, query.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, sentence(strings.ReplaceAll(r.T("err.rep_unknown"), "{id}", id))).WithInternal(err)
	}
	return err
}

// renderBufs reuses page buffers: a page is tens to hundreds of KB, and growing a
// fresh buffer to that size for every request was a good part of the garbage.
var renderBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putRenderBuf(b *bytes.Buffer) {
	if b.Cap() > 4<<20 {
		return
	}
	b.Reset()
	renderBufs.Put(b)
}

// renderError writes the error page. A whole message (a sentence) is shown as
// it is; others get the status's sentence in the user's language first.
func (p *pages) renderError(c echo.Context, code int, msg string, whole bool) {
	u, _ := userOf(c)
	t := tr{pickLang(c, u.Lang)}
	switch {
	case whole:
	case code == http.StatusForbidden:
		msg = t.T("err.forbidden") + " (" + msg + ")"
	case code == http.StatusNotFound:
		// One sentence: "Not found: rep "U0009"." rather than "Not found. not found: ...".
		what := strings.TrimSpace(strings.TrimPrefix(msg, query.ErrNotFound.Error()+":"))
		if what == "" || strings.EqualFold(what, http.StatusText(http.StatusNotFound)) || strings.EqualFold(what, query.ErrNotFound.Error()) {
			msg = t.T("err.notfound_page")
		} else {
			msg = t.T("err.notfound") + ": " + what + "."
		}
	case code == http.StatusBadRequest:
		msg = t.T("err.bad") + ": " + msg
	}
	var buf bytes.Buffer
	err := p.tmpl.ExecuteTemplate(&buf, "error.html", struct {
		tr
		Code int
		Msg  string
		V    string
	}{t, code, msg, p.version})
	if err != nil {
		_ = c.String(code, msg)
		return
	}
	_ = c.HTMLBlob(code, buf.Bytes())
}

// writeCSV writes a table as CSV. Cells that a spreadsheet would run as a formula
// (starting with = + - @, tab or CR) get a leading apostrophe, unless they are
// plain numbers.
func writeCSV(c echo.Context, t *table, currency string) error {
	h := c.Response().Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	if currency != "" {
		h.Set("X-Currency", currency)
	}
	h.Set("Content-Disposition", `attachment; filename="`+t.ID+`.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	// A BOM makes Excel read UTF-8 (Chinese names) correctly.
	_, _ = c.Response().Write([]byte("\xef\xbb\xbf"))
	w := csv.NewWriter(c.Response())
	hdr := make([]string, len(t.Cols))
	money := make([]bool, len(t.Cols))
	for _, r := range t.Rows {
		for i, cl := range r.Cells {
			if i < len(money) && cl.Money {
				money[i] = true
			}
		}
	}
	for i, col := range t.Cols {
		hdr[i] = col.Label
		if money[i] && currency != "" {
			hdr[i] += " (" + currency + ")"
		}
		hdr[i] = neutralise(hdr[i])
	}
	_ = w.Write(hdr)
	for _, r := range t.Rows {
		rec := make([]string, len(r.Cells))
		for i, cl := range r.Cells {
			v := cl.Raw
			if v == "" {
				v = cl.Text
			}
			rec[i] = neutralise(v)
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return w.Error()
}

func neutralise(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := strconv.ParseFloat(s, 64); err == nil && s[0] != '=' && s[0] != '@' {
			return s
		}
		return "'" + s
	}
	return s
}

// safeJSON marshals v for a <script type="application/json"> block: encoding/json
// escapes <, > and & as \u003c etc., so no CRM string can close the script
// element or open markup; JSON.parse restores them as text.
func safeJSON(v any) template.JS {
	b, err := json.Marshal(v)
	if err != nil {
		return template.JS("null")
	}
	return template.JS(b)
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
