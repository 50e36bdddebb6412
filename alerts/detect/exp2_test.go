package detect

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

func TestGrid(t *testing.T) {
	if os.Getenv("GRID") == "" {
		t.Skip()
	}
	c := loadTestCorpus(t)
	type v struct {
		name string
		f    func(*streamConfig)
	}
	vs := []v{
		{"base", func(c *streamConfig) {}},
		{"w200", func(c *streamConfig) { c.window = 200 }},
		{"w800", func(c *streamConfig) { c.window = 800 }},
		{"tail0.7", func(c *streamConfig) { c.tailMix = 0.7 }},
		{"tail1.3", func(c *streamConfig) { c.tailMix = 1.3 }},
		{"sg0.3", func(c *streamConfig) { c.seasonGain = 0.3 }},
		{"sg0.7", func(c *streamConfig) { c.seasonGain = 0.7 }},
		{"sg1", func(c *streamConfig) { c.seasonGain = 1 }},
		{"noseason", func(c *streamConfig) { c.seasonal = false }},
		{"sd1", func(c *streamConfig) { c.seasonDays = 1 }},
		{"sd5", func(c *streamConfig) { c.seasonDays = 5 }},
		{"rm0.3", func(c *streamConfig) { c.relMix = 0.3 }},
		{"rm0.7", func(c *streamConfig) { c.relMix = 0.7 }},
		{"rq0.95", func(c *streamConfig) { c.relQ = 0.95 }},
		{"rq0.995", func(c *streamConfig) { c.relQ = 0.995 }},
		{"rt0.01", func(c *streamConfig) { c.rangeTol = 0.01 }},
		{"rt0.0001", func(c *streamConfig) { c.rangeTol = 0.0001 }},
		{"s75", func(c *streamConfig) { c.suppress = 75 }},
		{"s125", func(c *streamConfig) { c.suppress = 125 }},
	}
	out := make([]string, len(vs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, x := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cfg := defaultStreamConfig
			x.f(&cfg)
			res := runCfg(t, c, func() scorer { return newStreamWith(cfg) })
			out[i] = fmt.Sprintf("%-14s std %6.2f lowFP %6.2f lowFN %6.2f", x.name, res.Profiles[0].Score, res.Profiles[1].Score, res.Profiles[2].Score)
		}()
	}
	wg.Wait()
	for _, o := range out {
		fmt.Println(o)
	}
}
