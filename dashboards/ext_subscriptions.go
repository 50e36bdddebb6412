package dashboards

import "github.com/labstack/echo/v4"

// Subscriptions (issue 15): its API under /api/v1 and its pages; filled in by its area.
func (a *api) mountSubscriptionsAPI(s *Server, g *echo.Group) {}

func (p *pages) mountSubscriptionsPages(s *Server, g *echo.Group) {}

// subscriptionsNavs: the menu entries of the area (none yet).
func subscriptionsNavs(r *request) []navItem { return nil }
