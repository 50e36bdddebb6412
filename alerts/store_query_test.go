package alerts

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestListEventsFilters: with 300 deal alerts of team A stored after one win
// rate fall of team B, team B's manager still gets the fall (the team is a
// condition of the statement, not a filter after its LIMIT), the metric-only
// list holds the fall alone, the deal-only list the deals, and an id finds
// its event among all of them.
func TestListEventsFilters(t *testing.T) {
	db := schemastest.Open(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	fall := &Event{ID: "fall", Key: "winrate|team|B", Rule: "winrate", Kind: "rate", Team: "B", Status: "firing", OpenedAt: now, LastSeenAt: now.Add(-time.Hour)}
	evs := []*Event{fall}
	for i := range 300 {
		id := fmt.Sprintf("deal%03d", i)
		evs = append(evs, &Event{ID: id, Key: "stuck|deal|" + id, Rule: "stuck", Kind: "stuck_deal", Team: "A", Status: "firing", OpenedAt: now, LastSeenAt: now})
	}
	if err := writeEvents(ctx, db, evs); err != nil {
		t.Fatal(err)
	}
	list := func(q EventQuery) []Event {
		t.Helper()
		q.Since = now.AddDate(0, 0, -1)
		out, err := ListEvents(ctx, db, q)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := list(EventQuery{Team: "B", Limit: 10}); len(got) != 1 || got[0].ID != "fall" {
		t.Errorf("team B's manager reads %d events, want the fall", len(got))
	}
	if got := list(EventQuery{Deals: "none", Limit: 10}); len(got) != 1 || got[0].ID != "fall" {
		t.Errorf("metric events: %d, want the fall alone", len(got))
	}
	if got := list(EventQuery{Deals: "only", Limit: 1000}); len(got) != 300 {
		t.Errorf("deal events: %d, want 300", len(got))
	}
	if got := list(EventQuery{ID: "deal007", Limit: 1}); len(got) != 1 || got[0].ID != "deal007" {
		t.Errorf("by id: %+v", got)
	}
	if got := list(EventQuery{ID: "deal007", Team: "B", Limit: 1}); len(got) != 0 {
		t.Errorf("team A's deal found in team B's scope")
	}
	if _, err := ListEvents(ctx, db, EventQuery{Deals: "some"}); err == nil {
		t.Errorf("deals \"some\" accepted")
	}
}
