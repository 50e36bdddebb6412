package dashboards

import (
	"context"
	"testing"
	"time"
)

// With one turn, a second request's cache miss waits for the first request to
// end, first come first served, while its cache hits answer at once; a
// computation that outlives its request computes without a turn.
func TestAdmissionTurns(t *testing.T) {
	s := &Server{cache: newCache(), metrics: newMetrics(), admission: newAdmission(1)}
	bg := context.Background()
	ta, tb := &turn{a: s.admission}, &turn{a: s.admission}
	ctxA, ctxB := context.WithValue(bg, turnKey{}, ta), context.WithValue(bg, turnKey{}, tb)
	if _, err := cached(ctxB, s, "hit", "m", func(context.Context) (int, error) { return 1, nil }); err != nil {
		t.Fatal(err)
	}
	tb.end()
	tb = &turn{a: s.admission}
	ctxB = context.WithValue(bg, turnKey{}, tb)

	// A misses and holds the turn while its computation runs.
	release := make(chan struct{})
	aDone := make(chan error, 1)
	go func() {
		_, err := cached(ctxA, s, "a", "m", func(context.Context) (int, error) { <-release; return 2, nil })
		aDone <- err
	}()
	waitFor(t, func() bool { ta.mu.Lock(); defer ta.mu.Unlock(); return ta.held })

	// B's hit answers; B's miss waits.
	if v, err := cached(ctxB, s, "hit", "m", func(context.Context) (int, error) { return 9, nil }); err != nil || v != 1 {
		t.Fatalf("hit: %v %v", v, err)
	}
	started := make(chan struct{})
	bDone := make(chan error, 1)
	go func() {
		_, err := cached(ctxB, s, "b", "m", func(context.Context) (int, error) { close(started); return 3, nil })
		bDone <- err
	}()
	select {
	case <-started:
		t.Fatal("B computed while A held the only turn")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
		t.Fatal("B computed before A's request ended")
	case <-time.After(100 * time.Millisecond):
	}
	ta.end()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("B did not compute after A's request ended")
	}
	if err := <-bDone; err != nil {
		t.Fatal(err)
	}

	// B still holds the turn; after its request ended, a miss under its
	// context (a computation that outlived it) does not wait for a turn.
	tb.end()
	ta2 := &turn{a: s.admission}
	if err := ta2.take(bg); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_, _ = cached(ctxB, s, "late", "m", func(context.Context) (int, error) { return 4, nil })
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a computation after its request ended waited for a turn")
	}
	ta2.end()

	// A caller with a shorter wait than its request's (the forecast panel)
	// still starts its computation once the request has its turn.
	tc := &turn{a: s.admission, ctx: bg}
	hold := &turn{a: s.admission, ctx: bg}
	if err := hold.take(bg); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.WithValue(bg, turnKey{}, tc), 50*time.Millisecond)
	defer cancel()
	ran := make(chan struct{})
	go func() {
		time.Sleep(200 * time.Millisecond)
		hold.end()
	}()
	_, _ = cached(short, s, "panel", "m", func(context.Context) (int, error) { close(ran); return 5, nil })
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("the panel's computation never started")
	}
	tc.end()
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for range 500 {
		if ok() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("timed out")
}

// A request that waited for its turn uses what was stored meanwhile, and one
// that finds the key being computed joins that computation without a turn:
// under load, fifty overviews cost one computation per key, not fifty.
func TestAdmissionComputesOnce(t *testing.T) {
	s := &Server{cache: newCache(), metrics: newMetrics(), admission: newAdmission(1)}
	bg := context.Background()
	ta, tb, tc := &turn{a: s.admission, ctx: bg}, &turn{a: s.admission, ctx: bg}, &turn{a: s.admission, ctx: bg}
	ctxA, ctxB, ctxC := context.WithValue(bg, turnKey{}, ta), context.WithValue(bg, turnKey{}, tb), context.WithValue(bg, turnKey{}, tc)
	if err := ta.take(bg); err != nil {
		t.Fatal(err)
	}
	runs := 0
	compute := func(v int) func(context.Context) (int, error) {
		return func(context.Context) (int, error) { runs++; return v, nil }
	}
	got := make(chan int, 1)
	go func() { v, _ := cached(ctxB, s, "k", "m", compute(2)); got <- v }()
	time.Sleep(100 * time.Millisecond) // B waits for the turn A holds
	if v, err := cached(ctxA, s, "k", "m", compute(1)); err != nil || v != 1 {
		t.Fatalf("A: %v %v", v, err)
	}
	ta.end()
	if v := <-got; v != 1 || runs != 1 {
		t.Fatalf("B got %d after %d computations, want A's 1 after 1", v, runs)
	}
	tb.end()

	// B holds the only turn and computes k2 slowly; C joins it.
	tb = &turn{a: s.admission, ctx: bg}
	ctxB = context.WithValue(bg, turnKey{}, tb)
	release := make(chan struct{})
	go func() {
		_, _ = cached(ctxB, s, "k2", "m", func(context.Context) (int, error) { <-release; return 3, nil })
	}()
	waitFor(t, func() bool { _, _, st := s.cache.lookup("k2"); return st == cacheComputing })
	done := make(chan int, 1)
	go func() { v, _ := cached(ctxC, s, "k2", "m", compute(4)); done <- v }()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if v := <-done; v != 3 {
		t.Fatalf("C got %d, want B's 3", v)
	}
	if tc.held {
		t.Fatal("C took a turn to join a running computation")
	}
	tb.end()
}
