package alerts_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/dashboards"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

// The dashboards package imports alerts, so the server the end-to-end test
// follows the email's link into is started from this external test package.
func init() {
	alerts.StartDashboards = func(t *testing.T, db *schemas.DB, token, team string) string {
		c := config.Default()
		c.Auth.Tokens = []config.Token{{Name: "manager", Token: config.Secret(token), Role: "manager", Team: team}}
		if team == "" { // the whole org's view
			c.Auth.Tokens[0].Name, c.Auth.Tokens[0].Role = "admin", "admin"
		}
		q := query.New(db, time.UTC, nil)
		// The serving tables the pages read are refreshed after each load.
		if err := q.Refresh(context.Background()); err != nil {
			t.Fatalf("refresh serving tables: %v", err)
		}
		s := dashboards.New(dashboards.Options{Config: c, DB: db, Query: q, Logger: alerts.QuietLogForTest(), Mount: []func(*dashboards.Server){dashboards.APIMount(q)}})
		srv := httptest.NewServer(s.Echo)
		t.Cleanup(srv.Close)
		return srv.URL
	}
}
