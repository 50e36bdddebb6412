package query

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// rep_days and rep_activity_days in memory (inmemory.go), for the scorecards
// and the win rate per rep under a filter by owners only (rep, team,
// manager). Each /api/v1/reps without a deal filter read a year of rep_days
// per owner (eleven months' rows and the days around them, 22k rows: 9-10 ms
// of ClickHouse at the large sample, most of it summing the stage arrays) and
// rep_activity_days (6 ms); /api/v1/winrate?group_by=rep read the same rows.
//
// repCube keeps every month row of rep_days and the day rows of the last
// repCubeDays days before the newest one: a range whose days outside its
// whole months fall in that window (every range that starts within about
// thirteen months of the data's end) is summed in Go; an older range reads
// rep_days as before. At the large sample that is 20,202 month rows and
// 218k day rows of 184 bytes (40 MB); a day grain for all 1,116 days would
// take 110 MB. actCube keeps rep_activity_days per rep and day whole (596k
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
	key   int32 // code in repCube.keys
	at    int32 // index of the row's first values in cnt and sum (times wc and ws)
	// name is the owner_name (code in repCube.names) of the row's newest
	// source row, ver that row's (pub, sign) as pub*2 + (sign = 1): the
	// rep's name as argMax(owner_name, (pub, sign)) over a range gives it
	// (rollupLabel).
	name int32
	ver  uint64
}

// repCube is rep_days at one publication summed per (grain, day, owner, team,
// manager), rows sorted by (grain, day, key).
type repCube struct {
	start int32 // the first day held at day grain
	keys  interned[repKey]
	names interned[string]
	rows  []repRow
	// wc values per row in cnt: reached[k], left[k], cohortWon, won, lost
	// and entries (two's complement wraps as in ClickHouse's sums); ws in
	// sum: days[k], daysSq[k], wonAmt, wonAmtSq, cycSum, cycSq and lostAmt.
	wc, ws int
	cnt    []uint32
	sum    []float64
}

// repCubeCols are repRollupCols' sums (and lost_amount) in the order of a
// repCube row's values (cnt's, then sum's), each array element summed as its
// own column: the rows scan into fixed destinations, where sumForEach's
// arrays cost an allocation each (a full read at the large sample allocated a
// slice per array per row).
func repCubeCols(k int) string {
	var cols []string
	each := func(arr string) {
		for i := 1; i <= k; i++ {
			cols = append(cols, fmt.Sprintf("sum(%s[%d])", arr, i))
		}
	}
	each("reached")
	each("stage_left")
	cols = append(cols, "sum(created_won)", "sum(won)", "sum(lost)", "sum(arraySum(stage_entries))")
	each("stage_days")
	each("stage_days_sq")
	cols = append(cols, "sum(won_amount)", "sum(won_amount_sq)", "sum(cycle_sum)", "sum(cycle_sq)", "sum(lost_amount)")
	return strings.Join(cols, ", ")
}

// sumsAt reads the values at cnt and sum back as repSums.
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

// ownerSums are a repCube's rows of a range added up per owner.
type ownerSums struct {
	ids   []string // owners in key order of first appearance
	names []string // each owner's newest name in the range's rows
	cnt   []uint32 // wc values per owner
	sum   []float64
}

// perOwner adds up, per owner, the rows of f's range (rangeRows) whose key
// f's rep, team and manager filters select.
func (c *repCube) perOwner(f Filter) ownerSums {
	owner := map[string]int{}
	keyOwner := make([]int, len(c.keys.list)) // -1: not selected
	var o ownerSums
	for i, k := range c.keys.list {
		if !selects(f.Rep, k.owner) || !selects(f.Team, k.team) || !selects(f.Manager, k.manager) {
			keyOwner[i] = -1
			continue
		}
		n, ok := owner[k.owner]
		if !ok {
			n = len(o.ids)
			owner[k.owner] = n
			o.ids = append(o.ids, k.owner)
		}
		keyOwner[i] = n
	}
	wc, ws := c.wc, c.ws
	o.cnt, o.sum = make([]uint32, len(o.ids)*wc), make([]float64, len(o.ids)*ws)
	// Every row's ver is at least 2 (publications start at 1), so 0 is
	// "no row yet".
	name, ver := make([]int32, len(o.ids)), make([]uint64, len(o.ids))
	at := func(r *repRow) (uint8, time.Time) { return r.grain, dateOfEpoch(r.day) }
	rangeRows(c.rows, at, f, false, func(r *repRow) {
		n := keyOwner[r.key]
		if n < 0 {
			return
		}
		dc, ds := o.cnt[n*wc:(n+1)*wc], o.sum[n*ws:(n+1)*ws]
		sc, ss := c.cnt[int(r.at)*wc:int(r.at+1)*wc], c.sum[int(r.at)*ws:int(r.at+1)*ws]
		for i := range wc {
			dc[i] += sc[i]
		}
		for i := range ws {
			ds[i] += ss[i]
		}
		if r.ver > ver[n] {
			name[n], ver[n] = r.name, r.ver
		}
	})
	o.names = make([]string, len(o.ids))
	for n := range o.ids {
		o.names[n] = c.names.list[name[n]]
	}
	return o
}

// repCubeSums is the cube's rows of f's range per owner as repSums.
func (s *Service) repCubeSums(c *repCube, f Filter) map[string]*repSums {
	o := c.perOwner(f)
	out := make(map[string]*repSums, len(o.ids))
	for n, id := range o.ids {
		out[id] = s.sumsAt(o.cnt[n*c.wc:(n+1)*c.wc], o.sum[n*c.ws:(n+1)*c.ws])
	}
	return out
}

// winRateByRep adds to out the win rate of each owner with closed deals in
// f's range, ordered by owner, named as the statement over rep_days names
// them: what WinRate reads from rep_days under an owner-only filter, grouped
// by rep or not at all.
func (s *Service) winRateByRep(c *repCube, f Filter, out *WinRate) {
	o := c.perOwner(f)
	k := len(s.stages)
	var groups []WinRateGroup
	for n, id := range o.ids {
		cnt, sum := o.cnt[n*c.wc:(n+1)*c.wc], o.sum[n*c.ws:(n+1)*c.ws]
		g := WinRateGroup{Key: id, Name: o.names[n], Won: int64(cnt[2*k+1]), Lost: int64(cnt[2*k+2]), WonAmount: sum[2*k], LostAmount: sum[2*k+4]}
		if g.Won+g.Lost > 0 {
			groups = append(groups, g)
		}
	}
	if out.GroupBy == "" {
		all := WinRateGroup{Key: "all", Name: "all"}
		for _, g := range groups {
			all.Won, all.Lost, all.WonAmount, all.LostAmount = all.Won+g.Won, all.Lost+g.Lost, all.WonAmount+g.WonAmount, all.LostAmount+g.LostAmount
		}
		groups = groups[:0]
		if all.Won+all.Lost > 0 {
			groups = append(groups, all)
		}
	}
	slices.SortFunc(groups, func(a, b WinRateGroup) int { return cmp.Compare(a.Key, b.Key) })
	for _, g := range groups {
		out.add(g)
	}
	out.Total.rates()
	if out.GroupBy == "" {
		out.Groups = []WinRateGroup{}
	}
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
	c := &repCube{wc: 2*k + 4, ws: 2*k + 5}
	if prev != nil && len(prev.rows) == 0 {
		prev = nil // no newest day to count the window from yet
	}
	if prev != nil {
		c.start, c.keys, c.names = prev.start, prev.keys.extend(), prev.names.extend()
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
	q := "SELECT grain, day, owner_id, team, manager_id, argMax(owner_name, (pub, sign)), max(pub * 2 + (sign = 1)), " + repCubeCols(k) +
		" FROM rep_days WHERE " + readRows(prev != nil, since) + " AND (grain = 1 OR day >= toDate(?)) GROUP BY grain, day, owner_id, team, manager_id"
	var (
		row  repRow
		d    time.Time
		key  repKey
		name string
		rc   = make([]uint64, c.wc) // a row's counts, as read
		rs   = make([]float64, c.ws)
	)
	dst := []any{&row.grain, &d, &key.owner, &key.team, &key.manager, &name, &row.ver}
	for i := range rc {
		dst = append(dst, &rc[i])
	}
	for i := range rs {
		dst = append(dst, &rs[i])
	}
	err := s.query(ctx, "rep-cube", q, []any{day(dateOfEpoch(c.start))}, func(r driverRows) error {
		if err := r.Scan(dst...); err != nil {
			return err
		}
		row.day, row.key, row.name = epochDay(d), c.keys.code(key), c.names.code(name)
		row.at = int32(len(c.rows))
		for _, x := range rc {
			c.cnt = append(c.cnt, uint32(x)) // two's complement: the low half wraps alike
		}
		c.sum = append(c.sum, rs...)
		c.rows = append(c.rows, row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	order := func(a, b *repRow) int {
		return cmp.Or(cmp.Compare(a.grain, b.grain), cmp.Compare(a.day, b.day), cmp.Compare(a.key, b.key))
	}
	slices.SortFunc(c.rows, func(a, b repRow) int { return order(&a, &b) })
	cnt, sum := c.cnt, c.sum
	if prev != nil {
		// prev's values, then the new rows' after them (prev still serves
		// its version, so its slabs are not written); a key both hold adds
		// the new values to prev's.
		n := int32(len(prev.cnt) / c.wc)
		cnt, sum = slices.Concat(prev.cnt, c.cnt), slices.Concat(prev.sum, c.sum)
		for i := range c.rows {
			c.rows[i].at += n
		}
		c.rows = mergeRows(prev.rows, c.rows, order, func(dst, src *repRow) {
			for i := range c.wc {
				cnt[int(dst.at)*c.wc+i] += cnt[int(src.at)*c.wc+i]
			}
			for i := range c.ws {
				sum[int(dst.at)*c.ws+i] += sum[int(src.at)*c.ws+i]
			}
			if src.ver > dst.ver {
				dst.name, dst.ver = src.name, src.ver
			}
		})
	}
	// The values in row order: a range's rows then read them in sequence
	// (in the statement's order, a year's 22k rows took 3 ms of cache
	// misses, against 0.3 ms).
	c.cnt, c.sum = make([]uint32, len(c.rows)*c.wc), make([]float64, len(c.rows)*c.ws)
	for i := range c.rows {
		r := &c.rows[i]
		copy(c.cnt[i*c.wc:], cnt[int(r.at)*c.wc:int(r.at+1)*c.wc])
		copy(c.sum[i*c.ws:], sum[int(r.at)*c.ws:int(r.at+1)*c.ws])
		r.at = int32(i)
	}
	return c, nil
}

// actRow is one rep's activities on one day.
type actRow struct {
	day, rep int32 // days since 1970-01-01; code in actCube.reps
	n        uint32
}

// actCube is rep_activity_days at one publication summed per day and rep,
// sorted by (day, rep).
type actCube struct {
	reps interned[string]
	rows []actRow
}

// actCube returns rep_activity_days at ctx's version.
func (s *Service) actCube(ctx context.Context) (*actCube, error) {
	return s.acts.get(ctx, s, "rep_activity_days", s.readActCube)
}

// readActCube reads rep_activity_days at ctx's version summed per day and
// rep: all of it, or prev's rows and those of the publications after since.
func (s *Service) readActCube(ctx context.Context, prev *actCube, since uint64) (*actCube, error) {
	c := &actCube{}
	if prev != nil {
		c.reps = prev.reps.extend()
	}
	q := "SELECT day, rep_id, sum(activities) FROM rep_activity_days WHERE " + readRows(prev != nil, since) + " GROUP BY day, rep_id"
	err := s.query(ctx, "activity-cube", q, nil, func(r driverRows) error {
		var d time.Time
		var id string
		var n uint64
		if err := r.Scan(&d, &id, &n); err != nil {
			return err
		}
		c.rows = append(c.rows, actRow{day: epochDay(d), rep: c.reps.code(id), n: uint32(n)})
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
	sel := make([]bool, len(c.reps.list))
	for i, id := range c.reps.list {
		sel[i] = keep(id)
	}
	from, to := epochDay(f.From), epochDay(f.To)
	i, _ := slices.BinarySearchFunc(c.rows, from, func(r actRow, d int32) int { return cmp.Compare(r.day, d) })
	per, seen := make([]uint32, len(c.reps.list)), make([]bool, len(c.reps.list))
	for ; i < len(c.rows) && c.rows[i].day < to; i++ {
		if r := c.rows[i]; sel[r.rep] {
			per[r.rep] += r.n
			seen[r.rep] = true
		}
	}
	out := map[string]int64{}
	for i, n := range per {
		if seen[i] {
			out[c.reps.list[i]] = int64(n)
		}
	}
	return out
}
