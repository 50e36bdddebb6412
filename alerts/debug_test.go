package alerts

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

func TestDebugSeries(t *testing.T) {
	db := schemastest.Open(t)
	truth := loadGen(t, db, gen.Config{Seed: 7, Size: "small"})
	src := NewClickHouseSource(db, time.UTC)
	asOf := mustDate(t, truth.AsOf).AddDate(0, 0, 1)
	for _, q := range [][3]string{{MetricOppsOpened, SegTeam, "华南一组"}, {MetricLeads, SegTerritory, "广东"}} {
		ss, err := src.Series(context.Background(), q[0], q[1], asOf.AddDate(0, 0, -90), asOf)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			if s.Key != q[2] {
				continue
			}
			line := ""
			for _, p := range s.Points {
				line += fmt.Sprintf("%s:%.0f ", p.Date.Format("0102"), p.Sum)
			}
			t.Log(q, line)
		}
	}
	ss, _ := src.Series(context.Background(), MetricWinRate, SegTeam, asOf.AddDate(0, 0, -180), asOf)
	for _, s := range ss {
		w := weekly(s.Points)
		line := ""
		for _, p := range w {
			line += fmt.Sprintf("%.0f/%.0f ", p.Num, p.Den)
		}
		t.Log(s.Key, line)
	}
}
