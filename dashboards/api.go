package dashboards

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/query"
)

// MountAPI registers the JSON API under /api/v1 with a query.Service built from
// the server's options, and the OpenAPI document at /api/v1/openapi.json.
func MountAPI(s *Server) {
	o := s.Options()
	svc := query.New(o.DB, o.Config.Location(), s.log).WithStages(o.Config.Stages.Open).WithFiscalYear(o.Config.FiscalYear.StartMonth).WithCurrency(o.Config.Currency.Reporting, o.Config.Currency.Rates)
	APIMount(svc)(s)
}

// APIMount is MountAPI over a given service (the one whose Refresh runs after
// each load), as an Options.Mount entry.
func APIMount(svc *query.Service) func(*Server) {
	return func(s *Server) {
		a := &api{svc: svc, srv: s}
		s.Echo.GET("/api/v1/openapi.json", serveOpenAPI)
		g := s.API
		g.GET("/funnel", a.funnel)
		g.GET("/conversion", a.conversion)
		g.GET("/winrate", a.winrate)
		g.GET("/cycle", a.cycle)
		g.GET("/days-in-stage", a.daysInStage)
		g.GET("/movement", a.movement)
		g.GET("/leads", a.leads)
		g.GET("/attainment", a.attainment)
		g.GET("/coverage", a.coverage)
		g.GET("/reps", a.reps)
		g.GET("/reps/:id", a.rep)
		g.GET("/territories", a.territories)
		g.GET("/deals", a.deals)
		g.GET("/series", a.series)
		g.GET("/forecast", a.forecast)
		g.GET("/targets/split", a.targetSplit)
		a.mountTargetsAPI(s, g)
		a.mountCoachingAPI(g)
		a.mountContestsAPI(g)
		a.mountAnomaliesAPI(g)
		a.mountDealsAPI(s, g)
		a.mountSubscriptionsAPI(s, g)
		a.mountRulesAPI(s, g)
	}
}

type api struct {
	svc *query.Service
	srv *Server // the alert events live in its database (/anomalies)
}

// request is what every handler starts from: the caller's scope and the filter.
func (a *api) request(c echo.Context) (query.Scope, query.Filter, error) {
	sc, ok := ScopeOf(c)
	if !ok {
		return sc, query.Filter{}, echo.NewHTTPError(http.StatusUnauthorized, "sign in or send Authorization: Bearer <token>")
	}
	if cur := a.svc.Currency(); cur != "" {
		// Every amount of the API is in the reporting currency.
		c.Response().Header().Set("X-Currency", cur)
	}
	f, err := query.ParseFilter(c.QueryParams(), a.svc.Location())
	return sc, f, apiError(err)
}

// apiError maps query's errors to HTTP status codes, in this one place.
func apiError(err error) error {
	if err == nil {
		return nil
	}
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return err
	case errors.Is(err, query.ErrBadFilter):
		return echo.NewHTTPError(http.StatusBadRequest, err.Error()).WithInternal(err)
	case errors.Is(err, query.ErrForbidden):
		return echo.NewHTTPError(http.StatusForbidden, err.Error()).WithInternal(err)
	case errors.Is(err, query.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, err.Error()).WithInternal(err)
	}
	return err
}

func reply[T any](c echo.Context, v T, err error) error {
	if err != nil {
		return apiError(err)
	}
	return writeJSON(c, v)
}

func (a *api) funnel(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.Funnel(c.Request().Context(), sc, f)
	return reply(c, v, err)
}

func (a *api) conversion(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.Conversion(c.Request().Context(), sc, f, c.QueryParam("period"))
	return reply(c, v, err)
}

func (a *api) winrate(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.WinRate(c.Request().Context(), sc, f, c.QueryParam("group_by"))
	if err != nil {
		return apiError(err)
	}
	cur, _ := winRateValue(v)
	cm, err := a.compare(c, f, "rate", cur, func(ctx context.Context, f query.Filter) (*float64, int64, error) {
		w, err := a.svc.WinRate(ctx, sc, f, "")
		v, n := winRateValue(w)
		return v, n, err
	})
	return reply(c, struct {
		query.WinRate
		comparison
	}{v, cm}, err)
}

func (a *api) cycle(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.CycleTime(c.Request().Context(), sc, f, c.QueryParam("group_by"))
	if err != nil {
		return apiError(err)
	}
	cur, _ := cycleValue(v)
	cm, err := a.compare(c, f, "days", cur, func(ctx context.Context, f query.Filter) (*float64, int64, error) {
		ct, err := a.svc.CycleTime(ctx, sc, f, "")
		v, n := cycleValue(ct)
		return v, n, err
	})
	return reply(c, struct {
		query.CycleTime
		comparison
	}{v, cm}, err)
}

func (a *api) daysInStage(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.DaysInStage(c.Request().Context(), sc, f, c.QueryParam("group_by"))
	return reply(c, v, err)
}

func (a *api) movement(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.Movement(c.Request().Context(), sc, f, c.QueryParam("period"))
	return reply(c, v, err)
}

func (a *api) leads(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.LeadConversion(c.Request().Context(), sc, f)
	return reply(c, v, err)
}

func (a *api) attainment(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.Attainment(c.Request().Context(), sc, f)
	return reply(c, v, err)
}

func (a *api) coverage(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.Coverage(c.Request().Context(), sc, f)
	if err != nil {
		return apiError(err)
	}
	// The bookings (won) are compared; coverage is not: its open pipeline is today's.
	won := v.Won
	cm, err := a.compare(c, f, "amount", &won, func(ctx context.Context, f query.Filter) (*float64, int64, error) {
		cv, err := a.svc.Coverage(ctx, sc, f)
		if err != nil {
			return nil, 0, err
		}
		w, err := a.svc.WinRate(ctx, sc, f, "")
		return &cv.Won, w.Total.Won, err
	})
	return reply(c, struct {
		query.Coverage
		comparison
	}{v, cm}, err)
}

func (a *api) reps(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.Reps(c.Request().Context(), sc, f)
	return reply(c, v, err)
}

func (a *api) rep(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.Rep(c.Request().Context(), sc, f, c.Param("id"))
	return reply(c, v, err)
}

func (a *api) territories(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.Territories(c.Request().Context(), sc, f)
	return reply(c, v, err)
}

func (a *api) deals(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	dq := query.DealQuery{Basis: c.QueryParam("basis"), Stage: c.QueryParam("stage"), Status: c.QueryParam("status"), Sort: c.QueryParam("sort")}
	if dq.Reached, err = boolParam(c, "reached"); err != nil {
		return err
	}
	if dq.Page, err = intParam(c, "page"); err != nil {
		return err
	}
	if dq.PageSize, err = intParam(c, "page_size"); err != nil {
		return err
	}
	v, err := a.svc.Deals(c.Request().Context(), sc, f, dq)
	return reply(c, v, err)
}

func (a *api) series(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.DailySeries(c.Request().Context(), sc, c.QueryParam("metric"), c.QueryParam("segment_kind"), f)
	return reply(c, v, err)
}

func intParam(c echo.Context, name string) (int, error) {
	s := c.QueryParam(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, echo.NewHTTPError(http.StatusBadRequest, name+": "+strconv.Quote(s)+" is not a whole number")
	}
	return n, nil
}

func boolParam(c echo.Context, name string) (bool, error) {
	s := c.QueryParam(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, echo.NewHTTPError(http.StatusBadRequest, name+": "+strconv.Quote(s)+" is not true or false")
	}
	return b, nil
}
