package query

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/clustertest"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestContestsAndTiersOnACluster: migration 0011 and the contests' writes and
// reads work on a cluster (two shards of two replicas), and contests, rankings
// and tiers answer there as on one server.
func TestContestsAndTiersOnACluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := clustertest.StartCluster(t)
	cdb := clustertest.OpenMigrated(t, ctx, c.Config)
	fx := contestFixture()
	for _, a := range tierFixture().acts {
		if a.account != "A5" {
			fx.acts = append(fx.acts, a)
		}
	}
	cluster, single := fx.load(t, cdb), fx.load(t, schemastest.Open(t))
	admin := Scope{Name: "ada", Role: RoleAdmin}
	in := ContestInput{Name: "Q2", Metric: ContestWonAmount, From: "2024-04-01", To: "2024-07-01", Reps: []string{"r5"},
		Groups:     []ContestGroup{{"seniors", []string{"r1", "r3", "r6"}}, {"juniors", []string{"r2", "r4"}}},
		Categories: ContestCategories}
	answer := func(s *Service) string {
		t.Helper()
		ct, tok, err := s.CreateContest(ctx, admin, in)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := s.BoardTokenOK(ctx, ct.ID, tok); !ok || err != nil {
			t.Fatalf("the board token of a contest just made: %v %v", ok, err)
		}
		if _, err := s.RotateBoardToken(ctx, admin, ct.ID); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.BoardTokenOK(ctx, ct.ID, tok); ok {
			t.Error("the old token still opens the board")
		}
		rk, err := s.Ranking(ctx, admin, ct.ID)
		if err != nil {
			t.Fatal(err)
		}
		tiers, err := s.Tiers(ctx, Unrestricted, Filter{From: d("2024-01-01"), To: d("2024-07-01")}, handTiers, true)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := s.Contests(ctx, admin)
		if err != nil || len(cs) != 1 {
			t.Fatalf("contests: %d, %v; want the one made", len(cs), err)
		}
		b, _ := json.Marshal([]any{rk.Categories, rk.Participants, tiers})
		return string(b)
	}
	if a, b := answer(cluster), answer(single); a != b {
		t.Errorf("cluster and single server differ:\ncluster %s\nsingle  %s", a, b)
	}
}
