package dashboards

import "github.com/labstack/echo/v4"

// Deals (issue 15): its API under /api/v1 and its pages; filled in by its area.
func (a *api) mountDealsAPI(s *Server, g *echo.Group) {}

func (p *pages) mountDealsPages(s *Server, g *echo.Group) {}

// dealsNavs: the menu entries of the area (none yet).
func dealsNavs(r *request) []navItem { return nil }
