package dashboards

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"sort"
	"sync"

	"github.com/pipelens/pipelens/query"
)

// Building a chart's options with go-echarts (reflection over its option
// structs, JSON out, JSON in, patch, JSON out again) costs more than the rest of
// a page together. The chart functions are pure: the same inputs (data, labels,
// links, language) give the same bytes. So each one's result is kept under the
// exact encoding of all its inputs; a page whose cached query results did not
// change gets its charts without building them. The key is the full input, not a
// hash, so an entry can only ever be returned for identical inputs, whoever asks.

// chartMemoBytes bounds the memo (keys and specs). It keeps two generations:
// entries go into the current one; when it holds half the bound it becomes the
// previous one and the older is dropped, and a hit in the previous one moves
// the entry forward. Charts people keep opening stay, charts of a range asked
// once (or of data a load replaced) go, and memory stays at most the bound
// (the soak bench: 64 MB filled in minutes and reset, a steady climb).
const chartMemoBytes = 16 << 20

var chartSpecs = &chartMemo{cur: map[string]chartView{}}

type chartMemo struct {
	mu        sync.Mutex
	cur, prev map[string]chartView
	bytes     int // of cur
}

// memoChart returns build()'s chart for args, building it once per distinct
// args. Arguments it cannot encode exactly (NaN in a struct) skip the memo.
func memoChart(name string, build func() *chartView, args ...any) *chartView {
	key, ok := chartKey(name, args...)
	if !ok {
		return build()
	}
	m := chartSpecs
	m.mu.Lock()
	cv, hit := m.cur[key]
	if !hit {
		if cv, hit = m.prev[key]; hit {
			m.put(key, cv)
		}
	}
	m.mu.Unlock()
	if hit {
		return &cv
	}
	built := build()
	if built == nil {
		return nil
	}
	cv = *built
	m.mu.Lock()
	if _, dup := m.cur[key]; !dup {
		m.put(key, cv)
	}
	m.mu.Unlock()
	return &cv
}

// put adds an entry to the current generation, turning generations over when
// it is full. Called with mu held.
func (m *chartMemo) put(key string, cv chartView) {
	n := len(key) + len(cv.Spec)
	if m.bytes+n > chartMemoBytes/2 {
		m.prev, m.cur, m.bytes = m.cur, map[string]chartView{}, 0
	}
	m.cur[key] = cv
	m.bytes += n
}

// chartKey encodes args exactly: typed, length-prefixed, nil apart from empty.
func chartKey(name string, args ...any) (string, bool) {
	b := make([]byte, 0, 512)
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(name)
	for _, a := range args {
		switch v := a.(type) {
		case string:
			b = append(b, 's')
			str(v)
		case tr:
			b = append(b, 'l')
			str(v.lang)
		case int:
			b = append(b, 'i')
			b = binary.AppendVarint(b, int64(v))
		case bool:
			b = append(b, 'b')
			if v {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case float64:
			b = append(b, 'f')
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		case []string:
			b = append(b, 'S')
			if v == nil {
				b = append(b, 0)
				continue
			}
			b = append(b, 1)
			b = binary.AppendUvarint(b, uint64(len(v)))
			for _, s := range v {
				str(s)
			}
		case []float64:
			b = append(b, 'F')
			if v == nil {
				b = append(b, 0)
				continue
			}
			b = append(b, 1)
			b = binary.AppendUvarint(b, uint64(len(v)))
			for _, f := range v {
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
			}
		case map[string]string:
			b = append(b, 'M')
			if v == nil {
				b = append(b, 0)
				continue
			}
			b = append(b, 1)
			ks := make([]string, 0, len(v))
			for k := range v {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			b = binary.AppendUvarint(b, uint64(len(ks)))
			for _, k := range ks {
				str(k)
				str(v[k])
			}
		default:
			// Query results: their JSON has every exported field, which is all
			// a chart function in this package can read, and floats round-trip.
			j, err := json.Marshal(v)
			if err != nil {
				return "", false
			}
			b = append(b, 'J')
			str(string(j))
		}
	}
	return string(b), true
}

// The chart functions the pages call: each the build function of charts.go
// behind the memo, with all its inputs in the key.

func sparkline(id string, t tr, name string, labels []string, values []float64, partial bool, color, format string) *chartView {
	return memoChart("sparkline", func() *chartView { return buildSparkline(id, t, name, labels, values, partial, color, format) }, id, t, name, labels, values, partial, color, format)
}

func conversionTrend(id string, t tr, stages []string, periods []query.ConversionPeriod, withWin bool, height int) *chartView {
	return memoChart("conversionTrend", func() *chartView { return buildConversionTrend(id, t, stages, periods, withWin, height) }, id, t, stages, periods, withWin, height)
}

func teamsChart(id string, t tr, names []string, booked, target, winrate []float64) *chartView {
	return memoChart("teamsChart", func() *chartView { return buildTeamsChart(id, t, names, booked, target, winrate) }, id, t, names, booked, target, winrate)
}

func headroomChart(id string, t tr, ts []query.Territory, n int, links map[string]string) *chartView {
	return memoChart("headroomChart", func() *chartView { return buildHeadroomChart(id, t, ts, n, links) }, id, t, ts, n, links)
}

func funnelChart(id string, t tr, f query.Funnel, links map[string]string, selected string) *chartView {
	return memoChart("funnelChart", func() *chartView { return buildFunnelChart(id, t, f, links, selected) }, id, t, f, links, selected)
}

func intervalChart(id string, t tr, names []string, vals, lows, highs []float64, verdicts []string, peer float64, format string, links map[string]string) *chartView {
	return memoChart("intervalChart", func() *chartView {
		return buildIntervalChart(id, t, names, vals, lows, highs, verdicts, peer, format, links)
	}, id, t, names, vals, lows, highs, verdicts, peer, format, links)
}

func radarChart(id string, t tr, ms []query.MetricScore) *chartView {
	return memoChart("radarChart", func() *chartView { return buildRadarChart(id, t, ms) }, id, t, ms)
}

func bookingsTrend(id string, t tr, mv query.Movement) *chartView {
	// Only the periods are drawn.
	return memoChart("bookingsTrend", func() *chartView { return buildBookingsTrend(id, t, mv) }, id, t, mv.Periods)
}

func movementChart(id string, t tr, mv query.Movement) *chartView {
	return memoChart("movementChart", func() *chartView { return buildMovementChart(id, t, mv) }, id, t, mv.Periods)
}

func daysChart(id string, t tr, ds []query.StageDurations) *chartView {
	return memoChart("daysChart", func() *chartView { return buildDaysChart(id, t, ds) }, id, t, ds)
}

func provinceMap(id string, t tr, ts []query.Territory, links map[string]string) *chartView {
	return memoChart("provinceMap", func() *chartView { return buildProvinceMap(id, t, ts, links) }, id, t, ts, links)
}

func potentialScatter(id string, t tr, ts []query.Territory, links map[string]string) *chartView {
	return memoChart("potentialScatter", func() *chartView { return buildPotentialScatter(id, t, ts, links) }, id, t, ts, links)
}

func headroomTreemap(id string, t tr, ts []query.Territory, links map[string]string) *chartView {
	return memoChart("headroomTreemap", func() *chartView { return buildHeadroomTreemap(id, t, ts, links) }, id, t, ts, links)
}

func seriesChart(id string, t tr, pts []query.Point, since string, st seriesStyle) *chartView {
	return memoChart("seriesChart", func() *chartView { return buildSeriesChart(id, t, pts, since, st) }, id, t, pts, since, st.Unit, st.Expected, st.Good, st.ExpectedLabel)
}
