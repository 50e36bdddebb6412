package detect

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// temporary tuning harness (to be removed)
func runCfg(c *nabCorpus, cfg streamConfig) ([][]float64, Scores) {
	out := make([][]float64, len(c.files))
	done := make(chan int)
	for i := range c.files {
		go func(i int) {
			f := c.files[i]
			s := newStreamWith(cfg)
			sc := make([]float64, len(f.values))
			for j, v := range f.values {
				sc[j] = s.Update(f.times[j], v)
			}
			out[i] = sc
			done <- i
		}(i)
	}
	for range c.files {
		<-done
	}
	res, _ := c.score("x", out)
	return out, res
}

func line(res Scores) string {
	s := ""
	for _, p := range res.Profiles {
		s += fmt.Sprintf(" %s=%.2f(t=%.3f tp%d fp%d)", p.Profile[:8], p.Score, p.Threshold, p.TP, p.FP)
	}
	return s
}

func groups(res Scores) string {
	grp := map[string]float64{}
	for _, f := range res.PerFile {
		if f.Profile != "standard" {
			continue
		}
		k := strings.Split(f.Path, "/")[0]
		if strings.Contains(f.Path, "nyc") {
			k = "nyc"
		}
		grp[k] += f.Raw
	}
	g := ""
	for _, k := range []string{"artificialWithAnomaly", "realAWSCloudwatch", "realAdExchange", "realKnownCause", "nyc", "realTraffic", "realTweets"} {
		g += fmt.Sprintf(" %s:%.1f", k[:min(len(k), 8)], grp[k])
	}
	return g
}

func tuneCfg() streamConfig {
	cfg := defaultStreamConfig
	return cfg
}

func TestTuneBase(t *testing.T) {
	if os.Getenv("TUNE") == "" {
		t.Skip()
	}
	c := loadTestCorpus(t)
	anomaly, res := runCfg(c, tuneCfg())
	fmt.Println(line(res))
	st := res.Profile("standard")
	var rows []FileScore
	for _, f := range res.PerFile {
		if f.Profile == "standard" {
			rows = append(rows, f)
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Raw < rows[j].Raw })
	os.MkdirAll("/tmp/tune/scores", 0o755)
	for _, r := range rows {
		var fi *nabFile
		var sc []float64
		for k, f := range c.files {
			if f.path == r.Path {
				fi, sc = f, anomaly[k]
			}
		}
		fh, _ := os.Create("/tmp/tune/scores/" + strings.ReplaceAll(fi.path, "/", "__"))
		for _, s := range sc {
			fmt.Fprintln(fh, s)
		}
		fh.Close()
		det := ""
		for _, w := range fi.windows {
			first := -1
			for i := w.start; i <= w.end; i++ {
				if sc[i] >= st.Threshold {
					first = i
					break
				}
			}
			if first < 0 {
				det += " miss"
			} else {
				det += fmt.Sprintf(" %.2f", float64(first-w.start)/float64(w.end-w.start+1))
			}
		}
		fmt.Printf("%7.2f fp%3d w%d n%5d %-50s%s\n", r.Raw, r.FP, r.Windows, len(fi.values), r.Path, det)
	}
}

func TestTuneGrid(t *testing.T) {
	if os.Getenv("GRID") == "" {
		t.Skip()
	}
	c := loadTestCorpus(t)
	base := tuneCfg()
	try := func(name string, f func(*streamConfig)) {
		cfg := base
		f(&cfg)
		_, res := runCfg(c, cfg)
		fmt.Printf("%-24s %s |%s\n", name, line(res), groups(res))
	}
	try("base", func(c *streamConfig) {})
	grid(try)
}
