package salesgen

import (
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/pipelens/pipelens/alerts"
)

func TestDiag(t *testing.T) {
	if os.Getenv("DIAG") == "" {
		t.Skip()
	}
	cnt := map[string]int{}
	for _, seed := range TuneSeeds {
		for _, kind := range Kinds {
			ss, _ := Generate(seed, kind, SeriesPerKind)
			for _, s := range ss {
				dates, values, _, _ := alerts.BenchDays(s.Dates, s.Values)
				rules, _ := alerts.BenchRules(s.Metric, "")
				al := alerts.BenchJudge(rules, dates, values, cn)
				from := s.Dates[0].AddDate(0, 0, JudgedFrom)
				for _, a := range al {
					d := dates[a.Row]
					if d.Before(from) {
						continue
					}
					hit := false
					for _, p := range s.Anomalies {
						if !d.Before(p.Detect[0]) && !d.After(p.Detect[1]) {
							hit = true
						}
					}
					w := "F"
					if hit {
						w = "T"
					}
					cnt[fmt.Sprintf("%s %s %s %s", w, s.Metric, a.Rule, a.Kind)]++
				}
			}
		}
	}
	var ks []string
	for k := range cnt {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		t.Logf("%s %d", k, cnt[k])
	}
}
