package query

import (
	"context"
)

// The deals list by amount, created in a range, from amount buckets
// (schemas/migrations/0035_deal_amounts.sql): deal_hist's counts per bucket
// over the range place the bucket of the page's last deal; deal_amounts,
// sorted by (bucket, creation day), holds the range's deals at and beyond it,
// which the page is sorted from. Same page as over opp_facts (rollup_test.go).

// amountBucket orders amounts: -1 below 0, 10 × the digits of the whole part
// + its first digit, 1000 from 10^18. Integer and text functions only, so
// every server version buckets an amount alike.
const amountBucket = "if(amount < 0, toInt32(-1), if(amount >= 1e18, toInt32(1000), " +
	"toInt32(length(toString(toUInt64(floor(amount)))) * 10 + toUInt8(substring(toString(toUInt64(floor(amount))), 1, 1)))))"

// dealAmountCols are the columns deal_amounts copies from opp_facts.
const dealAmountCols = "name, account_id, account_name, owner_id, owner_name, team, manager_id, territory, segment, product, source, stage, furthest, amount, close_date, closed, won"

// dealAmountsSelect is the INSERT … SELECT of the deal_amounts rows of the
// opp_facts rows of publication n (as staysSelect).
func dealAmountsSelect(t func(string) string, n string) string {
	return "INSERT INTO " + t("deal_amounts") + " (opportunity_id, pub, b, created_date, " + dealAmountCols + ") SELECT opportunity_id, pub, " + amountBucket +
		", created_date, " + dealAmountCols + " FROM " + t("opp_facts") + " WHERE pub = " + n
}

// dealHistSelects fill deal_hist from src, signed opp_facts rows: per
// dimension value (and an empty dim for all), creation day and amount bucket, then
// the month rows of publication n from its day rows.
func dealHistSelects(t func(string) string, src, n string) []string {
	ins := "INSERT INTO " + t("deal_hist") + " (dim, value, grain, day, b, n, pub) "
	return []string{
		ins + "SELECT dim, value, toUInt8(0), created_date AS d, " + amountBucket + " AS bk, toUInt64(sum(sign)), toUInt64(" + n + ") FROM " + allDimRows(src) +
			" GROUP BY dim, value, d, bk",
		ins + "SELECT dim, value, toUInt8(1), toStartOfMonth(day) AS m, b, sum(n), pub FROM " + t("deal_hist") + " WHERE grain = 0 AND pub = " + n +
			" GROUP BY dim, value, m, b, pub",
	}
}

// dealHistServes: deal_hist answers dq's page under f: deals created in the
// range, by amount, with no status or stage, no owner filter and at most one
// deal dimension.
func (s *Service) dealHistServes(f Filter, dq DealQuery) bool {
	_, _, n := dealDim(f)
	return !s.noRollup && (dq.Basis == "" || dq.Basis == "created") && (dq.Sort == "amount" || dq.Sort == "-amount") &&
		dq.Status == "" && dq.Stage == "" && len(f.Rep)+len(f.Team)+len(f.Manager) == 0 && n <= 1
}

// amountBound is the condition on deal_amounts that selects f's deals in the
// buckets from the top (-amount) or the bottom (amount) down or up to the one
// that holds the page's last deal: every deal of the page and before it is
// there. none: no deal was created in the range.
func (s *Service) amountBound(ctx context.Context, f Filter, dq DealQuery) (pc cond, none bool, err error) {
	c, dim, values := histWhere(f)
	type bucket struct {
		b int32
		n uint64
	}
	var bs []bucket
	err = s.query(ctx, "deals-buckets", "SELECT b, sum(n) AS k FROM deal_hist"+c.where()+" GROUP BY b HAVING k > 0 ORDER BY b", c.args, func(r driverRows) error {
		var x bucket
		err := r.Scan(&x.b, &x.n)
		bs = append(bs, x)
		return err
	})
	if err != nil || len(bs) == 0 {
		return pc, len(bs) == 0, err
	}
	desc := dq.Sort == "-amount"
	want := uint64(dq.Page * dq.PageSize)
	var seen uint64
	var bound int32
	for i := range bs {
		x := bs[i]
		if desc {
			x = bs[len(bs)-1-i]
		}
		bound, seen = x.b, seen+x.n
		if seen >= want {
			break
		}
	}
	pc.add(tokFacts)
	if desc {
		pc.add("b >= ?", bound)
	} else {
		pc.add("b <= ?", bound)
	}
	dateRange(&pc, "created_date", f)
	if dim != "" {
		pc.in(dim, values)
	}
	return pc, false, nil
}
