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
// team_days, dim_days or cycle_days cost 3-4 ms of ClickHouse CPU each under
// load, about half of it analysing the statement (a perf profile of
// clickhouse-server), whatever the rows; a cold overview issued seven of them.
// Such a table is read once per publication and process, summed per key at
// that version, and ranges of it are summed in Go (teamcube.go, dimcube.go,
// closes.go, repcube.go). At the large sample a version of team_days is
// 47,628 rows of about 250 bytes (12 MB) and one of cycle_days 110k rows of
// 48 bytes (5 MB), computed from the row types; the whole read took 0.64 and
// 0.54 s beside a cold page, and an incremental publication's copy reads that
// publication's rows only (perVersion.get).

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

// readFn reads a table's value at ctx's version: all of it when prev is nil,
// else prev's value (at an earlier version with the same base) and the rows of
// the publications after since.
type readFn[T any] func(ctx context.Context, prev T, since uint64) (T, error)

// get returns read's value at ctx's version (table names it in the log),
// reading it once per version: detached from the first caller's cancellation
// (a caller that leaves does not fail the others), and not kept when it
// fails. Keys carry the version, so a load by any process is seen at once.
// When a version with the same base is kept, the new one extends it with the
// rows of the publications since (delta rows of later publications only add
// to a base's sums), so a load every few seconds reads its own rows only.
func (p *perVersion[T]) get(ctx context.Context, s *Service, table string, read readFn[T]) (T, error) {
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
		prev, since := p.extendable(v)
		l = &versionLoad[T]{done: make(chan struct{})}
		p.m[v] = l
		go func() {
			t0 := time.Now()
			l.val, l.err = read(AsOf(context.WithoutCancel(ctx), v), prev, since)
			s.log.Debug("read into memory", "table", table, "pub", v.Pub, "since", since, "took", time.Since(t0), "err", l.err)
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

// extendable is the kept value v can extend (read, same base, the latest
// before v) and its publication; since is 0 when there is none. Call with
// p.mu held.
func (p *perVersion[T]) extendable(v schemas.Version) (prev T, since uint64) {
	for k, l := range p.m {
		if k.Base != v.Base || k.Pub >= v.Pub || k.Pub <= since {
			continue
		}
		select {
		case <-l.done:
			if l.err == nil {
				prev, since = l.val, k.Pub
			}
		default:
		}
	}
	return prev, since
}

// readRows is the WHERE condition of a readFn's statement over a delta table:
// every visible row, or, when it extends a kept value, the rows of the
// publications after since.
func readRows(extend bool, since uint64) string {
	if extend {
		return tokDelta + " AND pub > " + u(since)
	}
	return tokDelta
}

// mergeRows is old and add, both sorted by compare and unique by it, as one
// sorted slice with the rows of equal keys combined (combine adds src to dst,
// which it may not share memory with old). old is not modified.
func mergeRows[R any](old, add []R, compare func(a, b *R) int, combine func(dst, src *R)) []R {
	out := make([]R, 0, len(old)+len(add))
	i, j := 0, 0
	for i < len(old) || j < len(add) {
		switch {
		case j == len(add) || i < len(old) && compare(&old[i], &add[j]) < 0:
			out = append(out, old[i])
			i++
		case i == len(old) || compare(&old[i], &add[j]) > 0:
			out = append(out, add[j])
			j++
		default:
			out = append(out, old[i])
			combine(&out[len(out)-1], &add[j])
			i++
			j++
		}
	}
	return out
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

// interned numbers the distinct values it is given in order of first sight:
// the in-memory copies keep strings (and keys of strings) as these codes.
type interned[K comparable] struct {
	list []K // code -> value
	at   map[K]int32
}

// code is v's code, a new one when v is new.
func (n *interned[K]) code(v K) int32 {
	i, ok := n.at[v]
	if !ok {
		if n.at == nil {
			n.at = map[K]int32{}
		}
		i = int32(len(n.list))
		n.list = append(n.list, v)
		n.at[v] = i
	}
	return i
}

// extend is a copy of n that codes as n does and adds codes of its own
// (n's list is not written).
func (n *interned[K]) extend() interned[K] {
	x := interned[K]{list: slices.Clip(n.list), at: make(map[K]int32, len(n.list))}
	for i, v := range n.list {
		x.at[v] = int32(i)
	}
	return x
}
