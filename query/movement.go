package query

import (
	"context"
	"sort"
	"sync"
	"time"
)

// MovementPeriod is how the pipeline moved in one period.
type MovementPeriod struct {
	Period         string  `json:"period"`
	Opened         int64   `json:"opened"`
	OpenedAmount   float64 `json:"opened_amount"`
	PulledIn       int64   `json:"pulled_in"`
	PulledInAmount float64 `json:"pulled_in_amount"`
	PushedOut      int64   `json:"pushed_out"`
	PushedAmount   float64 `json:"pushed_out_amount"`
	Won            int64   `json:"won"`
	WonAmount      float64 `json:"won_amount"`
	Lost           int64   `json:"lost"`
	LostAmount     float64 `json:"lost_amount"`
	// AmountChange is the net change of open deals' amounts between snapshots.
	AmountChange float64 `json:"amount_change"`
	// PushesPerDeal is pushes / distinct deals pushed in the period.
	PushesPerDeal float64 `json:"pushes_per_deal"`
	pushedDeals   int64
}

// DealPushes is how often one open deal's close date moved later in the range.
type DealPushes struct {
	OpportunityID string `json:"opportunity_id"`
	Name          string `json:"name"`
	OwnerID       string `json:"owner_id"`
	Pushes        int64  `json:"pushes"`
	DaysPushed    int64  `json:"days_pushed"`
}

// Movement is pipeline movement per period plus the deals pushed most often.
type Movement struct {
	From      string           `json:"from"`
	To        string           `json:"to"`
	Period    string           `json:"period"`
	Periods   []MovementPeriod `json:"periods"`
	TopPushed []DealPushes     `json:"top_pushed"`
}

// Opened is Movement's opened deals summed over the range: the opportunities
// created in [from, to) (the velocity card's deals), without the pipeline
// moves Movement reads too.
func (s *Service) Opened(ctx context.Context, sc Scope, f Filter) (int64, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return 0, err
	}
	var c cond
	dateRange(&c, "created_date", f)
	dims(&c, f, "")
	if s.teamsServe(f) {
		// The rows the cards' win rate and bookings read too.
		ts, err := s.repDayTeams(ctx, f)
		var n uint64
		for _, t := range ts {
			n += t.created
		}
		return int64(n), err
	}
	q, args := "SELECT count() FROM opp_facts"+c.prewhere(), c.args
	var n uint64
	err = s.query(ctx, "opened", q, args, func(r driverRows) error { return r.Scan(&n) })
	return int64(n), err
}

// Movement computes pipeline movement per period (week, month, quarter) in
// [from, to): opened by created date, won and lost by close date, pulled in,
// pushed out and amount changes between consecutive snapshots by the later
// snapshot's date.
func (s *Service) Movement(ctx context.Context, sc Scope, f Filter, period string) (Movement, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return Movement{}, err
	}
	if period == "" {
		period = Month
	}
	out := Movement{From: day(f.From), To: day(f.To), Period: period, Periods: []MovementPeriod{}, TopPushed: []DealPushes{}}
	byP := map[time.Time]*MovementPeriod{}
	get := func(p time.Time) *MovementPeriod {
		p = time.Date(p.Year(), p.Month(), p.Day(), 0, 0, 0, 0, time.UTC)
		m := byP[p]
		if m == nil {
			m = &MovementPeriod{Period: day(p)}
			byP[p] = m
		}
		return m
	}
	pc, err := periodExpr(period, "created_date")
	if err != nil {
		return out, err
	}
	// The four reads are independent: run them at once, each filling its own
	// fields under mu.
	var mu sync.Mutex
	locked := func(scan func(driverRows) error) func(driverRows) error {
		return func(r driverRows) error {
			mu.Lock()
			defer mu.Unlock()
			return scan(r)
		}
	}
	var c cond
	dateRange(&c, "created_date", f)
	dims(&c, f, "")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	do := func(i int, fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn()
		}()
	}
	run := func(i int, purpose, q string, args []any, scan func(driverRows) error) {
		do(i, func() error { return s.query(ctx, purpose, q, args, locked(scan)) })
	}
	if s.cubeServes(f) {
		// Opened and closed from the teamCube (each dated by its own date).
		do(0, func() error {
			ps, sums, err := s.teamPeriods(ctx, f, period)
			mu.Lock()
			defer mu.Unlock()
			for _, p := range ps {
				if a := sums[p]; a.created+a.won+a.lost > 0 {
					m := get(p)
					m.Opened, m.OpenedAmount, m.Won, m.WonAmount, m.Lost, m.LostAmount = int64(a.created), a.createdAmount, int64(a.won), a.wonAmount, int64(a.lost), a.lostAmount
				}
			}
			return err
		})
	} else if s.ownerOnly(f) {
		// Opened and closed in one read of rep_days (each dated by its own
		// date).
		pd, _ := periodExpr(period, "day")
		c = repDaysWhere(f, period == Week)
		run(0, "movement-opened-closed", "SELECT "+pd+" AS p, sum(created), sum(created_amount), sum(won), sum(won_amount), sum(lost), sum(lost_amount) FROM rep_days"+c.where()+
			" GROUP BY p HAVING sum(created) + sum(won) + sum(lost) > 0", c.args, func(r driverRows) error {
			var p time.Time
			var n, w, l uint64
			var a, wa, la float64
			if err := r.Scan(&p, &n, &a, &w, &wa, &l, &la); err != nil {
				return err
			}
			m := get(p)
			m.Opened, m.OpenedAmount, m.Won, m.WonAmount, m.Lost, m.LostAmount = int64(n), a, int64(w), wa, int64(l), la
			return nil
		})
	} else {
		run(0, "movement-opened", "SELECT "+pc+" AS p, count(), sum(amount) FROM opp_facts"+c.prewhere()+" GROUP BY p", c.args, func(r driverRows) error {
			var p time.Time
			var n uint64
			var a float64
			if err := r.Scan(&p, &n, &a); err != nil {
				return err
			}
			m := get(p)
			m.Opened, m.OpenedAmount = int64(n), a
			return nil
		})
		pcl, _ := periodExpr(period, "close_date")
		c = cond{}
		c.add("closed = 1")
		dateRange(&c, "close_date", f)
		dims(&c, f, "")
		run(1, "movement-closed", movementClosedSQL(pcl, c), c.args, func(r driverRows) error {
			var p time.Time
			var w, l uint64
			var wa, la float64
			if err := r.Scan(&p, &w, &wa, &l, &la); err != nil {
				return err
			}
			m := get(p)
			m.Won, m.WonAmount, m.Lost, m.LostAmount = int64(w), wa, int64(l), la
			return nil
		})
	}
	pm, _ := periodExpr(period, "change_date")
	c = cond{}
	dateRange(&c, "change_date", f)
	dims(&c, f, "")
	run(2, "movement-moves", "SELECT "+pm+" AS p, countIf(new_close < old_close), sumIf(new_amount, new_close < old_close), countIf(new_close > old_close), sumIf(new_amount, new_close > old_close), sum(new_amount - old_amount), uniqExactIf(opportunity_id, new_close > old_close) FROM opp_moves"+c.where()+" GROUP BY p", c.args, func(r driverRows) error {
		var p time.Time
		var pi, po, pd uint64
		var pia, poa, ac float64
		if err := r.Scan(&p, &pi, &pia, &po, &poa, &ac, &pd); err != nil {
			return err
		}
		m := get(p)
		m.PulledIn, m.PulledInAmount, m.PushedOut, m.PushedAmount, m.AmountChange, m.pushedDeals = int64(pi), pia, int64(po), poa, ac, int64(pd)
		m.PushesPerDeal = ratio(float64(po), float64(pd))
		return nil
	})
	pc2 := cond{}
	pc2.add("new_close > old_close")
	dateRange(&pc2, "change_date", f)
	dims(&pc2, f, "")
	q := "SELECT opportunity_id, any(name), any(owner_id), count() AS pushes, " +
		"sum(toInt64(toUInt16(new_close)) - toInt64(toUInt16(old_close))) AS days FROM opp_moves" + pc2.where() +
		" GROUP BY opportunity_id ORDER BY pushes DESC, days DESC, opportunity_id LIMIT 20"
	run(3, "movement-pushes", q, pc2.args, func(r driverRows) error {
		var d DealPushes
		var n uint64
		if err := r.Scan(&d.OpportunityID, &d.Name, &d.OwnerID, &n, &d.DaysPushed); err != nil {
			return err
		}
		d.Pushes = int64(n)
		out.TopPushed = append(out.TopPushed, d)
		return nil
	})
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return out, err
		}
	}
	keys := make([]time.Time, 0, len(byP))
	for k := range byP {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Before(keys[j]) })
	for _, k := range keys {
		out.Periods = append(out.Periods, *byP[k])
	}
	return out, nil
}
