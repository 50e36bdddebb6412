package query

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/pipelens/pipelens/schemas"
)

// Small delta tables in memory. Statements over a few thousand rows of
// team_days or cycle_days cost 3-4 ms of ClickHouse CPU each under load, about
// half of it analysing the statement (a perf profile of clickhouse-server),
// whatever the rows; a cold overview issued seven of them. Such a table is
// read once per publication and process, summed per key at that version, and
// ranges of it are summed in Go (teamcube.go, closes.go). At the large sample
// a version of team_days is 47,628 rows of about 250 bytes (12 MB) and one of
// cycle_days 110k rows of 48 bytes (5 MB), computed from the row types; the
// read took 0.64 and 0.54 s beside a cold page.

// perVersion keeps a value read once per publication for the last
// versionsKept versions read.
type perVersion[T any] struct {
	mu sync.Mutex
	m  map[schemas.Version]*versionLoad[T]
}

// versionLoad is a value being read or read; done closes when val or err is set.
type versionLoad[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// versionsKept: the latest publication and the one before it, which requests
// that started before the latest still read.
const versionsKept = 2

func newPerVersion[T any]() *perVersion[T] {
	return &perVersion[T]{m: map[schemas.Version]*versionLoad[T]{}}
}

// get returns read's value at ctx's version (table names it in the log),
// reading it once per version:
// detached from the first caller's cancellation (a caller that leaves does
// not fail the others), and not kept when it fails. Keys carry the version,
// so a load by any process is seen at once.
func (p *perVersion[T]) get(ctx context.Context, s *Service, table string, read func(context.Context) (T, error)) (T, error) {
	var zero T
	v, err := s.Version(ctx)
	if err != nil {
		return zero, err
	}
	p.mu.Lock()
	l, ok := p.m[v]
	if !ok {
		for len(p.m) >= versionsKept {
			oldest := slices.MinFunc(slices.Collect(maps.Keys(p.m)), func(a, b schemas.Version) int { return cmp.Compare(a.Pub, b.Pub) })
			delete(p.m, oldest)
		}
		l = &versionLoad[T]{done: make(chan struct{})}
		p.m[v] = l
		go func() {
			t0 := time.Now()
			l.val, l.err = read(AsOf(context.WithoutCancel(ctx), v))
			s.log.Debug("read into memory", "table", table, "pub", v.Pub, "took", time.Since(t0), "err", l.err)
			if l.err != nil {
				p.mu.Lock()
				if p.m[v] == l {
					delete(p.m, v)
				}
				p.mu.Unlock()
			}
			close(l.done)
		}()
	}
	p.mu.Unlock()
	select {
	case <-l.done:
		return l.val, l.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// dayOf is t's calendar date as the driver reads a Date: UTC midnight.
func dayOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// rangeRows calls fn for the rows that make up f's range in rows sorted by
// (grain, day) (at: a row's grain and day): grainRange's rows, the whole
// months at grain 1 and the days around them at grain 0, or days only with
// daysOnly.
func rangeRows[R any](rows []R, at func(*R) (uint8, time.Time), f Filter, daysOnly bool, fn func(*R)) {
	span := func(g uint8, from, to time.Time) {
		from, to = dayOf(from), dayOf(to)
		i := sort.Search(len(rows), func(i int) bool {
			rg, d := at(&rows[i])
			return rg > g || rg == g && !d.Before(from)
		})
		for ; i < len(rows); i++ {
			if rg, d := at(&rows[i]); rg != g || !d.Before(to) {
				return
			}
			fn(&rows[i])
		}
	}
	if m0, m1, ok := wholeMonths(f); ok && !daysOnly {
		span(1, m0, m1)
		span(0, f.From, m0)
		span(0, m1, f.To)
		return
	}
	span(0, f.From, f.To)
}
