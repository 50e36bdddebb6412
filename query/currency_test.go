package query

import (
	"context"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestReportingCurrency: with CNY reported and USD at 7, the forecast
// fixture's h4 (200 USD, won 2024-03-01), c3 (300 USD, open) and r3's target
// (300 USD) count 1,400, 2,100 and 2,100. A service without rates over the
// same warehouse republishes in full (the fingerprint) and counts as exported.
func TestReportingCurrency(t *testing.T) {
	ctx := context.Background()
	f := forecastFixture(false)
	f.currencies = map[string]string{"h4": "USD", "c3": "usd", "r3": "USD", "h1": "CNY"}
	db := schemastest.Open(t)
	f.load(t, db)
	check := func(s *Service, won, target, open float64) {
		t.Helper()
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		wr, err := s.WinRate(ctx, Unrestricted, Filter{From: d("2024-01-01"), To: d("2024-04-01")}, "")
		if err != nil {
			t.Fatal(err)
		}
		cov, err := s.Coverage(ctx, Unrestricted, Filter{From: d("2024-04-01"), To: d("2024-07-01")})
		if err != nil {
			t.Fatal(err)
		}
		fc, err := s.Forecast(ctx, Unrestricted, Filter{}, q2AsOf)
		if err != nil {
			t.Fatal(err)
		}
		if !closeTo(wr.Total.WonAmount, won) || !closeTo(cov.Target, target) || !closeTo(fc.Total.OpenAmount, open) {
			t.Errorf("currency %q: won %v, target %v, open %v; want %v, %v, %v", s.Currency(), wr.Total.WonAmount, cov.Target, fc.Total.OpenAmount, won, target, open)
		}
	}
	check(New(db, time.UTC, quietLog()).WithCurrency("CNY", map[string]float64{"USD": 7}), 100+1400, 800+400+2100, 1000+500+80+2100)
	check(New(db, time.UTC, quietLog()), 100+200, 800+400+300, 1000+500+80+300)
}

// TestMonthlyFxRates: rates loaded per month convert each amount at the rate
// of its date's month (the latest month at or before it), the configured rate
// before the first month. USD: configured 6.9; 2024-02 7.0, 2024-03 7.2,
// 2024-06 7.5. h4 (200 USD, closed 2024-03-01) counts 1,440; c3 (300 USD,
// closing 2024-06-30) 2,250; r3's USD target from 2024-04-01 (March's rate)
// 2,160; a USD deal closing 2024-01-20 (before February) at 6.9.
func TestMonthlyFxRates(t *testing.T) {
	ctx := context.Background()
	f := forecastFixture(false)
	f.opps = append(f.opps, fopp{"e1", "A1", "r1", "Pro", "web", "won", 10, ts("2023-12-28 10:00"), d("2024-01-20"), true, true})
	f.events = append(f.events, fevent{"e1", "lead", 1, ts("2023-12-28 10:00")}, fevent{"e1", "won", 100, ts("2024-01-20 10:00")})
	f.currencies = map[string]string{"h4": "USD", "c3": "USD", "r3": "USD", "e1": "USD"}
	f.snaps = append(f.snaps, fsnap{d("2024-04-10"), "c3", 400, d("2024-06-30"), false}, fsnap{d("2024-06-05"), "c3", 300, d("2024-06-30"), false})
	db := schemastest.Open(t)
	f.load(t, db)
	now := time.Now().UTC().Truncate(time.Second)
	if err := db.InsertRows(ctx, "fx", "INSERT INTO fx_rates (currency, month, rate, run_id, loaded_at)",
		[]any{"USD", d("2024-02-01"), 7.0, fixtureRun, now}, []any{"usd", d("2024-03-15"), 7.2, fixtureRun, now}, []any{"USD", d("2024-06-01"), 7.5, fixtureRun, now}); err != nil {
		t.Fatal(err)
	}
	s := New(db, time.UTC, quietLog()).WithCurrency("CNY", map[string]float64{"USD": 6.9})
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	wr, err := s.WinRate(ctx, Unrestricted, Filter{From: d("2024-01-01"), To: d("2024-04-01")}, "")
	if err != nil {
		t.Fatal(err)
	}
	cov, err := s.Coverage(ctx, Unrestricted, Filter{From: d("2024-04-01"), To: d("2024-07-01")})
	if err != nil {
		t.Fatal(err)
	}
	fc, err := s.Forecast(ctx, Unrestricted, Filter{}, q2AsOf)
	if err != nil {
		t.Fatal(err)
	}
	if want := 100 + 200*7.2 + 10*6.9; !closeTo(wr.Total.WonAmount, want) {
		t.Errorf("won %v, want %v", wr.Total.WonAmount, want)
	}
	if want := 800 + 400 + 300*7.2; !closeTo(cov.Target, want) {
		t.Errorf("target %v, want %v", cov.Target, want)
	}
	if want := 1000 + 500 + 80 + 300*7.5; !closeTo(fc.Total.OpenAmount, want) {
		t.Errorf("open %v, want %v", fc.Total.OpenAmount, want)
	}
	// The deal rules' snapshot history converts too (an amount cut is judged
	// and emailed in the reporting currency): c3 at 400 USD on 10 April
	// (March's 7.2) and 300 USD on 5 June (7.5).
	ods, err := s.OpenDeals(ctx, d("2024-06-10"))
	if err != nil {
		t.Fatal(err)
	}
	for _, od := range ods {
		if od.ID == "c3" && (len(od.SnapAmount) != 2 || !closeTo(od.SnapAmount[0], 400*7.2) || !closeTo(od.SnapAmount[1], 300*7.5) || od.Currency != "CNY") {
			t.Errorf("c3's snapshots %v %s, want [2880 2250] CNY", od.SnapAmount, od.Currency)
		}
	}
}
