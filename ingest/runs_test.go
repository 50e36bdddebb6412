package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// writeOpps writes a canonical opportunities.csv with n rows; bad rows get a bad amount.
func writeOpps(t testing.TB, path string, n int, bad func(i int) bool) {
	t.Helper()
	var b strings.Builder
	b.WriteString("opportunity_id,name,account_id,owner_id,product,pipeline,source,stage,vendor_stage,amount,currency,probability,created_at,close_date,closed,won,lost_reason,snapshot_date,source_system\n")
	for i := 0; i < n; i++ {
		amt := fmt.Sprint(1000 + i%5000)
		if bad != nil && bad(i) {
			amt = "lots"
		}
		fmt.Fprintf(&b, "OPP-%07d,Deal %d,ACC-%04d,REP-%03d,Widget,default,web,proposal,Proposal,%s,USD,50,2024-01-%02d 10:00:00,2024-06-30,0,0,,2024-06-01,gen\n",
			i, i, i%1000, i%50, amt, 1+i%28)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func runStatus(t testing.TB, db *schemas.DB, id uint64) string {
	var st string
	ctx, cancel := db.Context(context.Background(), "test-status")
	defer cancel()
	if err := db.Conn.QueryRow(ctx, "SELECT argMax(status, updated_ns) FROM ingest_runs WHERE run_id = ?", id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestReloadAddsNothing(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{}, nil)
	path := filepath.Join(t.TempDir(), "opportunities.csv")
	writeOpps(t, path, 1000, nil)
	first := load(t, s, path, LoadOptions{})
	if first.Profile != "canonical:opportunities" || first.Loaded != 1000 {
		t.Fatalf("first load: %+v", first)
	}
	again := load(t, s, path, LoadOptions{})
	if again.Status != StatusDuplicate || again.DuplicateOf != first.RunID || again.Loaded != 0 {
		t.Errorf("reload: status %s duplicate_of %d loaded %d; want duplicate of %d, 0 loaded", again.Status, again.DuplicateOf, again.Loaded, first.RunID)
	}
	if n := countAll(t, db, "opportunities"); n != 1000 {
		t.Errorf("after reload the table has %d rows, want 1000", n)
	}
	rep, err := s.Run(context.Background(), first.RunID)
	if err != nil || rep.Files[0].Loaded != 1000 || rep.Files[0].Status != StatusCommitted {
		t.Errorf("Run(%d): %+v, %v", first.RunID, rep, err)
	}
	if _, err := s.Run(context.Background(), 42); !errors.Is(err, ErrNotFound) {
		t.Errorf("Run(42): %v, want ErrNotFound", err)
	}
}

func TestDuplicatesWithinFile(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{}, nil)
	path := filepath.Join(t.TempDir(), "deals.csv")
	os.WriteFile(path, []byte("Deal ID,Deal Name,Deal Stage,Amount\n1,A,Closed Won,10\n1,A,Closed Won,10\n2,B,lead,5\n"), 0o644)
	fr := load(t, s, path, LoadOptions{})
	if fr.Read != 3 || fr.Loaded != 2 || fr.Duplicates != 1 {
		t.Errorf("read %d loaded %d duplicates %d; want 3, 2, 1", fr.Read, fr.Loaded, fr.Duplicates)
	}
	if n := fr.Tables["opportunity_snapshots"]; n != 2 {
		t.Errorf("%d snapshot rows written, want 2: the repeated row must not leave a snapshot either", n)
	}
}

func TestRejectThresholdFailsWholeRun(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{RejectThreshold: threshold(0.05), ChunkRows: 1000}, nil)
	path := filepath.Join(t.TempDir(), "opportunities.csv")
	writeOpps(t, path, 5000, func(i int) bool { return i%10 == 0 })
	rep, err := s.LoadFile(context.Background(), path, LoadOptions{})
	if !errors.Is(err, ErrRejectThreshold) {
		t.Fatalf("10%% bad rows: %v, want ErrRejectThreshold", err)
	}
	fr := rep.Files[0]
	if fr.Status != StatusFailed || fr.Rejected != 500 || fr.RejectsByReason["bad_amount"] != 500 {
		t.Errorf("report: %s rejected %d %v", fr.Status, fr.Rejected, fr.RejectsByReason)
	}
	if n := count(t, db, "opportunities", ""); n != 0 {
		t.Errorf("a failed run left %d visible rows", n)
	}
	if n := countAll(t, db, "ingest_rejects"); n != 500 {
		t.Errorf("ingest_rejects has %d rows, want 500", n)
	}
	var col, raw, reason string
	var row uint64
	ctx, cancel := db.Context(context.Background(), "t")
	defer cancel()
	db.Conn.QueryRow(ctx, "SELECT row, column, raw_value, reason FROM ingest_rejects ORDER BY row LIMIT 1").Scan(&row, &col, &raw, &reason)
	if row != 2 || col != "amount" || raw != "lots" || reason != "bad_amount" {
		t.Errorf("first reject: line %d column %s value %q reason %s; want line 2, amount, lots, bad_amount", row, col, raw, reason)
	}
	// Under the threshold the same kind of file commits, with its rejects counted.
	s2 := newTest(db, Options{RejectThreshold: threshold(0.2)}, nil)
	fr2 := load(t, s2, path, LoadOptions{})
	if fr2.Status != StatusCommitted || fr2.Loaded != 4500 || fr2.Read != 5000 {
		t.Errorf("threshold 20%%: %s loaded %d read %d", fr2.Status, fr2.Loaded, fr2.Read)
	}
	// Threshold 0 (ingest.reject_threshold: 0) allows no rejected row at all.
	one := filepath.Join(t.TempDir(), "opportunities.csv")
	writeOpps(t, one, 1000, func(i int) bool { return i == 500 })
	if rep, err := newTest(db, Options{RejectThreshold: threshold(0)}, nil).LoadFile(context.Background(), one, LoadOptions{}); !errors.Is(err, ErrRejectThreshold) || rep.Files[0].Rejected != 1 {
		t.Errorf("threshold 0, one bad row of 1,000: %v, want ErrRejectThreshold", err)
	}
}

func TestCancelledRunLeavesNothing(t *testing.T) {
	db := schemastest.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	s := newTest(db, Options{ChunkRows: 2000, Progress: func(p Progress) {
		calls++
		if calls == 3 {
			time.Sleep(300 * time.Millisecond) // let some inserts land
			cancel()
		}
	}}, nil)
	path := filepath.Join(t.TempDir(), "opportunities.csv")
	writeOpps(t, path, 50000, nil)
	rep, err := s.LoadFile(ctx, path, LoadOptions{})
	if err == nil {
		t.Fatal("a cancelled load reported success")
	}
	if st := runStatus(t, db, rep.Files[0].RunID); st != StatusFailed {
		t.Errorf("cancelled run is %s, want failed", st)
	}
	if n := count(t, db, "opportunities", ""); n != 0 {
		t.Errorf("cancelled run left %d visible rows", n)
	}
	fr := load(t, newTest(db, Options{}, nil), path, LoadOptions{})
	if fr.Status != StatusCommitted || count(t, db, "opportunities", "") != 50000 {
		t.Errorf("retry: %s, %d visible rows; want committed, 50000", fr.Status, count(t, db, "opportunities", ""))
	}
}

// TestKilledRunIsRecovered kills a loading process with SIGKILL in the middle of a run:
// its rows stay invisible, and the next load cleans them up and loads the file.
func TestKilledRunIsRecovered(t *testing.T) {
	if os.Getenv("PIPELENS_INGEST_CHILD") != "" {
		return
	}
	db := schemastest.Open(t)
	path := filepath.Join(t.TempDir(), "opportunities.csv")
	writeOpps(t, path, 60000, nil)
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledRunChild$", "-test.v")
	cmd.Env = append(os.Environ(), "PIPELENS_INGEST_CHILD="+schemastest.Addr(t)+"|"+db.Database+"|"+path)
	out, _ := cmd.CombinedOutput()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("child was not killed mid-run: %s", out)
	}
	if n := countAll(t, db, "opportunities"); n == 0 {
		t.Fatalf("the child inserted nothing before it died; the test proves nothing:\n%s", out)
	}
	if n := count(t, db, "opportunities", ""); n != 0 {
		t.Errorf("rows of a killed run are visible: %d", n)
	}
	s := newTest(db, Options{}, nil)
	fr := load(t, s, path, LoadOptions{})
	if fr.Status != StatusCommitted || count(t, db, "opportunities", "") != 60000 {
		t.Errorf("retry after crash: %s, %d visible", fr.Status, count(t, db, "opportunities", ""))
	}
	var failed uint64
	ctx, cancel := db.Context(context.Background(), "t")
	defer cancel()
	db.Conn.QueryRow(ctx, "SELECT count() FROM (SELECT run_id FROM ingest_runs GROUP BY run_id HAVING argMax(status, updated_ns) = 'failed' AND argMax(error, updated_ns) = ?)", ErrAbandoned.Error()).Scan(&failed)
	if failed != 1 {
		t.Errorf("%d runs marked abandoned, want 1", failed)
	}
}

func TestKilledRunChild(t *testing.T) {
	env := os.Getenv("PIPELENS_INGEST_CHILD")
	if env == "" {
		t.Skip("helper process for TestKilledRunIsRecovered")
	}
	parts := strings.Split(env, "|")
	db, err := schemas.OpenAddr(context.Background(), parts[0], parts[1], time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	// One INSERT per chunk: a big file's completed INSERTs are on the server when
	// the process dies, which is what recovery must clean up.
	s := newTest(db, Options{ChunkRows: 2000, InsertRows: 2000, Progress: func(p Progress) {
		calls++
		if calls == 5 {
			time.Sleep(500 * time.Millisecond)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}}, nil)
	s.LoadFile(context.Background(), parts[2], LoadOptions{})
}

func TestSnapshotsMakeStageHistory(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{}, nil)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	h := "Deal ID,Deal Name,Deal Stage,Amount,Close Date\n"
	a := write("week1.csv", h+"1,A,Appointment Scheduled,100,2024-03-31\n2,B,Qualified To Buy,200,2024-03-31\n")
	b := write("week2.csv", h+"1,A,Contract Sent,100,2024-04-30\n2,B,Qualified To Buy,200,2024-03-31\n3,C,Appointment Scheduled,50,2024-05-31\n")
	load(t, s, a, LoadOptions{SnapshotDate: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)})
	fr := load(t, s, b, LoadOptions{SnapshotDate: time.Date(2024, 3, 8, 0, 0, 0, 0, time.UTC)})
	if fr.Tables["stage_events"] != 1 {
		t.Errorf("second snapshot wrote %d stage events, want 1 (deal 1 moved)", fr.Tables["stage_events"])
	}
	if n := count(t, db, "stage_events", "opportunity_id = '1' AND stage = 'negotiation' AND origin = 'snapshot' AND toDate(entered_at) = '2024-03-08'"); n != 1 {
		t.Errorf("snapshot-derived event: %d", n)
	}
	if n := count(t, db, "opportunity_snapshots", ""); n != 5 {
		t.Errorf("snapshots: %d, want 5", n)
	}
	if n := count(t, db, "opportunity_snapshots", "opportunity_id = '1' AND close_date = '2024-04-30' AND snapshot_date = '2024-03-08'"); n != 1 {
		t.Errorf("close-date push not visible in snapshots")
	}
}

func TestWatchFolder(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{WatchInterval: 50 * time.Millisecond}, nil)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "deals.csv"), []byte("Deal ID,Deal Name,Deal Stage\n1,A,Closed Won\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "junk.csv"), []byte("foo,bar\n1,2\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Watch(ctx, dir) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_, e1 := os.Stat(filepath.Join(dir, "done", "deals.csv.report.json"))
		_, e2 := os.Stat(filepath.Join(dir, "failed", "junk.csv.report.json"))
		if e1 == nil && e2 == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	for _, p := range []string{"done/deals.csv", "done/deals.csv.report.json", "failed/junk.csv", "failed/junk.csv.report.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("watch folder: %s missing", p)
		}
	}
}
