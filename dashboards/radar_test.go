package dashboards

import (
	"testing"

	"github.com/pipelens/pipelens/query"
)

// A scorecard whose metrics have no value on both sides draws no radar: ECharts
// throws on a radar without indicators and the page's other charts never draw.
func TestRadarWithoutIndicatorsIsNotDrawn(t *testing.T) {
	empty := []query.MetricScore{{Metric: "win_rate", N: 0, HigherIsBetter: true}, {Metric: "deal_size", N: 3, Value: 0, Peer: 100, HigherIsBetter: true}}
	if c := buildRadarChart("r", tr{"en"}, empty); c != nil {
		t.Errorf("a radar without indicators: %+v", c)
	}
	one := []query.MetricScore{{Metric: "win_rate", N: 12, Value: 0.2, Peer: 0.25, HigherIsBetter: true}}
	if c := buildRadarChart("r", tr{"en"}, one); c == nil {
		t.Error("a radar with a metric was not drawn")
	}
}
