package dashboards

import "github.com/labstack/echo/v4"

// Rules (issue 15): its API under /api/v1 and its pages; filled in by its area.
func (a *api) mountRulesAPI(s *Server, g *echo.Group) {}

func (p *pages) mountRulesPages(s *Server, g *echo.Group) {}

// rulesNavs: the menu entries of the area (none yet).
func rulesNavs(r *request) []navItem { return nil }
