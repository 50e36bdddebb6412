package dashboards

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/query"
)

// Coaching (issue 17): activity indicators (KAI), coaching plans, review pack.
// mountCoachingAPI adds its routes under /api/v1, mountCoachingPages its pages,
// openAPICoaching its schemas and paths to the OpenAPI document.
func (a *api) mountCoachingAPI(g *echo.Group) {
	g.GET("/activity", a.activity)
	g.GET("/plans", a.plans)
	g.POST("/plans", a.createPlan)
	g.GET("/plans/:id", a.plan)
}

func (p *pages) mountCoachingPages(s *Server, g *echo.Group) {
	g.GET("/coaching", p.coachingPage)
	g.GET("/coaching/new", p.coachingNew)
	g.POST("/coaching/plans", p.coachingCreate, p.csrf)
	g.GET("/review/:id", p.reviewPack)
}

// coachingNavs are the menu entries of the area for the request's user.
func coachingNavs(r *request) []navItem { return []navItem{{"/coaching", "coaching"}} }

func (a *api) activity(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	v, err := a.svc.Activity(c.Request().Context(), sc, f)
	return reply(c, v, err)
}

func (a *api) plans(c echo.Context) error {
	sc, ok := ScopeOf(c)
	if !ok {
		return echo.NewHTTPError(http.StatusUnauthorized, "sign in or send Authorization: Bearer <token>")
	}
	v, err := a.svc.Plans(c.Request().Context(), sc, c.QueryParam("rep"), c.QueryParam("status"))
	if v == nil {
		v = []query.Plan{}
	}
	return reply(c, v, err)
}

func (a *api) plan(c echo.Context) error {
	sc, ok := ScopeOf(c)
	if !ok {
		return echo.NewHTTPError(http.StatusUnauthorized, "sign in or send Authorization: Bearer <token>")
	}
	v, err := a.svc.Plan(c.Request().Context(), sc, c.Param("id"), time.Now())
	return reply(c, v, err)
}

// createPlan reads a PlanInput strictly: an unknown field is a 400 naming it.
func (a *api) createPlan(c echo.Context) error {
	sc, ok := ScopeOf(c)
	if !ok {
		return echo.NewHTTPError(http.StatusUnauthorized, "sign in or send Authorization: Bearer <token>")
	}
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, 64<<10))
	dec.DisallowUnknownFields()
	var in query.PlanInput
	if err := dec.Decode(&in); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "plan body: "+strings.TrimPrefix(err.Error(), "json: ")).WithInternal(err)
	}
	if dec.More() {
		return echo.NewHTTPError(http.StatusBadRequest, "plan body: one JSON object expected")
	}
	p, err := a.svc.CreatePlan(c.Request().Context(), sc, in, time.Now())
	if err != nil {
		return apiError(err)
	}
	return c.JSON(http.StatusCreated, p)
}

func openAPICoaching(schemas, paths obj) {
	counts := obj{"type": "object", "additionalProperties": integer, "description": "per kind: visit, call, meeting, proposal, follow_up, other"}
	rates := obj{"type": "object", "additionalProperties": number}
	schemas["KAI"] = props([]string{"counts", "total", "per_week"}, obj{"rep_id": str, "name": str, "team": str, "counts": counts, "total": integer,
		"per_week": rates, "targets_per_week": rates, "attainment": rates})
	schemas["Activity"] = props([]string{"kinds", "total", "reps"}, obj{"from": date, "to": date, "weeks": number, "kinds": arr(str),
		"total": ref("KAI"), "reps": arr(ref("KAI")),
		"weekly": arr(props(nil, obj{"week": date, "partial": boolean, "counts": counts})),
		"stages": arr(props(nil, obj{"stage": str, "kind": str, "with_n": integer, "with_conversion": number, "low": number, "high": number,
			"without_n": integer, "without_conversion": number, "verdict": enum("higher", "lower")}))})
	check := props(nil, obj{"from": date, "to": date, "value": number, "n": integer, "low": number, "high": number,
		"verdict": enum(query.VerdictImproved, query.VerdictNotYet, query.VerdictTooFew), "goal_met": boolean, "share": number,
		"next_step_en": str, "next_step_zh": str})
	schemas["PlanCheck"] = check
	schemas["Plan"] = props([]string{"plan_id", "rep_id", "metric", "baseline", "goal", "review_date", "status"}, obj{
		"plan_id": str, "rep_id": str, "rep_name": str, "team": str, "manager_id": str, "created_by": str,
		"metric": enum(query.PlanMetrics...), "stage": str, "baseline": number, "baseline_n": integer, "baseline_from": date, "baseline_to": date,
		"goal": number, "higher_is_better": boolean, "actions": str, "start_date": date, "review_date": date,
		"status": enum(query.PlanOpen, query.PlanReviewed), "created_at": obj{"type": "string", "format": "date-time"},
		"result": ref("PlanCheck"), "reviewed_at": obj{"type": "string", "format": "date-time"}, "progress": ref("PlanCheck")})
	schemas["Plans"] = arr(ref("Plan"))
	schemas["PlanInput"] = props([]string{"rep_id", "metric", "goal", "actions", "review_date"}, obj{"rep_id": str,
		"metric": enum(query.PlanMetrics...), "stage": obj{"type": "string", "description": "required for conversion and days_in_stage"},
		"goal": number, "actions": str, "review_date": date, "baseline_from": date, "baseline_to": date})
	paths["/activity"] = op("Activity indicators (KAI)",
		"Visits, calls, meetings, proposals sent and follow-ups per rep and for the selection, per week of [from, to), against activity targets; "+
			"and per stage, the conversion of deals with each kind of activity while in the stage against those without (95% interval; a verdict only "+
			"when the interval clears). Product, source and segment filters do not apply to activities (400).", "Activity")
	errResp := jsonResp("error", "Error")
	paths["/plans"] = obj{
		"get": obj{"summary": "Coaching plans", "description": "The plans the caller may see (a manager the own team's, a rep the own), newest first.",
			"parameters": []any{param("rep", "Only this rep's plans.", str), param("status", "Only plans in this state.", enum(query.PlanOpen, query.PlanReviewed))},
			"responses":  obj{"200": jsonResp("OK", "Plans"), "400": errResp, "401": errResp, "403": errResp, "503": errResp}},
		"post": obj{"summary": "Record a coaching plan",
			"description": "From a weakness of a rep's scorecard: the metric (and stage), the goal, the actions and the review date. The baseline is " +
				"the scorecard's value over [baseline_from, baseline_to) (default: the last 365 days). Managers (own team), directors and admins; " +
				"a rep gets 403. Unknown fields are refused. A browser session sends X-CSRF-Token.",
			"requestBody": obj{"required": true, "content": obj{"application/json": obj{"schema": ref("PlanInput")}}},
			"responses":   obj{"201": jsonResp("Recorded", "Plan"), "400": errResp, "401": errResp, "403": errResp, "404": errResp, "503": errResp}},
	}
	paths["/plans/{id}"] = obj{"get": obj{"summary": "One coaching plan with its progress",
		"description": "The plan and its metric from the start to today (progress) or its review (result). 404 outside the caller's scope.",
		"parameters":  []any{obj{"name": "id", "in": "path", "required": true, "schema": str}},
		"responses":   obj{"200": jsonResp("OK", "Plan"), "401": errResp, "403": errResp, "404": errResp, "503": errResp}}}
}

// planErr is the page's sentence for a plan the form could not record.
func planErr(r *request, err error) string {
	var pe *query.ParamError
	if errors.As(err, &pe) {
		return r.T("co.f."+pe.Param) + ": " + pe.Msg
	}
	return err.Error()
}
