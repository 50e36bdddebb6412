package ingest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/unicode"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

func TestVendorProfiles(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{RejectThreshold: threshold(0.5), Mappings: []string{"testdata/acme_mapping.yaml"}, Location: time.FixedZone("CST", 8*3600)}, nil)
	snap := LoadOptions{SnapshotDate: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}
	for _, c := range []struct {
		file, profile, table string
		loaded, rejected     int64
		reasons              map[string]int64
		tables               map[string]int64
	}{
		{"hubspot_deals.csv", "hubspot", "opportunities", 2, 1, map[string]int64{"unknown_stage": 1}, map[string]int64{"stage_events": 6}},
		{"zoho_deals.csv", "zoho", "opportunities", 2, 1, map[string]int64{"bad_date": 1}, nil},
		{"pipedrive_deals.csv", "pipedrive", "opportunities", 3, 0, nil, nil},
		{"fxiaoke_opps_gbk.csv", "fxiaoke", "opportunities", 3, 0, nil, nil},
		{"sf_report.csv", "salesforce-report", "opportunities", 3, 0, nil, nil},
		{"sf_account.csv", "salesforce-accounts", "accounts", 2, 0, nil, nil},
		{"sf_user.csv", "salesforce-users", "reps", 3, 0, nil, nil},
		{"leads.tsv", "generic:leads", "leads", 2, 0, nil, nil},
		{"activities.json", "generic:activities", "activities", 2, 0, nil, nil},
		{"stage_history.jsonl", "generic:stage_events", "stage_events", 2, 0, nil, nil},
		{"acme_export.csv", "mapping:acme", "opportunities", 3, 0, nil, nil},
	} {
		t.Run(c.file, func(t *testing.T) {
			fr := load(t, s, filepath.Join("testdata", c.file), snap)
			if fr.Profile != c.profile || fr.Table != c.table {
				t.Fatalf("detected %s → %s, want %s → %s", fr.Profile, fr.Table, c.profile, c.table)
			}
			if fr.Loaded != c.loaded || fr.Rejected != c.rejected || fr.Read != c.loaded+c.rejected+fr.Duplicates {
				t.Errorf("read %d loaded %d rejected %d (%v), want loaded %d rejected %d", fr.Read, fr.Loaded, fr.Rejected, fr.SampleRejects, c.loaded, c.rejected)
			}
			for r, n := range c.reasons {
				if fr.RejectsByReason[r] != n {
					t.Errorf("rejects %v, want %s=%d", fr.RejectsByReason, r, n)
				}
			}
			for tb, n := range c.tables {
				if fr.Tables[tb] != n {
					t.Errorf("table %s got %d rows, want %d (%v)", tb, fr.Tables[tb], n, fr.Tables)
				}
			}
		})
	}
	checks := []struct {
		what, table, where string
		want               uint64
	}{
		{"HubSpot amount $12,500.00", "opportunities", "opportunity_id = '9001' AND amount = 12500 AND won = 1", 1},
		{"HubSpot date-entered history", "stage_events", "opportunity_id = '9001' AND origin = 'hubspot'", 4},
		{"HubSpot time read in the business zone", "stage_events", "opportunity_id = '9001' AND stage = 'won' AND entered_at = toDateTime('2024-03-15 02:00:00', 'UTC')", 1},
		{"Zoho Indian grouping and rupee", "opportunities", "opportunity_id = 'zcrm_1' AND amount = 120000 AND currency = 'INR' AND stage = 'negotiation'", 1},
		{"Zoho Closed Lost", "opportunities", "opportunity_id = 'zcrm_2' AND stage = 'lost' AND closed = 1 AND won = 0 AND currency = 'USD'", 1},
		{"Pipedrive won by status, 1.200,50", "opportunities", "opportunity_id = '102' AND won = 1 AND amount = 1200.5 AND close_date = '2024-02-20'", 1},
		{"Pipedrive lost", "opportunities", "opportunity_id = '103' AND stage = 'lost' AND lost_reason = 'Price'", 1},
		{"Fxiaoke 12.5万", "opportunities", "opportunity_id = 'FX-1' AND amount = 125000 AND stage = 'proposal' AND owner_id = '张伟' AND currency = 'CNY'", 1},
		{"Fxiaoke 2024年1月31日 10:30 Asia/Shanghai", "opportunities", "opportunity_id = 'FX-1' AND created_at = toDateTime('2024-01-31 02:30:00', 'UTC')", 1},
		{"Fxiaoke 1.2亿 won", "opportunities", "opportunity_id = 'FX-2' AND amount = 120000000 AND won = 1", 1},
		{"Fxiaoke ￥8,000元", "opportunities", "opportunity_id = 'FX-3' AND amount = 8000 AND stage = 'negotiation'", 1},
		{"Salesforce report, name as id, embedded newline", "opportunities", "opportunity_id = 'Burlington Textiles\nWeaving Plant' AND stage = 'proposal'", 1},
		{"Salesforce user name from first+last", "reps", "rep_id = '0052' AND name = 'Jane Doe' AND active = 0 AND manager_id = '0053'", 1},
		{"lead converted Yes", "leads", "lead_id = 'L-2' AND converted = 1", 1},
		{"activity epoch ms", "activities", "activity_id = 'A2' AND occurred_at = toDateTime('2024-02-03 00:00:00', 'UTC') AND duration_min = 60", 1},
		{"activity +08:00", "activities", "activity_id = 'A1' AND occurred_at = toDateTime('2024-01-06 02:00:00', 'UTC')", 1},
		{"mapping stages and dmy", "opportunities", "opportunity_id = 'AC-2' AND stage = 'proposal' AND amount = 2500.5 AND close_date = '2024-03-02' AND currency = 'EUR'", 1},
		{"snapshots of vendor exports", "opportunity_snapshots", "snapshot_date = '2024-06-01'", 2 + 2 + 3 + 3 + 3 + 3},
	}
	for _, c := range checks {
		if got := count(t, db, c.table, c.where); got != c.want {
			t.Errorf("%s: %d rows, want %d", c.what, got, c.want)
		}
	}
}

// TestEncodings loads the same small export in every encoding a CRM or Excel writes.
func TestEncodings(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{}, nil)
	text := "opportunity_id,name,stage,amount,close_date\r\nE1,Café crème,Prospecting,\"1,000\",2024-01-31\r\nE2,销售机会,Closed Won,2000,2024-02-29\r\n"
	dir := t.TempDir()
	u16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(strings.NewReplacer(`"1,000"`, "1000", ",", "\t").Replace(text))
	files := map[string][]byte{
		"utf8.csv":      []byte(text),
		"utf8bom.csv":   append([]byte{0xEF, 0xBB, 0xBF}, text...),
		"unicode.txt":   []byte(u16),
		"semicolon.csv": []byte(strings.NewReplacer(`"1,000"`, `"1,000"`, ",", ";").Replace(text)),
	}
	want := map[string]string{"utf8.csv": "csv/utf-8", "utf8bom.csv": "csv/utf-8-bom", "unicode.txt": "tsv/utf-16le", "semicolon.csv": "csv;/utf-8"}
	for name, b := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		db2 := schemastest.Open(t)
		fr := load(t, newTest(db2, Options{}, nil), path, LoadOptions{})
		if fr.Format != want[name] || fr.Loaded != 2 || fr.Rejected != 0 {
			t.Errorf("%s: format %s loaded %d rejected %d %v; want %s, 2 loaded", name, fr.Format, fr.Loaded, fr.Rejected, fr.SampleRejects, want[name])
		}
		if n := count(t, db2, "opportunities", "name IN ('Café crème', '销售机会') AND amount IN (1000, 2000)"); n != 2 {
			t.Errorf("%s: text or amounts garbled: %d of 2 rows match", name, n)
		}
	}
	// GB18030 is covered by the Fxiaoke fixture; here only that detection says so.
	b, _ := os.ReadFile("testdata/fxiaoke_opps_gbk.csv")
	if enc := detectEncoding(b); enc != "gb18030" {
		t.Errorf("GBK export detected as %s", enc)
	}
	_ = s
}

func TestXLSXAndParquet(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{}, nil)
	dir := t.TempDir()
	// XLSX with the data on a named second sheet, an Excel serial date and a number cell.
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "Notes")
	f.SetCellValue("Notes", "A1", "exported by someone")
	f.NewSheet("Deals")
	rows := [][]any{{"Deal ID", "Deal Name", "Deal Stage", "Amount", "Close Date"}, {"X1", "Xlsx deal", "Contract Sent", 1234.5, 45322}, {"X2", "Second", "closedwon", "2,000", "2024-02-01"}}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		f.SetSheetRow("Deals", cell, &r)
	}
	xp := filepath.Join(dir, "deals.xlsx")
	if err := f.SaveAs(xp); err != nil {
		t.Fatal(err)
	}
	fr := load(t, s, xp, LoadOptions{Sheet: "Deals"})
	if fr.Loaded != 2 || fr.Rejected != 0 {
		t.Fatalf("xlsx: loaded %d rejected %d %v", fr.Loaded, fr.Rejected, fr.SampleRejects)
	}
	if n := count(t, db, "opportunities", "opportunity_id = 'X1' AND close_date = '2024-01-31' AND amount = 1234.5 AND stage = 'negotiation'"); n != 1 {
		t.Errorf("xlsx serial date 45322 is 2024-01-31: %d rows match", n)
	}
	if _, err := s.LoadFile(context.Background(), xp, LoadOptions{Sheet: "Nope"}); !errors.Is(err, ErrNoSheet) {
		t.Errorf("missing sheet: %v, want ErrNoSheet", err)
	}
	// Parquet with typed columns.
	schema := arrow.NewSchema([]arrow.Field{{Name: "opportunity_id", Type: arrow.BinaryTypes.String}, {Name: "stage", Type: arrow.BinaryTypes.String},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64}, {Name: "created_at", Type: arrow.FixedWidthTypes.Timestamp_ms}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"P1", "P2"}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"Qualification", "Closed Lost"}, nil)
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{10, 20}, nil)
	ts := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC).UnixMilli()
	b.Field(3).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(ts), arrow.Timestamp(ts)}, nil)
	rec := b.NewRecord()
	defer rec.Release()
	pp := filepath.Join(dir, "opps.parquet")
	pf, _ := os.Create(pp)
	w, err := pqarrow.NewFileWriter(schema, pf, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	fr = load(t, s, pp, LoadOptions{})
	if fr.Loaded != 2 || fr.Format != "parquet" {
		t.Fatalf("parquet: %+v", fr)
	}
	if n := count(t, db, "opportunities", "opportunity_id = 'P2' AND stage = 'lost' AND created_at = toDateTime('2024-05-06 07:08:09', 'UTC')"); n != 1 {
		t.Errorf("parquet timestamp: %d rows match", n)
	}
}

// Salesforce's native OpportunityHistory export (StageName, ForecastCategory,
// Amount and CloseDate per change) is stage history, not opportunities; a
// header two layouts fit equally well stops the load and names both.
func TestDetectionNeverTiesSilently(t *testing.T) {
	db := schemastest.Open(t)
	s := newService(t, db, Options{})
	dir := t.TempDir()
	hist := filepath.Join(dir, "OpportunityHistory.csv")
	if err := os.WriteFile(hist, []byte("Id,OpportunityId,CreatedById,CreatedDate,StageName,Amount,CloseDate,Probability,ForecastCategory,IsDeleted\n"+
		"008A1,006X1,005U1,2024-01-05T09:00:00.000Z,Prospecting,1000,2024-03-31,10,Pipeline,false\n"+
		"008A2,006X1,005U1,2024-02-01T09:00:00.000Z,Negotiation/Review,1200,2024-03-31,90,Commit,false\n"+
		"008A3,006X2,005U1,2024-01-07T10:00:00.000Z,Qualification,500,2024-04-30,20,Pipeline,false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fr := load(t, s, hist, LoadOptions{})
	if fr.Profile != "salesforce-history" || fr.Loaded != 3 {
		t.Fatalf("OpportunityHistory: profile %s, loaded %d; want salesforce-history, 3", fr.Profile, fr.Loaded)
	}
	if n := countAll(t, db, "opportunities"); n != 0 {
		t.Errorf("OpportunityHistory wrote %d opportunities", n)
	}
	// A header both HubSpot's and Zoho's layouts claim (75 each).
	amb := filepath.Join(dir, "deals.csv")
	if err := os.WriteFile(amb, []byte("Deal Name,Stage,Closing Date,Deal Stage,Amount\nA,won,2024-01-01,closedwon,10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.LoadFile(context.Background(), amb, LoadOptions{})
	if !errors.Is(err, ErrAmbiguousLayout) || !strings.Contains(err.Error(), "--source") {
		t.Fatalf("an ambiguous header: %v, want ErrAmbiguousLayout naming --source", err)
	}
	t.Log(err)
}

// Fxiaoke exports put the unit in the amount's header: 商机金额(元),
// 预计金额（万元）. The unit scales every amount of the column; amounts written
// as words (面议, 待定) are rejected with a reason, never stored as 0.
func TestAmountHeaderWithUnit(t *testing.T) {
	db := schemastest.Open(t)
	s := newService(t, db, Options{RejectThreshold: threshold(0.5)})
	dir := t.TempDir()
	for _, c := range []struct {
		hdr    string
		values []string
		want   float64 // sum of the loaded amounts
		cur    string
	}{
		{"商机金额(元)", []string{"125000", "1.5万", "面议", "88,000.50"}, 125000 + 15000 + 88000.5, "CNY"},
		{"预计金额（万元）", []string{"12.5", "3", "待定", "0.5"}, 125000 + 30000 + 5000, "CNY"},
		{"Amount (USD)", []string{"1200", "$300", "tbd", "1.5k"}, 1200 + 300 + 1500, "USD"},
	} {
		t.Run(c.hdr, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("商机编号,商机名称,客户名称,销售阶段," + c.hdr + ",负责人,创建时间\n")
			for i, v := range c.values {
				fmt.Fprintf(&b, "U-%d,项目%d,客户%d,方案/报价,\"%s\",张伟,2024-01-%02d\n", i, i, i, v, i+1)
			}
			path := filepath.Join(dir, fmt.Sprintf("fx_%d.csv", len(c.hdr)))
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			fr := load(t, s, path, LoadOptions{})
			if fr.Loaded != 3 || fr.Rejected != 1 || fr.RejectsByReason["bad_amount"] != 1 {
				t.Fatalf("%s: loaded %d, rejected %d %v; want 3 loaded and the word rejected as bad_amount", fr.Profile, fr.Loaded, fr.Rejected, fr.RejectsByReason)
			}
			ctx, cancel := db.Context(context.Background(), "t")
			defer cancel()
			var sum float64
			var curs []string
			if err := db.Conn.QueryRow(ctx, "SELECT sum(amount), groupUniqArray(currency) FROM opportunities WHERE run_id = ?", fr.RunID).Scan(&sum, &curs); err != nil {
				t.Fatal(err)
			}
			if math.Abs(sum-c.want) > 0.001 || len(curs) != 1 || curs[0] != c.cur {
				t.Errorf("amounts sum to %.2f in %v, want %.2f in %s", sum, curs, c.want, c.cur)
			}
		})
	}
}

// A mapping file's constants fill a column the export lacks, the stage
// included (an export of won deals only), and a mapped header with a unit
// ("Value (EUR)") is found by its whole name.
func TestMappingConstantsAndUnits(t *testing.T) {
	db := schemastest.Open(t)
	dir := t.TempDir()
	mp := filepath.Join(dir, "wins.yaml")
	if err := os.WriteFile(mp, []byte("name: wins\ntable: opportunities\nmatch: [Won Ref, Booked (EUR)]\ncolumns:\n  opportunity_id: Won Ref\n  amount: Booked (EUR)\n  close_date: Signed\nconstants: {stage: won}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newService(t, db, Options{Mappings: []string{mp, "testdata/acme_mapping.yaml"}})
	exp := filepath.Join(dir, "wins.csv")
	if err := os.WriteFile(exp, []byte("Won Ref,Booked (EUR),Signed\nW1,1000,2024-02-01\nW2,2500.5,2024-03-01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fr := load(t, s, exp, LoadOptions{})
	if fr.Profile != "mapping:wins" || fr.Loaded != 2 || fr.Rejected != 0 {
		t.Fatalf("profile %s loaded %d rejected %d", fr.Profile, fr.Loaded, fr.Rejected)
	}
	acme := load(t, s, "testdata/acme_export.csv", LoadOptions{})
	for _, c := range []struct {
		run  uint64
		want string
	}{{fr.RunID, "2 2 3500.5 EUR"}, {acme.RunID, "3 1 4499.5 EUR"}} {
		// A context (a query id) per query: 18.16 may still list the last
		// one as running when the next starts ("already running", code 216).
		ctx, cancel := db.Context(context.Background(), "t")
		defer cancel()
		var n, won uint64
		var sum float64
		var cur string
		if err := db.Conn.QueryRow(ctx, "SELECT count(), countIf(won = 1), sum(amount), max(currency) FROM opportunities WHERE run_id = ?", c.run).Scan(&n, &won, &sum, &cur); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%d %d %g %s", n, won, sum, cur); got != c.want {
			t.Errorf("run %d: count, won, amount, currency = %s, want %s", c.run, got, c.want)
		}
	}
}

// The report names the chosen profile's score and the runner-up's.
func TestReportNamesRunnerUp(t *testing.T) {
	db := schemastest.Open(t)
	s := newService(t, db, Options{})
	fr := load(t, s, filepath.Join(sharedData(t, "salesforce-opportunity"), "Opportunity.csv"), LoadOptions{})
	if fr.Profile != "salesforce" || fr.Score != 80 || fr.RunnerUp == "" || fr.RunnerUpScore >= fr.Score {
		t.Fatalf("detection: %s %+v", fr.Profile, fr.Detection)
	}
	t.Logf("%s %+v", fr.Profile, fr.Detection)
}

// A deal without a creation date is created on the day it was first seen, and
// stays so when a later export carries it again.
func TestCreatedDefaultsToFirstSeen(t *testing.T) {
	db := schemastest.Open(t)
	s := newService(t, db, Options{})
	dir := t.TempDir()
	write := func(name, value string) string {
		path := filepath.Join(dir, name)
		body := "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n" +
			"P1,Ann,GTX Basic,Acme,Prospecting,,," + value + "\n" +
			"E1,Ann,GTX Basic,Acme,Engaging,2017-03-01,,\n"
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	d1, d2 := time.Date(2017, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2017, 7, 1, 0, 0, 0, 0, time.UTC)
	first := load(t, s, write("pipeline_1.csv", ""), LoadOptions{SnapshotDate: d1})
	second := load(t, s, write("pipeline_2.csv", "100"), LoadOptions{SnapshotDate: d2})
	if first.Warnings["created_defaulted"] != 1 || second.Warnings["created_defaulted"] != 1 {
		t.Errorf("warnings %v, %v; want created_defaulted 1 each", first.Warnings, second.Warnings)
	}
	ctx, cancel := db.Context(context.Background(), "t")
	defer cancel()
	var created time.Time
	if err := db.Conn.QueryRow(ctx, "SELECT created_at FROM opportunities WHERE opportunity_id = 'P1' AND run_id = ?", second.RunID).Scan(&created); err != nil {
		t.Fatal(err)
	}
	if !created.Equal(d1) {
		t.Errorf("P1 created %s in the second export, want %s (first seen)", created, d1)
	}
	if n := count(t, db, "stage_events", "opportunity_id = 'P1' AND stage = 'qualified'"); n != 0 {
		t.Errorf("a deal without an engage date got %d Engaging events", n)
	}
}

// Dynamics 365 Sales opportunities, as the Dataverse names them (statecode and
// statuscode as codes, stepname) and as the app's Export to Excel does
// (display names and labels): status decides won and lost, a won deal's
// actual value and close date count.
func TestDynamics365(t *testing.T) {
	db := schemastest.Open(t)
	s := newService(t, db, Options{RejectThreshold: threshold(0.5)})
	dir := t.TempDir()
	files := map[string]string{
		"opportunities.csv": "opportunityid,name,customerid,ownerid,estimatedvalue,actualvalue,estimatedclosedate,actualclosedate,closeprobability,statecode,statuscode,stepname,createdon,transactioncurrencyid\n" +
			"b1e4,Fabrikam ERP,Fabrikam,Alan,50000,,2024-06-30,,40,0,1,2-Develop,2024-01-10T08:00:00Z,USD\n" +
			"b1e5,Contoso CRM,Contoso,Alan,80000,75000,2024-05-31,2024-05-20,100,1,3,4-Close,2024-02-01T08:00:00Z,USD\n" +
			"b1e6,Litware,Litware,Nancy,20000,,2024-04-30,2024-04-15,0,2,5,3-Propose,2024-01-20T08:00:00Z,USD\n" +
			"b1e7,Adatum,Adatum,Nancy,12000,,2024-07-31,,10,0,1,Unknown Phase,2024-03-01T08:00:00Z,USD\n",
		"Opportunities Export.csv": "(Do Not Modify) Opportunity,(Do Not Modify) Row Checksum,(Do Not Modify) Modified On,Topic,Potential Customer,Est. Revenue,Actual Revenue,Est. Close Date,Actual Close Date,Probability,Status,Status Reason,Pipeline Phase,Owner,Created On\n" +
			"c2f1,abc,3/1/2024 10:00 AM,Northwind,Northwind,\"$30,000.00\",,6/30/2024,,20,Open,In Progress,1-Qualify,Alan,1/15/2024 9:00 AM\n" +
			"c2f2,abd,3/2/2024 10:00 AM,Tailspin,Tailspin,\"$45,000.00\",\"$44,000.00\",5/31/2024,5/2/2024,100,Won,Won,4-Close,Nancy,2/3/2024 9:00 AM\n",
	}
	want := map[string]struct {
		loaded, rejected int64
		q                string
		res              string
	}{
		"opportunities.csv":        {3, 1, "countIf(won = 1), countIf(closed = 1 AND won = 0), sumIf(amount, won = 1), toString(maxIf(close_date, won = 1)), toString(groupUniqArrayIf(stage, closed = 0))", "1 1 75000 2024-05-20 ['qualified']"},
		"Opportunities Export.csv": {2, 0, "countIf(won = 1), countIf(closed = 1 AND won = 0), sumIf(amount, won = 1), toString(maxIf(close_date, won = 1)), toString(groupUniqArrayIf(stage, closed = 0))", "1 0 44000 2024-05-02 ['lead']"},
	}
	ctx, cancel := db.Context(context.Background(), "t")
	defer cancel()
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		fr := load(t, s, path, LoadOptions{})
		w := want[name]
		if fr.Profile != "dynamics" || fr.Loaded != w.loaded || fr.Rejected != w.rejected {
			t.Errorf("%s: profile %s loaded %d rejected %d %v; want dynamics %d/%d", name, fr.Profile, fr.Loaded, fr.Rejected, fr.RejectsByReason, w.loaded, w.rejected)
			continue
		}
		var won, lost uint64
		var amount float64
		var closeDate, open string
		if err := db.Conn.QueryRow(ctx, "SELECT "+w.q+" FROM opportunities WHERE run_id = ?", fr.RunID).Scan(&won, &lost, &amount, &closeDate, &open); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%d %d %g %s %s", won, lost, amount, closeDate, open); got != w.res {
			t.Errorf("%s: won, lost, won amount, close date, open stages = %s, want %s", name, got, w.res)
		}
	}
}

// A Salesforce report exported as a formatted XLSX: title rows, the owner
// written once per group, subtotal rows, a grand total and footer lines. The
// deals load with their owners; totals and text lines are skipped and counted.
func TestSalesforceFormattedReportXLSX(t *testing.T) {
	db := schemastest.Open(t)
	s := newService(t, db, Options{})
	f := excelize.NewFile()
	rows := [][]any{
		{"Opportunity Pipeline"},
		{"Filtered By: Close Date equals THIS FISCAL YEAR"},
		{},
		{"Opportunity Owner", "Opportunity Name", "Stage", "Amount", "Close Date", "Account Name"},
		{"Alan Smith", "Big Deal", "Proposal/Price Quote", 50000, "3/31/2024", "Acme"},
		{"", "Second Deal", "Closed Won", 20000, "2/15/2024", "Globex"},
		{"Subtotal", "", "", 70000},
		{"Nancy Lee", "Third Deal", "Closed Lost", 5000, "1/31/2024", "Initech"},
		{"Subtotal", "", "", 5000},
		{"Grand Total (3 records)", "", "", 75000},
		{},
		{"Confidential Information - Do Not Distribute"},
		{"Copyright (c) 2000-2024 salesforce.com, inc. All rights reserved."},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "report1700000000000.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	fr := load(t, s, path, LoadOptions{})
	if fr.Profile != "salesforce-report" || fr.Loaded != 3 || fr.Rejected != 0 {
		t.Fatalf("profile %s loaded %d rejected %d %v; want salesforce-report, 3, 0", fr.Profile, fr.Loaded, fr.Rejected, fr.RejectsByReason)
	}
	if fr.Warnings["report_total_rows_skipped"] != 3 || fr.Warnings["report_text_rows_skipped"] != 2 {
		t.Errorf("warnings %v; want 3 total rows and 2 text rows skipped", fr.Warnings)
	}
	ctx, cancel := db.Context(context.Background(), "t")
	defer cancel()
	var byOwner string
	if err := db.Conn.QueryRow(ctx, "SELECT toString(groupArray((owner_id, name, amount))) FROM (SELECT owner_id, name, amount FROM opportunities WHERE run_id = ? ORDER BY name)", fr.RunID).Scan(&byOwner); err != nil {
		t.Fatal(err)
	}
	if want := "[('Alan Smith','Big Deal',50000),('Alan Smith','Second Deal',20000),('Nancy Lee','Third Deal',5000)]"; byOwner != want {
		t.Errorf("deals %s, want %s", byOwner, want)
	}
}

// Salesforce's ForecastCategoryName lands in forecast_category as exported
// (the exercise export: 183 Pipeline, 25 Closed, 11 Omitted).
func TestSalesforceForecastCategory(t *testing.T) {
	db := schemastest.Open(t)
	s := newService(t, db, Options{})
	load(t, s, filepath.Join(sharedData(t, "salesforce-opportunity"), "Opportunity.csv"), LoadOptions{})
	for cat, want := range map[string]int64{"Pipeline": 183, "Closed": 25, "Omitted": 11, "": 0} {
		if n := count(t, db, "opportunities", "forecast_category = '"+cat+"'"); int64(n) != want {
			t.Errorf("forecast_category %q: %d rows, want %d", cat, n, want)
		}
	}
}

// A forced family (--source canonical) whose layouts all miss the header
// fails and names them; it loaded canonical:opportunities' rows as accounts
// when a column was missing (the first of the family, silently).
func TestForcedFamilyNeverPicksSilently(t *testing.T) {
	db := schemastest.Open(t)
	s := newService(t, db, Options{})
	path := filepath.Join(t.TempDir(), "opportunities.csv")
	if err := os.WriteFile(path, []byte("opportunity_id,name,account_id\nO1,Deal,A1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.LoadFile(context.Background(), path, LoadOptions{Source: "canonical"})
	if !errors.Is(err, ErrUnknownLayout) || !strings.Contains(err.Error(), "canonical:opportunities") {
		t.Fatalf("a canonical file missing columns: %v; want ErrUnknownLayout naming the canonical layouts", err)
	}
	if n := count(t, db, "accounts", "1"); n != 0 {
		t.Errorf("%d accounts loaded from an opportunities file", n)
	}
}

// With a reporting currency, a row in a currency without a rate is rejected
// with the column and what to configure; rows in the reporting currency, in a
// currency with a rate, or without one load.
func TestNoFxRateRejected(t *testing.T) {
	db := schemastest.Open(t)
	s := newService(t, db, Options{RejectThreshold: threshold(0.5), Currency: Currency{Reporting: "CNY", Rates: map[string]float64{"USD": 7.1}}})
	path := filepath.Join(t.TempDir(), "deals.csv")
	body := "opportunity_id,name,account_id,owner_id,stage,amount,currency,created_at,close_date\n" +
		"D1,a,A1,U1,won,100,CNY,2024-01-02,2024-02-01\n" +
		"D2,b,A1,U1,won,100,usd,2024-01-02,2024-02-01\n" +
		"D3,c,A1,U1,won,100,EUR,2024-01-02,2024-02-01\n" +
		"D4,d,A1,U1,lead,100,,2024-01-02,2024-06-01\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	fr := load(t, s, path, LoadOptions{})
	if fr.Loaded != 3 || fr.Rejected != 1 || fr.RejectsByReason["no_fx_rate"] != 1 {
		t.Fatalf("loaded %d rejected %d %v; want 3 loaded, 1 no_fx_rate", fr.Loaded, fr.Rejected, fr.RejectsByReason)
	}
	r := fr.SampleRejects[0]
	if r.Row != 4 || r.Column != "currency" || r.Value != "EUR" || !strings.Contains(r.Message, "currency.rates.EUR") {
		t.Errorf("reject %+v; want row 4, column currency, EUR, naming currency.rates.EUR", r)
	}
}

// Monthly exchange rates load like any export (here a Chinese sheet: 币种,
// 月份, 汇率); a rate that is not positive is rejected; afterwards a deal in a
// currency with monthly rates loads though the config has no rate for it.
func TestFxRatesLoad(t *testing.T) {
	db := schemastest.Open(t)
	s := newService(t, db, Options{RejectThreshold: threshold(0.5), Currency: Currency{Reporting: "CNY", Rates: map[string]float64{"USD": 7.1}}})
	dir := t.TempDir()
	rates := filepath.Join(dir, "汇率.csv")
	if err := os.WriteFile(rates, []byte("币种,月份,汇率\nEUR,2024-01-01,7.8\nEUR,2024-02-01,7.7\nJPY,2024-01-01,-0.05\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fr := load(t, s, rates, LoadOptions{})
	if fr.Profile != "generic:fx_rates" || fr.Loaded != 2 || fr.RejectsByReason["bad_rate"] != 1 {
		t.Fatalf("rates: profile %s loaded %d rejects %v; want generic:fx_rates, 2, bad_rate 1", fr.Profile, fr.Loaded, fr.RejectsByReason)
	}
	deals := filepath.Join(dir, "deals.csv")
	if err := os.WriteFile(deals, []byte("opportunity_id,name,account_id,owner_id,stage,amount,currency,created_at,close_date\n"+
		"D1,a,A1,U1,won,100,EUR,2024-01-02,2024-02-01\nD2,b,A1,U1,won,100,JPY,2024-01-02,2024-02-01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fr = load(t, s, deals, LoadOptions{})
	if fr.Loaded != 1 || fr.RejectsByReason["no_fx_rate"] != 1 {
		t.Errorf("deals: loaded %d rejects %v; want EUR loaded (monthly rates), JPY no_fx_rate", fr.Loaded, fr.RejectsByReason)
	}
}
