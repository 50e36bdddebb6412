package dashboards

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/config"
)

const scopeKey = "pipelens.scope"

type authenticator struct {
	tokens []config.Token
}

func newAuthenticator(a config.Auth) *authenticator {
	return &authenticator{tokens: a.Tokens}
}

// middleware accepts "Authorization: Bearer <token>" from the config's auth.tokens
// and puts the caller's query.Scope on the context. Sessions from sign-in are
// accepted the same way once the pages land.
func (a *authenticator) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get("Authorization")
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
			for _, t := range a.tokens {
				if subtle.ConstantTimeCompare([]byte(tok), []byte(t.Token)) == 1 {
					c.Set(scopeKey, query.Scope{Name: t.Name, Role: t.Role, Team: t.Team, Rep: t.Rep})
					return next(c)
				}
			}
			return echo.NewHTTPError(http.StatusUnauthorized, "unknown bearer token")
		}
		if s, ok := c.Get(scopeKey).(query.Scope); ok && s.Role != "" {
			return next(c)
		}
		return echo.NewHTTPError(http.StatusUnauthorized, "sign in or send Authorization: Bearer <token>")
	}
}

// ScopeOf is the authenticated caller's scope.
func ScopeOf(c echo.Context) (query.Scope, bool) {
	s, ok := c.Get(scopeKey).(query.Scope)
	return s, ok
}
