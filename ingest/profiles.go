package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unicode"

	yaml "go.yaml.in/yaml/v3"
	"golang.org/x/text/width"
)

// synonyms lists, per canonical column, the headers (normalised with normKey) that
// CRMs and spreadsheets use for it, most specific first. Vendor profiles add their
// own names in front.
var synonyms = map[string]map[string][]string{
	"opportunities": {
		"opportunity_id":    {"opportunityid", "oppid", "dealid", "recordid", "id", "商机id", "商机编号", "编号"},
		"name":              {"opportunityname", "dealname", "dealtitle", "name", "title", "商机名称", "名称"},
		"account_id":        {"accountid", "accountname", "account", "associatedcompany", "company", "dealorganization", "organization", "organizationname", "客户名称", "客户", "公司名称"},
		"owner_id":          {"ownerid", "opportunityowner", "dealowner", "owner", "salesagent", "salesrep", "负责人", "销售人员", "所有人"},
		"product":           {"product", "productname", "产品", "产品名称"},
		"pipeline":          {"pipeline", "dealpipeline", "销售流程"},
		"source":            {"leadsource", "source", "dealsource", "originalsource", "来源", "商机来源"},
		"stage":             {"stagename", "dealstage", "stage", "销售阶段", "商机阶段", "阶段"},
		"amount":            {"amount", "dealvalue", "value", "closevalue", "金额", "商机金额", "预计金额"},
		"currency":          {"currencyisocode", "currency", "dealcurrency", "currencyofvalue", "dealcurrencyofvalue", "币种"},
		"probability":       {"probability", "probability(%)", "dealprobability", "赢率", "成交概率"},
		"forecast_category": {"forecastcategoryname", "forecastcategory", "hsmanualforecastcategory", "forecastcategoryhubspot", "预测类别", "预测分类"},
		"created_at":        {"createdat", "createddate", "createdate", "createdtime", "created", "dealdealcreated", "dealcreated", "创建时间", "创建日期"},
		"close_date":        {"closedate", "closingdate", "expectedclosedate", "dealexpectedclosedate", "结单日期", "预计成交日期", "预计结单日期", "成交日期"},
		"closed":            {"isclosed", "closed"},
		"won":               {"iswon", "won"},
		"lost_reason":       {"lostreason", "closedlostreason", "reasonforloss", "reasonforloss__s", "deallostreason", "输单原因"},
		"snapshot_date":     {"snapshotdate"},
	},
	"accounts": {
		"account_id": {"accountid", "id", "account", "accountname", "客户id", "客户编号", "客户名称"},
		"name":       {"accountname", "name", "account", "companyname", "客户名称", "名称"},
		"territory":  {"territory", "salesterritory", "区域", "大区"},
		"region":     {"region", "billingstate", "state", "province", "省份", "省"},
		"country":    {"country", "billingcountry", "officelocation", "国家"},
		"city":       {"city", "billingcity", "城市"},
		"industry":   {"industry", "sector", "行业"},
		"segment":    {"segment", "tier", "type", "客户级别", "客户类型"},
		"employees":  {"employees", "numberofemployees", "员工人数"},
		"revenue":    {"revenue", "annualrevenue", "年收入", "营业收入"},
		"parent_id":  {"parentid", "parent", "subsidiaryof", "上级客户"},
	},
	"reps": {
		"rep_id":     {"repid", "userid", "id", "salesagent", "员工编号", "工号"},
		"name":       {"name", "fullname", "salesagent", "姓名"},
		"email":      {"email", "邮箱"},
		"role":       {"role", "userrole", "title", "职位"},
		"manager_id": {"managerid", "manager", "上级"},
		"team":       {"team", "department", "部门", "团队"},
		"territory":  {"territory", "regionaloffice", "region", "division", "区域"},
		"lang":       {"lang", "language", "languagelocalekey"},
		"active":     {"active", "isactive", "在职"},
		"hired_on":   {"hiredon", "hiredate", "startdate", "入职日期"},
	},
	"leads": {
		"lead_id":        {"leadid", "recordid", "id", "线索id", "线索编号"},
		"created_at":     {"createdat", "createddate", "createdate", "created", "createdtime", "创建时间"},
		"source":         {"leadsource", "source", "来源", "线索来源"},
		"owner_id":       {"ownerid", "leadowner", "owner", "负责人"},
		"account_id":     {"accountid", "company", "account", "公司", "公司名称"},
		"territory":      {"territory", "region", "区域"},
		"status":         {"status", "leadstatus", "状态"},
		"converted":      {"isconverted", "converted", "已转换"},
		"converted_at":   {"converteddate", "convertedat", "转换时间"},
		"opportunity_id": {"convertedopportunityid", "converteddealid", "converteddeal", "opportunityid", "转换商机", "关联商机"},
	},
	"fx_rates": {
		"currency": {"currency", "currencycode", "isocode", "code", "币种", "货币", "币别"},
		"month":    {"month", "period", "date", "startdate", "effectivedate", "月份", "期间", "日期"},
		"rate":     {"rate", "fxrate", "exchangerate", "conversionrate", "汇率", "折算汇率"},
	},
	"activities": {
		"activity_id":    {"activityid", "taskid", "eventid", "id", "活动id"},
		"type":           {"type", "activitytype", "tasksubtype", "eventsubtype", "类型", "活动类型"},
		"rep_id":         {"repid", "ownerid", "owner", "assignedto", "负责人"},
		"opportunity_id": {"opportunityid", "whatid", "dealid", "商机id"},
		"account_id":     {"accountid", "account", "客户"},
		"occurred_at":    {"occurredat", "activitydate", "activitydatetime", "startdatetime", "date", "duedate", "createddate", "时间", "日期"},
		"duration_min":   {"durationmin", "durationinminutes", "duration", "时长"},
	},
	"stage_events": {
		"opportunity_id": {"opportunityid", "oppid", "dealid", "id", "商机id"},
		"stage":          {"stagename", "stage", "dealstage", "tostage", "销售阶段", "阶段"},
		"entered_at":     {"enteredat", "createddate", "changedate", "date", "时间", "变更时间"},
	},
}

// profile recognises one export layout from its header.
type profile struct {
	name  string
	table *table
	// detect scores how well the header fits (0: not this layout).
	detect func(h *header) int
	// cols puts vendor-specific source headers in front of the synonyms.
	cols map[string][]string
	// fix adjusts a parsed row (Salesforce's IsClosed/IsWon, Pipedrive's status).
	fix func(p *plan, r *mapped) *reject
	// derive writes extra rows to other tables (stage history, managers).
	derive func(p *plan, r *mapped, e emitter)
	// prepare finishes the plan for this header (HubSpot's date-entered columns).
	prepare func(p *plan)
	// dateOrder is the vendor's habit when a file does not decide it.
	dateOrder dateOrder
	// snapshot: each load is also a dated snapshot of the opportunities.
	snapshot bool
	// nameAsID: the export has no id column; the name identifies the row.
	nameAsID bool
	// report: an XLSX of this layout may be a formatted report (subtotals,
	// grouping fields written once): see formattedReport.
	report bool
	stages map[string]string
	values map[string]map[string]string // per column, raw value → canonical text
	source string                       // source_system
	// refuse: a layout recognised so that it is not mistaken for another,
	// which pipelens does not load; the message says what to export instead.
	refuse string
}

// header is a file's header with a lookup by normalised name.
type header struct {
	raw   []string
	norm  []string
	idx   map[string]int
	file  string
	units map[int]unit // columns whose header names a unit: 商机金额(万元), Amount (USD)
}

// unit is what a header's unit says of its column's amounts.
type unit struct {
	mult float64 // 万元: 10⁴
	cur  string  // its currency, if it names one
}

// headerUnit splits a trailing unit in brackets off a header: "商机金额(元)",
// "预计金额（万元）", "Amount [USD]". The unit must read as an amount's unit
// (a multiplier, a currency or both); anything else stays part of the name.
func headerUnit(name string) (string, unit, bool) {
	s := strings.TrimSpace(width.Fold.String(name))
	for _, br := range [][2]string{{"(", ")"}, {"[", "]"}} {
		if !strings.HasSuffix(s, br[1]) {
			continue
		}
		open := strings.LastIndex(s, br[0])
		if open <= 0 {
			continue
		}
		inner := strings.TrimSpace(s[open+1 : len(s)-1])
		if inner == "" || strings.IndexFunc(inner, unicode.IsDigit) >= 0 {
			continue
		}
		f, cur, err := parseAmount("1" + inner)
		if err != nil || f <= 0 || f == 1 && cur == "" {
			continue
		}
		return strings.TrimSpace(s[:open]), unit{mult: f, cur: cur}, true
	}
	return name, unit{}, false
}

func newHeader(raw []string, file string) *header {
	h := &header{raw: raw, idx: map[string]int{}, file: strings.ToLower(filepath.Base(file))}
	for i, r := range raw {
		// A header with a unit answers to its whole name (a mapping file's
		// "Value (EUR)") and to its name without the unit (the synonym "value").
		keys := []string{normKey(r)}
		if base, u, ok := headerUnit(r); ok {
			if h.units == nil {
				h.units = map[int]unit{}
			}
			h.units[i] = u
			keys = append([]string{normKey(base)}, keys...)
		}
		h.norm = append(h.norm, keys[0])
		for _, k := range keys {
			if _, dup := h.idx[k]; !dup {
				h.idx[k] = i
			}
		}
	}
	return h
}

func (h *header) has(keys ...string) bool {
	for _, k := range keys {
		if _, ok := h.idx[k]; !ok {
			return false
		}
	}
	return true
}

func (h *header) any(keys ...string) bool {
	for _, k := range keys {
		if _, ok := h.idx[k]; ok {
			return true
		}
	}
	return false
}

func (h *header) find(keys []string) int {
	for _, k := range keys {
		if i, ok := h.idx[k]; ok {
			return i
		}
	}
	return -1
}

func (h *header) prefixed(prefix string) []int {
	var out []int
	for i, n := range h.norm {
		if strings.HasPrefix(n, prefix) {
			out = append(out, i)
		}
	}
	return out
}

// Profiles names the built-in profiles, for --source.
func Profiles() []string {
	var out []string
	for _, p := range builtinProfiles() {
		out = append(out, p.name)
	}
	sort.Strings(out)
	return out
}

var (
	profilesOnce sync.Once
	profilesList []*profile
)

func builtinProfiles() []*profile {
	profilesOnce.Do(func() { profilesList = makeProfiles() })
	return profilesList
}

// canonicalOptional are the canonical columns added after files in the
// canonical layout were first written: a canonical file may leave them out
// (they load empty).
var canonicalOptional = map[string]bool{"forecast_category": true}

func makeProfiles() []*profile {
	var ps []*profile
	for _, t := range allTables {
		t := t
		want := map[string]bool{}
		for _, c := range t.cols {
			want[c.name] = true
		}
		ps = append(ps, &profile{name: "canonical:" + t.name, table: t, source: "pipelens", detect: func(h *header) int {
			seen := map[string]bool{}
			for _, r := range h.raw {
				if !want[strings.TrimSpace(r)] {
					return 0
				}
				seen[strings.TrimSpace(r)] = true
			}
			for c := range want {
				if !seen[c] && !canonicalOptional[c] {
					return 0
				}
			}
			return 100
		}})
	}
	ps = append(ps,
		&profile{name: "salesforce", table: tOpps, source: "salesforce", snapshot: true, dateOrder: orderMDY,
			detect: func(h *header) int {
				// The Opportunity object: its own Id (or an OpportunityId in a
				// report) and its name or close flags. OpportunityHistory carries
				// StageName and ForecastCategory too, but neither a Name nor
				// IsClosed/IsWon: it is the history profile's.
				if h.has("stagename") && h.any("id", "opportunityid") && (h.any("isclosed", "iswon") || h.any("name", "opportunityname")) {
					return 80
				}
				return 0
			},
			cols: map[string][]string{"opportunity_id": {"id", "opportunityid"}, "name": {"name", "opportunityname"}, "account_id": {"accountid", "accountname"}},
			fix:  fixSalesforce},
		&profile{name: "salesforce-report", table: tOpps, source: "salesforce", snapshot: true, dateOrder: orderMDY,
			detect: func(h *header) int {
				if h.has("opportunityname", "stage") && h.any("opportunityowner", "accountname", "closedate") {
					return 70
				}
				return 0
			},
			cols:     map[string][]string{"opportunity_id": {"opportunityid", "id"}},
			nameAsID: true, report: true},
		&profile{name: "salesforce-history", table: tEvents, source: "salesforce", dateOrder: orderMDY,
			detect: func(h *header) int {
				if h.any("opportunityid", "oppid") && h.has("stagename") && h.any("createddate", "createdat") && !h.any("isclosed", "name", "iswon") {
					return 80
				}
				return 0
			},
			cols:   map[string][]string{"opportunity_id": {"opportunityid", "oppid"}, "entered_at": {"createddate", "createdat"}},
			values: map[string]map[string]string{"origin": {"": "history"}}},
		&profile{name: "salesforce-accounts", table: tAccounts, source: "salesforce", dateOrder: orderMDY,
			detect: func(h *header) int {
				if h.has("id", "name") && h.any("annualrevenue", "numberofemployees", "billingcountry", "billingcity") {
					return 70
				}
				return 0
			},
			cols: map[string][]string{"account_id": {"id"}, "name": {"name"}, "region": {"billingstate"}, "country": {"billingcountry"}}},
		&profile{name: "salesforce-users", table: tReps, source: "salesforce", dateOrder: orderMDY,
			detect: func(h *header) int {
				if h.has("id", "username") && h.any("managerid", "isactive", "userroleid") {
					return 70
				}
				return 0
			},
			cols: map[string][]string{"rep_id": {"id"}, "role": {"userroleid", "title"}, "team": {"department"}, "territory": {"division"}},
			prepare: func(p *plan) {
				if p.hdr.find([]string{"name"}) < 0 {
					f, l := p.hdr.find([]string{"firstname"}), p.hdr.find([]string{"lastname"})
					if f >= 0 || l >= 0 {
						p.cols[tReps.col("name")] = colSrc{idx: -1, fn: func(r rawRow) string { return strings.TrimSpace(r.get(f) + " " + r.get(l)) }}
					}
				}
			}},
		&profile{name: "hubspot", table: tOpps, source: "hubspot", snapshot: true, dateOrder: orderMDY,
			detect: func(h *header) int {
				if h.has("dealstage") && (h.has("dealname") || len(h.prefixed("dateentered")) > 0) {
					return 75
				}
				return 0
			},
			cols:    map[string][]string{"opportunity_id": {"recordid", "dealid", "hsobjectid"}, "account_id": {"associatedcompany", "associatedcompanyids", "company"}, "owner_id": {"dealowner", "hubspotowner"}, "created_at": {"createdate"}},
			prepare: prepareHubSpotDeals, derive: deriveHubSpotDeals},
		&profile{name: "zoho", table: tOpps, source: "zoho", snapshot: true, dateOrder: orderMDY,
			detect: func(h *header) int {
				if h.has("dealname", "stage", "closingdate") {
					return 75
				}
				return 0
			},
			cols: map[string][]string{"opportunity_id": {"recordid", "dealid", "id"}, "owner_id": {"dealowner"}, "created_at": {"createdtime"}, "close_date": {"closingdate"}, "lost_reason": {"reasonforloss__s", "reasonforloss"}}},
		&profile{name: "pipedrive", table: tOpps, source: "pipedrive", snapshot: true, dateOrder: orderMDY,
			detect: func(h *header) int {
				if h.has("dealtitle", "dealstage") || h.has("title", "stage", "status") && h.any("organization", "value", "dealcreated") {
					return 75
				}
				return 0
			},
			cols: map[string][]string{"opportunity_id": {"dealid", "id"}, "name": {"dealtitle", "title"}, "owner_id": {"dealowner", "owner"},
				"account_id": {"dealorganization", "organization"}, "amount": {"dealvalue", "value"}, "currency": {"dealcurrency", "currency", "currencyofvalue"},
				"created_at": {"dealdealcreated", "dealcreated"}, "close_date": {"dealexpectedclosedate", "expectedclosedate"}, "lost_reason": {"deallostreason", "lostreason"}},
			fix: fixPipedrive},
		&profile{name: "fxiaoke", table: tOpps, source: "fxiaoke", snapshot: true, dateOrder: orderDMY,
			detect: func(h *header) int {
				if h.has("商机名称") && h.any("销售阶段", "商机阶段", "阶段") {
					return 75
				}
				return 0
			},
			cols:     map[string][]string{"opportunity_id": {"商机编号", "商机id", "编号"}, "account_id": {"客户名称"}, "owner_id": {"负责人"}},
			fix:      fixFxiaoke,
			nameAsID: true},
		// Microsoft Dynamics 365 Sales opportunities: the Dataverse column names
		// (an export through the Web API, Power Automate or Synapse Link) or the
		// display names of the app's Export to Excel.
		&profile{name: "dynamics", table: tOpps, source: "dynamics", snapshot: true, dateOrder: orderMDY,
			detect: func(h *header) int {
				if h.any("statecode", "status") && h.any("estimatedvalue", "estrevenue") && h.any("opportunityid", "(donotmodify)opportunity", "name", "topic") {
					return 85
				}
				return 0
			},
			cols: map[string][]string{"opportunity_id": {"opportunityid", "(donotmodify)opportunity"}, "name": {"name", "topic"},
				"account_id": {"customerid", "parentaccountid", "potentialcustomer", "account"}, "owner_id": {"ownerid", "owner"},
				"amount": {"estimatedvalue", "estrevenue"}, "close_date": {"estimatedclosedate", "estclosedate"},
				"probability": {"closeprobability", "probability"}, "created_at": {"createdon"}, "currency": {"transactioncurrencyid", "currency"},
				"stage": {"stepname", "pipelinephase", "salesstage", "salesstagecode"}},
			stages: dynamicsStages,
			fix:    fixDynamics},
		&profile{name: "maven", table: tOpps, source: "maven", snapshot: true, dateOrder: orderMDY,
			detect: func(h *header) int {
				if h.has("opportunityid", "salesagent", "dealstage") {
					return 80
				}
				return 0
			},
			cols:   map[string][]string{"created_at": {"engagedate"}},
			values: map[string]map[string]string{"product": {"GTXPro": "GTX Pro"}},
			derive: deriveMaven},
		&profile{name: "maven-teams", table: tReps, source: "maven",
			detect: func(h *header) int {
				if h.has("salesagent", "manager", "regionaloffice") {
					return 80
				}
				return 0
			},
			cols:   map[string][]string{"rep_id": {"salesagent"}, "name": {"salesagent"}, "manager_id": {"manager"}, "team": {"manager"}},
			values: map[string]map[string]string{"role": {"": "rep"}, "active": {"": "1"}},
			derive: deriveMavenManagers},
		&profile{name: "maven-accounts", table: tAccounts, source: "maven",
			detect: func(h *header) int {
				if h.has("account", "sector", "officelocation") {
					return 80
				}
				return 0
			},
			values: map[string]map[string]string{"industry": {"technolgy": "technology"}, "country": {"Philipines": "Philippines"}}},
	)
	ps = append(ps, fxiaokeProfiles()...)
	ps = append(ps, linkProfiles()...)
	ps = append(ps, neocrmProfile())
	ps = append(ps, targetsProfile())
	ps = append(ps, salesforceRatesProfile())
	// Exchange rates: currency, month and rate, nothing of a deal.
	ps = append(ps, &profile{name: "generic:fx_rates", table: tFx, source: "generic", detect: func(h *header) int {
		syn := synonyms["fx_rates"]
		if h.find(syn["currency"]) < 0 || h.find(syn["month"]) < 0 || h.find(syn["rate"]) < 0 || h.find(synonyms["opportunities"]["stage"]) >= 0 || len(h.raw) > 6 {
			return 0
		}
		return 70
	}})
	// Generic profiles: any header with enough of a table's synonyms.
	for _, t := range []*table{tOpps, tAccounts, tReps, tLeads, tActs, tEvents} {
		t := t
		ps = append(ps, &profile{name: "generic:" + t.name, table: t, source: "generic", snapshot: t == tOpps, detect: func(h *header) int {
			return genericScore(t, h)
		}, nameAsID: t == tOpps || t == tAccounts})
	}
	return ps
}

// genericScore counts the table's columns the header names; the key (or, for
// opportunities, the stage) must be among them, and the file name breaks ties.
func genericScore(t *table, h *header) int {
	syn := synonyms[t.name]
	n := 0
	for _, cands := range syn {
		if h.find(cands) >= 0 {
			n++
		}
	}
	switch t {
	case tOpps:
		if h.find(syn["stage"]) < 0 || h.find(syn["opportunity_id"]) < 0 && h.find(syn["name"]) < 0 {
			return 0
		}
		if h.find(syn["entered_at"]) >= 0 && n < 4 {
			return 0
		}
	case tEvents:
		if h.find(syn["stage"]) < 0 || h.find(syn["entered_at"]) < 0 || h.find(syn["opportunity_id"]) < 0 || h.any("amount", "closedate", "金额") {
			return 0
		}
		n += 2
	default:
		if h.find(syn[t.key[0]]) < 0 && !(t == tAccounts && h.find(syn["name"]) >= 0) {
			return 0
		}
		if h.find(synonyms["opportunities"]["stage"]) >= 0 {
			return 0
		}
	}
	if strings.Contains(h.file, strings.TrimSuffix(t.name, "s")) || t == tReps && (strings.Contains(h.file, "user") || strings.Contains(h.file, "team")) || t == tOpps && strings.Contains(h.file, "deal") {
		n += 3
	}
	if n < 2 {
		return 0
	}
	return n
}

// Mapping is a mapping file for a layout no profile knows: which of the file's
// columns fill which canonical columns, and what its stage names mean.
//
//	name: acme-crm
//	table: opportunities          # or accounts, reps, leads, activities, targets, stage_events
//	match: [Deal Ref, Phase]      # headers that identify the layout
//	columns:
//	  opportunity_id: Deal Ref
//	  stage: Phase
//	  amount: Value (EUR)
//	constants: {currency: EUR}
//	stages: {Early: lead, Shortlisted: proposal}
//	date_order: dmy               # or mdy
type Mapping struct {
	Name      string            `yaml:"name"`
	Table     string            `yaml:"table"`
	Match     []string          `yaml:"match"`
	Columns   map[string]string `yaml:"columns"`
	Constants map[string]string `yaml:"constants"`
	Stages    map[string]string `yaml:"stages"`
	DateOrder string            `yaml:"date_order"`
}

// LoadMapping reads a mapping file.
func LoadMapping(path string) (*Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Mapping
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse mapping %s: %w", path, err)
	}
	if m.Name == "" {
		m.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("mapping %s: %w", path, err)
	}
	return &m, nil
}

func (m *Mapping) validate() error {
	t := tableByName(m.Table)
	if t == nil || t == tSnaps {
		return fmt.Errorf("table %q: want one of accounts, reps, opportunities, stage_events, leads, activities, targets, market", m.Table)
	}
	for c := range m.Columns {
		if _, ok := t.index[c]; !ok {
			return fmt.Errorf("column %q is not a column of %s", c, t.name)
		}
	}
	for _, s := range m.Stages {
		if _, ok := stageRank[s]; !ok {
			return fmt.Errorf("stage %q: want lead, qualified, proposal, negotiation, won or lost", s)
		}
	}
	if len(m.Match) == 0 {
		for _, v := range m.Columns {
			m.Match = append(m.Match, v)
		}
	}
	return nil
}

func (m *Mapping) profile() *profile {
	t := tableByName(m.Table)
	p := &profile{name: "mapping:" + m.Name, table: t, source: m.Name, snapshot: t == tOpps, cols: map[string][]string{}, stages: map[string]string{}, values: map[string]map[string]string{}}
	match := make([]string, len(m.Match))
	for i, h := range m.Match {
		match[i] = normKey(h)
	}
	p.detect = func(h *header) int {
		if h.has(match...) {
			return 90
		}
		return 0
	}
	for c, h := range m.Columns {
		p.cols[c] = []string{normKey(h)}
	}
	for c, v := range m.Constants {
		p.values[c] = map[string]string{"": v}
		if _, mapped := m.Columns[c]; !mapped {
			p.cols[c] = []string{"\x00none"}
		}
	}
	for k, v := range m.Stages {
		p.stages[normKey(k)] = v
	}
	switch strings.ToLower(m.DateOrder) {
	case "dmy", "d/m/y":
		p.dateOrder = orderDMY
	case "mdy", "m/d/y":
		p.dateOrder = orderMDY
	}
	return p
}

// dynamicsStages are Dynamics 365's default sales process stages (stepname
// "1-Qualify" …, or salesstage 0–3): Qualify gathers budget and timeframe
// (lead), Develop the need and stakeholders (qualified), Propose the proposal,
// Close the negotiation.
var dynamicsStages = map[string]string{
	"qualify": "lead", "1qualify": "lead", "0": "lead",
	"develop": "qualified", "2develop": "qualified", "1": "qualified",
	"propose": "proposal", "3propose": "proposal", "2": "proposal",
	"close": "negotiation", "4close": "negotiation", "3": "negotiation",
}
