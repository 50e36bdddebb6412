package query

import (
	"context"
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
	defer lease.Release(ctx)
	p, err := s.publish(ctx, lease)
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

func (s *Service) publish(ctx context.Context, lease *schemas.Lease) (*Publication, error) {
	t0 := time.Now()
	v, err := s.db.CurrentVersion(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.dropAbandoned(ctx, v); err != nil {
		return nil, err
	}
	pending, published, err := s.db.PendingRuns(ctx)
	if err != nil {
		return nil, err
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
		return nil, err
	}
	fp := s.servingFingerprint()
	last, err := s.lastFingerprint(ctx)
	if err != nil {
		return nil, err
	}
	p.Full = v.Pub == 0 || last != fp
	if !p.Full && len(p.Runs) > 0 {
		// Recomputing most opportunities costs more through the touched set than
		// from scratch.
		var added, visible uint64
		b := s.builder(v, p)
		if err := s.scalar(ctx, "publish-size", "SELECT count() FROM opportunities WHERE "+b.newRuns(), &added); err != nil {
			return nil, err
		}
		if err := s.scalar(ctx, "publish-size", "SELECT count() FROM opp_facts WHERE "+schemas.EntityVisible(v, "opportunity_id", "opp_gone"), &visible); err != nil {
			return nil, err
		}
		p.Full = added > visible/2 && added > 10000
	}
	if len(p.Runs) == 0 && !p.Full {
		return nil, nil
	}
	schemas.FaultPoint("publish-start")
	b := s.builder(v, p)
	for _, st := range b.steps() {
		t := time.Now()
		if err := s.exec(ctx, "publish-"+st.name, st.sql); err != nil {
			return nil, fmt.Errorf("publish %d: %s: %w", p.Pub, st.name, err)
		}
		s.log.Debug("publication step", "pub", p.Pub, "step", st.name, "took", time.Since(t).Round(time.Millisecond))
		schemas.FaultPoint("publish-" + st.name)
	}
	if err := s.scalar(ctx, "publish-touched", "SELECT count() FROM publish_touched WHERE pub = "+u(p.Pub)+" AND kind = 'opp'", &p.Touched); err != nil {
		return nil, err
	}
	if err := lease.Check(ctx); err != nil {
		return nil, fmt.Errorf("publish %d: %w", p.Pub, err)
	}
	full := 0
	if p.Full {
		full = 1
	}
	err = s.db.InsertRows(ctx, "publish-commit", "INSERT INTO publications (pub, runs, full, fingerprint, touched, published_at)",
		[]any{p.Pub, p.Runs, uint8(full), fp, p.Touched, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return nil, fmt.Errorf("publish %d: record: %w", p.Pub, err)
	}
	schemas.FaultPoint("publish-committed")
	// The publication is the commit; the run states are for reports (a run listed
	// by a publication reads as committed whatever its last state says).
	if err := s.db.MarkRuns(context.WithoutCancel(ctx), p.Runs, schemas.RunCommitted, ""); err != nil {
		s.log.Warn("mark published runs committed", "pub", p.Pub, "err", err)
	}
	s.log.Info("published", "pub", p.Pub, "runs", len(p.Runs), "full", p.Full, "touched", p.Touched, "took", time.Since(t0).Round(time.Millisecond))
	return p, nil
}

// servingTables are the tables a publication writes, with the column that
// carries the publication number.
var servingTables = []struct{ name, col string }{
	{"publish_touched", "pub"}, {"opp_gone", "gone_at"}, {"opp_facts", "pub"}, {"opp_moves", "pub"},
	{"rep_days", "pub"}, {"territory_days", "pub"}, {"territory_wins", "pub"},
	{"account_gone", "gone_at"}, {"account_facts", "pub"}, {"rep_activity_days", "pub"},
}

// dropAbandoned deletes the rows of a publication that died before its commit
// (numbers above V) and waits until they are gone, since the next publication
// reuses the number; and, without waiting, rows older than the last full
// publication, which no reader counts.
func (s *Service) dropAbandoned(ctx context.Context, v schemas.Version) error {
	for _, t := range servingTables {
		var n uint64
		if err := s.scalar(ctx, "publish-abandoned", "SELECT count() FROM "+t.name+" WHERE "+t.col+" > "+v.String(), &n); err != nil {
			return err
		}
		if n > 0 {
			s.log.Warn("removing rows of an abandoned publication", "table", t.name, "rows", n, "above", v.Pub)
			if err := s.mutate(ctx, t.name, t.col+" > "+v.String(), true); err != nil {
				return err
			}
		}
		if v.Base > 0 && t.name != "publish_touched" {
			var old uint64
			if err := s.scalar(ctx, "publish-superseded", "SELECT count() FROM "+t.name+" WHERE "+t.col+" < "+u(v.Base), &old); err != nil {
				return err
			}
			if old > 0 {
				if err := s.mutate(ctx, t.name, t.col+" < "+u(v.Base), false); err != nil {
					return err
				}
			}
		}
	}
	return nil
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
func (s *Service) servingFingerprint() string {
	return "tz=" + s.tz + " stages=" + strings.Join(s.stages, ",")
}

func (s *Service) lastFingerprint(ctx context.Context) (string, error) {
	var fp string
	err := s.scalar(ctx, "publish-fingerprint", "SELECT argMax(fingerprint, pub) FROM publications", &fp)
	return fp, err
}

func (s *Service) scalar(ctx context.Context, purpose, q string, dest any) error {
	qctx, cancel := s.db.Context(ctx, purpose)
	defer cancel()
	if err := s.db.Conn.QueryRow(qctx, q).Scan(dest); err != nil {
		return fmt.Errorf("%s: %w", purpose, err)
	}
	return nil
}

// exec runs one statement of a publication (they may take minutes at millions
// of deals when a publication rebuilds everything).
func (s *Service) exec(ctx context.Context, purpose, q string) error {
	c, cancel := s.db.ContextTimeout(ctx, purpose, 30*time.Minute)
	defer cancel()
	return s.db.Conn.Exec(c, q)
}

func u(n uint64) string { return strconv.FormatUint(n, 10) }
