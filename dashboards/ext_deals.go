package dashboards

import "github.com/labstack/echo/v4"

// Deals (issue 15): the deals behind a number (/deals), one deal's detail
// (/deals/{id}) and a team's stuck deals (/stuck), with their API under
// /api/v1. Built by its area.
func (a *api) mountDealsAPI(s *Server, g *echo.Group) {}

func (p *pages) mountDealsPages(s *Server, g *echo.Group) {}

// dealsNavs: the menu entries of the area (none yet).
func dealsNavs(r *request) []navItem { return nil }

// dealsURL is the drill-through link from a number to the deals behind it: the
// /deals page with the page's filter and the deal query's parameters, the same
// as /api/v1/deals takes (basis created|closed|open, status open|won|lost|closed,
// stage, reached). Extra pairs (key, value) are added after them, e.g. "rep", id
// for a table row's rep.
func (r *request) dealsURL(basis, status, stage string, reached bool, set ...string) string {
	rc := ""
	if reached {
		rc = "true"
	}
	return r.filterURL("/deals", append([]string{"basis", basis, "status", status, "stage", stage, "reached", rc}, set...)...)
}
