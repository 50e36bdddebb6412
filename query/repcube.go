package query

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// rep_days and rep_activity_days in memory (inmemory.go), for the scorecards
// of a filter by owners only (rep, team, manager). Each /api/v1/reps without a
// deal filter read a year of rep_days per owner (eleven months' rows and the
// days around them, 22k rows: 9-10 ms of ClickHouse at the large sample, most
// of it summing the stage arrays) and rep_activity_days (6 ms).
//
// repCube keeps every month row of rep_days and the day rows of the last
// repCubeDays days before the newest one: a range whose days outside its
// whole months fall in that window (every range that starts within about
// thirteen months of the data's end) is summed in Go; an older range reads
// rep_days as before. At the large sample that is 20,202 month rows and
// 218k day rows of 156 bytes (34 MB); a day grain for all 1,116 days would
// take 91 MB. actCube keeps rep_activity_days per rep and day whole (596k
// rows of 12 bytes at the large sample).

// repCubeDays is how many days before the newest day repCube holds at day
// grain.
const repCubeDays = 400

// repKey is an owner as rep_days groups them.
type repKey struct{ owner, team, manager string }

// repRow is one row of a repCube: its key and day, and where its values start
// in the cube's slabs.
type repRow struct {
	grain uint8
	day   int32 // days since 1970-01-01
	key   int32 // index in repCube.keys
	at    int32 // index of the row's first value in cnt and sum
}

// repCube is rep_days at one publication summed per (grain, day, owner, team,
// manager), rows sorted by (grain, day, key).
type repCube struct {
	start int32 // the first day held at day grain
	keys  []repKey
	index map[repKey]int32
	rows  []repRow
	// w values per row in each slab: cnt holds reached[k], left[k], cohortWon,
	// won, lost and entries (two's complement wraps as in ClickHouse's sums);
	// sum holds days[k], daysSq[k], wonAmt, wonAmtSq, cycSum and cycSq.
	w   int
	cnt []uint32
	sum []float64
}

// repSumCols are rep_days' sums the scorecards read, in the order scanSums
// reads them after its leading columns.
const repSumCols = "sumForEach(reached), sum(created_won), sum(won), sum(lost), sum(won_amount), sum(won_amount_sq), sum(cycle_sum), sum(cycle_sq), " +
	"sumForEach(stage_left), sumForEach(stage_days), sumForEach(stage_days_sq), sum(arraySum(stage_entries))"

// put writes x's numbers to the w values at cnt and sum.
func (s *Service) put(cnt []uint32, sum []float64, x *repSums) {
	k := len(s.stages)
	for i := range k {
		cnt[i], cnt[k+i] = uint32(x.reached[i]), uint32(x.left[i])
		sum[i], sum[k+i] = x.days[i], x.daysSq[i]
	}
	copy(cnt[2*k:], []uint32{uint32(x.cohortWon), uint32(x.won), uint32(x.lost), uint32(x.entries)})
	copy(sum[2*k:], []float64{x.wonAmt, x.wonAmtSq, x.cycSum, x.cycSq})
}

// sumsAt reads the w values at cnt and sum back as repSums.
func (s *Service) sumsAt(cnt []uint32, sum []float64) *repSums {
	k := len(s.stages)
	x := s.newSums()
	for i := range k {
		x.reached[i], x.left[i] = uint64(cnt[i]), uint64(cnt[k+i])
		x.days[i], x.daysSq[i] = sum[i], sum[k+i]
	}
	x.cohortWon, x.won, x.lost, x.entries = uint64(cnt[2*k]), uint64(cnt[2*k+1]), uint64(cnt[2*k+2]), uint64(cnt[2*k+3])
	x.wonAmt, x.wonAmtSq, x.cycSum, x.cycSq = sum[2*k], sum[2*k+1], sum[2*k+2], sum[2*k+3]
	return x
}

// epochDay is t's date as days since 1970-01-01.
func epochDay(t time.Time) int32 { return int32(dayOf(t).Unix() / 86400) }

func dateOfEpoch(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// covers: every day f's range takes at day grain (those outside its whole
// months) is in the cube.
func (c *repCube) covers(f Filter) bool {
	first := f.From
	if m0, m1, ok := wholeMonths(f); ok {
		switch {
		case f.From.Before(m0):
		case m1.Before(f.To):
			first = m1
		default:
			return true
		}
	}
	return epochDay(first) >= c.start
}

// repCubeSums adds up, per owner, the rows of f's range (rangeRows) whose key f's
// rep, team and manager filters select.
func (s *Service) repCubeSums(c *repCube, f Filter) map[string]*repSums {
	owner := map[string]int{}
	keyOwner := make([]int, len(c.keys)) // -1: not selected
	var names []string
	for i, k := range c.keys {
		if !selects(f.Rep, k.owner) || !selects(f.Team, k.team) || !selects(f.Manager, k.manager) {
			keyOwner[i] = -1
			continue
		}
		o, ok := owner[k.owner]
		if !ok {
			o = len(names)
			owner[k.owner] = o
			names = append(names, k.owner)
		}
		keyOwner[i] = o
	}
	w := c.w
	cnt, sum := make([]uint32, len(names)*w), make([]float64, len(names)*w)
	at := func(r *repRow) (uint8, time.Time) { return r.grain, dateOfEpoch(r.day) }
	rangeRows(c.rows, at, f, false, func(r *repRow) {
		o := keyOwner[r.key]
		if o < 0 {
			return
		}
		dc, ds := cnt[o*w:(o+1)*w], sum[o*w:(o+1)*w]
		sc, ss := c.cnt[r.at:int(r.at)+w], c.sum[r.at:int(r.at)+w]
		for i := range w {
			dc[i] += sc[i]
			ds[i] += ss[i]
		}
	})
	out := make(map[string]*repSums, len(names))
	for o, id := range names {
		out[id] = s.sumsAt(cnt[o*w:(o+1)*w], sum[o*w:(o+1)*w])
	}
	return out
}

// selects: v is in set, or set is empty (no filter).
func selects(set []string, v string) bool { return len(set) == 0 || slices.Contains(set, v) }

// repCube returns rep_days at ctx's version.
func (s *Service) repCube(ctx context.Context) (*repCube, error) {
	return s.reps.get(ctx, s, "rep_days", s.readRepCube)
}

// readRepCube reads rep_days at ctx's version summed per key: every month row
// and the day rows from repCubeDays before the newest day on, or prev's rows
// and those of the publications after since from prev's first day on (the
// window grows with the days later loads add, until a full publication).
func (s *Service) readRepCube(ctx context.Context, prev *repCube, since uint64) (*repCube, error) {
	k := len(s.stages)
	c := &repCube{w: 2*k + 4, index: map[repKey]int32{}}
	if prev != nil && len(prev.rows) == 0 {
		prev = nil // no newest day to count the window from yet
	}
	if prev != nil {
		c.start, c.keys = prev.start, slices.Clip(prev.keys)
		for i, key := range c.keys {
			c.index[key] = int32(i)
		}
	} else {
		var newest time.Time
		err := s.query(ctx, "rep-cube-newest", "SELECT max(day) FROM rep_days WHERE "+tokDelta+" AND grain = 0", nil, func(r driverRows) error {
			return r.Scan(&newest)
		})
		if err != nil {
			return nil, err
		}
		c.start = epochDay(newest) - repCubeDays
	}
	q := "SELECT grain, day, owner_id, team, manager_id, " + repSumCols + " FROM rep_days WHERE " + readRows(prev != nil, since) +
		" AND (grain = 1 OR day >= toDate(?)) GROUP BY grain, day, owner_id, team, manager_id"
	err := s.query(ctx, "rep-cube", q, []any{day(dateOfEpoch(c.start))}, func(r driverRows) error {
		var g uint8
		var d time.Time
		var key repKey
		x, err := s.scanSums(r, &g, &d, &key.owner, &key.team, &key.manager)
		if err != nil {
			return err
		}
		i, ok := c.index[key]
		if !ok {
			i = int32(len(c.keys))
			c.keys = append(c.keys, key)
			c.index[key] = i
		}
		at := int32(len(c.cnt))
		c.cnt, c.sum = slices.Grow(c.cnt, c.w)[:int(at)+c.w], slices.Grow(c.sum, c.w)[:int(at)+c.w]
		s.put(c.cnt[at:], c.sum[at:], x)
		c.rows = append(c.rows, repRow{grain: g, day: epochDay(d), key: i, at: at})
		return nil
	})
	if err != nil {
		return nil, err
	}
	order := func(a, b *repRow) int {
		return cmp.Or(cmp.Compare(a.grain, b.grain), cmp.Compare(a.day, b.day), cmp.Compare(a.key, b.key))
	}
	slices.SortFunc(c.rows, func(a, b repRow) int { return order(&a, &b) })
	if prev == nil {
		return c, nil
	}
	// prev's values first, copied (prev still serves its version), then the
	// new rows' after them; a key both hold adds the new values to the copy.
	n := int32(len(prev.cnt))
	cnt, sum := append(slices.Clone(prev.cnt), c.cnt...), append(slices.Clone(prev.sum), c.sum...)
	for i := range c.rows {
		c.rows[i].at += n
	}
	c.rows = mergeRows(prev.rows, c.rows, order, func(dst, src *repRow) {
		for i := range c.w {
			cnt[int(dst.at)+i] += cnt[int(src.at)+i]
			sum[int(dst.at)+i] += sum[int(src.at)+i]
		}
	})
	c.cnt, c.sum = cnt, sum
	return c, nil
}

// actRow is one rep's activities on one day.
type actRow struct {
	day, rep int32 // days since 1970-01-01; index in actCube.reps
	n        uint32
}

// actCube is rep_activity_days at one publication summed per day and rep,
// sorted by (day, rep).
type actCube struct {
	reps  []string
	index map[string]int32
	rows  []actRow
}

// actCube returns rep_activity_days at ctx's version.
func (s *Service) actCube(ctx context.Context) (*actCube, error) {
	return s.acts.get(ctx, s, "rep_activity_days", s.readActCube)
}

// readActCube reads rep_activity_days at ctx's version summed per day and
// rep: all of it, or prev's rows and those of the publications after since.
func (s *Service) readActCube(ctx context.Context, prev *actCube, since uint64) (*actCube, error) {
	c := &actCube{index: map[string]int32{}}
	if prev != nil {
		c.reps = slices.Clip(prev.reps)
		for i, id := range c.reps {
			c.index[id] = int32(i)
		}
	}
	q := "SELECT day, rep_id, sum(activities) FROM rep_activity_days WHERE " + readRows(prev != nil, since) + " GROUP BY day, rep_id"
	err := s.query(ctx, "activity-cube", q, nil, func(r driverRows) error {
		var d time.Time
		var id string
		var n uint64
		if err := r.Scan(&d, &id, &n); err != nil {
			return err
		}
		i, ok := c.index[id]
		if !ok {
			i = int32(len(c.reps))
			c.reps = append(c.reps, id)
			c.index[id] = i
		}
		c.rows = append(c.rows, actRow{day: epochDay(d), rep: i, n: uint32(n)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	order := func(a, b *actRow) int { return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.rep, b.rep)) }
	slices.SortFunc(c.rows, func(a, b actRow) int { return order(&a, &b) })
	if prev != nil {
		c.rows = mergeRows(prev.rows, c.rows, order, func(dst, src *actRow) { dst.n += src.n })
	}
	return c, nil
}

// counts is the activities per rep in f's range of the reps keep selects:
// every rep with a row in the range, as the statement's GROUP BY lists them.
func (c *actCube) counts(f Filter, keep func(id string) bool) map[string]int64 {
	sel := make([]bool, len(c.reps))
	for i, id := range c.reps {
		sel[i] = keep(id)
	}
	from, to := epochDay(f.From), epochDay(f.To)
	i, _ := slices.BinarySearchFunc(c.rows, from, func(r actRow, d int32) int { return cmp.Compare(r.day, d) })
	per, seen := make([]uint32, len(c.reps)), make([]bool, len(c.reps))
	for ; i < len(c.rows) && c.rows[i].day < to; i++ {
		if r := c.rows[i]; sel[r.rep] {
			per[r.rep] += r.n
			seen[r.rep] = true
		}
	}
	out := map[string]int64{}
	for i, n := range per {
		if seen[i] {
			out[c.reps[i]] = int64(n)
		}
	}
	return out
}
