package detect

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

func runCfg(t *testing.T, c *nabCorpus, mk func() scorer) Scores {
	anomaly := make([][]float64, len(c.files))
	for i, f := range c.files {
		s := mk()
		a := make([]float64, len(f.values))
		for j, v := range f.values {
			a[j] = s.Update(f.times[j], v)
		}
		anomaly[i] = a
	}
	res, err := c.score("exp", anomaly)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestExp(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	c := loadTestCorpus(t)
	start := time.Now()
	res := runCfg(t, c, func() scorer { return NewStream() })
	fmt.Printf("%s std %.2f lowFP %.2f lowFN %.2f (%s)\n", os.Getenv("EXP"), res.Profiles[0].Score, res.Profiles[1].Score, res.Profiles[2].Score, time.Since(start))
	if os.Getenv("DETAIL") != "" {
		var fs []FileScore
		for _, f := range res.PerFile {
			if f.Profile == "standard" {
				fs = append(fs, f)
			}
		}
		sort.Slice(fs, func(i, j int) bool { return fs[i].Raw-float64(-fs[i].Windows) < fs[j].Raw-float64(-fs[j].Windows) })
		for _, f := range fs {
			fmt.Printf("  %-55s raw %7.3f  win %d tp %d fp %d\n", strings.TrimSuffix(f.Path, ".csv"), f.Raw, f.Windows, f.TP, f.FP)
		}
	}
}
