package dashboards

import (
	"github.com/labstack/echo/v4"
	"github.com/pipelens/pipelens/schemas/config"
)

// Contests and account tiers (issue 17): /api/v1/contests, /board/{contest},
// /api/v1/tiers.
func (a *api) mountContestsAPI(g *echo.Group) {
	a.contestsAPI(g)
	a.tiersAPI(g, a.tierLevels)
}

func (p *pages) mountContestsPages(s *Server, g *echo.Group) {
	p.contestsPages(g)
	p.boardRoutes(s)
	g.GET("/tiers", p.tiersPage)
}

func openAPIContests(schemas, paths obj) { openAPIContestsTiers(schemas, paths) }

// contestsNavs are the menu entries of the area for the request's user.
func contestsNavs(r *request) []navItem {
	return []navItem{{"/contests", "contests"}, {"/tiers", "tiers"}}
}

// tierLevels are the configured tiers (config tiers), the defaults without a
// config.
func (a *api) tierLevels() config.Tiers {
	if a.srv == nil || a.srv.opts.Config == nil || len(a.srv.opts.Config.Tiers.Levels) == 0 {
		return config.DefaultTiers()
	}
	return a.srv.opts.Config.Tiers
}
