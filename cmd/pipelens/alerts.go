package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

func init() {
	register(command{name: "alerts", summary: "alerts run: evaluate the alert rules once and send the emails", run: runAlerts})
}

func runAlerts(ctx context.Context, a *app, args []string) error {
	return engineRun(ctx, a, args, "alerts", "evaluate as of this date or time (YYYY-MM-DD, YYYY-MM-DDTHH:MM or RFC 3339; business time zone) instead of now; emails due now are delivered either way",
		func(ctx context.Context, eng *alerts.Engine, _ *schemas.DB, _ *config.Config, now time.Time) (fmt.Stringer, error) {
			return eng.RunOnce(ctx, now)
		})
}

// engineRun is `pipelens <name> run [--at TIME]`: the alert engine over the
// config's database, once, as of --at (atHelp says what it means) or now, with
// do's summary printed.
func engineRun(ctx context.Context, a *app, args []string, name, atHelp string,
	do func(ctx context.Context, eng *alerts.Engine, db *schemas.DB, c *config.Config, now time.Time) (fmt.Stringer, error)) error {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintf(a.stderr, "usage: pipelens %s run [--at YYYY-MM-DD[THH:MM]]\n", name)
		return errUsage
	}
	fs := a.flags(name+" run", "")
	at := fs.String("at", "", atHelp)
	if err := a.parse(fs, args[1:]); err != nil {
		return err
	}
	c, err := a.config()
	if err != nil {
		return err
	}
	now := time.Now()
	if *at != "" {
		if now, err = parseAt(*at, c.Location()); err != nil {
			return err
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
	sum, err := do(ctx, eng, db, c, now)
	if sum != nil {
		fmt.Fprintln(a.stdout, sum.String())
	}
	return err
}

// parseAt reads --at: a date (midnight), a minute, or an RFC 3339 time.
func parseAt(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{time.DateOnly, "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--at %q: want YYYY-MM-DD, YYYY-MM-DDTHH:MM or RFC 3339", s)
}

func (a *app) alertEngine(db *schemas.DB) (*alerts.Engine, error) {
	c, _ := a.config()
	return alerts.New(alerts.Options{DB: db, Config: c, Logger: a.log})
}
