package alerts

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"strings"
	"testing"
	"time"
)

// TestEmailChartReadsInUnits: a win-rate chart is in percent with the band and
// a light red span; a Chinese bookings chart counts in 万 and says so; the
// caption names only what is drawn; the shading is light (the old fill was
// an opaque dark red over the whole plot).
func TestEmailChartReadsInUnits(t *testing.T) {
	day := func(i int) time.Time { return time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i) }
	wr := &Anomaly{Metric: MetricWinRate, Kind: "rate", Grain: "day", Direction: -1, Since: day(40), Low: 0.08, High: 0.17}
	for i := 0; i < 56; i++ {
		v := 0.126
		if i >= 40 {
			v = 0.038
		}
		wr.Chart = append(wr.Chart, ChartPoint{Date: day(i), Actual: v, Expected: 0.126})
	}
	img, caption, err := renderChart("en", wr)
	if err != nil || img == nil {
		t.Fatal(err)
	}
	for _, w := range []string{"last 7 days", "Grey dashed: expected", "grey band", "Shaded red"} {
		if !strings.Contains(caption, w) {
			t.Errorf("win-rate caption %q lacks %q", caption, w)
		}
	}
	u := unitOf("en", wr, 0.17)
	if ts := (unitTicks{lang: "en", u: u}).Ticks(0, 20); u.kind != "rate" || ts[1].Label != "10%" {
		t.Errorf("win rate ticks: %+v %+v", u, unitTicks{lang: "en", u: u}.Ticks(0, 20))
	}
	// The shading is light: no pixel of the plot is darker red than a light tint.
	pic, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	if dark := darkRed(pic); dark > 0 {
		t.Errorf("%d dark red pixels: the anomalous span must be shaded lightly", dark)
	}

	bk := &Anomaly{Metric: MetricBookings, Kind: "drop", Grain: "day", Direction: -1, Since: day(20)}
	for i := 0; i < 30; i++ {
		bk.Chart = append(bk.Chart, ChartPoint{Date: day(i), Actual: 200000 + float64(i%7)*10000, Expected: math.NaN()})
	}
	_, caption, err = renderChart("zh-CN", bk)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(caption, "单位：万") || strings.Contains(caption, "灰色虚线") {
		t.Errorf("zh-CN bookings caption %q: want the unit 万 and no expected line (none drawn)", caption)
	}
	zu := unitOf("zh-CN", bk, 260000)
	if ts := (unitTicks{lang: "zh-CN", u: zu}).Ticks(0, 26); zu.scale != 1e4 || strings.Contains(ts[1].Label, "k") {
		t.Errorf("zh-CN amount ticks %+v (unit %+v): want numbers of 万, not k", ts, zu)
	}
	// A pushed close date: bad news in red, its axis named.
	pc := &Anomaly{Metric: "deals", Kind: "pushed_close", Detector: "pushed_close", Direction: 1, Since: day(10), Deal: &Deal{ID: "o1"}}
	for i := 0; i < 5; i++ {
		pc.Chart = append(pc.Chart, ChartPoint{Date: day(7 * i), Actual: float64(10 + 14*i), Expected: math.NaN()})
	}
	_, caption, _ = renderChart("en", pc)
	if !strings.Contains(caption, "days ahead of each export") || !strings.Contains(caption, "Shaded red") {
		t.Errorf("pushed-close caption %q", caption)
	}
}

// darkRed counts pixels that are strongly red and dark.
func darkRed(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 > 100 && r>>8 < 200 && g>>8 < 60 && bl>>8 < 60 {
				n++
			}
		}
	}
	return n
}
