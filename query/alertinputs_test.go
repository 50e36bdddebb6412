package query

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestOpenDealsEqualLatestRows: the alert engine's open deals (OpenDeals) read
// only the open deals' raw rows and take the latest stage change without a
// latest-row pass; they must equal what the statement that sorted every raw
// row gave (latestOpenDeals, the statement replaced), on a home whose second
// export moved stage entries, amounts, close dates and owners, at days now and
// earlier. A difference is a stuck-deal or pushed-date alert about another
// stay or snapshot history than the deal's.
func TestOpenDealsEqualLatestRows(t *testing.T) {
	ctx := context.Background()
	_, s, loc := reexportedHome(t, 7, 2000)
	snapped := 0
	for _, day := range []string{"2026-12-01", "2026-10-15", "2026-08-03"} {
		asOf, _ := time.ParseInLocation(time.DateOnly, day, loc)
		got, err := s.OpenDeals(ctx, asOf)
		if err != nil {
			t.Fatal(err)
		}
		want, err := latestOpenDeals(ctx, s, asOf)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			t.Fatalf("%s: no open deals", day)
		}
		t.Logf("%s: %d open deals", day, len(got))
		if path, ok := sameJSON(t, got, want); !ok {
			t.Errorf("%s: open deals differ from the latest rows' at %s", day, path)
		}
		for _, d := range got {
			if len(d.SnapDates) > 0 {
				snapped++
			}
		}
	}
	if snapped == 0 {
		t.Fatal("no open deal has a snapshot history: the test compares none")
	}
}

// latestOpenDeals is OpenDeals with the statement it had before: the latest
// row of every raw stage event and opportunity, and the snapshots of every
// opportunity.
func latestOpenDeals(ctx context.Context, s *Service, asOf time.Time) ([]OpenDeal, error) {
	t := asOf.Unix()
	facts := fmt.Sprintf("(SELECT opportunity_id, name, account_name, owner_id, stage, product, source, territory, amount, close_date, created_at "+
		"FROM opp_facts WHERE %s AND closed = 0 AND created_at < toDateTime(%d))", tokFacts, t)
	entered := fmt.Sprintf("(SELECT opportunity_id, max(entered_at) AS stage_entered FROM %s WHERE entered_at < toDateTime(%d) GROUP BY opportunity_id)",
		latest("stage_events", "opportunity_id, entered_at, stage", "opportunity_id, entered_at, stage"), t)
	cur := latest("opportunities", "opportunity_id", "opportunity_id, currency")
	fe := "(SELECT * FROM " + facts + " AS f ALL LEFT JOIN " + entered + " AS e USING opportunity_id)"
	q := "SELECT opportunity_id, name, account_name, owner_id, stage, product, source, territory, amount, currency, close_date, stage_entered, created_at FROM " +
		fe + " AS fe ALL LEFT JOIN " + cur + " AS c USING opportunity_id ORDER BY opportunity_id"
	return s.readOpenDeals(ctx, asOf, q, tokRaw)
}
