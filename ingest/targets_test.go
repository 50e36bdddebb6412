package ingest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

func TestPeriodBounds(t *testing.T) {
	for _, c := range []struct{ in, start, end string }{
		{"2024-Q1", "2024-01-01", "2024-04-01"},
		{"Q4 2024", "2024-10-01", "2025-01-01"},
		{"2024Q3", "2024-07-01", "2024-10-01"},
		{"2024年第2季度", "2024-04-01", "2024-07-01"},
		{"2024-03", "2024-03-01", "2024-04-01"},
		{"2024年12月", "2024-12-01", "2025-01-01"},
	} {
		s, e, ok := periodBounds(c.in)
		if !ok || s != c.start || e != c.end {
			t.Errorf("period %q: [%s, %s) ok=%v; want [%s, %s)", c.in, s, e, ok, c.start, c.end)
		}
	}
	if _, _, ok := periodBounds("soon"); ok {
		t.Error(`period "soon" read as a period`)
	}
}

// TestGenericTargets loads quota sheets as people keep them: per rep by quarter, per
// team with start and (inclusive) end dates.
func TestGenericTargets(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{}, nil)
	dir := t.TempDir()
	byRep := filepath.Join(dir, "quota.csv")
	os.WriteFile(byRep, []byte("Sales Rep,Quarter,Quota\nREP-001,2024-Q1,100000\nREP-001,Q2 2024,\"120,000\"\nREP-002,2024-Q1,90000\n"), 0o644)
	byTeam := filepath.Join(dir, "team_targets.csv")
	os.WriteFile(byTeam, []byte("Team,Start Date,End Date,Target Amount,Currency\nEast,2024-01-01,2024-03-31,500000,EUR\n"), 0o644)
	fr := load(t, s, byRep, LoadOptions{})
	if fr.Profile != "generic:targets" || fr.Loaded != 3 || fr.Rejected != 0 {
		t.Fatalf("quota by rep: profile %s loaded %d rejected %d %v; want generic:targets, 3, 0", fr.Profile, fr.Loaded, fr.Rejected, fr.RejectsByReason)
	}
	fr = load(t, s, byTeam, LoadOptions{})
	if fr.Profile != "generic:targets" || fr.Loaded != 1 {
		t.Fatalf("team targets: profile %s loaded %d %v", fr.Profile, fr.Loaded, fr.RejectsByReason)
	}
	for what, where := range map[string]string{
		"REP-001 Q2 quota 120,000":         "scope = 'rep' AND scope_id = 'REP-001' AND period_start = '2024-04-01' AND period_end = '2024-07-01' AND amount = 120000 AND metric = 'bookings'",
		"REP-002 Q1":                       "scope = 'rep' AND scope_id = 'REP-002' AND period_start = '2024-01-01' AND period_end = '2024-04-01'",
		"East Q1, end made exclusive, EUR": "scope = 'team' AND scope_id = 'East' AND period_start = '2024-01-01' AND period_end = '2024-04-01' AND currency = 'EUR'",
	} {
		if n := count(t, db, "targets", where); n != 1 {
			t.Errorf("%s: %d rows match %s", what, n, where)
		}
	}
}
