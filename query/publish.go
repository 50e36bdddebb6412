package query

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pipelens/pipelens/schemas"
)

// Publication is what one Publish did.
type Publication struct {
	Pub        uint64        `json:"pub"`
	Runs       []uint64      `json:"runs"`
	Duplicates []uint64      `json:"duplicates,omitempty"`
	Full       bool          `json:"full"`
	Touched    uint64        `json:"touched_opportunities"`
	Waited     time.Duration `json:"waited"`
	Took       time.Duration `json:"took"`

	dims  bool    // its runs hold reps or accounts
	leads bool    // its runs hold leads or lead links
	fx    fxRates // the rates its amounts convert at
}

// leaseTTL bounds how long a killed publisher blocks the others (on its own host
// it blocks nobody: its pid is gone).
const leaseTTL = 30 * time.Second

// Publish makes every loaded run visible at once. Under the publish lease it
// derives the serving rows of what those runs touched (all of them when nothing
// was published yet, or the zone or the stages changed), tagged with the next
// publication number, and last records the publication: the commit. Any process
// may publish any loaded run; one that dies midway leaves rows no reader counts,
// and the next Publish removes them and does the work again. It returns nil when
// there was nothing to publish.
func (s *Service) Publish(ctx context.Context) (*Publication, error) {
	t0 := time.Now()
	lease, err := s.db.AcquireLease(ctx, "publish", leaseTTL)
	if err != nil {
		return nil, err
	}
	s.log.Debug("publish lease acquired", "took", time.Since(t0).Round(time.Millisecond))
	defer func() {
		t := time.Now()
		_ = lease.Release(ctx)
		s.log.Debug("publish lease released", "took", time.Since(t).Round(time.Millisecond))
	}()
	p, err := s.publish(ctx, lease, false)
	if errors.Is(err, errHashCollision) {
		s.log.Warn("publishing in full", "err", err)
		p, err = s.publish(ctx, lease, true)
	}
	if p != nil {
		p.Took = time.Since(t0)
	}
	return p, err
}

// Refresh publishes what is pending (see Publish).
func (s *Service) Refresh(ctx context.Context) error {
	_, err := s.Publish(ctx)
	return err
}

// errHashCollision is a publication that would hide a row it should count
// (schemas.EntityVisible): it is done again in full.
var errHashCollision = errors.New("a row's visibility hash equals a replaced row's")

func (s *Service) publish(ctx context.Context, lease *schemas.Lease, full bool) (*Publication, error) {
	t0 := time.Now()
	// Replication is asynchronous: a replica may not yet hold a block its sibling
	// took. So first every live replica fetches what its siblings hold of the
	// tables a publication reads or makes visible (the publications, the run
	// states, the raw rows of the runs, the serving rows of earlier and abandoned
	// publications): whichever replica a statement below reads, and whichever a
	// reader reads once N is recorded, has the same rows. On one server this does
	// nothing.
	if err := s.db.SyncReplicas(ctx, publishSynced()...); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	s.log.Debug("publication phase", "phase", "sync", "at", time.Since(t0).Round(time.Millisecond))
	v, err := s.db.CurrentVersion(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.dropAbandoned(ctx, v); err != nil {
		return nil, err
	}
	s.log.Debug("publication phase", "phase", "abandoned", "at", time.Since(t0).Round(time.Millisecond))
	p, fp, err := s.plan(ctx, v, t0, full)
	if p == nil || err != nil {
		return nil, err
	}
	if err := s.clearDelta(ctx); err != nil {
		return nil, err
	}
	s.log.Debug("publication phase", "phase", "start", "at", time.Since(t0).Round(time.Millisecond))
	schemas.FaultPoint("publish-start")
	// Each shard computes the serving rows of its own opportunities and
	// activities on its local tables (publish_sql.go); on one server the steps
	// run once. A shard that fails leaves rows above V that no reader counts and
	// the next publication removes.
	b := s.builder(v, p)
	err = s.db.EachShard(ctx, func(ctx context.Context, sh *schemas.DB) error {
		for _, st := range b.onShard(sh).steps() {
			t := time.Now()
			if err := s.exec(ctx, sh, "publish-"+st.name, st.sql); err != nil {
				return fmt.Errorf("%s: %w", st.name, err)
			}
			s.log.Debug("publication step", "pub", p.Pub, "shard", sh.Addr(), "step", st.name, "took", time.Since(t).Round(time.Millisecond))
			schemas.FaultPoint("publish-" + st.name)
		}
		if err := s.checkHashes(ctx, sh, b.next); err != nil {
			return err
		}
		var n uint64
		qctx, cancel := sh.Context(ctx, "publish-touched")
		defer cancel()
		if err := sh.Conn.QueryRow(qctx, "SELECT count() FROM "+sh.Local("publish_touched")+" WHERE pub = "+u(p.Pub)+" AND kind = 'opp'").Scan(&n); err != nil {
			return fmt.Errorf("count touched: %w", err)
		}
		p.Touched += n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("publish %d: %w", p.Pub, err)
	}
	// Every live replica holds the publication's rows before it is recorded:
	// readers read any replica.
	if err := s.db.SyncReplicas(ctx, servingNames()...); err != nil {
		return nil, fmt.Errorf("publish %d: %w", p.Pub, err)
	}
	if err := lease.Check(ctx); err != nil {
		return nil, fmt.Errorf("publish %d: %w", p.Pub, err)
	}
	var isFull uint8
	if p.Full {
		isFull = 1
	}
	err = s.db.InsertRows(ctx, "publish-commit", "INSERT INTO publications (pub, runs, full, fingerprint, touched, published_at)",
		[]any{p.Pub, p.Runs, isFull, fp, p.Touched, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return nil, fmt.Errorf("publish %d: record: %w", p.Pub, err)
	}
	schemas.FaultPoint("publish-committed")
	if err := s.clearDelta(context.WithoutCancel(ctx)); err != nil {
		s.log.Warn("drop the publication's delta rows", "pub", p.Pub, "err", err)
	}
	// The row went to one replica: the next publisher must not take the same
	// number from another, and the loads read back their state.
	if err := s.db.SyncReplicas(ctx, "publications"); err != nil {
		s.log.Warn("sync the publications' replicas", "pub", p.Pub, "err", err)
	}
	// The publication is the commit; the run states are for reports (a run listed
	// by a publication reads as committed whatever its last state says).
	if err := s.db.MarkRuns(context.WithoutCancel(ctx), p.Runs, schemas.RunCommitted, ""); err != nil {
		s.log.Warn("mark published runs committed", "pub", p.Pub, "err", err)
	}
	s.log.Info("published", "pub", p.Pub, "runs", len(p.Runs), "full", p.Full, "touched", p.Touched, "took", time.Since(t0).Round(time.Millisecond))
	return p, nil
}

// checkHashes fails with errHashCollision when the shard's rows visible at
// next include one that EntityVisible's hash hides though it was not replaced.
func (s *Service) checkHashes(ctx context.Context, sh *schemas.DB, next schemas.Version) error {
	if next.Pub == next.Base {
		return nil
	}
	for _, t := range []struct{ table, key, gone string }{{"opp_facts", "opportunity_id", "opp_gone"}, {"account_facts", "account_id", "account_gone"}} {
		var n uint64
		q := schemas.HashCollisions(next, sh.Local(t.table), t.key, sh.Local(t.gone))
		if err := s.scalarOn(ctx, sh, "publish-hashes", q, &n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("publish %d: %s: %d rows: %w", next.Pub, t.table, n, errHashCollision)
		}
	}
	return nil
}

// plan decides what a publication over v does: the loaded runs it makes visible
// (a run repeating a published or earlier run's content is marked duplicate
// instead), whether it rebuilds everything (the first publication, a change of
// zone or stages, or runs that hold most of the warehouse) and whether its runs
// hold reps or accounts. It returns nil when there is nothing to publish, and
// the fingerprint the publication records.
func (s *Service) plan(ctx context.Context, v schemas.Version, t0 time.Time, full bool) (*Publication, string, error) {
	pending, published, err := s.db.PendingRuns(ctx)
	if err != nil {
		return nil, "", err
	}
	p := &Publication{Pub: v.Pub + 1, Waited: time.Since(t0)}
	for _, r := range pending {
		if first, dup := published[r.Checksum]; dup && r.Checksum != "" && first != r.ID {
			p.Duplicates = append(p.Duplicates, r.ID)
			continue
		}
		if r.Checksum != "" {
			published[r.Checksum] = r.ID
		}
		p.Runs = append(p.Runs, r.ID)
	}
	if err := s.db.MarkRuns(ctx, p.Duplicates, schemas.RunDuplicate, ""); err != nil {
		return nil, "", err
	}
	// The rates the publication converts at: those of the raw rows readers
	// will count once it commits.
	if p.fx, err = s.fxRates(ctx, "("+schemas.RawVisible(v)+" OR "+newRuns(p.Runs)+")"); err != nil {
		return nil, "", err
	}
	fp := s.servingFingerprint(p.fx)
	last, err := s.lastFingerprint(ctx)
	if err != nil {
		return nil, "", err
	}
	p.Full = full || v.Pub == 0 || last != fp
	in := newRuns(p.Runs)
	if !p.Full && len(p.Runs) > 0 {
		// Recomputing most opportunities costs more through the touched set than
		// from scratch.
		var added, visible uint64
		if err := s.scalar(ctx, "publish-size", "SELECT count() FROM opportunities WHERE "+in, &added); err != nil {
			return nil, "", err
		}
		// Versions since the last full publication: an upper bound of the visible
		// opportunities that reads one column.
		if err := s.scalar(ctx, "publish-size", "SELECT count() FROM opp_facts WHERE pub >= "+u(v.Base), &visible); err != nil {
			return nil, "", err
		}
		p.Full = added > visible/2 && added > 10000
	}
	s.log.Debug("publication phase", "phase", "size", "at", time.Since(t0).Round(time.Millisecond))
	if len(p.Runs) == 0 && !p.Full {
		return nil, "", nil
	}
	if !p.Full {
		// Only a load of reps or accounts touches the opportunities they own.
		// And only a load of leads or lead links (or reps) touches leads.
		var dims, leads uint64
		qctx, cancel := s.db.Context(ctx, "publish-dims")
		defer cancel()
		if err := s.db.Conn.QueryRow(qctx, "SELECT (SELECT count() FROM reps WHERE "+in+") + (SELECT count() FROM accounts WHERE "+in+"), "+
			"(SELECT count() FROM leads WHERE "+in+") + (SELECT count() FROM lead_links WHERE "+in+")").Scan(&dims, &leads); err != nil {
			return nil, "", fmt.Errorf("publish-dims: %w", err)
		}
		p.dims, p.leads = dims > 0, leads > 0
	}
	return p, fp, nil
}

// servingTables are the tables a publication writes, with the column that
// carries the publication number.
var servingTables = []struct{ name, col string }{
	{"publish_touched", "pub"}, {"opp_gone", "gone_at"}, {"opp_facts", "pub"}, {"opp_stays", "pub"}, {"opp_closes", "pub"}, {"opp_open", "pub"}, {"opp_moves", "pub"},
	{"rep_days", "pub"}, {"rep_dim_months", "pub"}, {"territory_days", "pub"}, {"territory_wins", "pub"},
	{"account_gone", "gone_at"}, {"account_facts", "pub"}, {"account_dims", "pub"}, {"rep_activity_days", "pub"}, {"account_days", "pub"},
	{"lead_days", "pub"}, {"cycle_days", "pub"}, {"team_days", "pub"}, {"dim_days", "pub"}, {"territory_dim_days", "pub"},
	{"stay_lens", "pub"}, {"stay_hist", "pub"}, {"deal_amounts", "pub"}, {"deal_hist", "pub"},
	{"territory_firsts", "pub"},
}

// rawTables are the tables loads write with run_id rows.
var rawTables = []string{"accounts", "reps", "opportunities", "opportunity_snapshots", "stage_events", "leads", "activities", "targets", "market", "fx_rates", "lead_links"}

func servingNames() []string {
	out := make([]string, len(servingTables))
	for i, t := range servingTables {
		out[i] = t.name
	}
	return out
}

// publishSynced is what a publication syncs before it starts.
func publishSynced() []string {
	return append(append([]string{"publications", "ingest_runs"}, rawTables...), servingNames()...)
}

// dropAbandoned deletes the rows of a publication that died before its commit
// (numbers above V) and waits until they are gone, since the next publication
// reuses the number; and, without waiting, rows older than the last full
// publication, which no reader counts.
func (s *Service) dropAbandoned(ctx context.Context, v schemas.Version) error {
	above, below, err := s.outsideRows(ctx, v)
	if err != nil {
		return err
	}
	for i, t := range servingTables {
		if above[i] > 0 {
			s.log.Warn("removing rows of an abandoned publication", "table", t.name, "rows", above[i], "above", v.Pub)
			if err := s.mutate(ctx, t.name, t.col+" > "+v.String(), true); err != nil {
				return err
			}
		}
	}
	return s.dropOld(ctx, v, below)
}

// outsideRows counts, per serving table, the rows above V and below the last
// full publication.
func (s *Service) outsideRows(ctx context.Context, v schemas.Version) (above, below []uint64, err error) {
	// One statement counts both for every table: a round trip each adds up on a
	// cluster, where every count asks every shard.
	var counts []string
	for i, t := range servingTables {
		counts = append(counts, "SELECT toUInt8("+strconv.Itoa(i)+") AS i, countIf("+t.col+" > "+v.String()+") AS above, countIf("+t.col+" < "+u(v.Base)+") AS below FROM "+t.name)
	}
	above = make([]uint64, len(servingTables))
	below = make([]uint64, len(servingTables))
	qctx, cancel := s.db.Context(ctx, "publish-abandoned")
	defer cancel()
	rows, err := s.db.Conn.Query(qctx, strings.Join(counts, " UNION ALL "))
	if err != nil {
		return nil, nil, fmt.Errorf("publish-abandoned: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i uint8
		var a, b uint64
		if err := rows.Scan(&i, &a, &b); err != nil {
			return nil, nil, fmt.Errorf("publish-abandoned: %w", err)
		}
		above[i], below[i] = a, b
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("publish-abandoned: %w", err)
	}
	return above, below, nil
}

// dropOld deletes, without waiting, the rows older than v's last full
// publication (below[i] of them in servingTables[i]).
func (s *Service) dropOld(ctx context.Context, v schemas.Version, below []uint64) error {
	for i, t := range servingTables {
		if below[i] > 0 && v.Base > 0 && t.name != "publish_touched" {
			if err := s.mutate(ctx, t.name, t.col+" < "+u(v.Base), false); err != nil {
				return err
			}
		}
	}
	return nil
}

// CollectGrace is how long the rows a full publication replaced stay after it
// commits: a request that took the version before it reads them until it ends.
const CollectGrace = 10 * time.Minute

// Collect deletes the serving rows older than the last full publication once
// it has been visible for grace: no reader of it or of a later version counts
// them, but every read reads them (after a full rebuild, twice the rows of
// opp_facts) until they go. The next publication deletes them too
// (dropAbandoned); Collect does not wait for one. Once a base is collected it
// costs one read of publications.
func (s *Service) Collect(ctx context.Context, grace time.Duration) error {
	v, err := s.db.CurrentVersion(ctx)
	if err != nil || v.Base == 0 || s.collected.Load() == v.Base {
		return err
	}
	var at time.Time
	if err := s.scalar(ctx, "collect-age", "SELECT max(published_at) FROM publications WHERE pub = "+u(v.Base), &at); err != nil {
		return err
	}
	if time.Since(at) < grace {
		return nil
	}
	_, below, err := s.outsideRows(ctx, v)
	if err != nil {
		return err
	}
	if err := s.dropOld(ctx, v, below); err != nil {
		return err
	}
	s.collected.Store(v.Base)
	return nil
}

// clearDelta drops every partition of publish_delta (one per publication: the
// one that just committed, or one a killed publication left).
func (s *Service) clearDelta(ctx context.Context) error {
	return s.db.EachShard(ctx, func(ctx context.Context, sh *schemas.DB) error {
		local := sh.Local("publish_delta")
		qctx, cancel := sh.Context(ctx, "publish-delta-parts")
		rows, err := sh.Conn.Query(qctx, "SELECT DISTINCT partition_id FROM system.parts WHERE database = currentDatabase() AND table = ? AND active", local)
		if err != nil {
			cancel()
			return fmt.Errorf("list the partitions of %s: %w", local, err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				cancel()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		cancel()
		for _, id := range ids {
			if err := sh.Exec(ctx, "publish-delta-drop", "ALTER TABLE "+local+" DROP PARTITION ID '"+strings.ReplaceAll(id, "'", "")+"'"); err != nil {
				return fmt.Errorf("drop partition %s of %s: %w", id, local, err)
			}
		}
		return nil
	})
}

// mutate deletes rows of a table (on each shard's local table in cluster mode)
// and, with wait, polls until ClickHouse has applied the mutation.
func (s *Service) mutate(ctx context.Context, table, where string, wait bool) error {
	return s.db.EachShard(ctx, func(ctx context.Context, sh *schemas.DB) error {
		local := sh.Local(table)
		if err := sh.Exec(ctx, "publish-mutate", "ALTER TABLE "+local+" DELETE WHERE "+where); err != nil {
			return fmt.Errorf("delete from %s: %w", local, err)
		}
		for wait {
			var left uint64
			qctx, cancel := sh.Context(ctx, "publish-mutation-wait")
			err := sh.Conn.QueryRow(qctx, "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND table = ? AND is_done = 0", local).Scan(&left)
			cancel()
			if err != nil {
				return fmt.Errorf("wait for the delete on %s: %w", local, err)
			}
			if left == 0 {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		return nil
	})
}

// servingFingerprint names what serving rows depend on besides the raw rows.
// servingVersion names the serving tables' layout: a home whose last
// publication had another is rebuilt by a full publication (8: account_days;
// 9: a deal's account and owner names fall back to their ids; 10: lead_days;
// 11: opp_stays; 12: opp_closes; 13: opp_open; 14: rep_dim_months; 15:
// opp_open's stage entries and forecast category; 16: the account on
// opp_closes and opp_open; 17: opp_closes sorted by won first; 18:
// cycle_days; 19: team_days; 20: dim_days; 21: account_dims; 22: territory_dim_days; 23: rep_dim_months' lost amount; 24: opp_closes' stage entries and forecast
// category; 25: stay_hist and stay_lens; 26: deal_hist and deal_amounts, and
// stay_hist's rows of every value; 27: territory_firsts).
const servingVersion = "27"

func (s *Service) servingFingerprint(fx fxRates) string {
	fp := "tz=" + s.tz + " stages=" + strings.Join(s.stages, ",") + " serving=" + servingVersion
	if s.currency != "" {
		// Only with a reporting currency: the fingerprints of warehouses
		// without one stay as they were (no rebuild on upgrade).
		fp += " fx=" + s.currency + ":" + fx.fingerprint()
	}
	return fp
}

// ServingStale says whether the last publication was written with another
// layout of the serving tables than this build's (servingVersion): until a
// publication rebuilds them, a table this build reads may lack its rows. A
// warehouse with nothing published is not stale.
func (s *Service) ServingStale(ctx context.Context) (bool, error) {
	fp, err := s.lastFingerprint(ctx)
	if err != nil || fp == "" {
		return false, err
	}
	return !strings.Contains(fp+" ", " serving="+servingVersion+" "), nil
}

func (s *Service) lastFingerprint(ctx context.Context) (string, error) {
	var fp string
	err := s.scalar(ctx, "publish-fingerprint", "SELECT argMax(fingerprint, pub) FROM publications", &fp)
	return fp, err
}

func (s *Service) scalar(ctx context.Context, purpose, q string, dest any) error {
	return s.scalarOn(ctx, s.db, purpose, q, dest)
}

// scalarOn is scalar on db (a shard's server in cluster mode).
func (s *Service) scalarOn(ctx context.Context, db *schemas.DB, purpose, q string, dest any) error {
	qctx, cancel := db.Context(ctx, purpose)
	defer cancel()
	if err := db.Conn.QueryRow(qctx, q).Scan(dest); err != nil {
		return fmt.Errorf("%s: %w", purpose, err)
	}
	return nil
}

// exec runs one statement of a publication on db (a shard's server in cluster
// mode); they may take minutes at millions of deals when a publication rebuilds
// everything.
func (s *Service) exec(ctx context.Context, db *schemas.DB, purpose, q string) error {
	c, cancel := db.ContextTimeout(ctx, purpose, 30*time.Minute)
	defer cancel()
	return db.Conn.Exec(c, q)
}

func u(n uint64) string { return strconv.FormatUint(n, 10) }
