package parity

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeLeadLinks adds a lead_links export (the deal side's lead–deal links,
// issue 12) to the generated sample: every seventh lead the sample leaves
// unconverted is linked from a deal, so lead conversion's link lookup answers
// with rows on both servers.
func writeLeadLinks(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "leads.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	out := [][]string{{"lead_id", "opportunity_id", "source_system"}}
	for i, r := range rows[1:] {
		if i%7 == 0 && r[col["converted"]] != "1" && r[col["opportunity_id"]] == "" {
			out = append(out, []string{r[col["lead_id"]], fmt.Sprintf("LINK-%d", i), "parity"})
		}
	}
	if len(out) < 2 {
		t.Fatalf("no unconverted lead in %s to link", dir)
	}
	w, err := os.Create(filepath.Join(dir, "lead_links.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(out); err != nil {
		t.Fatal(err)
	}
}
