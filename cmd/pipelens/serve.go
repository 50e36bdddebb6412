package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pipelens/pipelens/dashboards"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
)

func init() {
	register(command{name: "serve", summary: "serve the dashboards and the JSON API", run: runServe})
}

func runServe(ctx context.Context, a *app, args []string) error {
	fs := a.flags("serve", "")
	addr := fs.String("addr", "", "listen address HOST:PORT (default from config server.addr, 127.0.0.1:8080)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	// The whole config, alerts and smtp included, is checked before ClickHouse
	// starts: a mistake refuses to start instead of running without alerts.
	if _, err := a.config(); err != nil {
		return err
	}
	db, err := a.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return a.serve(ctx, db, *addr, true)
}

// upgradeServing rebuilds the serving tables before anything reads them when
// the last publication was written by a build with another layout: a table
// this build added is empty until then, and pages, the API and the alert
// schedule would count it as no deals.
func (a *app) upgradeServing(ctx context.Context, q *query.Service) error {
	stale, err := q.ServingStale(ctx)
	if err != nil || !stale {
		return err
	}
	t := time.Now()
	a.log.Info("the serving tables' layout changed: rebuilding them before serving")
	if _, err := q.Publish(ctx); err != nil {
		return fmt.Errorf("rebuild the serving tables: %w", err)
	}
	a.log.Info("serving tables rebuilt", "took", time.Since(t).Round(time.Millisecond))
	return nil
}

// maintain, every 10 seconds until ctx ends, reads the lists query keeps per
// publication (q.Warm: the reps and the targets, which requests then find),
// deletes the rows of replaced publications (q.Collect) and computes the
// forecasts' history of a new publication or day once the publication has
// stood for query.ForecastHistoryQuiet (q.PrecomputeForecasts): until it is
// there, forecasts compute it per request.
func (a *app) maintain(ctx context.Context, q *query.Service) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		if err := q.Warm(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("read the reps and targets of the publication", "err", err)
		}
		if err := q.Collect(ctx, query.CollectGrace); err != nil && ctx.Err() == nil {
			a.log.Warn("collect the rows of replaced publications", "err", err)
		}
		a.precomputeForecasts(ctx, q)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// precomputeForecasts runs q.PrecomputeForecasts and logs what it did.
func (a *app) precomputeForecasts(ctx context.Context, q *query.Service) {
	t := time.Now()
	did, err := q.PrecomputeForecasts(ctx, query.ForecastHistoryQuiet)
	switch {
	case err != nil && ctx.Err() == nil:
		a.log.Warn("compute the forecasts' history", "err", err)
	case did:
		a.log.Info("forecasts' history computed", "took", time.Since(t).Round(time.Millisecond))
	}
}

// serve runs the HTTP server on addr (or the configured one) until ctx ends;
// with refresh it first rebuilds a home published with an older layout of the
// serving tables (upgradeServing), then publishes what is pending in the
// background.
func (a *app) serve(ctx context.Context, db *schemas.DB, addr string, refresh bool) error {
	serveGC()
	c, _ := a.config()
	if addr == "" {
		addr = c.Server.Addr
	}
	// --addr wins over the config, also for the links in alert emails (when
	// server.base_url does not name the public address).
	c.Server.Addr = addr
	// A bad alerts or smtp section stops serve before it listens: a server
	// that runs without its alerts is only noticed when an alert is missed.
	eng, err := a.alertEngine(db)
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	q := a.queryService(db)
	if refresh {
		if err := a.upgradeServing(ctx, q); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := dashboards.New(dashboards.Options{
		Config: c, DB: db, Logger: a.log, Version: version,
		Query:  q,
		Ingest: a.ingestService(db, false),
		Mount:  []func(*dashboards.Server){dashboards.APIMount(q)},
	})
	// One lifecycle: the HTTP server, the start-up publication and the alert
	// schedule start together and serve returns only when all have stopped, so
	// the database is closed after the last of them (and after the uploads still
	// loading under the server's context).
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.ServeListener(gctx, ln) })
	if refresh {
		// Loads publish themselves; this publishes runs a process loaded and
		// could not publish (killed, or ClickHouse went away), removes an
		// abandoned publication, and rebuilds everything after a change of time
		// zone or stages. Pages read the last publication meanwhile.
		g.Go(func() error {
			a.refresh(gctx, db)
			return nil
		})
	}
	// The rows a full publication replaced go once it has been visible for
	// query.CollectGrace, not only at the next publication: until then every
	// read reads them too. The forecasts' history follows each publication.
	g.Go(func() error {
		a.maintain(gctx, q)
		return nil
	})
	// The alert schedule: rules are evaluated when due and the outbox is drained
	// on every tick.
	g.Go(func() error {
		if err := eng.Schedule(gctx); err != nil && gctx.Err() == nil {
			a.log.Error("alert schedule stopped", "err", err)
		}
		return nil
	})
	// Coaching plans due for review are judged and their managers emailed on
	// the same tick (alerts/plans.go).
	g.Go(func() error {
		if err := eng.SchedulePlanReviews(gctx, q); err != nil && gctx.Err() == nil {
			a.log.Error("coaching plan reviews stopped", "err", err)
		}
		return nil
	})
	// Subscriptions' email reports go at their slots on the same tick
	// (alerts/subscriptions.go).
	g.Go(func() error {
		if err := eng.Subscriptions(q, c.Auth.Users).Schedule(gctx); err != nil && gctx.Err() == nil {
			a.log.Error("subscriptions stopped", "err", err)
		}
		return nil
	})
	return g.Wait()
}

func (a *app) queryService(db *schemas.DB) *query.Service {
	c, _ := a.config()
	q := query.New(db, c.Location(), a.log).WithFiscalYear(c.FiscalYear.StartMonth).WithCurrency(c.Currency.Reporting, c.Currency.Rates)
	if len(c.Stages.Open) > 0 {
		q = q.WithStages(c.Stages.Open)
	}
	return q
}

// serveGCPercent is the collector's target for a serving process unless GOGC
// says otherwise. A page view allocates its whole HTML, a few hundred kB, so
// at Go's default of 100 the collector ran every few requests; at 200 it
// runs half as often. Measured on warm pages (50 users, 3.2M opportunities,
// 2 cores, six runs each, alternating): `serve`'s CPU per request 2.6–3.2 ms
// → 2.3–2.6 ms in five runs of six (3.2 in one), 466–525 → 503–588 req/s in
// five of six; resident memory after a run 94–99 → 110–123 MB.
const serveGCPercent = 200

func serveGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serveGCPercent)
	}
}
