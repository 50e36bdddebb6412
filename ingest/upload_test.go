package ingest

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestLoadReader is the upload path: a body with a file name loads like the file,
// and a body over MaxUploadBytes is refused with ErrTooLarge before anything is
// stored, its spool file gone.
func TestLoadReader(t *testing.T) {
	db := schemastest.Open(t)
	spool := t.TempDir()
	s := newTest(db, Options{MaxUploadBytes: 1000, SpoolDir: spool}, nil)
	body := "Deal ID,Deal Name,Deal Stage,Amount\n1,A,Closed Won,10\n2,B,lead,5\n"
	rep, err := s.LoadReader(context.Background(), "uploads/deals.csv", strings.NewReader(body), LoadOptions{})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	fr := rep.Files[0]
	if fr.File != "deals.csv" || fr.Status != StatusCommitted || fr.Loaded != 2 || fr.Profile != "hubspot" {
		t.Errorf("upload report: file %q status %s loaded %d profile %s; want deals.csv, committed, 2, hubspot", fr.File, fr.Status, fr.Loaded, fr.Profile)
	}
	if n := count(t, db, "opportunities", ""); n != 2 {
		t.Errorf("upload stored %d opportunities, want 2", n)
	}
	runs := countAll(t, db, "ingest_runs")

	big := body + strings.Repeat("3,C,lead,1\n", 100) // over 1000 bytes
	rep, err = s.LoadReader(context.Background(), "big.csv", strings.NewReader(big), LoadOptions{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("upload of %d bytes with a 1000-byte limit: %v, want ErrTooLarge", len(big), err)
	}
	if rep != nil && len(rep.Files) > 0 && rep.Files[0].Loaded > 0 {
		t.Errorf("a refused upload reports %d rows loaded", rep.Files[0].Loaded)
	}
	if n := countAll(t, db, "ingest_runs"); n != runs {
		t.Errorf("a refused upload recorded a run (%d run rows, want %d)", n, runs)
	}
	if n := countAll(t, db, "opportunities"); n != 2 {
		t.Errorf("a refused upload stored rows: %d opportunities, want 2", n)
	}
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Errorf("spool folder keeps %d files after the uploads, want none", len(left))
	}
}
