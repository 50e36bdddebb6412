package query

import (
	"context"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

func TestMain(m *testing.M) { schemastest.Main(m) }

// fixture is a small hand-made data set; load writes it under one committed run.
type fixture struct {
	reps     []frep
	accounts []facct
	opps     []fopp
	events   []fevent
	snaps    []fsnap
	leads    []flead
	acts     []fact
	targets  []ftarget
	market   []fmarket
	// categories is the CRM forecast category of some opportunities.
	categories map[string]string
	// currencies is the currency of some opportunities (and their
	// snapshots) and of targets (by scope id).
	currencies map[string]string
}

type frep struct{ id, name, role, manager, team, territory string }
type facct struct {
	id, name, territory, segment string
	employees                    uint32
}
type fopp struct {
	id, account, owner, product, source, stage string
	amount                                     float64
	created                                    time.Time
	closeDate                                  time.Time
	closed, won                                bool
}
type fevent struct {
	opp, stage string
	rank       uint8
	at         time.Time
}
type fsnap struct {
	date      time.Time
	opp       string
	amount    float64
	closeDate time.Time
	closed    bool
}
type flead struct {
	id      string
	created time.Time
	source  string
	owner   string
	conv    bool
	opp     string
}
type fact struct {
	id, typ, rep, opp string
	at                time.Time
}
type ftarget struct {
	scope, scopeID string
	start, end     time.Time
	amount         float64
}
type fmarket struct {
	territory, segment string
	year               uint16
	potential          float64
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func d(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ts(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

const fixtureRun = uint64(7)

func (fx *fixture) load(t testing.TB, db *schemas.DB) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	run := fixtureRun
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("load fixture: %v", err)
		}
	}
	must(db.InsertRows(ctx, "fx", "INSERT INTO ingest_runs (run_id, file, status, started_at, finished_at, updated_ns)",
		[]any{run, "fixture", "committed", now, now, uint64(now.UnixNano())},
		// A run that failed: its rows must never count.
		[]any{run + 1, "failed", "failed", now, now, uint64(now.UnixNano())}))
	batch := func(insert string, rows [][]any) {
		t.Helper()
		if len(rows) == 0 {
			return
		}
		c, release := db.BatchContext(ctx, "fx", 5*time.Minute)
		defer release()
		b, err := db.Conn.PrepareBatch(c, insert)
		must(err)
		defer b.Close()
		for _, r := range rows {
			must(b.Append(r...))
		}
		must(b.Send())
	}
	var rows [][]any
	for _, r := range fx.reps {
		rows = append(rows, []any{r.id, r.name, r.role, r.manager, r.team, r.territory, uint8(1), run, now})
	}
	batch("INSERT INTO reps (rep_id, name, role, manager_id, team, territory, active, run_id, loaded_at)", rows)
	rows = nil
	for _, a := range fx.accounts {
		rows = append(rows, []any{a.id, a.name, a.territory, a.segment, a.employees, run, now})
	}
	batch("INSERT INTO accounts (account_id, name, territory, segment, employees, run_id, loaded_at)", rows)
	rows = nil
	for _, o := range fx.opps {
		rows = append(rows, []any{o.id, "deal " + o.id, o.account, o.owner, o.product, o.source, o.stage, o.amount, o.created, o.closeDate, b2u(o.closed), b2u(o.won), fx.categories[o.id], fx.currencies[o.id], run, now})
	}
	// A row of the failed run that would change every number if it counted.
	if len(fx.opps) > 0 {
		o := fx.opps[0]
		rows = append(rows, []any{o.id, "bad", o.account, o.owner, o.product, o.source, "won", 1e9, o.created, o.closeDate, uint8(1), uint8(1), "Commit", "", run + 1, now})
	}
	batch("INSERT INTO opportunities (opportunity_id, name, account_id, owner_id, product, source, stage, amount, created_at, close_date, closed, won, forecast_category, currency, run_id, loaded_at)", rows)
	rows = nil
	for _, e := range fx.events {
		rows = append(rows, []any{e.opp, e.stage, e.rank, e.at, run, now})
	}
	batch("INSERT INTO stage_events (opportunity_id, stage, stage_rank, entered_at, run_id, loaded_at)", rows)
	rows = nil
	for _, s := range fx.snaps {
		rows = append(rows, []any{s.date, s.opp, s.amount, fx.currencies[s.opp], s.closeDate, b2u(s.closed), run, now})
	}
	batch("INSERT INTO opportunity_snapshots (snapshot_date, opportunity_id, amount, currency, close_date, closed, run_id, loaded_at)", rows)
	rows = nil
	for _, l := range fx.leads {
		ca := time.Unix(0, 0).UTC()
		if l.conv {
			ca = l.created.Add(24 * time.Hour)
		}
		rows = append(rows, []any{l.id, l.created, l.source, l.owner, b2u(l.conv), ca, l.opp, run, now})
	}
	batch("INSERT INTO leads (lead_id, created_at, source, owner_id, converted, converted_at, opportunity_id, run_id, loaded_at)", rows)
	rows = nil
	for _, a := range fx.acts {
		rows = append(rows, []any{a.id, a.typ, a.rep, a.opp, a.at, run, now})
	}
	batch("INSERT INTO activities (activity_id, type, rep_id, opportunity_id, occurred_at, run_id, loaded_at)", rows)
	rows = nil
	for _, tg := range fx.targets {
		rows = append(rows, []any{tg.scope, tg.scopeID, tg.start, tg.end, "bookings", tg.amount, fx.currencies[tg.scopeID], run, now})
	}
	batch("INSERT INTO targets (scope, scope_id, period_start, period_end, metric, amount, currency, run_id, loaded_at)", rows)
	rows = nil
	for _, m := range fx.market {
		rows = append(rows, []any{m.territory, m.segment, m.year, m.potential, run, now})
	}
	batch("INSERT INTO market (territory, segment, year, potential, run_id, loaded_at)", rows)
}
