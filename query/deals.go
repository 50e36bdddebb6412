package query

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"
)

// DealQuery says which deals to list and how.
type DealQuery struct {
	// Basis picks the date the range applies to: "created" (the cohort, as the
	// funnel counts), "closed" (as win rate and cycle time count) or "open"
	// (open deals expected to close in the range, as coverage counts).
	Basis string
	// Stage: with Reached, deals whose furthest stage is at least Stage (the
	// funnel's reached); otherwise deals currently in Stage.
	Stage   string
	Reached bool
	// Status: open, won, lost, closed or "" for all.
	Status string
	// Sort: amount, -amount, created, -created, close, -close (default -amount).
	Sort     string
	Page     int // 1-based
	PageSize int // default 50, at most 500
}

// Deal is one opportunity.
type Deal struct {
	OpportunityID string  `json:"opportunity_id"`
	Name          string  `json:"name"`
	AccountID     string  `json:"account_id"`
	AccountName   string  `json:"account_name"`
	OwnerID       string  `json:"owner_id"`
	OwnerName     string  `json:"owner_name"`
	Team          string  `json:"team"`
	Territory     string  `json:"territory"`
	Segment       string  `json:"segment"`
	Product       string  `json:"product"`
	Source        string  `json:"source"`
	Stage         string  `json:"stage"`
	Furthest      string  `json:"furthest_stage"`
	Amount        float64 `json:"amount"`
	Created       string  `json:"created"`
	CloseDate     string  `json:"close_date"`
	Status        string  `json:"status"`
}

// Deals is one page of deals.
type Deals struct {
	Total    int64  `json:"total"`
	Page     int    `json:"page"`
	PageSize int    `json:"page_size"`
	Deals    []Deal `json:"deals"`
}

var dealSorts = map[string]string{
	"amount": "amount ASC", "-amount": "amount DESC", "created": "created_at ASC", "-created": "created_at DESC",
	"close": "close_date ASC", "-close": "close_date DESC",
}

// dealCutoff is, per sort, the sort column and its direction: the page's rows
// lie within the column's value at the page's last row, so the page query reads
// the other columns of a few granules only.
var dealCutoff = map[string]struct {
	col  string
	desc bool
}{
	"amount": {"amount", false}, "-amount": {"amount", true}, "created": {"created_at", false}, "-created": {"created_at", true},
	"close": {"close_date", false}, "-close": {"close_date", true},
}

// paging defaults a list's page (1) and page size (def) and checks them: a
// size of 1..max, a page of 1..100000.
func paging(page, size *int, def, max int) error {
	if *size == 0 {
		*size = def
	}
	if *size < 1 || *size > max {
		return badParam("page_size", "%d: want 1..%d", *size, max)
	}
	if *page == 0 {
		*page = 1
	}
	if *page < 1 || *page > 100000 {
		return badParam("page", "%d: want 1 or more", *page)
	}
	return nil
}

// Deals lists the deals behind a number, paged.
func (s *Service) Deals(ctx context.Context, sc Scope, f Filter, dq DealQuery) (Deals, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return Deals{}, err
	}
	if err := paging(&dq.Page, &dq.PageSize, 50, 500); err != nil {
		return Deals{}, err
	}
	if dq.Sort == "" {
		dq.Sort = "-amount"
	}
	order, ok := dealSorts[dq.Sort]
	if !ok {
		return Deals{}, badParam("sort", "%q: want amount, -amount, created, -created, close or -close", dq.Sort)
	}
	var c cond
	switch dq.Basis {
	case "created", "":
		dateRange(&c, "created_date", f)
	case "closed":
		c.add("closed = 1")
		dateRange(&c, "close_date", f)
	case "open":
		c.add("closed = 0")
		dateRange(&c, "close_date", f)
	default:
		return Deals{}, badParam("basis", "%q: want created, closed or open", dq.Basis)
	}
	dims(&c, f, "")
	switch dq.Status {
	case "":
	case "open":
		c.add("closed = 0")
	case "won":
		c.add("won = 1")
	case "lost":
		c.add("lost = 1")
	case "closed":
		c.add("closed = 1")
	default:
		return Deals{}, badParam("status", "%q: want open, won, lost or closed", dq.Status)
	}
	rank := 0 // dq.Stage's rank among the open stages, 0 for none
	for i, st := range s.stages {
		if st == dq.Stage {
			rank = i + 1
		}
	}
	if dq.Stage != "" {
		switch {
		case dq.Reached && rank > 0:
			c.add("furthest >= ?", uint8(rank))
		case dq.Reached:
			return Deals{}, badParam("stage", "%q is not an open stage (%s)", dq.Stage, strings.Join(s.stages, ", "))
		default:
			c.add("stage = ?", dq.Stage)
		}
	}
	out := Deals{Page: dq.Page, PageSize: dq.PageSize, Deals: []Deal{}}
	// The count and the page are independent reads.
	var (
		wg       sync.WaitGroup
		countErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if n, ok, err := s.cohortCount(ctx, f, dq, rank); ok || err != nil {
			out.Total, countErr = n, err
			return
		}
		countErr = s.query(ctx, "deals-count", "SELECT count() FROM opp_facts"+c.prewhere(), c.args, func(r driverRows) error {
			var n uint64
			err := r.Scan(&n)
			out.Total = int64(n)
			return err
		})
	}()
	const cols = "SELECT opportunity_id, name, account_id, account_name, owner_id, owner_name, team, territory, segment, product, source, stage, furthest, amount, created_date, close_date, closed, won FROM "
	q := cols + "opp_facts" + c.where() + " ORDER BY " + order + ", opportunity_id LIMIT ?, ?"
	args := append(append([]any{}, c.args...), (dq.Page-1)*dq.PageSize, dq.PageSize)
	if !s.noRollup {
		// The page's rows within a bound: deal_amounts' buckets at and beyond
		// the page's last deal, else opp_facts' sort value of that deal.
		table, pc, none := "opp_facts", cond{}, false
		if s.dealHistServes(f, dq) {
			table = "deal_amounts"
			pc, none, err = s.amountBound(ctx, f, dq)
		} else {
			pc, none, err = s.cutoffBound(ctx, c, dq)
		}
		if err != nil || none {
			wg.Wait()
			if err == nil {
				err = countErr
			}
			return out, err
		}
		q = cols + table + pc.prewhere() + " ORDER BY " + order + ", opportunity_id LIMIT ?, ?"
		args = append(pc.args, (dq.Page-1)*dq.PageSize, dq.PageSize)
	}
	err = s.query(ctx, "deals", q, args, func(r driverRows) error {
		var d Deal
		var fur, closed, won uint8
		var cd, cl time.Time
		if err := r.Scan(&d.OpportunityID, &d.Name, &d.AccountID, &d.AccountName, &d.OwnerID, &d.OwnerName, &d.Team, &d.Territory, &d.Segment,
			&d.Product, &d.Source, &d.Stage, &fur, &d.Amount, &cd, &cl, &closed, &won); err != nil {
			return err
		}
		d.Created, d.CloseDate = cd.Format(time.DateOnly), cl.Format(time.DateOnly)
		switch {
		case won == 1:
			d.Status, d.Furthest = "won", "won"
		case closed == 1:
			d.Status = "lost"
		default:
			d.Status = "open"
		}
		if d.Furthest == "" && fur >= 1 && int(fur) <= len(s.stages) {
			d.Furthest = s.stages[fur-1]
		}
		out.Deals = append(out.Deals, d)
		return nil
	})
	wg.Wait()
	if err == nil {
		err = countErr
	}
	return out, err
}

// cohortCount is the number of deals created in f's range with dq's status
// and furthest stage (rank, dq.Stage's rank), from the cohort's sums of
// team_days or dim_days (the funnel's numbers), when they answer f and dq; ok
// is false otherwise.
func (s *Service) cohortCount(ctx context.Context, f Filter, dq DealQuery, rank int) (n int64, ok bool, err error) {
	if (dq.Basis != "" && dq.Basis != "created") || !s.cubeServes(f) || (dq.Stage != "" && (!dq.Reached || rank == 0 || dq.Status != "")) {
		return 0, false, nil
	}
	t, err := s.teamTotal(ctx, f)
	if err != nil {
		return 0, true, err
	}
	var c uint64
	switch {
	case rank > 0:
		c = padded(t.reached, rank)[rank-1]
	case dq.Status == "":
		c = t.created
	case dq.Status == "open":
		c = t.createdOpen
	case dq.Status == "won":
		c = t.createdWon
	case dq.Status == "lost":
		c = t.createdLost
	case dq.Status == "closed":
		c = t.createdWon + t.createdLost
	default:
		return 0, false, nil
	}
	return int64(c), true, nil
}

// cutoffBound is c with the bound of dq's page on its sort column: sorting
// every matching deal reads all its columns, while the sort value of the
// page's last row reads one column; PREWHERE on it then reads the rest of a
// few granules. none: no deal matches.
func (s *Service) cutoffBound(ctx context.Context, c cond, dq DealQuery) (pc cond, none bool, err error) {
	cut := dealCutoff[dq.Sort]
	dir, back, cmp := "ASC", "DESC", "<="
	if cut.desc {
		dir, back, cmp = "DESC", "ASC", ">="
	}
	x := "x"
	if cut.col != "amount" {
		x = "toString(x)" // a date or time, bound back as text
	}
	var bound any
	err = s.query(ctx, "deals-cutoff", "SELECT "+x+" FROM (SELECT "+cut.col+" AS x FROM opp_facts"+c.prewhere()+" ORDER BY x "+dir+" LIMIT ?) ORDER BY x "+back+" LIMIT 1",
		append(append([]any{}, c.args...), dq.Page*dq.PageSize), func(r driverRows) error {
			if cut.col == "amount" {
				var v float64
				err := r.Scan(&v)
				// A hair beyond the value: the bound crosses a text round trip,
				// and extra rows past it only fall off the page's LIMIT.
				margin := math.Max(math.Abs(v)*1e-9, 1e-9)
				if cut.desc {
					margin = -margin
				}
				bound = v + margin
				return err
			}
			var v string
			err := r.Scan(&v)
			bound = v
			return err
		})
	if err != nil || bound == nil {
		return pc, bound == nil, err
	}
	conv := map[string]string{"amount": "?", "created_at": "toDateTime(?)", "close_date": "toDate(?)"}[cut.col]
	// The filters go to PREWHERE beside the bound: with a filter the bound
	// is lower, and a granule is read whole when any of its rows passes.
	pc.add(cut.col+" "+cmp+" "+conv, bound)
	pc.sql, pc.args = append(pc.sql, c.sql...), append(pc.args, c.args...)
	return pc, false, nil
}
