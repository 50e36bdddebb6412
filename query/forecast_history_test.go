package query

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
)

// TestForecastHistoryStored: a forecast reading the history
// PrecomputeForecasts stored answers what the same forecast computing it
// answers, for no filter and one value of each filter column, each period and
// grouping; it reads no rate statement then; a filter of two columns still
// computes; and rows of a computation that never wrote its done row are not
// read.
func TestForecastHistoryStored(t *testing.T) {
	ctx := context.Background()
	sm := loadSample(t, gen.Config{Seed: 3})
	var logs syncBuffer
	s := sm.svc
	s.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	asOf, _ := time.Parse(time.DateOnly, sm.truth.AsOf)
	asOf = asOf.AddDate(0, 0, 1)

	var one [7]string
	err := s.query(ctx, "test values", "SELECT any(team), any(manager_id), any(owner_id), any(territory), any(product), any(source), any(segment) FROM opp_facts WHERE "+tokFacts, nil,
		func(r driverRows) error { return r.Scan(&one[0], &one[1], &one[2], &one[3], &one[4], &one[5], &one[6]) })
	if err != nil {
		t.Fatal(err)
	}
	filters := []Filter{{}, {Team: one[0:1]}, {Manager: one[1:2]}, {Rep: one[2:3]}, {Territory: one[3:4]}, {Product: one[4:5]}, {Source: one[5:6]}, {Segment: one[6:7]}}
	forecasts := func() [][]Forecast {
		var out [][]Forecast
		for _, f := range filters {
			for _, period := range fcHistPeriods {
				fcs, err := s.forecasts(ctx, Unrestricted, f, ForecastRequest{Period: period, AsOf: asOf}, []string{"", "team", "rep"})
				if err != nil {
					t.Fatalf("%+v %s: %v", f, period, err)
				}
				out = append(out, fcs)
			}
		}
		return out
	}
	live := forecasts()
	if fc := live[0][0]; !fc.History || fc.Stages[0].Open == 0 || fc.NewYield == 0 {
		t.Fatalf("the sample's forecast learnt nothing: history %v, %+v, yield %v", fc.History, fc.Stages[0], fc.NewYield)
	}
	if !strings.Contains(logs.String(), `purpose="forecast rates"`) {
		t.Fatal("no rate statement before the history was stored")
	}
	// A computation killed after its rows, before its done row: read by
	// nobody.
	p, _ := s.forecastPlan(ForecastRequest{Period: PeriodQuarter, AsOf: asOf})
	v, _ := s.db.CurrentVersion(ctx)
	err = s.db.InsertRows(ctx, "test", "INSERT INTO forecast_history (model, pub, as_of, period, dim, value, run, part, key, st, nums, computed_at)",
		[]any{s.fcModel(), v.Pub, day(asOf), p.period, "", "", uint64(math.MaxUint64), uint8(fcPartRate), "SMB", uint64(1), []float64{1e9, 1e9, 1e12, 1e12, 0, 0, 0, 0, 0, 0, 0, 0}, time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	// A publication younger than the quiet time is left alone.
	if did, err := s.precomputeForecasts(ctx, asOf, time.Hour); err != nil || did {
		t.Fatalf("precompute within an hour of the publication: %v, computed %v: want nothing done", err, did)
	}
	did, err := s.precomputeForecasts(ctx, asOf, 0)
	if err != nil || !did {
		t.Fatalf("precompute: %v, computed %v", err, did)
	}
	if did, err := s.precomputeForecasts(ctx, asOf, 0); err != nil || did {
		t.Fatalf("precompute again: %v, computed %v: want nothing to do", err, did)
	}
	logs.Reset()
	stored := forecasts()
	if got := logs.String(); strings.Contains(got, `purpose="forecast rates"`) || !strings.Contains(got, `purpose="forecast history"`) {
		t.Fatalf("the stored history was not read:\n%s", got)
	}
	for i := range live {
		if path, ok := sameJSON(t, live[i], stored[i]); !ok {
			t.Errorf("%+v %s: stored history answers differently: %s", filters[i/len(fcHistPeriods)], fcHistPeriods[i%len(fcHistPeriods)], path)
		}
	}
	logs.Reset()
	if _, err := s.Forecast(ctx, Unrestricted, Filter{Team: one[0:1], Product: one[4:5]}, ForecastRequest{AsOf: asOf}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `purpose="forecast rates"`) {
		t.Error("a filter of two columns did not compute its history")
	}
}

// syncBuffer is a bytes.Buffer for a logger several goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func (w *syncBuffer) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Reset()
}
