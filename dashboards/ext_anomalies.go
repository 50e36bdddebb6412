package dashboards

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/query"
)

// Anomalies (issue 13): /api/v1/anomalies (list, ack, snooze). The events are
// the alert engine's (alert_events); each names a metric of query's registry,
// whose unit and good direction come with it.
func (a *api) mountAnomaliesAPI(g *echo.Group) {
	g.GET("/anomalies", a.anomalies)
	g.POST("/anomalies/:id/ack", a.anomalyAck)
	g.POST("/anomalies/:id/snooze", a.anomalySnooze)
}

// anomalyJSON is one alert event as the API answers it.
type anomalyJSON struct {
	ID             string          `json:"id"`
	Rule           string          `json:"rule"`
	Metric         string          `json:"metric"`
	Unit           string          `json:"unit"`
	HigherIsBetter bool            `json:"higher_is_better"`
	SegmentKind    string          `json:"segment_kind"`
	Segment        string          `json:"segment"`
	SegmentLabel   string          `json:"segment_label"`
	Team           string          `json:"team"`
	Kind           string          `json:"kind"`
	Direction      int             `json:"direction"`
	Good           bool            `json:"good"`
	Actual         float64         `json:"actual"`
	Expected       float64         `json:"expected"`
	Score          float64         `json:"score"`
	Since          string          `json:"since"`
	From           string          `json:"from"`
	To             string          `json:"to"`
	Status         string          `json:"status"`
	Acknowledged   bool            `json:"acknowledged"`
	AckedBy        string          `json:"acked_by,omitempty"`
	AckedAt        *time.Time      `json:"acked_at,omitempty"`
	SnoozedUntil   *time.Time      `json:"snoozed_until,omitempty"`
	Summary        string          `json:"summary"`
	Drivers        []alerts.Driver `json:"drivers"`
	OpenedAt       time.Time       `json:"opened_at"`
	LastSeenAt     time.Time       `json:"last_seen_at"`
	// CheckedAt is the last evaluation of its rule while it was open; Quiet:
	// open, but that evaluation did not find it (it resolves after
	// resolve_after).
	CheckedAt *time.Time `json:"checked_at,omitempty"`
	Quiet     bool       `json:"quiet"`
}

type anomaliesJSON struct {
	Anomalies []anomalyJSON `json:"anomalies"`
}

// scopedEvents is the events of the last days the caller may see: a manager
// the own team's, a rep the own (rep and deal alerts of the rep), directors
// and admins all.
func (a *api) scopedEvents(c echo.Context, days, limit int, status string) ([]alerts.Event, error) {
	sc, ok := ScopeOf(c)
	if !ok {
		return nil, echo.NewHTTPError(http.StatusUnauthorized, "sign in or send Authorization: Bearer <token>")
	}
	db := a.srv.opts.DB
	if db == nil {
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "no database")
	}
	q := alerts.EventQuery{Since: time.Now().AddDate(0, 0, -days), Limit: limit, Status: status}
	switch sc.Role {
	case query.RoleManager:
		if sc.Team == "" {
			return nil, echo.NewHTTPError(http.StatusForbidden, "manager "+sc.Name+" has no team")
		}
		q.Team = sc.Team
	case query.RoleRep:
		q.Limit = limit * 20 // the rep's own are picked below
	}
	evs, err := alerts.ListEvents(c.Request().Context(), db, q)
	if err != nil {
		return nil, err
	}
	if sc.Role != query.RoleRep {
		return evs, nil
	}
	var own []alerts.Event
	for _, e := range evs {
		if e.SegmentKind == alerts.SegRep && e.Segment == sc.Rep && len(own) < limit {
			own = append(own, e)
		}
	}
	return own, nil
}

// anomalies lists alert events: status (firing, resolved, acknowledged),
// metric, segment_kind, team, rep, days (default 30) and limit (default 200)
// narrow the list within the caller's scope.
func (a *api) anomalies(c echo.Context) error {
	days, limit := 30, 200
	for name, p := range map[string]*int{"days": &days, "limit": &limit} {
		if s := c.QueryParam(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 1000 {
				return echo.NewHTTPError(http.StatusBadRequest, name+": "+strconv.Quote(s)+" is not a whole number from 1 to 1000")
			}
			*p = n
		}
	}
	status := c.QueryParam("status")
	switch status {
	case "", "firing", "resolved", "acknowledged":
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "status: "+strconv.Quote(status)+": want firing, resolved or acknowledged")
	}
	metric, kind := c.QueryParam("metric"), c.QueryParam("segment_kind")
	if metric != "" && metric != "deals" {
		if _, err := query.LookupMetric(metric); err != nil {
			return apiError(err)
		}
	}
	store := status
	if status == "acknowledged" {
		store = "firing"
	}
	evs, err := a.scopedEvents(c, days, limit, store)
	if err != nil {
		return err
	}
	team, rep := c.QueryParam("team"), c.QueryParam("rep")
	// As every other endpoint: asking for what is outside the scope is 403,
	// not an empty list.
	if sc, _ := ScopeOf(c); sc.Role == query.RoleManager && team != "" && team != sc.Team {
		return echo.NewHTTPError(http.StatusForbidden, "team "+strconv.Quote(team)+" is not "+sc.Name+"'s team")
	} else if sc.Role == query.RoleRep && rep != "" && rep != sc.Rep {
		return echo.NewHTTPError(http.StatusForbidden, "rep "+strconv.Quote(rep)+" is not "+sc.Name)
	}
	out := anomaliesJSON{Anomalies: []anomalyJSON{}}
	for _, e := range evs {
		switch {
		case metric != "" && e.Metric != metric,
			kind != "" && e.SegmentKind != kind,
			team != "" && e.Team != team,
			rep != "" && !(e.SegmentKind == alerts.SegRep && e.Segment == rep),
			status == "acknowledged" && e.AckedAt.IsZero(),
			status == "firing" && !e.AckedAt.IsZero():
			continue
		}
		out.Anomalies = append(out.Anomalies, anomalyOf(e))
	}
	return c.JSON(http.StatusOK, out)
}

// anomalyOf is the event in the API's words. An acknowledged event that still
// fires says acknowledged, as the Alerts page does.
func anomalyOf(e alerts.Event) anomalyJSON {
	j := anomalyJSON{ID: e.ID, Rule: e.Rule, Metric: e.Metric, SegmentKind: e.SegmentKind, Segment: e.Segment, SegmentLabel: e.SegmentLabel,
		Team: e.Team, Kind: e.Kind, Direction: e.Direction, Good: alerts.Good(e.Metric, e.Kind, e.Direction), Actual: e.Actual,
		Expected: e.Expected, Score: e.Score, Since: e.Since.Format(time.DateOnly), From: e.PeriodFrom.Format(time.DateOnly),
		To: e.PeriodTo.Format(time.DateOnly), Status: e.Status, Summary: alerts.Describe("en", e), Drivers: e.Drivers,
		OpenedAt: e.OpenedAt, LastSeenAt: e.LastSeenAt}
	if j.Drivers == nil {
		j.Drivers = []alerts.Driver{}
	}
	if m, err := query.LookupMetric(e.Metric); err == nil {
		j.Unit, j.HigherIsBetter = m.Unit, m.HigherIsBetter
	}
	switch e.Kind {
	case "stuck_deal":
		j.Unit = "days"
	case "pushed_close":
		j.Unit = "count"
	case "amount_cut":
		j.Unit = "amount"
	case "tier_service":
		j.Unit = "count"
	}
	if !e.AckedAt.IsZero() {
		t := e.AckedAt
		j.Acknowledged, j.AckedBy, j.AckedAt = true, e.AckedBy, &t
		if e.Status == "firing" {
			j.Status = "acknowledged"
		}
	}
	if e.SnoozedUntil.After(time.Now()) {
		t := e.SnoozedUntil
		j.SnoozedUntil = &t
	}
	if !e.CheckedAt.IsZero() {
		t := e.CheckedAt
		j.CheckedAt, j.Quiet = &t, e.Quiet()
	}
	return j
}

func (a *api) anomalyAck(c echo.Context) error {
	return a.anomalyAction(c, func(e alerts.Event, actor string) error {
		return alerts.Ack(c.Request().Context(), a.srv.opts.DB, e.ID, actor, c.FormValue("note"))
	})
}

// anomalySnooze mutes an event's anomaly until `until` (YYYY-MM-DD, the end of
// that day's start in the business zone) or for `days` (default 7, at most 90).
func (a *api) anomalySnooze(c echo.Context) error {
	until := time.Now().AddDate(0, 0, 7)
	if s := c.FormValue("until"); s != "" {
		d, err := time.ParseInLocation(time.DateOnly, s, a.svc.Location())
		if err != nil || !d.After(time.Now()) || d.After(time.Now().AddDate(0, 0, 91)) {
			return echo.NewHTTPError(http.StatusBadRequest, "until: "+strconv.Quote(s)+": want a day YYYY-MM-DD after today, at most 90 days ahead")
		}
		until = d
	} else if s := c.FormValue("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 90 {
			return echo.NewHTTPError(http.StatusBadRequest, "days: "+strconv.Quote(s)+": want a whole number from 1 to 90")
		}
		until = time.Now().AddDate(0, 0, n)
	}
	return a.anomalyAction(c, func(e alerts.Event, actor string) error {
		return alerts.Snooze(c.Request().Context(), a.srv.opts.DB, e.ID, until, actor, c.FormValue("note"))
	})
}

// anomalyAction acts on an event the caller may see and manage: reps may not,
// a manager only on the own team's; it answers the event as it is afterwards.
func (a *api) anomalyAction(c echo.Context, do func(e alerts.Event, actor string) error) error {
	sc, ok := ScopeOf(c)
	if !ok {
		return echo.NewHTTPError(http.StatusUnauthorized, "sign in or send Authorization: Bearer <token>")
	}
	if sc.Role == query.RoleRep {
		return echo.NewHTTPError(http.StatusForbidden, "reps cannot acknowledge or snooze alerts")
	}
	id := c.Param("id")
	find := func() (alerts.Event, bool, error) {
		evs, err := a.scopedEvents(c, 90, 1000, "")
		if err != nil {
			return alerts.Event{}, false, err
		}
		for _, e := range evs {
			if e.ID == id {
				return e, true, nil
			}
		}
		return alerts.Event{}, false, nil
	}
	e, ok, err := find()
	if err != nil {
		return err
	}
	if !ok {
		if sc.Role == query.RoleManager {
			// Another team's event or none: a manager learns neither.
			return echo.NewHTTPError(http.StatusNotFound, "no alert "+id+" of team "+sc.Team)
		}
		return echo.NewHTTPError(http.StatusNotFound, "no alert "+id)
	}
	if err := do(e, sc.Name); err != nil {
		if errors.Is(err, alerts.ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "no alert "+id)
		}
		return err
	}
	a.srv.cache.clear()
	e, _, err = find()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, anomalyOf(e))
}

func openAPIAnomalies(schemas, paths obj) {
	schemas["Driver"] = props(nil, obj{"Kind": str, "Key": str, "Label": str, "Actual": number, "Expected": number,
		"Trials": number, "Delta": number, "Share": number})
	schemas["Anomaly"] = props([]string{"id", "metric", "status"}, obj{"id": str, "rule": str,
		"metric": obj{"type": "string", "description": "A metric of the registry (METRICS.md, Metric registry), or deals for deal alerts."},
		"unit":   enum("count", "amount", "rate", "days"), "higher_is_better": boolean,
		"segment_kind": enum("all", "team", "territory", "rep", "product", "source"), "segment": str, "segment_label": str, "team": str,
		"kind":      enum("spike", "drop", "level_shift", "trend_change", "rate", "stuck_deal", "pushed_close", "amount_cut", "tier_service"),
		"direction": integer, "good": boolean, "actual": number, "expected": number, "score": number,
		"since": date, "from": date, "to": obj{"type": "string", "format": "date", "description": "exclusive"},
		"status": enum("firing", "acknowledged", "resolved"), "acknowledged": boolean, "acked_by": str,
		"acked_at": obj{"type": "string", "format": "date-time"}, "snoozed_until": obj{"type": "string", "format": "date-time"},
		"summary": str, "drivers": arr(ref("Driver")),
		"opened_at": obj{"type": "string", "format": "date-time"}, "last_seen_at": obj{"type": "string", "format": "date-time"},
		"checked_at": obj{"type": "string", "format": "date-time", "description": "The last evaluation of its rule while open."},
		"quiet":      obj{"type": "boolean", "description": "Open, but its rule did not find it at checked_at; it resolves once resolve_after has passed since last_seen_at."}})
	schemas["Anomalies"] = props([]string{"anomalies"}, obj{"anomalies": arr(ref("Anomaly"))})
	errResp := jsonResp("error", "Error")
	paths["/anomalies"] = obj{"get": obj{
		"summary": "Anomalies the alert engine found",
		"description": "Alert events of the last days, newest first, within the caller's scope: a manager sees the own team's, " +
			"a rep the own, directors and admins all. An acknowledged event that still fires has status acknowledged.",
		"parameters": []any{
			param("status", "Only events in this state.", enum("firing", "acknowledged", "resolved")),
			param("metric", "Only this metric (a registry name, or deals).", str),
			param("segment_kind", "Only this segment kind.", enum("all", "team", "territory", "rep", "product", "source")),
			param("team", "Only events of this team.", str),
			param("rep", "Only events of this rep (rep and deal alerts).", str),
			param("days", "Events seen in the last days (1..1000, default 30).", integer),
			param("limit", "At most this many (1..1000, default 200).", integer),
		},
		"responses": obj{"200": jsonResp("OK", "Anomalies"), "400": errResp, "401": errResp, "403": errResp, "503": errResp},
	}}
	action := func(summary, desc string, params ...any) obj {
		return obj{"post": obj{"summary": summary, "description": desc + " Reps may not; a manager only the own team's events (others: 404). " +
			"A browser session sends its CSRF token (header X-CSRF-Token or field csrf).",
			"parameters": append([]any{obj{"name": "id", "in": "path", "required": true, "schema": str}}, params...),
			"responses":  obj{"200": jsonResp("The event afterwards", "Anomaly"), "400": errResp, "401": errResp, "403": errResp, "404": errResp}}}
	}
	paths["/anomalies/{id}/ack"] = action("Acknowledge an anomaly", "It is not emailed again until it resolves.",
		param("note", "A note (also as a form field).", str))
	paths["/anomalies/{id}/snooze"] = action("Snooze an anomaly", "Its anomaly (every episode) is not emailed until then.",
		param("until", "A day after today, YYYY-MM-DD, at most 90 days ahead.", date),
		param("days", "Or a number of days, 1..90 (default 7).", integer),
		param("note", "A note.", str))
}

// anomaliesMessages are the Alerts page's words of this area.
var anomaliesMessages = map[string][2]string{
	"al.not_found": {"No such alert in your view (it may be another team's, or older than 90 days)", "您的视图中没有该预警（可能属于其他团队，或已超过90天）"},
	"al.through":   {"data through", "数据截至"},
}

func init() {
	addMessages(anomaliesMessages)
}

// eventInFilter says whether an alert event is about the page's filter: under
// a team, rep, territory, product or source filter only events of a segment the
// filter holds (a rep's and a deal's events carry their team and rep), so a
// filtered page lists no org-wide or other segments' anomalies. A filter on
// manager or segment keeps the events of the teams or reps it selects only when
// one of the others says which; with neither the events are not about it.
func eventInFilter(e alerts.Event, f query.Filter) bool {
	in := func(v string, set []string) bool {
		for _, s := range set {
			if s == v {
				return true
			}
		}
		return false
	}
	if len(f.Team) > 0 && !in(e.Team, f.Team) {
		return false
	}
	if len(f.Rep) > 0 && !(e.SegmentKind == alerts.SegRep && in(e.Segment, f.Rep)) {
		return false
	}
	for kind, set := range map[string][]string{alerts.SegTerritory: f.Territory, alerts.SegProduct: f.Product, alerts.SegSource: f.Source} {
		if len(set) > 0 && !(e.SegmentKind == kind && in(e.Segment, set)) {
			return false
		}
	}
	if (len(f.Manager) > 0 || len(f.Segment) > 0) && len(f.Team)+len(f.Rep)+len(f.Territory)+len(f.Product)+len(f.Source) == 0 {
		return false
	}
	return true
}
