package detect

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// Series is one labelled file of a corpus in NAB's layout, as a detector sees
// it: rows in file order.
type Series struct {
	Path   string // "<category>/<file>.csv", the key of combined_windows.json
	Times  []time.Time
	Values []float64
}

// Detector scores one series: an anomaly score in [0,1] for each row, from
// that row and the rows before it only.
type Detector func(s Series) []float64

// Reference returns NAB's reference detectors: "null" (a constant 0.5) and
// "random" (Python's random.uniform(0,1) seeded with 42 for each file, as
// NAB's published run); nil for any other name.
func Reference(name string) Detector {
	switch name {
	case "null":
		return func(s Series) []float64 {
			out := make([]float64, len(s.Values))
			for i := range out {
				out[i] = 0.5
			}
			return out
		}
	case "random":
		return func(s Series) []float64 {
			r := newPyRandom(42)
			out := make([]float64, len(s.Values))
			for i := range out {
				out[i] = r.next()
			}
			return out
		}
	case "zscore28":
		return rollingZ(28)
	}
	return nil
}

// rollingZ is the textbook baseline: each row's z against the mean and
// standard deviation of the n rows before it, scored |z|/(|z|+1) (0 until n
// rows have passed; 1 off a flat window).
func rollingZ(n int) Detector {
	return func(s Series) []float64 {
		out := make([]float64, len(s.Values))
		for i := n; i < len(s.Values); i++ {
			var m, v float64
			for _, x := range s.Values[i-n : i] {
				m += x
			}
			m /= float64(n)
			for _, x := range s.Values[i-n : i] {
				v += (x - m) * (x - m)
			}
			sd := math.Sqrt(v / float64(n-1))
			if sd == 0 {
				if s.Values[i] != m {
					out[i] = 1
				}
				continue
			}
			z := math.Abs(s.Values[i]-m) / sd
			out[i] = z / (z + 1)
		}
		return out
	}
}

// Corpus is a corpus in NAB's layout (dir/data/<category>/<file>.csv,
// dir/labels/combined_windows.json, optionally dir/config/profiles.json).
type Corpus struct{ c *nabCorpus }

// LoadCorpus reads a corpus in NAB's layout.
func LoadCorpus(dir string) (*Corpus, error) {
	c, err := loadNABCorpus(dir)
	if err != nil {
		return nil, fmt.Errorf("load NAB corpus %s: %w", dir, err)
	}
	return &Corpus{c: c}, nil
}

// Series lists the corpus's labelled files in path order.
func (c *Corpus) Series() []Series {
	out := make([]Series, len(c.c.files))
	for i, f := range c.c.files {
		out[i] = Series{Path: f.path, Times: f.times, Values: f.values}
	}
	return out
}

// Run scores every file with det, files in parallel.
func (c *Corpus) Run(ctx context.Context, name string, det Detector) ([][]float64, error) {
	series := c.Series()
	out := make([][]float64, len(series))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out[i] = det(series[i])
			}
		}()
	}
	var err error
feed:
	for i := range series {
		select {
		case jobs <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("run detector %s: %w", name, err)
	}
	return out, nil
}

// Score scores anomaly (one slice per file of the corpus, in Series order)
// exactly as NAB does, over the files keep accepts (nil: all of them): the
// threshold sweep, the null detector and the perfect score are those of that
// set of files, as if it were the whole corpus.
func (c *Corpus) Score(name string, anomaly [][]float64, keep func(path string) bool) (Scores, error) {
	return c.ScoreAt(name, anomaly, keep, nil)
}

// ScoreAt is Score with the thresholds of the profiles named in at fixed (a
// threshold chosen on another set of files) instead of swept.
func (c *Corpus) ScoreAt(name string, anomaly [][]float64, keep func(path string) bool, at map[string]float64) (Scores, error) {
	if len(anomaly) != len(c.c.files) {
		return Scores{}, fmt.Errorf("score %s: have scores for %d files, corpus has %d", name, len(anomaly), len(c.c.files))
	}
	if keep == nil {
		return c.c.score(name, anomaly, at)
	}
	sub := &nabCorpus{profiles: c.c.profiles}
	var scores [][]float64
	for i, f := range c.c.files {
		if keep(f.path) {
			sub.files = append(sub.files, f)
			sub.tpCount += len(f.windows)
			scores = append(scores, anomaly[i])
		}
	}
	if len(sub.files) == 0 {
		return Scores{}, fmt.Errorf("score %s: no file of the corpus is in the set", name)
	}
	return sub.score(name, scores, at)
}

// WriteResults writes NAB's results files,
// dir/<name>/<category>/<name>_<file>.csv with columns
// timestamp,value,anomaly_score,label, so that NAB's own scorer can check ours.
func (c *Corpus) WriteResults(dir, name string, anomaly [][]float64) error {
	return c.c.writeResults(dir, name, anomaly)
}

func (c *nabCorpus) writeResults(dir, detector string, anomaly [][]float64) error {
	for i, f := range c.files {
		cat, file := path.Split(f.path)
		p := filepath.Join(dir, detector, filepath.FromSlash(cat), detector+"_"+file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
		if err := writeResultFile(p, f, anomaly[i]); err != nil {
			return err
		}
	}
	return nil
}

func writeResultFile(p string, f *nabFile, scores []float64) error {
	fh, err := os.Create(p)
	if err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	bw := bufio.NewWriter(fh)
	bw.WriteString("timestamp,value,anomaly_score,label\n")
	var buf []byte
	for i := range f.times {
		buf = buf[:0]
		buf = append(buf, f.rawTime[i]...)
		buf = append(buf, ',')
		buf = append(buf, f.rawVal[i]...)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, scores[i], 'f', -1, 64)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(f.label(i)), 10)
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	if err := bw.Flush(); err != nil {
		fh.Close()
		return fmt.Errorf("write results %s: %w", p, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("write results %s: %w", p, err)
	}
	return nil
}

// pyRandom is CPython's Mersenne Twister as seeded by random.seed(int), so
// that the "random" reference detector reproduces NAB's published run.
type pyRandom struct {
	mt  [624]uint32
	idx int
}

func newPyRandom(seed uint32) *pyRandom {
	r := &pyRandom{}
	r.initGenrand(19650218)
	key := []uint32{seed}
	i, j := 1, 0
	for k := max(624, len(key)); k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1664525)) + key[j] + uint32(j)
		i++
		j++
		if i >= 624 {
			r.mt[0] = r.mt[623]
			i = 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k := 623; k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= 624 {
			r.mt[0] = r.mt[623]
			i = 1
		}
	}
	r.mt[0] = 0x80000000
	return r
}

func (r *pyRandom) initGenrand(s uint32) {
	r.mt[0] = s
	for i := 1; i < 624; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	r.idx = 624
}

func (r *pyRandom) uint32() uint32 {
	if r.idx >= 624 {
		for k := 0; k < 624; k++ {
			y := (r.mt[k] & 0x80000000) | (r.mt[(k+1)%624] & 0x7fffffff)
			v := r.mt[(k+397)%624] ^ (y >> 1)
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			r.mt[k] = v
		}
		r.idx = 0
	}
	y := r.mt[r.idx]
	r.idx++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// next returns random.random(), which is what random.uniform(0, 1) yields.
func (r *pyRandom) next() float64 {
	a, b := r.uint32()>>5, r.uint32()>>6
	return (float64(a)*67108864.0 + float64(b)) * (1.0 / 9007199254740992.0)
}
