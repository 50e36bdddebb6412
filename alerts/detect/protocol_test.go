package detect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tuneFingerprint is the SHA-256 of NABTuneFiles joined by newlines, taken when
// the protocol was declared: changing the tuning half changes it.
const tuneFingerprint = "3ca16a3c015ae9ab19d8895f97fc06a215f60b3a54ee30ea59fb5e3ff65db236"

func TestNABSplitIsFixedAndDisjoint(t *testing.T) {
	sum := sha256.Sum256([]byte(strings.Join(NABTuneFiles, "\n")))
	if got := hex.EncodeToString(sum[:]); got != tuneFingerprint {
		t.Errorf("the tuning half changed (fingerprint %s): the protocol is fixed before measuring", got)
	}
	if len(NABTuneFiles) != 29 || len(NABReportFiles) != 29 {
		t.Errorf("halves have %d and %d files, want 29 and 29", len(NABTuneFiles), len(NABReportFiles))
	}
	seen := map[string]string{}
	for _, half := range []struct {
		name  string
		files []string
	}{{"tune", NABTuneFiles}, {"report", NABReportFiles}} {
		for _, p := range half.files {
			if h, ok := seen[p]; ok {
				t.Errorf("%s is in the %s half and the %s half", p, h, half.name)
			}
			seen[p] = half.name
			if NABHalf(p) != half.name {
				t.Errorf("NABHalf(%s) = %q, want %q", p, NABHalf(p), half.name)
			}
		}
	}
	c := loadTestCorpus(t)
	var all []string
	for _, f := range c.files {
		all = append(all, f.path)
		if seen[f.path] == "" {
			t.Errorf("corpus file %s is in neither half", f.path)
		}
	}
	if len(all) != len(seen) {
		t.Errorf("corpus has %d files, the halves %d", len(all), len(seen))
	}
}

// handCorpus writes one file of 20 daily rows with one labelled window, rows
// 10..13 (2024-01-11 to 2024-01-14).
func handCorpus(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	d0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 20 {
		fmt.Fprintf(&b, "%s,%d\n", d0.AddDate(0, 0, i).Format("2006-01-02 15:04:05"), 10+i%3)
	}
	write := func(rel, s string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("data/cat/f.csv", b.String())
	write("labels/combined_windows.json", `{"cat/f.csv": [["2024-01-11 00:00:00.000000", "2024-01-14 00:00:00.000000"]]}`)
	return dir
}

// TestNABScorerHandCase scores a detector that fires at row 11 (inside the
// window 10..13) and row 17 (after it) by NAB's rules, worked by hand:
//
//   - probation: floor(0.15 × 20) = 3 rows are not scored;
//   - row 11: relative position −(13−11+1)/4 = −0.75, scaled sigmoid
//     2σ(3.75)−1 = 0.954045, divided by the sigmoid at the window start
//     2σ(5)−1 = 0.986614: true positive worth 0.966989;
//   - row 17: 4 rows after a window of width 4, position 4/(4−1), scaled sigmoid
//     2σ(−6.667)−1 = −0.997457, × fpWeight 0.11 = −0.109720;
//   - raw score 0.857269 at threshold 1 (threshold 1.1 gives −1 for the missed
//     window; threshold 0 adds 13 false positives);
//   - null detector (0.5 everywhere): the window's first row earns 1, rows 3..9
//     (before any window) cost 0.11 each, rows 14..19 0.11 × their scaled
//     sigmoid: 1 − 0.77 − 0.615656 = −0.385656;
//   - standard = 100 × (0.857269 + 0.385656) / (1 + 0.385656) = 89.6994.
//
// reward_low_FP_rate (fpWeight 0.22): raw 0.966989 − 0.219441 = 0.747548; the
// null detector's best is −1 (no detection; detecting everything costs more):
// 100 × 1.747548 / 2 = 87.3774.
func TestNABScorerHandCase(t *testing.T) {
	c, err := LoadCorpus(handCorpus(t))
	if err != nil {
		t.Fatal(err)
	}
	det := func(s Series) []float64 {
		out := make([]float64, len(s.Values))
		out[11], out[17] = 1, 1
		return out
	}
	anomaly, err := c.Run(context.Background(), "hand", det)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Score("hand", anomaly, nil)
	if err != nil {
		t.Fatal(err)
	}
	own, err := c.ScoreAt("hand", anomaly, nil, map[string]float64{"standard": 1, "reward_low_FP_rate": 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		profile string
		raw     float64
		null    float64
		score   float64
	}{
		{"standard", 0.8572687, -0.3856559, 89.69937},
		{"reward_low_FP_rate", 0.7475483, -1, 87.37742},
	} {
		p := res.Profile(w.profile)
		if math.Abs(p.Raw-w.raw) > 1e-6 || math.Abs(p.Null-w.null) > 1e-6 || math.Abs(p.Score-w.score) > 1e-4 {
			t.Errorf("%s: raw %.7f null %.7f score %.5f, NAB by hand gives raw %.7f null %.7f score %.5f",
				w.profile, p.Raw, p.Null, p.Score, w.raw, w.null, w.score)
		}
		// The detector's own verdicts (threshold 1, fixed) are what the sweep picks here.
		if o := own.Profile(w.profile); math.Abs(o.Score-p.Score) > 1e-9 || o.Hits != 1 || o.FP != 1 || o.Threshold != 1 {
			t.Errorf("%s: own verdicts score %.5f (%d windows, %d false rows, threshold %v), want the swept %.5f, 1, 1, 1", w.profile, o.Score, o.Hits, o.FP, o.Threshold, p.Score)
		}
		if p.TP != 1 || p.FP != 1 {
			t.Errorf("%s: tp %d fp %d rows, want 1 and 1", w.profile, p.TP, p.FP)
		}
	}
	// A set of files is scored as its own corpus: the one file is all of it.
	sub, err := c.Score("hand", anomaly, func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if sub.Standard() != res.Standard() {
		t.Errorf("the set of all files scores %.5f, the corpus %.5f", sub.Standard(), res.Standard())
	}
	if _, err := c.Score("hand", anomaly, func(string) bool { return false }); err == nil {
		t.Error("an empty set of files scored without error")
	}
}

// Windows listed out of time order are refused: NAB's sweep would never enter
// the later-listed earlier one.
func TestNABWindowsOutOfOrderAreRefused(t *testing.T) {
	dir := handCorpus(t)
	bad := `{"cat/f.csv": [["2024-01-15 00:00:00", "2024-01-16 00:00:00"], ["2024-01-05 00:00:00", "2024-01-06 00:00:00"]]}`
	if err := os.WriteFile(filepath.Join(dir, "labels", "combined_windows.json"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCorpus(dir)
	if err == nil || !strings.Contains(err.Error(), "cat/f.csv") || !strings.Contains(err.Error(), "time order") {
		t.Errorf("out-of-order windows: error %v, want one naming the file and the order", err)
	}
}
