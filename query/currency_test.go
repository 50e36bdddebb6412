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
