package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestStoredDigest loads the bench export and every sample in testdata, then
// writes a digest of what was stored (per table and column: rows and the sum
// of cityHash64 of the values; the rejects with their messages too) to the file
// PIPELENS_DIGEST names. Two builds that store the same rows write the same
// file: it is how a change to the load path shows it stores byte for byte what
// it stored before.
func TestStoredDigest(t *testing.T) {
	out := os.Getenv("PIPELENS_DIGEST")
	if out == "" {
		t.Skip("set PIPELENS_DIGEST=file to write the digest of a load of the samples")
	}
	db := schemastest.Open(t)
	s := newTest(db, Options{Location: time.UTC, RejectThreshold: threshold(1)}, nil)
	bench := filepath.Join(t.TempDir(), "opportunities.csv")
	writeBenchOpps(t, bench, 200_000)
	files := []string{bench}
	for _, dir := range []string{"testdata", "testdata/heldout/*"} {
		ms, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range ms {
			if st, err := os.Stat(f); err == nil && !st.IsDir() && strings.Contains(".csv.tsv.json.jsonl.xlsx", filepath.Ext(f)) && filepath.Ext(f) != "" {
				files = append(files, f)
			}
		}
	}
	snap := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	var lines []string
	for _, f := range files {
		rep, err := s.LoadFile(context.Background(), f, LoadOptions{SnapshotDate: snap})
		if rep != nil && len(rep.Files) > 0 {
			fr := rep.Files[0]
			name := f
			if f == bench {
				name = "bench opportunities.csv"
			}
			lines = append(lines, fmt.Sprintf("file %s: %s read=%d loaded=%d rejected=%d err=%v", name, fr.Status, fr.Read, fr.Loaded, fr.Rejected, err != nil))
		}
	}
	ctx := context.Background()
	for _, tb := range append(allTables, &table{name: "ingest_rejects"}) {
		cols := []string{}
		for _, c := range tb.cols {
			cols = append(cols, c.name)
		}
		if tb.name == "ingest_rejects" {
			cols = []string{"file", "row", "column", "raw_value", "reason", "message"}
		}
		for _, c := range cols {
			var n, sum uint64
			q := fmt.Sprintf("SELECT count(), sum(cityHash64(%s)) FROM %s", c, tb.name)
			if err := db.Conn.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			lines = append(lines, fmt.Sprintf("%s.%s rows=%d hash=%d", tb.name, c, n, sum))
		}
	}
	if err := os.WriteFile(out, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
