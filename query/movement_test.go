package query

import (
	"context"
	"testing"
)

// TestOpenedEqualsMovement: the velocity card's opened deals (Opened) are
// Movement's opened summed over its periods, under each filter and scope,
// from rep_days (owner filters only) and from opp_facts (any other filter).
func TestOpenedEqualsMovement(t *testing.T) {
	ctx := context.Background()
	_, s, loc := reexportedHome(t, 7, 2000)
	scopes := []Scope{Unrestricted, {Name: "m", Role: RoleManager, Team: "华东一组"}}
	total := int64(0)
	for i, f := range reexportFilters(loc) {
		for _, sc := range scopes {
			got, err := s.Opened(ctx, sc, f)
			if err != nil {
				t.Fatal(err)
			}
			mv, err := s.Movement(ctx, sc, f, Week)
			if err != nil {
				t.Fatal(err)
			}
			want := int64(0)
			for _, p := range mv.Periods {
				want += p.Opened
			}
			if got != want {
				t.Errorf("filter %d, scope %s: opened %d, Movement's %d", i, sc.Name, got, want)
			}
			total += got
		}
	}
	if total < 1000 {
		t.Fatalf("only %d opened deals compared", total)
	}
}
