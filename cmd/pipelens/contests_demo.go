package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

// demoContestName names the demo's contest: found again on the next start.
const demoContestName = "本季度销售竞赛 · Quarter contest"

// demoContest makes sure the demo has a contest of the current quarter with
// every category and prints its board link. A board token is shown only once,
// so each start makes a new one for the printed link (the previous link stops
// working).
func demoContest(ctx context.Context, a *app, db *schemas.DB, c *config.Config, addr string) error {
	q := query.New(db, c.Location(), a.log).WithStages(c.Stages.Open).WithCurrency(c.Currency.Reporting, c.Currency.Rates)
	admin := query.Scope{Name: "demo", Role: query.RoleAdmin}
	cs, err := q.Contests(ctx, admin)
	if err != nil {
		return err
	}
	var id, token string
	for _, ct := range cs {
		if ct.Name == demoContestName {
			id = ct.ID
		}
	}
	if id != "" {
		token, err = q.RotateBoardToken(ctx, admin, id)
	} else {
		now := time.Now().In(c.Location())
		from := time.Date(now.Year(), now.Month()-(now.Month()-1)%3, 1, 0, 0, 0, 0, c.Location())
		var ct query.Contest
		ct, token, err = q.CreateContest(ctx, admin, query.ContestInput{Name: demoContestName, Metric: query.ContestWonAmount,
			From: from.Format(time.DateOnly), To: from.AddDate(0, 3, 0).Format(time.DateOnly),
			Categories: []string{query.CategoryTop, query.CategoryImprovement, query.CategoryNewcomer, query.CategoryNewAccounts}})
		id = ct.ID
	}
	if err != nil {
		return err
	}
	base := strings.TrimRight(c.Server.BaseURL, "/")
	if base == "" {
		if addr == "" {
			addr = c.Server.Addr
		}
		base = "http://" + addr
	}
	fmt.Fprintf(a.stdout, "office board (电子看板), no sign-in: %s/board/%s?token=%s\n", base, url.PathEscape(id), url.QueryEscape(token))
	return nil
}
