package query

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"
)

// fxRates is what amounts convert to the reporting currency at: per currency
// the monthly rates loaded as an export (fx_rates), in month order, and the
// configured rate (currency.rates), used before a currency's first month or
// for a currency without monthly rates. See METRICS.md, "Currency".
type fxRates struct {
	monthly map[string][]monthRate
	config  map[string]float64
}

type monthRate struct {
	month time.Time
	rate  float64
}

// fxRates reads the monthly rates the raw rows where raw says hold (the latest
// row per currency and month), with the configured ones.
func (s *Service) fxRates(ctx context.Context, raw string) (fxRates, error) {
	fx := fxRates{monthly: map[string][]monthRate{}, config: s.rates}
	if s.currency == "" {
		return fx, nil
	}
	q := "SELECT upper(currency) AS c, toStartOfMonth(month) AS m, argMax(rate, run_id) FROM " +
		latestWhere("fx_rates", "currency, month", "currency, month, rate, run_id", raw) +
		" WHERE rate > 0 GROUP BY c, m ORDER BY c, m"
	err := s.query(ctx, "fx rates", q, nil, func(r driverRows) error {
		var c string
		var m time.Time
		var rate float64
		if err := r.Scan(&c, &m, &rate); err != nil {
			return err
		}
		if c != strings.ToUpper(s.currency) {
			fx.monthly[c] = append(fx.monthly[c], monthRate{m, rate})
		}
		return nil
	})
	return fx, err
}

// sql is the SQL of amount in the reporting currency for a row in currency
// column cur dated by date column day: a currency's rate of the latest month
// at or before the day, else its configured rate, else its first month's; a
// row without a currency, in the reporting currency, or in one with no rate
// at all counts as exported (loads reject the last when a reporting currency
// is set).
func (fx fxRates) sql(amount, cur, day string) string {
	codes := map[string]bool{}
	for c := range fx.monthly {
		codes[c] = true
	}
	for c := range fx.config {
		codes[c] = true
	}
	if len(codes) == 0 {
		return amount
	}
	sorted := make([]string, 0, len(codes))
	for c := range codes {
		sorted = append(sorted, c)
	}
	sort.Strings(sorted)
	var b strings.Builder
	b.WriteString("(" + amount + " * multiIf(")
	for _, c := range sorted {
		b.WriteString("upper(" + cur + ") = '" + c + "', " + fx.rateSQL(c, day) + ", ")
	}
	b.WriteString("toFloat64(1)))")
	return b.String()
}

// rateSQL is the rate of currency c on the day in column day.
func (fx fxRates) rateSQL(c, day string) string {
	ms := fx.monthly[c]
	before, ok := fx.config[c]
	if !ok && len(ms) > 0 {
		before = ms[0].rate
	}
	if len(ms) == 0 {
		return sqlFloat(before)
	}
	var b strings.Builder
	b.WriteString("multiIf(")
	b.WriteString(day + " < toDate('" + day0(ms[0].month) + "'), " + sqlFloat(before) + ", ")
	for i := len(ms) - 1; i > 0; i-- {
		b.WriteString(day + " >= toDate('" + day0(ms[i].month) + "'), " + sqlFloat(ms[i].rate) + ", ")
	}
	b.WriteString(sqlFloat(ms[0].rate) + ")")
	return b.String()
}

func day0(t time.Time) string { return t.Format(time.DateOnly) }

func sqlFloat(v float64) string { return "toFloat64(" + strconv.FormatFloat(v, 'g', -1, 64) + ")" }

// fingerprint names the rates for the serving fingerprint ("" without any).
func (fx fxRates) fingerprint() string {
	var parts []string
	for c, r := range fx.config {
		parts = append(parts, c+"="+strconv.FormatFloat(r, 'g', -1, 64))
	}
	for c, ms := range fx.monthly {
		for _, m := range ms {
			parts = append(parts, c+"@"+day0(m.month)+"="+strconv.FormatFloat(m.rate, 'g', -1, 64))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
