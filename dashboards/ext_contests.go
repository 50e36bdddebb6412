package dashboards

import "github.com/labstack/echo/v4"

// Contests and account tiers (issue 17): /api/v1/contests, /board/{contest},
// /api/v1/tiers.
func (a *api) mountContestsAPI(g *echo.Group)                {}
func (p *pages) mountContestsPages(s *Server, g *echo.Group) {}
func openAPIContests(schemas, paths obj)                     {}

// contestsNavs are the menu entries of the area for the request's user.
func contestsNavs(r *request) []navItem { return nil }
