package ingest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestNeocrmOpportunities loads 销售易's opportunity list export (display
// names) and its OpenAPI field names, and checks counts, rejects, values and the
// win rate per owner by hand.
func TestNeocrmOpportunities(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{RejectThreshold: threshold(0.5), Location: shanghai}, nil)
	snap := LoadOptions{SnapshotDate: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}
	// 西北项目's 销售金额 面议 is no amount; 东北升级's 结单日期 2024-06-31 no date.
	checkFile(t, s, fileWant{"neocrm_opportunities.csv", "neocrm", "opportunities", 4, 2, 0, map[string]int64{"bad_amount": 1, "bad_date": 1}}, snap)
	for _, c := range []struct {
		what, where string
		want        uint64
	}{
		{"面议 not stored", "name IN ('西北项目', '东北升级')", 0},
		{"初步接洽 10% in CNY", "opportunity_id = '华北数据平台' AND stage = 'lead' AND amount = 50000 AND currency = 'CNY' AND probability = 10 AND owner_id = '刘强' AND source = '市场活动' AND source_system = 'neocrm'", 1},
		{"需求确定", "opportunity_id = '西南渠道拓展' AND stage = 'qualified' AND closed = 0", 1},
		{"赢单", "opportunity_id = '华东续约' AND won = 1 AND close_date = '2024-03-20'", 1},
		{"输单 with its 输单描述", "opportunity_id = '华南试点' AND stage = 'lost' AND closed = 1 AND won = 0 AND lost_reason = '价格过高' AND vendor_stage = '输单'", 1},
		{"创建日期 in the business zone", "opportunity_id = '华南试点' AND created_at = toDateTime('2024-01-31 16:00:00', 'UTC')", 1},
	} {
		if got := count(t, db, "opportunities", c.where); got != c.want {
			t.Errorf("%s: %d rows, want %d", c.what, got, c.want)
		}
	}
	q := query.New(db, shanghai, nil)
	if err := q.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Closed March–April 2024: 刘强 won 华东续约 (180,000), 周敏 lost 华南试点 (75,000).
	f := query.Filter{From: day(t, "2024-03-01"), To: day(t, "2024-05-01")}
	wr, err := q.WinRate(context.Background(), query.Unrestricted, f, "rep")
	if err != nil {
		t.Fatal(err)
	}
	if g := wr.Total; g.Won != 1 || g.Lost != 1 || g.WinRate != 0.5 || math.Abs(g.WinRateAmount-180000.0/255000) > 1e-9 {
		t.Errorf("win rate %+v; want 1 won, 1 lost, 0.5, by amount 180000/255000", g)
	}
	per := map[string]float64{}
	for _, g := range wr.Groups {
		per[g.Key] = g.WinRate
	}
	if len(per) != 2 || per["刘强"] != 1 || per["周敏"] != 0 {
		t.Errorf("win rate per owner %v; want 刘强 1, 周敏 0", per)
	}

	// The OpenAPI layout: ids, numbers without separators, winRate as a number.
	db2 := schemastest.Open(t)
	s2 := newTest(db2, Options{RejectThreshold: threshold(0.5), Location: shanghai}, nil)
	checkFile(t, s2, fileWant{"neocrm_opportunities_api.csv", "neocrm", "opportunities", 3, 0, 0, nil}, snap)
	if n := count(t, db2, "opportunities", "opportunity_id = '1170514' AND name = '华南试点' AND account_id = '1160003' AND owner_id = '2010002' AND stage = 'lost' AND lost_reason = '价格过高' AND amount = 75000"); n != 1 {
		t.Errorf("API layout 1170514: %d rows", n)
	}
}

// TestVendorCurrencyNeedsARate: 销售易 and Fxiaoke amounts without a currency
// are yuan; with a reporting currency that has no CNY rate they are rejected
// (no_fx_rate), never summed unconverted; with the rate they load.
func TestVendorCurrencyNeedsARate(t *testing.T) {
	db := schemastest.Open(t)
	usd := Currency{Reporting: "USD", Rates: map[string]float64{"EUR": 1.1}}
	s := newService(t, db, Options{RejectThreshold: threshold(1), Currency: usd, Location: shanghai})
	rep, err := s.LoadFile(context.Background(), "testdata/neocrm_opportunities_api.csv", LoadOptions{})
	if err != nil || rep.Files[0].Loaded != 0 || rep.Files[0].RejectsByReason["no_fx_rate"] != 3 {
		t.Fatalf("neocrm without a CNY rate: %v %+v; want 3 no_fx_rate", err, rep)
	}
	if n := countAll(t, db, "opportunities"); n != 0 {
		t.Errorf("%d yuan rows stored without a rate", n)
	}
	usd.Rates["CNY"] = 0.14
	s = newService(t, db, Options{RejectThreshold: threshold(0.5), Currency: usd, Location: shanghai})
	checkFile(t, s, fileWant{"fxiaoke_opps_gbk.csv", "fxiaoke", "opportunities", 3, 0, 0, nil}, LoadOptions{})
}
