package detect

import (
	"math"
	"testing"
)

// zscore28 scores each row by its z against the 28 rows before it: nothing
// before the 29th row, |z|/(|z|+1) after, 1 for any change off a flat window.
func TestRollingZBaseline(t *testing.T) {
	vals := make([]float64, 31)
	for i := range 28 {
		vals[i] = 9 + 2*float64(i%2) // mean 10, sd √(28/27)
	}
	vals[28], vals[29], vals[30] = 13, 10, 10
	out := Reference("zscore28")(Series{Values: vals})
	for i := range 28 {
		if out[i] != 0 {
			t.Fatalf("row %d scores %v before 28 rows have passed", i, out[i])
		}
	}
	z := 3 / math.Sqrt(28.0/27)
	if want := z / (z + 1); math.Abs(out[28]-want) > 1e-12 {
		t.Errorf("row 28: %v, want %v (z %.3f)", out[28], want, z)
	}
	flat := make([]float64, 30)
	for i := range flat {
		flat[i] = 5
	}
	flat[29] = 6
	got := Reference("zscore28")(Series{Values: flat})
	if got[28] != 0 || got[29] != 1 {
		t.Errorf("off a flat window: rows 28, 29 score %v, %v, want 0 and 1", got[28], got[29])
	}
}
