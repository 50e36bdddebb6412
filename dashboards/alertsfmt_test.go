package dashboards

import (
	"testing"

	"github.com/pipelens/pipelens/alerts"
)

// TestAlertValuesFormatAsPages: an amount in an alert (email or Alerts page)
// reads as it does on every other page (alerts cannot import dashboards, so it
// keeps its own copy of Money).
func TestAlertValuesFormatAsPages(t *testing.T) {
	for _, lang := range []string{"en", "zh-CN"} {
		for _, v := range []float64{0, 12, 999, 1000, 52300, 99999, 523000, 1234567, 99999999, 123456789, 2.5e9, -52300} {
			if got, want := alerts.FormatValue(lang, alerts.MetricBookings, v), (tr{lang: lang}).Money(v); got != want {
				t.Errorf("%s: an alert says %s where the pages say %s for %v", lang, got, want, v)
			}
		}
		for _, v := range []float64{0, 0.038, 0.126, 1} {
			if got, want := alerts.FormatValue(lang, alerts.MetricWinRate, v), (tr{lang: lang}).Pct(v); got != want {
				t.Errorf("%s: an alert says %s where the pages say %s for the rate %v", lang, got, want, v)
			}
		}
	}
}
