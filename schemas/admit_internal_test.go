package schemas

import "testing"

func TestParseMaxThreads(t *testing.T) {
	for v, want := range map[string]int{"2": 2, "auto(16)": 16, "'auto(4)'": 4, "": 0, "auto": 0, "-1": 0} {
		if got := parseMaxThreads(v); got != want {
			t.Errorf("%q: got %d, want %d", v, got, want)
		}
	}
}
