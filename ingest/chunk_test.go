package ingest

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// TestAddLineMatchesAdd checks the word-at-a-time comma search of addLine
// against add on lines split by strings.Split: random fields of 0-20 bytes
// (commas' neighbours such as '-' and '+' included, and non-ASCII text), as many
// fields as the header, fewer, or more. A wrong split would store values in the
// wrong columns.
func TestAddLineMatchesAdd(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	alphabet := []string{"a", "-", "+", "0", "9", " ", "é", "商", "\x2b", "\x2d", "\xff"}
	for _, w := range []int{1, 2, 3, 7, 19, 40} {
		fast, slow := newChunkBuilder(make([]string, w), "f"), newChunkBuilder(make([]string, w), "f")
		for r := 0; r < 3000; r++ {
			n := max(1, w+rng.Intn(7)-3)
			fields := make([]string, n)
			for i := range fields {
				var b strings.Builder
				for k := rng.Intn(21); k > 0; k-- {
					b.WriteString(alphabet[rng.Intn(len(alphabet))])
				}
				fields[i] = b.String()
			}
			line := strings.Join(fields, ",")
			if !fast.addLine(int64(r), []byte(line), ',') {
				fast.add(int64(r), strings.Split(line, ","))
			}
			slow.add(int64(r), strings.Split(line, ","))
		}
		a, b := fast.flush(), slow.flush()
		if len(a.rows) != len(b.rows) || len(a.rejects) != len(b.rejects) || a.read != b.read {
			t.Fatalf("width %d: %d rows, %d rejects, %d read; add gives %d, %d, %d", w, len(a.rows), len(a.rejects), a.read, len(b.rows), len(b.rejects), b.read)
		}
		for r := range a.rows {
			for i := -1; i <= w; i++ {
				x, y := rawRow{a.cols, r}.get(i), rawRow{b.cols, r}.get(i)
				if x != y || a.rows[r] != b.rows[r] {
					t.Fatalf("width %d row %d field %d: %q, add gives %q", w, a.rows[r], i, x, y)
				}
			}
		}
		if fmt.Sprint(a.rejects) != fmt.Sprint(b.rejects) {
			t.Fatalf("width %d: rejects differ", w)
		}
	}
}
