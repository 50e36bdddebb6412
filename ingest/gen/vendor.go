package gen

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Vendors lists the vendor export shapes WriteVendor knows.
var Vendors = []string{"salesforce", "hubspot", "fxiaoke"}

type vendorFile struct {
	name   string
	header []string
}

type vendorSpec struct {
	files   []vendorFile
	gb18030 bool
	format  func(v *vendorWriter, b *block)
}

var vendorSpecs = map[string]vendorSpec{
	"salesforce": {
		files: []vendorFile{
			{"User.csv", []string{"Id", "Name", "Email", "Username", "UserRoleName", "ManagerId", "Department", "State", "LanguageLocaleKey", "IsActive"}},
			{"Account.csv", []string{"Id", "Name", "Industry", "Segment__c", "BillingCountry", "BillingState", "BillingCity", "NumberOfEmployees", "AnnualRevenue", "ParentId", "OwnerId"}},
			{"Opportunity.csv", []string{"Id", "Name", "AccountId", "OwnerId", "StageName", "Amount", "CurrencyIsoCode", "Probability", "CloseDate", "CreatedDate", "IsClosed", "IsWon", "LeadSource", "Type", "Product__c", "Loss_Reason__c"}},
			{"OpportunityHistory.csv", []string{"Id", "OpportunityId", "StageName", "Amount", "Probability", "CloseDate", "CreatedDate"}},
		},
		format: (*vendorWriter).salesforce,
	},
	"hubspot": {
		files: []vendorFile{
			{"companies.csv", []string{"Record ID", "Company name", "Industry", "Country/Region", "State/Region", "City", "Number of Employees", "Annual Revenue"}},
			{"deals.csv", append([]string{"Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Currency", "Close Date", "Create Date", "Deal owner", "Associated Company", "Original Source", "Closed Lost Reason"}, hubspotEntered()...)},
		},
		format: (*vendorWriter).hubspot,
	},
	"fxiaoke": {
		files: []vendorFile{
			{"商机.csv", []string{"商机编号", "商机名称", "客户名称", "负责人", "所属部门", "销售阶段", "商机状态", "金额", "币种", "赢率", "创建时间", "结单日期", "来源", "产品名称", "输单原因"}},
			{"商机阶段变更记录.csv", []string{"商机编号", "商机名称", "变更前阶段", "变更后阶段", "变更时间"}},
		},
		gb18030: true,
		format:  (*vendorWriter).fxiaoke,
	},
}

var sfStages = [6]string{"Closed Lost", "Prospecting", "Qualification", "Proposal/Price Quote", "Negotiation/Review", "Closed Won"}
var hsStages = [6]string{"Closed Lost", "Appointment Scheduled", "Qualified To Buy", "Presentation Scheduled", "Contract Sent", "Closed Won"}
var fxStages = [6]string{"输单", "验证客户", "需求确定", "方案/报价", "谈判审核", "赢单"}
var fxSources = map[string]string{"website": "官网", "referral": "客户推荐", "trade show": "展会", "partner": "合作伙伴", "outbound": "外呼", "百度推广": "百度推广", "微信": "微信"}
var stageIndex = map[string]int{"lost": 0, "lead": 1, "qualified": 2, "proposal": 3, "negotiation": 4, "won": 5}

func hubspotEntered() []string {
	out := make([]string, 0, 6)
	for _, s := range []int{1, 2, 3, 4, 5, 0} {
		out = append(out, `Date entered "`+hsStages[s]+` (Sales Pipeline)"`)
	}
	return out
}

// WriteVendor generates the same sample as WriteDir, for the same Config, shaped as
// one CRM's export into dir, plus truth.json:
//
//   - salesforce: User.csv, Account.csv, Opportunity.csv, OpportunityHistory.csv with
//     API-name headers; 18-character ids (opportunity n is 0065g + n in base 36).
//   - hubspot: companies.csv and deals.csv with the export's column labels and
//     Date entered "<stage> (Sales Pipeline)" columns.
//   - fxiaoke: 商机.csv and 商机阶段变更记录.csv with Chinese headers, GB18030-encoded.
func WriteVendor(ctx context.Context, cfg Config, dir, vendor string) (*Truth, error) {
	spec, ok := vendorSpecs[vendor]
	if !ok {
		return nil, fmt.Errorf("write vendor export %q: want one of %v", vendor, Vendors)
	}
	rc, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create output dir: %w", err)
	}
	g := newGenerator(rc)
	files := make([]*os.File, len(spec.files))
	writers := make([]*bufio.Writer, len(spec.files))
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	for i, vf := range spec.files {
		f, err := os.Create(filepath.Join(dir, vf.name))
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", vf.name, err)
		}
		files[i], writers[i] = f, bufio.NewWriterSize(f, 1<<20)
		var hdr []byte
		for j, h := range vf.header {
			if j > 0 {
				hdr = append(hdr, ',')
			}
			hdr = appendCSVField(hdr, h)
		}
		hdr = append(hdr, '\n')
		if spec.gb18030 {
			if hdr, err = simplifiedchinese.GB18030.NewEncoder().Bytes(hdr); err != nil {
				return nil, fmt.Errorf("encode %s header: %w", vf.name, err)
			}
		}
		if _, err := writers[i].Write(hdr); err != nil {
			return nil, fmt.Errorf("write %s: %w", vf.name, err)
		}
	}
	work := func(b *block) error {
		v := &vendorWriter{g: g, b: b}
		spec.format(v, b)
		if spec.gb18030 {
			enc := simplifiedchinese.GB18030.NewEncoder()
			for i := range spec.files {
				if len(b.out[i]) == 0 {
					continue
				}
				out, err := enc.Bytes(b.out[i])
				if err != nil {
					return fmt.Errorf("encode %s: %w", spec.files[i].name, err)
				}
				b.out[i] = out
			}
		}
		return nil
	}
	truth, err := g.run(ctx, work, func(b *block) error {
		for i := range spec.files {
			if _, err := writers[i].Write(b.out[i]); err != nil {
				return fmt.Errorf("write %s: %w", spec.files[i].name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, w := range writers {
		if err := w.Flush(); err != nil {
			return nil, fmt.Errorf("write %s: %w", spec.files[i].name, err)
		}
		if err := files[i].Close(); err != nil {
			return nil, fmt.Errorf("close %s: %w", spec.files[i].name, err)
		}
		files[i] = nil
	}
	if err := writeTruth(dir, truth); err != nil {
		return nil, err
	}
	return truth, nil
}

type vendorWriter struct {
	g   *generator
	b   *block
	row []byte
}

// Column accessors by canonical column name.
func colIdx(t int, name string) int {
	for i, c := range tables[t].Columns {
		if c.Name == name {
			return i
		}
	}
	panic("gen: no column " + name + " in " + tables[t].Name)
}

func strs(c *Chunk, t int, name string) []string     { return c.Data[colIdx(t, name)].([]string) }
func times(c *Chunk, t int, name string) []time.Time { return c.Data[colIdx(t, name)].([]time.Time) }
func floats(c *Chunk, t int, name string) []float64  { return c.Data[colIdx(t, name)].([]float64) }
func flags(c *Chunk, t int, name string) []uint8     { return c.Data[colIdx(t, name)].([]uint8) }
func idNum(id string, prefix int) int                { n, _ := strconv.Atoi(id[prefix:]); return n }
func (v *vendorWriter) person(id string) *rep        { return v.g.org.people[idNum(id, 1)-1] }
func (v *vendorWriter) account(id string) *account   { return &v.g.org.accounts[idNum(id, 4)-1] }
func appendSFID(b []byte, prefix string, n int) []byte {
	return appendBase36(append(b, prefix+"5g"...), n, 13)
}

func appendBase36(b []byte, n, width int) []byte {
	var tmp [16]byte
	d := strconv.AppendInt(tmp[:0], int64(n), 36)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	for _, c := range d {
		if 'a' <= c && c <= 'z' {
			c -= 32
		}
		b = append(b, c)
	}
	return b
}

func appendSFTime(b []byte, t time.Time) []byte {
	b = appendDateTime(b, t.Unix())
	b[len(b)-9] = 'T'
	return append(b, ".000Z"...)
}

func appendMinute(b []byte, t time.Time) []byte {
	b = appendDateTime(b, t.Unix())
	return b[:len(b)-3]
}

func boolWord(f uint8) string {
	if f == 1 {
		return "true"
	}
	return "false"
}

// fields appends one CSV row.
func (v *vendorWriter) emit(file int, fields ...[]byte) {
	out := v.b.out[file]
	for i, f := range fields {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendCSVField(out, string(f))
	}
	v.b.out[file] = append(out, '\n')
}

// f is shorthand for a field from a string.
func f(s string) []byte { return []byte(s) }

func ff(x float64) []byte { return strconv.AppendFloat(nil, x, 'f', -1, 64) }

func (v *vendorWriter) salesforce(b *block) {
	if c := b.chunks[tReps]; c != nil {
		ids, mgr := strs(c, tReps, "rep_id"), strs(c, tReps, "manager_id")
		for i, id := range ids {
			p := v.person(id)
			var m []byte
			if mgr[i] != "" {
				m = appendSFID(nil, "005", idNum(mgr[i], 1))
			}
			lang := "zh_CN"
			if p.lang == "en" {
				lang = "en_US"
			}
			v.emit(0, appendSFID(nil, "005", idNum(id, 1)), f(p.name), f(p.email), f(p.email+".crm"), f(p.role), m, f(p.teamName), f(p.territory), f(lang), f("true"))
		}
	}
	if c := b.chunks[tAccounts]; c != nil {
		ids := strs(c, tAccounts, "account_id")
		for _, id := range ids {
			a := v.account(id)
			t := &territories[a.terr]
			var parent []byte
			if a.parent != "" {
				parent = appendSFID(nil, "001", idNum(a.parent, 4))
			}
			v.emit(1, appendSFID(nil, "001", idNum(id, 4)), f(a.name), f(a.industry), f(segments[a.seg]), f(t.country), f(t.name), f(a.city),
				strconv.AppendUint(nil, uint64(a.employees), 10), ff(a.revenue), parent, nil)
		}
	}
	c := b.chunks[tOpps]
	if c == nil {
		return
	}
	ev := b.chunks[tEvents]
	ids, names, accts, owners := strs(c, tOpps, "opportunity_id"), strs(c, tOpps, "name"), strs(c, tOpps, "account_id"), strs(c, tOpps, "owner_id")
	stages, curr, srcs, prods, reasons := strs(c, tOpps, "stage"), strs(c, tOpps, "currency"), strs(c, tOpps, "source"), strs(c, tOpps, "product"), strs(c, tOpps, "lost_reason")
	amounts, created, closeD := floats(c, tOpps, "amount"), times(c, tOpps, "created_at"), times(c, tOpps, "close_date")
	closed, won := flags(c, tOpps, "closed"), flags(c, tOpps, "won")
	evOpp, evStage, evAt := strs(ev, tEvents, "opportunity_id"), strs(ev, tEvents, "stage"), times(ev, tEvents, "entered_at")
	e := 0
	for i, id := range ids {
		n := idNum(id, 4)
		oid := appendSFID(nil, "006", n)
		s := stageIndex[stages[i]]
		typ := "New Business"
		if n%4 == 0 {
			typ = "Existing Business"
		}
		cd := appendDate(nil, closeD[i].Unix())
		v.emit(2, oid, f(names[i]), appendSFID(nil, "001", idNum(accts[i], 4)), appendSFID(nil, "005", idNum(owners[i], 1)),
			f(sfStages[s]), ff(amounts[i]), f(curr[i]), strconv.AppendInt(nil, int64(stageProb[s]*100), 10), cd,
			appendSFTime(nil, created[i]), f(boolWord(closed[i])), f(boolWord(won[i])), f(srcs[i]), f(typ), f(prods[i]), f(reasons[i]))
		for k := 0; e < len(evOpp) && evOpp[e] == id; e, k = e+1, k+1 {
			es := stageIndex[evStage[e]]
			v.emit(3, appendSFID(nil, "008", n*16+k), oid, f(sfStages[es]), ff(amounts[i]), strconv.AppendInt(nil, int64(stageProb[es]*100), 10), cd, appendSFTime(nil, evAt[e]))
		}
	}
}

func (v *vendorWriter) hubspot(b *block) {
	const companyBase, dealBase = 5_000_000_000, 18_000_000_000
	if c := b.chunks[tAccounts]; c != nil {
		for _, id := range strs(c, tAccounts, "account_id") {
			a := v.account(id)
			t := &territories[a.terr]
			v.emit(0, strconv.AppendInt(nil, int64(companyBase+idNum(id, 4)), 10), f(a.name), f(a.industry), f(t.country), f(t.name), f(a.city),
				strconv.AppendUint(nil, uint64(a.employees), 10), ff(a.revenue))
		}
	}
	c := b.chunks[tOpps]
	if c == nil {
		return
	}
	ev := b.chunks[tEvents]
	ids, names, accts, owners := strs(c, tOpps, "opportunity_id"), strs(c, tOpps, "name"), strs(c, tOpps, "account_id"), strs(c, tOpps, "owner_id")
	stages, curr, srcs, reasons := strs(c, tOpps, "stage"), strs(c, tOpps, "currency"), strs(c, tOpps, "source"), strs(c, tOpps, "lost_reason")
	amounts, created, closeD := floats(c, tOpps, "amount"), times(c, tOpps, "created_at"), times(c, tOpps, "close_date")
	evOpp, evStage, evAt := strs(ev, tEvents, "opportunity_id"), strs(ev, tEvents, "stage"), times(ev, tEvents, "entered_at")
	e := 0
	var entered [6][]byte
	for i, id := range ids {
		for s := range entered {
			entered[s] = nil
		}
		for ; e < len(evOpp) && evOpp[e] == id; e++ {
			entered[stageIndex[evStage[e]]] = appendMinute(nil, evAt[e]) // HubSpot keeps the latest entry
		}
		s := stageIndex[stages[i]]
		v.emit(1, strconv.AppendInt(nil, int64(dealBase+idNum(id, 4)), 10), f(names[i]), f(hsStages[s]), f("Sales Pipeline"), ff(amounts[i]), f(curr[i]),
			appendDate(nil, closeD[i].Unix()), appendMinute(nil, created[i]), f(v.person(owners[i]).name), f(v.account(accts[i]).name), f(srcs[i]), f(reasons[i]),
			entered[1], entered[2], entered[3], entered[4], entered[5], entered[0])
	}
}

func (v *vendorWriter) fxiaoke(b *block) {
	c := b.chunks[tOpps]
	if c == nil {
		return
	}
	ev := b.chunks[tEvents]
	ids, names, accts, owners := strs(c, tOpps, "opportunity_id"), strs(c, tOpps, "name"), strs(c, tOpps, "account_id"), strs(c, tOpps, "owner_id")
	stages, curr, srcs, prods, reasons := strs(c, tOpps, "stage"), strs(c, tOpps, "currency"), strs(c, tOpps, "source"), strs(c, tOpps, "product"), strs(c, tOpps, "lost_reason")
	amounts, created, closeD := floats(c, tOpps, "amount"), times(c, tOpps, "created_at"), times(c, tOpps, "close_date")
	evOpp, evStage, evAt := strs(ev, tEvents, "opportunity_id"), strs(ev, tEvents, "stage"), times(ev, tEvents, "entered_at")
	e := 0
	for i, id := range ids {
		s := stageIndex[stages[i]]
		status := "进行中"
		switch s {
		case stWon:
			status = "赢单"
		case stLost:
			status = "输单"
		}
		p := v.person(owners[i])
		v.emit(0, f(id), f(names[i]), f(v.account(accts[i]).name), f(p.name), f(p.teamName), f(fxStages[s]), f(status), ff(amounts[i]), f(curr[i]),
			append(strconv.AppendInt(nil, int64(stageProb[s]*100), 10), '%'), appendMinute(nil, created[i]), appendDate(nil, closeD[i].Unix()),
			f(fxSources[srcs[i]]), f(prods[i]), f(reasons[i]))
		prev := ""
		for ; e < len(evOpp) && evOpp[e] == id; e++ {
			cur := fxStages[stageIndex[evStage[e]]]
			v.emit(1, f(id), f(names[i]), f(prev), f(cur), appendMinute(nil, evAt[e]))
			prev = cur
		}
	}
}
