package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestDuplicateWinner: of the rows of one key the later stamp wins, equal or
// missing stamps go to the later row.
func TestDuplicateWinner(t *testing.T) {
	p := &plan{keyIdx: []int{0}}
	row := func(h uint64, row, stamp int64) heldRow {
		return heldRow{hash: h, row: row, stamp: stamp, v: []val{{s: string(rune('A' + h))}}}
	}
	p.heldRows = []heldRow{
		row(1, 10, 500), row(1, 20, 900), row(1, 30, 700), // the middle row has the latest stamp
		row(2, 12, 0), row(2, 40, 0), // no stamps: the later row
		row(3, 15, 800), row(3, 16, 800), // equal stamps: the later row
		row(4, 50, 0), row(4, 18, 300), // one stamp missing: the later row
	}
	win, sample := p.winners()
	want := map[uint64]int64{1: 20, 2: 40, 3: 16, 4: 50}
	if len(win) != 4 || p.dups != 5 || len(sample) != 4 {
		t.Fatalf("%d winners, %d duplicates, %d sampled; want 4, 5, 4", len(win), p.dups, len(sample))
	}
	for _, w := range win {
		if w.row != want[w.hash] {
			t.Errorf("key %d: row %d wins, want %d", w.hash, w.row, want[w.hash])
		}
	}
	if s := sample[0]; s.Key != "B" || len(s.Rows) != 3 || s.Kept != 20 {
		t.Errorf("sample %+v, want key B, rows 10 20 30, kept 20", s)
	}
}

// TestLaterDuplicateWinsAcrossChunks: a key repeated chunks apart loads its
// later row (or the row with the later modification stamp), once, with one
// snapshot, and the file's rejects are recorded once although it is read twice.
func TestLaterDuplicateWinsAcrossChunks(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{ChunkRows: 64, RejectThreshold: threshold(0.5)}, nil)
	var b strings.Builder
	b.WriteString("Deal ID,Deal Name,Deal Stage,Amount,Last Modified Date\n")
	for i := 1; i <= 300; i++ {
		amount := fmt.Sprint(i * 10)
		if i == 100 {
			amount = "TBD"
		}
		fmt.Fprintf(&b, "%d,Deal %d,lead,%s,2026-01-01 10:00\n", i, i, amount)
	}
	b.WriteString("5,Deal 5,Closed Won,50,2026-02-01 10:00\n") // newer: wins
	b.WriteString("7,Deal 7,Closed Won,70,2025-12-01 10:00\n") // older stamp: the first row stays
	path := filepath.Join(t.TempDir(), "deals.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	fr := load(t, s, path, LoadOptions{})
	if fr.Read != 302 || fr.Loaded != 299 || fr.Rejected != 1 || fr.Duplicates != 2 || fr.Tables["opportunity_snapshots"] != 299 {
		t.Errorf("read %d loaded %d rejected %d duplicates %d snapshots %d; want 302, 299, 1, 2, 299", fr.Read, fr.Loaded, fr.Rejected,
			fr.Duplicates, fr.Tables["opportunity_snapshots"])
	}
	if len(fr.SampleDuplicates) != 2 || fr.SampleDuplicates[0].Kept != 302 || fr.SampleDuplicates[1].Kept != 8 {
		t.Errorf("sample duplicates %+v, want id 5 kept row 302, id 7 kept row 8", fr.SampleDuplicates)
	}
	for what, where := range map[string]string{
		"the later row of 5":         "opportunity_id = '5' AND won = 1",
		"the first row of 7":         "opportunity_id = '7' AND closed = 0",
		"one row per opportunity":    "1",
		"the rows of the first pass": "opportunity_id = '5' AND closed = 0",
	} {
		want := uint64(1)
		switch what {
		case "one row per opportunity":
			want = 299
		case "the rows of the first pass":
			want = 0
		}
		if n := count(t, db, "opportunities", where); n != want {
			t.Errorf("%s: %d rows, want %d", what, n, want)
		}
	}
	if n := countAll(t, db, "ingest_rejects"); n != 1 {
		t.Errorf("ingest_rejects has %d rows, want 1", n)
	}
}
