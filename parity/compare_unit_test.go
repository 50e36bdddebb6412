package parity

import "testing"

// TestFieldEq: floats equal to 1e-9 relative, or 1e-9 absolute near zero (a
// cancelled sum's residue), and nothing looser.
func TestFieldEq(t *testing.T) {
	for _, c := range []struct {
		a, b string
		eq   bool
	}{
		{"[0,0,0,0]", "[-5.684341886080802e-14,6.750155989720952e-13,0,0]", true},
		{"-4.092726157978177e-12", "0", true},
		{"1234567.123456789", "1234567.1234567901", true},
		{"0", "0.000001", false},
		{"1", "1.000001", false},
		{"0.3", "0.30000001", false},
		{"U0008", "U0009", false},
	} {
		if got := fieldEq(c.a, c.b); got != c.eq {
			t.Errorf("fieldEq(%q, %q) = %v, want %v", c.a, c.b, got, c.eq)
		}
	}
}
