package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/schemas"
)

func init() {
	register(command{name: "alerts", summary: "alerts run: evaluate the alert rules once and send the emails", run: runAlerts})
}

func runAlerts(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintln(a.stderr, "usage: pipelens alerts run [--at YYYY-MM-DD]")
		return errUsage
	}
	fs := a.flags("alerts run", "")
	at := fs.String("at", "", "evaluate as of this date (business time zone) instead of now")
	if err := a.parse(fs, args[1:]); err != nil {
		return err
	}
	c, err := a.config()
	if err != nil {
		return err
	}
	now := time.Now()
	if *at != "" {
		now, err = time.ParseInLocation("2006-01-02", *at, c.Location())
		if err != nil {
			return fmt.Errorf("--at %q: want YYYY-MM-DD", *at)
		}
	}
	db, err := a.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	eng, err := a.alertEngine(db)
	if err != nil {
		return err
	}
	sum, err := eng.RunOnce(ctx, now)
	fmt.Fprintln(a.stdout, sum.String())
	return err
}

func (a *app) alertEngine(db *schemas.DB) (*alerts.Engine, error) {
	c, _ := a.config()
	return alerts.New(alerts.Options{DB: db, Config: c, Logger: a.log})
}
