package query

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// A memoized read runs once per version and key, again for a new publication,
// and every time outside a request's version.
func TestMemoizedPerVersion(t *testing.T) {
	s := &Service{memo: &memo{m: map[string]any{}}}
	runs := 0
	read := func(ctx context.Context) (int, error) {
		runs++
		return runs, nil
	}
	v1 := AsOf(context.Background(), schemas.Version{Pub: 1})
	v2 := AsOf(context.Background(), schemas.Version{Pub: 2})
	for i, c := range []struct {
		ctx  context.Context
		want int
	}{{v1, 1}, {v1, 1}, {v2, 2}, {v1, 1}, {v2, 2}, {context.Background(), 3}, {context.Background(), 4}} {
		if got, _ := memoized(c.ctx, s, "k", read); got != c.want {
			t.Fatalf("read %d: got %d, want %d", i, got, c.want)
		}
	}
}

// Concurrent callers of a shared read with the same key and version get one
// run's answer, also when the first caller leaves before it ends; another
// version or key runs again, and so does the same key after sharedFor.
func TestSharedReadJoinsConcurrentCallers(t *testing.T) {
	s := &Service{shared: &shared{m: map[string]*sharedCall{}}}
	var runs atomic.Int32
	release := make(chan struct{})
	read := func(ctx context.Context) (int32, error) {
		n := runs.Add(1)
		<-release
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return n, nil
	}
	v1 := AsOf(context.Background(), schemas.Version{Pub: 1})
	left, leave := context.WithCancel(v1)
	results := make(chan int32, 6)
	errs := make(chan error, 6)
	call := func(ctx context.Context, key string) {
		n, err := sharedRead(ctx, s, key, read)
		results <- n
		errs <- err
	}
	go call(left, "k")
	for runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for range 3 {
		go call(v1, "k")
	}
	go call(v1, "other")
	go call(AsOf(context.Background(), schemas.Version{Pub: 2}), "k")
	for runs.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	leave() // the first caller goes: the others still get the answer
	time.Sleep(10 * time.Millisecond)
	close(release)
	got := map[int32]int{}
	var canceled int
	for range 6 {
		if err := <-errs; err != nil {
			canceled++
		}
		got[<-results]++
	}
	if runs.Load() != 3 || canceled != 1 || got[1] != 3 {
		t.Fatalf("runs %d (want 3: k, other, k at version 2), canceled callers %d (want 1), answers %v (want three callers of k with run 1's)", runs.Load(), canceled, got)
	}
	if n, _ := sharedRead(v1, s, "k", read); n != 1 {
		t.Fatalf("a caller just after the answer read run %d, want 1", n)
	}
	s.shared.m[schemas.Version{Pub: 1}.String()+"|k"].at = time.Now().Add(-sharedFor)
	if n, _ := sharedRead(v1, s, "k", read); n != 4 {
		t.Fatalf("a caller after sharedFor read run %d, want a new run (4)", n)
	}
}

// TestWarmKeepsTheLists: Warm reads the reps and the bookings targets of the
// latest publication into the memo, under the key a request at that version
// reads, so the requests after a publication find them; Forget keeps them and
// drops what requests read.
func TestWarmKeepsTheLists(t *testing.T) {
	ctx := context.Background()
	db := schemastest.Open(t)
	randomFixture(3, 300).load(t, db)
	s := New(db, time.UTC, quietLog())
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s.Forget()
	if err := s.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := db.CurrentVersion(ctx)
	if err != nil || v.Pub == 0 {
		t.Fatalf("version %v, %v", v, err)
	}
	kept := func(when string) {
		t.Helper()
		s.memo.mu.Lock()
		defer s.memo.mu.Unlock()
		for _, k := range append(slices.Clone(warmKeys), memoOpen+day(s.today())) {
			if _, ok := s.memo.m[v.String()+"|"+k]; !ok {
				t.Errorf("%s, %q is not kept for version %s", when, k, v)
			}
		}
	}
	// A read of a request's range; Forget drops it and keeps Warm's lists.
	if _, err := memoized(AsOf(ctx, v), s, "a range", func(context.Context) (int, error) { return 1, nil }); err != nil {
		t.Fatal(err)
	}
	s.Forget()
	kept("after Warm and Forget")
	s.memo.mu.Lock()
	if _, ok := s.memo.m[v.String()+"|a range"]; ok {
		t.Errorf("Forget kept a request's read")
	}
	s.memo.mu.Unlock()
	// Requests' reads beyond memoMax make room by dropping theirs only.
	for i := range 2 * memoMax {
		if _, err := memoized(AsOf(ctx, v), s, fmt.Sprint("range ", i), func(context.Context) (int, error) { return i, nil }); err != nil {
			t.Fatal(err)
		}
	}
	kept("after many requests' reads")
	reps, err := s.repDims(AsOf(ctx, v))
	if err != nil || len(reps) == 0 {
		t.Fatalf("reps at %s: %d, %v", v, len(reps), err)
	}
}
