package salesgen

import (
	"reflect"
	"testing"

	"github.com/pipelens/pipelens/alerts"
)

// Judging several sensitivities at once (bench nab's levels) opens
// exactly the alerts each would open judged alone: the shared models change
// no verdict. A lower z opens more alerts, or the sensitivity is not applied.
func TestLevelsJudgeAsAlone(t *testing.T) {
	sens := []string{"", "3", "2"}
	opened := make([]int, len(sens))
	for _, kind := range []string{"level_shift", "spike"} {
		series, err := Generate(TuneSeeds[0], kind, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range series {
			dates, values, _, _ := alerts.BenchDays(s.Dates, s.Values)
			var levels [][]alerts.Rule
			for _, z := range sens {
				rules, err := alerts.BenchRulesAt(s.Metric, "", z)
				if err != nil {
					t.Fatal(err)
				}
				levels = append(levels, rules)
			}
			together := alerts.BenchJudgeLevels(levels, dates, values, cn)
			for k := range levels {
				alone := alerts.BenchJudge(levels[k], dates, values, cn)
				if !reflect.DeepEqual(together[k], alone) {
					t.Errorf("%s, sensitivity %q: judged with the others %d alerts, alone %d", s.Name, sens[k], len(together[k]), len(alone))
				}
				opened[k] += len(alone)
			}
		}
	}
	t.Logf("alerts opened at sensitivity shipped, z 3, z 2: %v", opened)
	if !(opened[0] < opened[1] && opened[1] < opened[2]) {
		t.Errorf("alerts opened at the shipped sensitivity, z 3, z 2: %v, want increasing", opened)
	}
}
