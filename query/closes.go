package query

import (
	"cmp"
	"context"
	"maps"
	"math"
	"math/big"
	"slices"
	"time"
)

// Closed deals (METRICS.md, "Win rate" and "Cycle time"): one opp_closes row
// per closed or won opportunity version, written by a publication from the
// opp_facts rows it writes (schemas/migrations/0019_opp_closes.sql). Readers
// (also Movement's won and lost and the daily series of the closed-deal
// metrics) filter it by close date, which it is sorted by, instead of reading
// every opp_facts row; the {facts} rule holds unchanged, since a close carries
// its opp_facts row's opportunity_id and pub.

// closeCols are the columns of opp_closes copied from opp_facts as they are.
const closeCols = "close_date, created_date, closed, won, amount, owner_id, owner_name, team, manager_id, manager_name, territory, segment, product, source, account_id"

// closesSelect is the INSERT … SELECT of the closes of the opp_facts rows of
// publication n (t names the shard's tables, as in factsSelect). Won deals are
// closed (ingest settles the flags), but cycle time asks for won = 1 alone and
// win rate for closed = 1, so a row that is either keeps both flags.
func closesSelect(t func(string) string, n string) string {
	return factsCopySelect(t, "opp_closes", n, forecastCols, "closed = 1 OR won = 1")
}

// forecastCols are closeCols and what a forecast reads of a deal open at its
// as-of day: the stage entries and the forecast category (opp_open 0024,
// opp_closes 0033).
const forecastCols = closeCols + ", entered, forecast_category"

// openSelect is the INSERT … SELECT of the open deals of the opp_facts rows of
// publication n (opp_open, 0021): coverage's pipeline reads them by expected
// close date, the forecast with their stage entries and forecast category
// (0024). closed and won are kept (0) so that a reader's conditions read the
// same over opp_open and opp_facts.
func openSelect(t func(string) string, n string) string {
	return factsCopySelect(t, "opp_open", n, forecastCols, "closed = 0 AND won = 0")
}

// factsCopySelect copies cols of the opp_facts rows of publication n that
// match where into table, with their opportunity_id and pub.
func factsCopySelect(t func(string) string, table, n, cols, where string) string {
	return "INSERT INTO " + t(table) + " (opportunity_id, pub, " + cols + ") " +
		"SELECT opportunity_id, pub, " + cols + " FROM " + t("opp_facts") + " WHERE pub = " + n + " AND (" + where + ")"
}

// winRateSQL is WinRate's statement over opp_closes: per group, won and lost
// deals closed in the range and their amounts. c holds closed = 1, the range
// and dims' filters; all but {facts} go to PREWHERE.
func winRateSQL(key, label string, c cond) string {
	return "SELECT " + key + " AS k, " + label + ", countIf(won = 1), countIf(won = 0), sumIf(amount, won = 1), sumIf(amount, won = 0) FROM opp_closes" +
		c.prewhere() + " GROUP BY k ORDER BY k"
}

// cycleSQL is CycleTime's statement over opp_closes: per group (key "'all'"
// for the total), the won deals closed in the range, their mean, median and
// standard deviation of cycleDays. c holds won = 1, the range and dims'
// filters. The median takes both middle values from one quantilesExact state
// (middlesMedianIf): the same bits as sorting the values into an array.
func cycleSQL(key, label string, c cond) string {
	q := "SELECT " + key + " AS k, " + label + ", count(), avg(" + cycleDays + "), " + middlesMedianIf(cycleDays, "1") +
		", if(count() > 1, stddevSamp(" + cycleDays + "), 0) FROM opp_closes" + c.prewhere()
	if key != "'all'" {
		q += " GROUP BY k ORDER BY k"
	}
	return q
}

// cycleDaysSelects fill cycle_days (0027) from src, signed opp_facts rows: the
// won deals per close day and cycle length, then the month rows of
// publication pub from its day rows. t names the shard's tables (a shard's
// counts are those of its own opportunities; readers add them up).
func cycleDaysSelects(t func(string) string, src string, pub uint64) []string {
	n := u(pub)
	ins := "INSERT INTO " + t("cycle_days") + " (grain, day, cycle, won, pub) "
	return []string{
		ins + "SELECT toUInt8(0), close_date AS d, " + cycleInt + " AS cy, toUInt64(sum(sign)), toUInt64(" + n + ") FROM " + src + " WHERE won = 1 GROUP BY d, cy",
		ins + "SELECT toUInt8(1), toStartOfMonth(day) AS m, cycle, sum(won), pub FROM " + t("cycle_days") + " WHERE grain = 0 AND pub = " + n + " GROUP BY m, cycle, pub",
	}
}

// orgWide: the filter selects every deal (no dimension), so cycle_days
// answers cycle time's total.
func (s *Service) orgWide(f Filter) bool {
	return s.ownerOnly(f) && len(f.Team)+len(f.Manager)+len(f.Rep) == 0
}

// cycleTotal is CycleTime's total for an orgWide f from cycle_days: the won
// deals closed in the range counted per cycle length (rangeRows), whose
// count, mean, median and standard deviation are those of the deals
// themselves.
func (s *Service) cycleTotal(ctx context.Context, f Filter) (Durations, error) {
	c, err := s.cycleCube(ctx)
	if err != nil {
		return Durations{}, err
	}
	byDays := map[int32]uint64{}
	rangeRows(c.rows, func(r *cycleDay) (uint8, time.Time) { return r.grain, r.day }, f, false, func(r *cycleDay) { byDays[r.cycle] += r.won })
	var h []cycleCount
	for _, d := range slices.Sorted(maps.Keys(byDays)) {
		if n := byDays[d]; n > 0 {
			h = append(h, cycleCount{days: d, n: n})
		}
	}
	return durationsOf("all", "all", h), nil
}

// cycleCube is cycle_days in memory (inmemory.go) at one publication, summed
// per (grain, day, cycle) and sorted by them: 110k rows at the large sample.
type cycleCube struct {
	rows []cycleDay
}

type cycleDay struct {
	grain uint8
	day   time.Time // UTC midnight, as the driver reads a Date
	cycle int32
	won   uint64
}

// cycleCube returns cycle_days at ctx's version.
func (s *Service) cycleCube(ctx context.Context) (*cycleCube, error) {
	return s.cycles.get(ctx, s, "cycle_days", s.readCycleCube)
}

// readCycleCube reads cycle_days at ctx's version summed per key (an
// incremental publication adds rows for keys earlier ones wrote): all of it,
// or prev's rows and those of the publications after since.
func (s *Service) readCycleCube(ctx context.Context, prev *cycleCube, since uint64) (*cycleCube, error) {
	where := readRows(prev != nil, since)
	q := "SELECT grain, day, cycle, sum(won) FROM cycle_days WHERE " + where + " GROUP BY grain, day, cycle ORDER BY grain, day, cycle"
	c := &cycleCube{}
	err := s.query(ctx, "cycle-cube", q, nil, func(r driverRows) error {
		var x cycleDay
		if err := r.Scan(&x.grain, &x.day, &x.cycle, &x.won); err != nil {
			return err
		}
		c.rows = append(c.rows, x)
		return nil
	})
	if err != nil || prev == nil {
		return c, err
	}
	c.rows = mergeRows(prev.rows, c.rows, func(a, b *cycleDay) int {
		return cmp.Or(cmp.Compare(a.grain, b.grain), a.day.Compare(b.day), cmp.Compare(a.cycle, b.cycle))
	}, func(dst, src *cycleDay) { dst.won += src.won })
	return c, nil
}

// cycleCount is how many won deals (n) took days from creation to close.
type cycleCount struct {
	days int32
	n    uint64
}

// durationsOf is the count, mean, median and sample standard deviation of
// the values h counts (sorted by days), as cycleSQL computes them over the
// values themselves: the median the mean of the two middle values (one for
// an odd count), the deviation 0 under two values. Sums are exact (integers;
// the deviation's in big integers), so the numbers differ from the server's
// by its rounding alone.
func durationsOf(key, name string, h []cycleCount) Durations {
	d := Durations{Key: key, Name: name}
	var n uint64
	s1, s2 := new(big.Int), new(big.Int)
	for _, x := range h {
		n += x.n
		v, c := big.NewInt(int64(x.days)), new(big.Int).SetUint64(x.n)
		s1.Add(s1, new(big.Int).Mul(v, c))
		s2.Add(s2, new(big.Int).Mul(new(big.Int).Mul(v, v), c))
	}
	if n == 0 {
		return d
	}
	d.Count = int64(n)
	sum, _ := new(big.Float).SetInt(s1).Float64()
	d.Mean = sum / float64(n)
	// The values at sorted positions floor((n-1)/2) and floor(n/2).
	lo, hi := (n-1)/2, n/2
	var a, b float64
	var seen uint64
	for _, x := range h {
		if lo >= seen && lo < seen+x.n {
			a = float64(x.days)
		}
		if hi >= seen && hi < seen+x.n {
			b = float64(x.days)
			break
		}
		seen += x.n
	}
	d.Median = (a + b) / 2
	if n > 1 {
		// (n·Σx² − (Σx)²) / (n·(n−1)), exact until the one division.
		bn := new(big.Int).SetUint64(n)
		num := new(big.Int).Sub(new(big.Int).Mul(bn, s2), new(big.Int).Mul(s1, s1))
		den := new(big.Int).Mul(bn, new(big.Int).SetUint64(n-1))
		v, _ := new(big.Rat).SetFrac(num, den).Float64()
		d.StdDev = math.Sqrt(v)
	}
	return d
}

// movementClosedSQL is Movement's statement of the deals won and lost per
// period p (pcl, a periodExpr of close_date) over opp_closes. c holds
// closed = 1, the range and dims' filters.
func movementClosedSQL(pcl string, c cond) string {
	return "SELECT " + pcl + " AS p, countIf(won = 1), sumIf(amount, won = 1), countIf(won = 0), sumIf(amount, won = 0) FROM opp_closes" + c.prewhere() + " GROUP BY p"
}
