package dashboards

import "github.com/labstack/echo/v4"

// Targets and forecast (issue 16): /api/v1/targets and its pages.
func (a *api) mountTargetsAPI(s *Server, g *echo.Group)     {}
func (p *pages) mountTargetsPages(s *Server, g *echo.Group) {}
func openAPITargets(schemas, paths obj)                     {}

// targetsNavs are the menu entries of the area for the request's user.
func targetsNavs(r *request) []navItem { return nil }
