package main

import (
	"context"
	"fmt"
	"time"
)

func init() {
	register(command{name: "subscriptions", summary: "subscriptions run: send the email reports due now (or at --at) once", run: runSubscriptions})
}

// runSubscriptions sends every subscription whose latest slot by --at (or
// now) has not been sent or skipped yet, then drains the outbox; a slot
// already recorded (by serve or an earlier run) is not sent again.
func runSubscriptions(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintln(a.stderr, "usage: pipelens subscriptions run [--at YYYY-MM-DD[THH:MM]]")
		return errUsage
	}
	fs := a.flags("subscriptions run", "")
	at := fs.String("at", "", "send as of this date or time (YYYY-MM-DD, YYYY-MM-DDTHH:MM or RFC 3339; business time zone) instead of now")
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
	sum, err := eng.Subscriptions(a.queryService(db), c.Auth.Users).RunOnce(ctx, now)
	fmt.Fprintln(a.stdout, sum.String())
	return err
}
