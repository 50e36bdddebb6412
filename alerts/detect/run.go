package detect

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// scorer turns one series into anomaly scores in [0,1], row by row.
type scorer interface {
	Update(t time.Time, v float64) float64
}

type constScorer float64

func (c constScorer) Update(time.Time, float64) float64 { return float64(c) }

// newScorer picks the detector for RunNAB. "null" and "random" are NAB's
// reference detectors (a constant 0.5, and Python's random.uniform(0,1)
// seeded with 42 for each file); every other name runs the Stream detector.
func newScorer(name string) scorer {
	switch name {
	case "null":
		return constScorer(0.5)
	case "random":
		return newPyRandom(42)
	}
	return NewStream()
}

// RunNAB runs a detector in streaming mode over every labelled series of a
// corpus in NAB's layout (corpusDir/data, corpusDir/labels/combined_windows.json,
// corpusDir/config/profiles.json), scores it exactly as NAB does, and prints
// one line per profile to w. With resultsDir set it also writes NAB's results
// files, resultsDir/<detector>/<category>/<detector>_<file>.csv, with columns
// timestamp,value,anomaly_score,label.
//
// detectorName names the results; "null" and "random" select NAB's reference
// detectors, any other name runs Stream.
func RunNAB(ctx context.Context, corpusDir, resultsDir, detectorName string, w io.Writer) (Scores, error) {
	start := time.Now()
	c, err := loadNABCorpus(corpusDir)
	if err != nil {
		return Scores{}, fmt.Errorf("load NAB corpus: %w", err)
	}
	anomaly, err := c.detect(ctx, detectorName)
	if err != nil {
		return Scores{}, err
	}
	res, err := c.score(detectorName, anomaly)
	if err != nil {
		return Scores{}, err
	}
	if resultsDir != "" {
		if err := c.writeResults(resultsDir, detectorName, anomaly); err != nil {
			return res, err
		}
	}
	if w != nil {
		fmt.Fprintf(w, "NAB %s: %d files, %d rows, %s\n", detectorName, res.Files, res.Rows, time.Since(start).Round(time.Millisecond))
		for _, p := range res.Profiles {
			fmt.Fprintf(w, "  %-20s %7.2f  (raw %.3f, null %.3f, perfect %.0f, threshold %.6g, tp %d fp %d)\n",
				p.Profile, p.Score, p.Raw, p.Null, p.Perfect, p.Threshold, p.TP, p.FP)
		}
	}
	return res, nil
}

// detect runs a fresh detector over each file, files in parallel.
func (c *nabCorpus) detect(ctx context.Context, name string) ([][]float64, error) {
	out := make([][]float64, len(c.files))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				f := c.files[i]
				s := newScorer(name)
				scores := make([]float64, len(f.values))
				for j, v := range f.values {
					scores[j] = s.Update(f.times[j], v)
				}
				out[i] = scores
			}
		}()
	}
	var err error
feed:
	for i := range c.files {
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

// Update returns random.random(), which is what random.uniform(0, 1) yields.
func (r *pyRandom) Update(time.Time, float64) float64 {
	a, b := r.uint32()>>5, r.uint32()>>6
	return (float64(a)*67108864.0 + float64(b)) * (1.0 / 9007199254740992.0)
}
