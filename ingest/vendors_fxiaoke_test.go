package ingest

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// fileWant is what a fixture must load as: layout, counts and rejects by reason.
type fileWant struct {
	file, profile, table   string
	loaded, rejected, dups int64
	reasons                map[string]int64
}

func checkFile(t *testing.T, s *Service, w fileWant, o LoadOptions) {
	t.Helper()
	fr := load(t, s, filepath.Join("testdata", w.file), o)
	if fr.Profile != w.profile || fr.Table != w.table {
		t.Fatalf("%s: detected %s → %s, want %s → %s", w.file, fr.Profile, fr.Table, w.profile, w.table)
	}
	if fr.Loaded != w.loaded || fr.Rejected != w.rejected || fr.Duplicates != w.dups || fr.Read != w.loaded+w.rejected+w.dups {
		t.Errorf("%s: read %d loaded %d rejected %d duplicates %d (%v); want loaded %d rejected %d duplicates %d",
			w.file, fr.Read, fr.Loaded, fr.Rejected, fr.Duplicates, fr.SampleRejects, w.loaded, w.rejected, w.dups)
	}
	if len(fr.RejectsByReason) != len(w.reasons) {
		t.Errorf("%s: rejects %v, want %v", w.file, fr.RejectsByReason, w.reasons)
	}
	for r, n := range w.reasons {
		if fr.RejectsByReason[r] != n {
			t.Errorf("%s: rejects %v, want %s=%d", w.file, fr.RejectsByReason, r, n)
		}
	}
}

// shanghai is the business zone of the Chinese fixtures (a named zone: the
// query layer hands it to ClickHouse).
var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// TestFxiaokeExports loads each Fxiaoke (纷享销客) object export as the list
// view writes it (display names as headers, lookups by name) and checks counts,
// rejects with their reasons, and the metrics they feed, computed by hand.
func TestFxiaokeExports(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{RejectThreshold: threshold(0.5), Location: shanghai}, nil)
	snap := LoadOptions{SnapshotDate: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}
	for _, w := range []fileWant{
		{"fxiaoke_opps_gbk.csv", "fxiaoke", "opportunities", 3, 0, 0, nil},
		// 商机金额(元) with amounts written as words: 面议 and 待定 are no amounts.
		{"fxiaoke_opps_words.csv", "fxiaoke", "opportunities", 3, 2, 0, map[string]int64{"bad_amount": 2}},
		{"fxiaoke_accounts.csv", "fxiaoke-accounts", "accounts", 3, 2, 0, map[string]int64{"bad_number": 1, "missing_id": 1}},
		{"fxiaoke_leads.csv", "fxiaoke-leads", "leads", 4, 1, 0, map[string]int64{"bad_date": 1}},
		// The fourth row repeats the first exactly: the same record exported twice.
		{"fxiaoke_activities.csv", "fxiaoke-activities", "activities", 3, 1, 1, map[string]int64{"bad_date": 1}},
		{"fxiaoke_stage_changes.csv", "fxiaoke-history", "stage_events", 3, 1, 0, map[string]int64{"unknown_stage": 1}},
	} {
		checkFile(t, s, w, snap)
	}
	for _, c := range []struct {
		what, table, where string
		want               uint64
	}{
		{"面议 and 待定 not stored (as 0 or otherwise)", "opportunities", "name IN ('B项目', 'D项目')", 0},
		{"商机金额(元) 120,000.00 in CNY", "opportunities", "opportunity_id = 'A项目' AND amount = 120000 AND currency = 'CNY' AND stage = 'qualified' AND closed = 0", 1},
		{"阶段状态 赢单 wins over 谈判", "opportunities", "opportunity_id = 'C项目' AND won = 1 AND amount = 88000 AND close_date = '2024-05-01'", 1},
		{"阶段状态 输单", "opportunities", "opportunity_id = 'E项目' AND closed = 1 AND won = 0 AND amount = 9500", 1},
		{"account keyed by 客户名称", "accounts", "account_id = '上海某某科技有限公司' AND segment = 'A类客户' AND industry = '软件' AND region = '上海' AND city = '上海' AND employees = 200 AND source_system = 'fxiaoke'", 1},
		{"account without 员工人数", "accounts", "account_id = '杭州某某公司' AND employees = 0", 1},
		{"lead 已转换", "leads", "converted = 1 AND source IN ('官网', '电话营销') AND owner_id IN ('张伟', '李娜')", 2},
		{"lead 转换时间 in the business zone", "leads", "converted_at = toDateTime('2024-01-20 07:00:00', 'UTC') AND account_id = '上海某某科技有限公司'", 1},
		{"lead keys derived", "leads", "startsWith(lead_id, 'fxlead:')", 4},
		{"activities of 张伟", "activities", "rep_id = '张伟' AND account_id = '上海某某科技有限公司' AND opportunity_id = '华东区ERP项目'", 2},
		{"activity 2024/02/06 09:00 Shanghai", "activities", "type = '微信' AND occurred_at = toDateTime('2024-02-06 01:00:00', 'UTC')", 1},
		{"stage changes of FX-1", "stage_events", "opportunity_id = 'FX-1' AND origin = 'history'", 2},
		{"需求确认 entered 2024-02-05 10:00 Shanghai", "stage_events", "opportunity_id = 'FX-1' AND stage = 'qualified' AND vendor_stage = '需求确认' AND entered_at = toDateTime('2024-02-05 02:00:00', 'UTC')", 1},
		{"赢单 in the log", "stage_events", "opportunity_id = 'FX-2' AND stage = 'won' AND origin = 'history'", 1},
	} {
		if got := count(t, db, c.table, c.where); got != c.want {
			t.Errorf("%s: %d rows, want %d", c.what, got, c.want)
		}
	}

	q := query.New(db, shanghai, nil)
	if err := q.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Leads created Jan–Feb 2024: 官网 陈明 (已转换) and 赵丽 (无效), 展会 刘洋,
	// 电话营销 孙杰 (已转换); 周婷's 创建时间 "昨天" was rejected.
	lc, err := q.LeadConversion(context.Background(), query.Unrestricted, query.Filter{From: day(t, "2024-01-01"), To: day(t, "2024-03-01")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int64{"官网": {2, 1}, "展会": {1, 0}, "电话营销": {1, 1}}
	if lc.Total.Leads != 4 || lc.Total.Converted != 2 || lc.Total.Conversion != 0.5 || len(lc.Sources) != 3 {
		t.Errorf("lead conversion %+v; want 2 of 4 converted", lc.Total)
	}
	for _, src := range lc.Sources {
		if w := want[src.Source]; src.Leads != w[0] || src.Converted != w[1] {
			t.Errorf("leads from %s: %d, %d converted; want %d, %d", src.Source, src.Leads, src.Converted, w[0], w[1])
		}
	}
	// Closed April–May 2024: C项目 won (88,000, 2024-05-01) and E项目 lost
	// (9,500, 2024-04-15); FX-2 (赢单, 2024-04-30, 1.2亿) too.
	wr, err := q.WinRate(context.Background(), query.Unrestricted, query.Filter{From: day(t, "2024-04-01"), To: day(t, "2024-06-01")}, "")
	if err != nil {
		t.Fatal(err)
	}
	if g := wr.Total; g.Won != 2 || g.Lost != 1 || math.Abs(g.WinRate-2.0/3) > 1e-9 || g.WonAmount != 120088000 || g.LostAmount != 9500 {
		t.Errorf("win rate %+v; want won 2 (120,088,000), lost 1 (9,500), 2/3", g)
	}
}

func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation("2006-01-02", s, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestFxiaokeContactExportRefused: a 联系人 export is recognised and refused
// with what to export instead, never loaded as accounts or leads.
func TestFxiaokeContactExportRefused(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{Location: shanghai}, nil)
	_, err := s.LoadFile(context.Background(), filepath.Join("testdata", "fxiaoke_contacts.csv"), LoadOptions{})
	if err == nil || !errors.Is(err, ErrUnknownLayout) || !strings.Contains(err.Error(), "联系人") {
		t.Fatalf("contact export: %v; want a refusal naming 联系人", err)
	}
	if n := countAll(t, db, "accounts") + countAll(t, db, "leads"); n != 0 {
		t.Errorf("contact export wrote %d rows", n)
	}
}

// TestFxiaokeHeaderVariants: the same objects under the other names Fxiaoke
// versions and custom list views give their fields.
func TestFxiaokeHeaderVariants(t *testing.T) {
	for _, c := range []struct{ header, profile string }{
		{"商机名称,客户名称,销售阶段,商机金额（万元）,负责人,预计成交日期", "fxiaoke"},
		{"线索名称,公司名称,来源,处理状态,负责人,创建时间,线索编号", "fxiaoke-leads"},
		{"客户名称,客户类型,行业,省份,城市,负责人", "fxiaoke-accounts"},
		{"跟进方式,跟进记录,跟进人,客户名称,跟进日期", "fxiaoke-activities"},
		{"销售记录类型,销售记录内容,创建人,关联客户,创建时间", "fxiaoke-activities"},
		{"商机,变更前阶段,变更后销售阶段,操作时间,操作人", "fxiaoke-history"},
		{"联系人姓名,所属客户,部门,手机号", "fxiaoke-contacts"},
	} {
		hdr := newHeader(strings.Split(c.header, ","), "export.xlsx")
		p, _, err := (&Service{}).detect(hdr, "")
		if c.profile == "fxiaoke-contacts" {
			if err == nil || !strings.Contains(err.Error(), "联系人") {
				t.Errorf("%s: %v, want the contact export refused", c.header, err)
			}
			continue
		}
		if err != nil || p.name != c.profile {
			name := ""
			if p != nil {
				name = p.name
			}
			t.Errorf("%s: detected %q (%v), want %s", c.header, name, err, c.profile)
		}
	}
}
