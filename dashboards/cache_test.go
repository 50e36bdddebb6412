package dashboards

import (
	"fmt"
	"html/template"
	"strings"
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

// The chart memo holds at most chartMemoBytes however many distinct charts are
// built, and a chart asked for again and again survives the turnover.
func TestChartMemoIsBounded(t *testing.T) {
	m := &chartMemo{cur: map[string]chartView{}}
	spec := template.JS(strings.Repeat("x", 10_000))
	for i := 0; i < 10_000; i++ { // 100 MB of distinct charts
		m.put(fmt.Sprintf("k%06d", i), chartView{Spec: spec})
		if i%100 == 0 { // the overview everyone opens
			if _, ok := m.cur["hot"]; !ok {
				cv, ok := m.prev["hot"]
				if !ok && i > 0 {
					t.Fatalf("after %d charts the hot chart is gone", i)
				}
				cv.Spec = "hot"
				m.put("hot", cv)
			}
		}
	}
	total := 0
	for _, g := range []map[string]chartView{m.cur, m.prev} {
		for k, cv := range g {
			total += len(k) + len(cv.Spec)
		}
	}
	if total > chartMemoBytes {
		t.Fatalf("the memo holds %d bytes, bound %d", total, chartMemoBytes)
	}
}
