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
	register(command{name: "subscriptions", summary: "subscriptions run: send the email reports due now (or at --at) once", run: runSubscriptions})
}

// runSubscriptions sends every subscription whose latest slot by --at (or
// now) has not been sent or skipped yet, then drains the outbox; a slot
// already recorded (by serve or an earlier run) is not sent again.
func runSubscriptions(ctx context.Context, a *app, args []string) error {
	return engineRun(ctx, a, args, "subscriptions", "send as of this date or time (YYYY-MM-DD, YYYY-MM-DDTHH:MM or RFC 3339; business time zone) instead of now",
		func(ctx context.Context, eng *alerts.Engine, db *schemas.DB, c *config.Config, now time.Time) (fmt.Stringer, error) {
			return eng.Subscriptions(a.queryService(db), c.Auth.Users).RunOnce(ctx, now)
		})
}
