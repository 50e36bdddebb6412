package dashboards

import (
	"fmt"
	"testing"
	"time"
)

// A new publication drops the entries of older ones, late results of an older
// publication are not stored, and expired entries go: the cache does not grow
// with the number of loads or of distinct requests over time.
func TestCacheKeepsOnlyTheNewestPublication(t *testing.T) {
	c := newCache()
	now := time.Now()
	for i := 0; i < 100; i++ {
		c.store(fmt.Sprintf("1|k%d", i), i, 0, 1, now)
	}
	c.store("2|k0", 0, 0, 2, now)
	if len(c.items) != 1 {
		t.Fatalf("after publication 2: %d entries, want 1", len(c.items))
	}
	c.store("1|late", 0, 0, 1, now) // a request of publication 1 ending late
	if _, ok := c.items["1|late"]; ok {
		t.Fatal("an entry of an older publication was stored")
	}
	for i := 0; i < 50; i++ {
		c.store(fmt.Sprintf("2|a%d", i), i, 0, 2, now)
	}
	later := now.Add(cacheTTL + time.Second)
	c.store("2|new", 0, 0, 2, later)
	if len(c.items) != 1 {
		t.Fatalf("after the TTL: %d entries, want 1 (expired ones swept)", len(c.items))
	}
	c.clear()
	c.store("2|x", 0, 0, 2, later) // computed before the clear (gen 0)
	if len(c.items) != 0 {
		t.Fatal("a value computed before clear() was stored")
	}
}
