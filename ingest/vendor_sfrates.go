package ingest

import (
	"fmt"
	"strings"
	"time"
)

// Salesforce's advanced currency management exports its dated exchange rates
// as the DatedConversionRate object (Id, IsoCode, ConversionRate, StartDate,
// NextStartDate). ConversionRate is how many units of IsoCode one unit of the
// org's corporate currency buys — the inverse of fx_rates' rate (reporting
// currency per unit). The reporting currency must be the corporate one (its
// own rows say 1). A range gives its rate to the month its StartDate falls in
// and to each later month before the month of its NextStartDate (the next
// range's); the last, open range (9999-12-31) to its first month, amounts
// taking the latest month at or before their day. Two ranges starting in one
// month: the month has either's rate.

// reasonNotCorporate rejects a file of dated rates relative to a currency
// other than the reporting one; it fails the whole run (service.go).
const reasonNotCorporate = "not_corporate_currency"

// maxRateMonths bounds the months one dated range fills in (ten years).
const maxRateMonths = 120

func salesforceRatesProfile() *profile {
	return &profile{name: "salesforce-dated-rates", table: tFx, source: "salesforce",
		detect: func(h *header) int {
			if h.has("isocode", "conversionrate", "startdate") {
				return 90
			}
			return 0
		},
		cols:   map[string][]string{"currency": {"isocode"}, "month": {"startdate"}, "rate": {"conversionrate"}},
		fix:    fixDatedRate,
		derive: deriveRateMonths}
}

// fixDatedRate turns a ConversionRate into units of the reporting currency per
// unit of IsoCode. A reporting-currency row with a rate other than 1 means the
// corporate currency is another: every rate of the file would be wrong.
func fixDatedRate(p *plan, m *mapped) *reject {
	t := p.t
	ri, ci := t.col("rate"), t.col("currency")
	rate := m.v[ri].n
	if p.fx.Reporting != "" && strings.EqualFold(m.v[ci].s, p.fx.Reporting) && rate != 1 {
		return &reject{file: p.file, row: m.row, column: p.colName(ri), raw: fmt.Sprint(rate), reason: reasonNotCorporate,
			message: fmt.Sprintf("%s's ConversionRate is %v, not 1: DatedConversionRate is relative to the corporate currency, and the reporting currency %s is not it", p.fx.Reporting, rate, p.fx.Reporting)}
	}
	m.v[ri].n = 1 / rate
	return nil
}

// deriveRateMonths writes the rate for each later month the range covers.
func deriveRateMonths(p *plan, m *mapped, e emitter) {
	next := strings.TrimSpace(m.raw.get(p.hdr.find([]string{"nextstartdate"})))
	if next == "" {
		return
	}
	end, err := parseDate(next, p.order, p.loc)
	if err != nil {
		return
	}
	t := p.t
	start := time.Unix(m.v[t.col("month")].t*86400, 0).UTC()
	month := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
	if end.Year() >= 4000 {
		return // the open range (9999-12-31): its first month holds
	}
	// The month NextStartDate falls in is the next range's first month.
	last := time.Date(end.Year(), end.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	for i := 1; i < maxRateMonths; i++ {
		mo := month.AddDate(0, i, 0)
		if mo.After(last) {
			return
		}
		r := make([]val, len(t.cols))
		copy(r, m.v)
		r[t.col("month")].t = mo.Unix() / 86400
		e.emit(tFx, r)
	}
}
