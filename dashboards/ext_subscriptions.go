package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/config"
)

// Subscriptions (issue 15): a user's scheduled email report of a page's view
// (alerts/subscriptions*.go builds and sends it). Users manage their own; an
// admin manages everyone's. /api/v1/subscriptions and the /subscriptions page.
func (a *api) mountSubscriptionsAPI(s *Server, g *echo.Group) {
	g.GET("/subscriptions", a.subscriptionList)
	g.POST("/subscriptions", a.subscriptionCreate)
	g.DELETE("/subscriptions/:id", a.subscriptionDelete)
}

func (p *pages) mountSubscriptionsPages(s *Server, g *echo.Group) {
	g.GET("/subscriptions", p.subscriptionsPage)
	g.POST("/subscriptions", p.subscriptionsSave, p.csrf)
	g.POST("/subscriptions/delete", p.subscriptionsRemove, p.csrf)
}

// subscriptionsNavs: the menu entry; it carries the page's filter, which the
// form offers as the report's view.
func subscriptionsNavs(r *request) []navItem { return []navItem{{"/subscriptions", "subscriptions"}} }

// subscriptionInput is the API's body: unknown fields are refused by name.
type subscriptionInput struct {
	Owner       string          `json:"owner"` // admins: whose subscription
	Kind        string          `json:"kind"`
	Filter      string          `json:"filter"`
	Schedule    alerts.Schedule `json:"schedule"`
	Lang        string          `json:"lang"`
	SkipIfEmpty *bool           `json:"skip_if_empty"` // default true
}

// subscriptionsOf is the caller's subscriptions, everyone's for an admin
// (narrowed by owner when given).
func (s *Server) subscriptionsOf(c echo.Context, sc query.Scope, owner string) ([]alerts.Subscription, error) {
	if sc.Role != query.RoleAdmin {
		owner = sc.Name
	}
	return alerts.ListSubscriptions(c.Request().Context(), s.opts.DB, owner)
}

// subscriptionUser is the users-config entry the subscription belongs to: the
// caller, or for an admin the named owner.
func (s *Server) subscriptionUser(sc query.Scope, owner string) (config.User, error) {
	if owner == "" {
		owner = sc.Name
	}
	if owner != sc.Name && sc.Role != query.RoleAdmin {
		return config.User{}, echo.NewHTTPError(http.StatusForbidden, "owner: only admins manage other users' subscriptions")
	}
	if s.opts.Config != nil {
		for _, u := range s.opts.Config.Auth.Users {
			if u.Username == owner {
				return u, nil
			}
		}
	}
	return config.User{}, echo.NewHTTPError(http.StatusBadRequest, "owner: "+strconv.Quote(owner)+" is not a user of the users config (reports go to a user's email)")
}

// saveSubscription validates in for sc and stores it. The view must be one
// the owner may see (a manager's filter names no other team): the report is
// computed in the owner's scope, so svc answers 403 now rather than at each send.
func (s *Server) saveSubscription(c echo.Context, svc *query.Service, sc query.Scope, in subscriptionInput) (alerts.Subscription, error) {
	u, err := s.subscriptionUser(sc, in.Owner)
	if err != nil {
		return alerts.Subscription{}, err
	}
	sub := alerts.Subscription{Kind: in.Kind, Filter: in.Filter, Schedule: in.Schedule, Lang: in.Lang, SkipIfEmpty: in.SkipIfEmpty == nil || *in.SkipIfEmpty}
	if err := sub.Normalize(u); err != nil {
		return sub, subscriptionError(err)
	}
	v, _ := url.ParseQuery(sub.Filter)
	today := time.Now().In(svc.Location()).Format(time.DateOnly)
	v.Set("from", today)
	f, err := query.ParseFilter(v, svc.Location())
	if err == nil {
		_, err = svc.WinRate(c.Request().Context(), query.Scope{Name: u.Username, Role: u.Role, Team: u.Team, Rep: u.Rep}, f, "")
	}
	if err != nil {
		return sub, apiError(err)
	}
	err = alerts.SaveSubscription(c.Request().Context(), s.opts.DB, &sub, time.Now())
	return sub, err
}

func subscriptionError(err error) error {
	switch {
	case errors.Is(err, alerts.ErrBadSubscription):
		return echo.NewHTTPError(http.StatusBadRequest, err.Error()).WithInternal(err)
	case errors.Is(err, alerts.ErrNoSubscription):
		return echo.NewHTTPError(http.StatusNotFound, err.Error()).WithInternal(err)
	}
	return apiError(err)
}

// removeSubscription deletes subscription id when the caller may.
func (s *Server) removeSubscription(c echo.Context, sc query.Scope, id string) error {
	subs, err := alerts.ListSubscriptions(c.Request().Context(), s.opts.DB, "")
	if err != nil {
		return err
	}
	for i := range subs {
		if subs[i].ID != id {
			continue
		}
		if subs[i].Owner != sc.Name && sc.Role != query.RoleAdmin {
			return echo.NewHTTPError(http.StatusForbidden, "subscription "+strconv.Quote(id)+" is another user's")
		}
		return alerts.DeleteSubscription(c.Request().Context(), s.opts.DB, &subs[i], time.Now())
	}
	return subscriptionError(errors.Join(alerts.ErrNoSubscription, errors.New("id "+strconv.Quote(id))))
}

func (a *api) subscriptionList(c echo.Context) error {
	sc, err := a.scope(c)
	if err != nil {
		return err
	}
	subs, err := a.srv.subscriptionsOf(c, sc, c.QueryParam("owner"))
	return reply(c, map[string][]alerts.Subscription{"subscriptions": subs}, err)
}

func (a *api) subscriptionCreate(c echo.Context) error {
	sc, err := a.scope(c)
	if err != nil {
		return err
	}
	var in subscriptionInput
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<16))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "read the body: "+err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "subscription: "+err.Error())
	}
	sub, err := a.srv.saveSubscription(c, a.svc, sc, in)
	if err != nil {
		return subscriptionError(err)
	}
	return c.JSON(http.StatusCreated, sub)
}

func (a *api) subscriptionDelete(c echo.Context) error {
	sc, err := a.scope(c)
	if err != nil {
		return err
	}
	if err := a.srv.removeSubscription(c, sc, c.Param("id")); err != nil {
		return subscriptionError(err)
	}
	return c.NoContent(http.StatusNoContent)
}
