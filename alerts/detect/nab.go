package detect

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file reproduces the scoring of the Numenta Anomaly Benchmark
// (numenta/NAB v1.x: nab/sweeper.py, nab/optimizer.py, nab/scorer.py and
// Runner.normalize in nab/runner.py). Deviations from NAB are bugs: the
// published leaderboard is only comparable if every rounding rule matches.

// nabProfile is one application profile of config/profiles.json.
type nabProfile struct {
	name       string
	tp, fp, fn float64
}

// defaultProfiles are NAB's config/profiles.json, used when a corpus has none.
var defaultProfiles = []nabProfile{
	{name: "standard", tp: 1, fp: 0.11, fn: 1},
	{name: "reward_low_FP_rate", tp: 1, fp: 0.22, fn: 1},
	{name: "reward_low_FN_rate", tp: 1, fp: 0.11, fn: 2},
}

// nabWindow is a labelled anomaly window as row indices, both inclusive.
type nabWindow struct {
	start, end int
	t1, t2     time.Time
}

type nabFile struct {
	path    string // "<category>/<file>.csv", the key of combined_windows.json
	times   []time.Time
	rawTime []string
	rawVal  []string
	values  []float64
	windows []nabWindow
}

type nabCorpus struct {
	files    []*nabFile
	profiles []nabProfile
	// tpCount is the number of windows in the label file: NAB's "perfect"
	// detector earns tpWeight for each of them.
	tpCount int
}

// probationLength is NAB's getProbationPeriod / Sweeper._getProbationaryLength:
// 15% of the file, but never more than 750 rows (15% of 5000).
func probationLength(n int) int {
	return int(math.Min(math.Floor(0.15*float64(n)), 0.15*5000))
}

// label reports whether row i lies inside a window, as NAB's CorpusLabel does
// (by timestamp: t1 <= t <= t2).
func (f *nabFile) label(i int) int {
	t := f.times[i]
	for _, w := range f.windows {
		if !t.Before(w.t1) && !t.After(w.t2) {
			return 1
		}
	}
	return 0
}

var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02 15:04",
	"2006-01-02",
}

func parseNABTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("parse timestamp %q: unknown layout", s)
}

// loadNABCorpus reads a corpus in NAB's layout: data/<category>/<file>.csv,
// labels/combined_windows.json and (optionally) config/profiles.json.
func loadNABCorpus(dir string) (*nabCorpus, error) {
	labelPath := filepath.Join(dir, "labels", "combined_windows.json")
	raw, err := os.ReadFile(labelPath)
	if err != nil {
		return nil, fmt.Errorf("read labels: %w", err)
	}
	var labels map[string][][]string
	if err := json.Unmarshal(raw, &labels); err != nil {
		return nil, fmt.Errorf("parse %s: %w", labelPath, err)
	}
	c := &nabCorpus{}
	for _, ws := range labels {
		c.tpCount += len(ws)
	}
	if c.profiles, err = loadProfiles(filepath.Join(dir, "config", "profiles.json")); err != nil {
		return nil, err
	}

	dataDir := filepath.Join(dir, "data")
	var paths []string
	err = filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".csv") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list data files: %w", err)
	}
	sort.Strings(paths)
	seen := map[string]bool{}
	for _, p := range paths {
		rel, _ := filepath.Rel(dataDir, p)
		rel = filepath.ToSlash(rel)
		ws, ok := labels[rel]
		if !ok {
			// NAB's runner only runs files that have a label entry.
			continue
		}
		seen[rel] = true
		f, err := readNABFile(p, rel)
		if err != nil {
			return nil, err
		}
		if err := f.setWindows(ws); err != nil {
			return nil, err
		}
		c.files = append(c.files, f)
	}
	for rel := range labels {
		if !seen[rel] {
			return nil, fmt.Errorf("label file names %s, which is not in %s", rel, dataDir)
		}
	}
	if len(c.files) == 0 {
		return nil, fmt.Errorf("no labelled data files under %s", dataDir)
	}
	return c, nil
}

func loadProfiles(path string) ([]nabProfile, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return defaultProfiles, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read profiles: %w", err)
	}
	var m map[string]struct {
		CostMatrix struct {
			TP float64 `json:"tpWeight"`
			FP float64 `json:"fpWeight"`
			FN float64 `json:"fnWeight"`
		}
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var ps []nabProfile
	// Keep NAB's three well-known profiles first, in their usual order.
	for _, d := range defaultProfiles {
		if p, ok := m[d.name]; ok {
			ps = append(ps, nabProfile{d.name, p.CostMatrix.TP, p.CostMatrix.FP, p.CostMatrix.FN})
			delete(m, d.name)
		}
	}
	rest := make([]string, 0, len(m))
	for k := range m {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	for _, k := range rest {
		p := m[k]
		ps = append(ps, nabProfile{k, p.CostMatrix.TP, p.CostMatrix.FP, p.CostMatrix.FN})
	}
	return ps, nil
}

func readNABFile(path, rel string) (*nabFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open data file: %w", err)
	}
	defer fh.Close()
	r := csv.NewReader(fh)
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("read header of %s: %w", rel, err)
	}
	ti, vi := -1, -1
	for i, h := range head {
		switch strings.TrimSpace(h) {
		case "timestamp":
			ti = i
		case "value":
			vi = i
		}
	}
	if ti < 0 || vi < 0 {
		return nil, fmt.Errorf("read %s: want columns timestamp,value, have %v", rel, head)
	}
	f := &nabFile{path: rel}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", rel, err)
		}
		t, err := parseNABTime(rec[ti])
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", rel, line, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[vi]), 64)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: parse value %q: %w", rel, line, rec[vi], err)
		}
		f.times = append(f.times, t)
		f.values = append(f.values, v)
		f.rawTime = append(f.rawTime, rec[ti])
		f.rawVal = append(f.rawVal, rec[vi])
	}
	return f, nil
}

// setWindows maps window timestamps onto rows. Like NAB's CorpusLabel, a
// window bound that is not exactly a timestamp of the file is an error:
// NAB's sweeper would silently never enter such a window.
func (f *nabFile) setWindows(ws [][]string) error {
	index := make(map[time.Time]int, len(f.times))
	for i := len(f.times) - 1; i >= 0; i-- {
		index[f.times[i]] = i // first occurrence wins, as list.index does
	}
	for _, w := range ws {
		if len(w) != 2 {
			return fmt.Errorf("%s: window %v: want [start, end]", f.path, w)
		}
		t1, err := parseNABTime(w[0])
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		t2, err := parseNABTime(w[1])
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		s, ok1 := index[t1]
		e, ok2 := index[t2]
		if !ok1 || !ok2 {
			return fmt.Errorf("%s: window %v: bounds must be timestamps of the file", f.path, w)
		}
		if e < s {
			return fmt.Errorf("%s: window %v ends before it starts", f.path, w)
		}
		if k := len(f.windows); k > 0 && s <= f.windows[k-1].end {
			// NAB's sweep enters windows in the listed order: a window listed
			// out of order would silently never be entered.
			return fmt.Errorf("%s: window %v starts before the window listed before it ends: list windows in time order, without overlap", f.path, w)
		}
		f.windows = append(f.windows, nabWindow{start: s, end: e, t1: t1, t2: t2})
	}
	return nil
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// scaledSigmoid is NAB's weighting by relative position: -1 (window start)
// gives 0.98661, 0 (window end) gives 0, and beyond 3 it is a flat -1.
func scaledSigmoid(pos float64) float64 {
	if pos > 3.0 {
		return -1.0
	}
	return 2*sigmoid(-5*pos) - 1.0
}

// sweepPoint is one scorable row (probation excluded), as NAB's AnomalyPoint.
type sweepPoint struct {
	score      float64 // detector's anomaly score
	unweighted float64 // scaled sigmoid, before the profile's weights
	window     int32   // corpus-wide window id; -1 outside any window
}

// sweepPoints is Sweeper.calcSweepScore: it walks the rows, entering a window
// at its start timestamp and leaving it after its end timestamp. Windows are
// numbered from firstWindow so that ids are unique across the corpus.
func (f *nabFile) sweepPoints(scores []float64, firstWindow int32, out []sweepPoint) []sweepPoint {
	prob := probationLength(len(f.times))
	next := 0
	cur := -1 // index into f.windows while inside one
	var curWidth, prevWidth float64
	prevRight := -1
	for i := range f.times {
		if cur < 0 && next < len(f.windows) && i == f.windows[next].start {
			cur = next
			next++
			w := f.windows[cur]
			curWidth = float64(w.end - w.start + 1)
		}
		var p sweepPoint
		p.score = scores[i]
		if cur >= 0 {
			w := f.windows[cur]
			pos := -float64(w.end-i+1) / curWidth
			p.unweighted = scaledSigmoid(pos)
			p.window = firstWindow + int32(cur)
		} else {
			p.window = -1
			if prevRight < 0 {
				p.unweighted = -1.0
			} else {
				p.unweighted = scaledSigmoid(math.Abs(float64(prevRight-i)) / (prevWidth - 1))
			}
		}
		if i >= prob {
			out = append(out, p)
		}
		if cur >= 0 && i == f.windows[cur].end {
			prevRight = i
			prevWidth = curWidth
			cur = -1
		}
	}
	return out
}

var maxTP = scaledSigmoid(-1.0)

func (p nabProfile) weight(sp sweepPoint) float64 {
	if sp.window >= 0 {
		return sp.unweighted * p.tp / maxTP
	}
	return sp.unweighted * p.fp
}

// thresholdScore is NAB's ThresholdScore: the profile score when every
// scorable row with anomaly score >= threshold is a detection.
type thresholdScore struct {
	threshold      float64
	score          float64
	tp, tn, fp, fn int
}

// bestThreshold is Sweeper.calcScoreByThreshold followed by the optimizer's
// pick: points must be sorted by descending score; the first (highest)
// threshold with the maximal score wins, as Python's stable sort gives.
func bestThreshold(sorted []sweepPoint, nWindows int, p nabProfile) thresholdScore {
	parts := make([]float64, nWindows)
	present := make([]bool, nWindows)
	cur := thresholdScore{threshold: 1.1}
	for _, sp := range sorted {
		if sp.window >= 0 {
			cur.fn++
			if !present[sp.window] {
				present[sp.window] = true
				parts[sp.window] = -p.fn
				cur.score -= p.fn
			}
		} else {
			cur.tn++
		}
	}
	best := cur
	for _, sp := range sorted {
		if sp.score != cur.threshold {
			if cur.score > best.score {
				best = cur
			}
			cur.threshold = sp.score
		}
		w := p.weight(sp)
		if sp.window >= 0 {
			cur.tp++
			cur.fn--
			if w > parts[sp.window] {
				cur.score += w - parts[sp.window]
				parts[sp.window] = w
			}
		} else {
			cur.fp++
			cur.tn--
			cur.score += w
		}
	}
	if cur.score > best.score {
		best = cur
	}
	return best
}

// scoreAt scores points (one file, any order) with detections at score >=
// threshold: Sweeper.scoreDataSet's matching row.
func scoreAt(points []sweepPoint, threshold float64, p nabProfile) thresholdScore {
	res := thresholdScore{threshold: threshold}
	parts := map[int32]float64{}
	for _, sp := range points {
		if sp.window >= 0 {
			if _, ok := parts[sp.window]; !ok {
				parts[sp.window] = -p.fn
			}
		}
	}
	for _, sp := range points {
		det := sp.score >= threshold
		switch {
		case sp.window >= 0 && det:
			res.tp++
			if w := p.weight(sp); w > parts[sp.window] {
				parts[sp.window] = w
			}
		case sp.window >= 0:
			res.fn++
		case det:
			res.fp++
			res.score += p.weight(sp)
		default:
			res.tn++
		}
	}
	for _, v := range parts {
		res.score += v
	}
	return res
}

// ProfileScore is the outcome of one NAB application profile.
type ProfileScore struct {
	Profile   string
	Threshold float64 // anomaly-score threshold chosen by the corpus-wide sweep (or fixed: Corpus.ScoreAt)
	Raw       float64 // summed NAB score at that threshold
	Null      float64 // raw score of NAB's null detector (constant 0.5)
	Perfect   float64 // windows in the label file × tpWeight
	Score     float64 // 100 × (Raw − Null) / (Perfect − Null)
	TP, TN    int     // row counts at the threshold, probation excluded
	FP, FN    int
	Hits      int // windows with a detection at the threshold
}

// FileScore is one data file's share of a profile's raw score.
type FileScore struct {
	Path    string
	Profile string
	Raw     float64
	TP, FP  int
	Windows int
}

// Scores is a detector's NAB result over a corpus.
type Scores struct {
	Detector string
	Files    int
	Rows     int
	Profiles []ProfileScore // NAB's standard, reward_low_FP_rate, reward_low_FN_rate first
	PerFile  []FileScore
}

// Profile returns the named profile's result (zero value if absent).
func (s Scores) Profile(name string) ProfileScore {
	for _, p := range s.Profiles {
		if p.Profile == name {
			return p
		}
	}
	return ProfileScore{}
}

// Standard is the normalised score under NAB's standard profile.
func (s Scores) Standard() float64 { return s.Profile("standard").Score }

// score runs NAB's optimize, score and normalize steps on anomaly scores
// (one slice per corpus file, aligned with its rows).
// A profile named in fixed is scored at that threshold instead of the swept
// one.
func (c *nabCorpus) score(detector string, anomaly [][]float64, fixed map[string]float64) (Scores, error) {
	if len(anomaly) != len(c.files) {
		return Scores{}, fmt.Errorf("score %s: have scores for %d files, corpus has %d", detector, len(anomaly), len(c.files))
	}
	res := Scores{Detector: detector, Files: len(c.files)}
	var all, null []sweepPoint
	perFile := make([][]sweepPoint, len(c.files))
	var nWin int32
	half := []float64{}
	for i, f := range c.files {
		if len(anomaly[i]) != len(f.times) {
			return Scores{}, fmt.Errorf("score %s: %s has %d rows, %d scores", detector, f.path, len(f.times), len(anomaly[i]))
		}
		for _, s := range anomaly[i] {
			if math.IsNaN(s) || s < 0 || s > 1 {
				return Scores{}, fmt.Errorf("score %s: %s: anomaly score %v outside [0,1]", detector, f.path, s)
			}
		}
		res.Rows += len(f.times)
		start := len(all)
		all = f.sweepPoints(anomaly[i], nWin, all)
		perFile[i] = all[start:len(all):len(all)]
		for len(half) < len(f.times) {
			half = append(half, 0.5)
		}
		null = f.sweepPoints(half[:len(f.times)], nWin, null)
		nWin += int32(len(f.windows))
	}
	sorted := make([]sweepPoint, len(all))
	copy(sorted, all)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].score > sorted[j].score })

	for _, p := range c.profiles {
		var best thresholdScore
		if th, ok := fixed[p.name]; !ok {
			best = bestThreshold(sorted, int(nWin), p)
		} else {
			best = thresholdScore{threshold: th}
			for i := range c.files {
				at := scoreAt(perFile[i], th, p)
				best.score += at.score
				best.tp, best.tn, best.fp, best.fn = best.tp+at.tp, best.tn+at.tn, best.fp+at.fp, best.fn+at.fn
			}
		}
		base := bestThreshold(null, int(nWin), p).score
		perfect := float64(c.tpCount) * p.tp
		ps := ProfileScore{
			Profile: p.name, Threshold: best.threshold, Raw: best.score,
			Null: base, Perfect: perfect,
			TP: best.tp, TN: best.tn, FP: best.fp, FN: best.fn,
		}
		if perfect != base {
			ps.Score = 100 * (best.score - base) / (perfect - base)
		}
		for i := range c.files {
			ps.Hits += windowsHit(perFile[i], best.threshold)
		}
		res.Profiles = append(res.Profiles, ps)
		for i, f := range c.files {
			fs := scoreAt(perFile[i], best.threshold, p)
			res.PerFile = append(res.PerFile, FileScore{
				Path: f.path, Profile: p.name, Raw: fs.score, TP: fs.tp, FP: fs.fp, Windows: len(f.windows),
			})
		}
	}
	return res, nil
}

// windowsHit counts the windows with a detection at score >= threshold.
func windowsHit(points []sweepPoint, threshold float64) int {
	hit := map[int32]bool{}
	for _, sp := range points {
		if sp.window >= 0 && sp.score >= threshold {
			hit[sp.window] = true
		}
	}
	return len(hit)
}
