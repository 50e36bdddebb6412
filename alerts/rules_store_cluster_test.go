package alerts

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/clustertest"
	"github.com/pipelens/pipelens/schemas/config"
)

// TestRuleSetsOnACluster: on a cluster (2 shards × 2 replicas) each saved set
// is the one in force at the very next read, whichever replica answers: an
// evaluation right after a save must not run the set before it.
func TestRuleSetsOnACluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := clustertest.StartCluster(t)
	db := clustertest.OpenMigrated(t, ctx, c.Config)
	e, err := New(Options{DB: db, Config: config.Default(), Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	for v := uint64(1); v <= 4; v++ {
		name := fmt.Sprintf("leads-v%d", v)
		if _, err := e.SaveRules(ctx, "- name: "+name+"\n  metric: leads\n", "ada"); err != nil {
			t.Fatal(err)
		}
		rs, err := e.Rules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rs.Source != "saved" || rs.Version != v || rs.Rules[0].Name != name {
			t.Fatalf("right after saving set %d the cluster answers %s set %d (%s)", v, rs.Source, rs.Version, rs.Rules[0].Name)
		}
		if got := e.rulesInForce(ctx); len(got) != 1 || got[0].Name != name {
			t.Fatalf("the evaluation after saving set %d would run %v", v, got)
		}
	}
}
