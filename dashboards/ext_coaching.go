package dashboards

import "github.com/labstack/echo/v4"

// Coaching (issue 17): activity indicators (KAI), coaching plans, review pack.
// mountCoachingAPI adds its routes under /api/v1, mountCoachingPages its pages,
// openAPICoaching its schemas and paths to the OpenAPI document.
func (a *api) mountCoachingAPI(g *echo.Group)                {}
func (p *pages) mountCoachingPages(s *Server, g *echo.Group) {}
func openAPICoaching(schemas, paths obj)                     {}

// coachingNavs are the menu entries of the area for the request's user.
func coachingNavs(r *request) []navItem { return nil }
