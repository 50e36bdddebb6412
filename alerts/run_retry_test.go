package alerts

import (
	"context"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestRunAsOfEarlierDateDeliversDueRetries is `pipelens alerts run --at
// 2026-11-18` after emails failed earlier that day: the run evaluates as of
// midnight, but the emails waiting for their retry (due at a clock time after
// that midnight) must go out in it, through a real SMTP server, and once.
func TestRunAsOfEarlierDateDeliversDueRetries(t *testing.T) {
	db := schemastest.Open(t)
	ms := startMailServer(t)
	ms.rejectN = 1000 // the server refuses DATA with 451 until told otherwise
	day := func(n int) time.Time { return time.Date(2026, 11, n, 0, 0, 0, 0, time.UTC) }
	bad := map[time.Time]bool{day(17): true, day(18): true}
	c := config.Default()
	c.Server.BaseURL = "https://pipelens.example.com"
	c.SMTP = smtpConfig(ms.addr)
	rules := &Config{Rules: []Rule{{Name: "opened", Metric: MetricOppsOpened, Segments: []string{SegAll, SegTeam}, Detector: "seasonal", Direction: "down"}}}
	clock := day(18).Add(9 * time.Hour)
	e, err := New(Options{DB: db, Config: c, Rules: rules, Source: staticSource{org: testOrg(), bad: func(d time.Time) bool { return bad[d] }},
		Logger: quietLog(), Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	e.box.settle = 0
	ctx := context.Background()

	// 09:00: the schedule's run queues the emails; the server refuses them.
	s, err := e.RunOnce(ctx, clock)
	if err != nil {
		t.Fatal(err)
	}
	if s.Emails == 0 || s.Delivery.Retrying != s.Emails {
		t.Fatalf("first run with the server refusing: %s; want every queued email waiting for retry", s)
	}
	queued := s.Emails

	// 09:10: the server takes mail again and an operator runs the alerts as of
	// the 18th.
	ms.mu.Lock()
	ms.rejectN = 0
	ms.mu.Unlock()
	clock = day(18).Add(9*time.Hour + 10*time.Minute)
	s, err = e.RunOnce(ctx, day(18))
	if err != nil {
		t.Fatal(err)
	}
	if s.Delivery.Sent != queued {
		t.Fatalf("run --at 2026-11-18 at 09:10: %s; want the %d emails waiting since 09:00 sent", s, queued)
	}
	if n := len(ms.received()); n != queued {
		t.Fatalf("%d emails arrived, want %d", n, queued)
	}
	pending, err := Outbox(ctx, db, StatePending)
	if err != nil || len(pending) != 0 {
		t.Fatalf("outbox still pending after the run: %+v, %v", pending, err)
	}

	// A later run sends nothing again.
	clock = clock.Add(time.Hour)
	if s, err := e.RunOnce(ctx, day(18)); err != nil || s.Delivery.Sent != 0 {
		t.Fatalf("rerun: %s, %v; want nothing sent twice", s, err)
	}
	if n := len(ms.received()); n != queued {
		t.Fatalf("%d emails arrived after a rerun, want still %d", n, queued)
	}
}
