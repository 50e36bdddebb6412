package ingest

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strings"
)

// Fxiaoke (纷享销客) exports each object from its list view ("导出") with the
// fields' display names as the header; lookups (客户, 商机, 负责人) are written
// as the record's name, not its id. The opportunity (商机) profile is in
// profiles.go; here are the other objects: 客户 (AccountObj), 销售线索
// (LeadsObj), 联系人 (ContactObj), 销售记录/跟进记录 (ActiveRecordObj) and the
// 商机阶段变更记录 (the stage-change log of 商机 2.0).

// fxiaokeProfiles are the Fxiaoke exports besides the opportunity export.
func fxiaokeProfiles() []*profile {
	return []*profile{
		{name: "fxiaoke-accounts", table: tAccounts, source: "fxiaoke", dateOrder: orderDMY,
			detect: func(h *header) int {
				if h.has("客户名称") && h.any("客户级别", "成交状态", "所属行业", "客户编号", "客户来源", "客户类型") &&
					!h.any("商机名称", "销售阶段", "商机阶段", "姓名", "联系人姓名") {
					return 75
				}
				return 0
			},
			// Opportunities name their account by 客户名称: it is the key.
			cols: map[string][]string{"account_id": {"客户名称"}, "name": {"客户名称"}, "industry": {"所属行业", "行业"},
				"region": {"省", "省份", "所在省份", "省/直辖市"}, "city": {"市", "城市", "所在城市"}, "country": {"国家", "国家/地区"},
				"territory": {"所属区域", "大区", "区域", "销售区域"}, "segment": {"客户级别", "客户类型", "客户等级"},
				"employees": {"员工人数", "员工数"}, "revenue": {"年营业额", "年收入", "营业收入"}, "parent_id": {"上级客户", "母公司"}},
		},
		{name: "fxiaoke-leads", table: tLeads, source: "fxiaoke", dateOrder: orderDMY,
			detect: func(h *header) int {
				if h.any("姓名", "线索名称") && h.any("线索来源", "线索状态", "线索编号", "线索池", "转换时间") && !h.any("商机名称", "销售阶段") {
					return 75
				}
				return 0
			},
			cols: map[string][]string{"lead_id": {"线索编号", "线索id"}, "source": {"线索来源", "来源"}, "status": {"线索状态", "处理状态", "状态"},
				"account_id": {"公司", "公司名称", "转换客户"}, "owner_id": {"负责人"}, "created_at": {"创建时间"},
				"converted_at": {"转换时间"}, "opportunity_id": {"转换商机", "关联商机"}, "territory": {"所属区域", "区域"}},
			prepare: prepareFxiaokeLead, fix: fixFxiaokeLead},
		// Contacts are people at accounts: pipelens keeps none, and a contact
		// export must not pass for leads or accounts.
		{name: "fxiaoke-contacts", table: tAccounts, source: "fxiaoke",
			detect: func(h *header) int {
				if h.any("姓名", "联系人姓名") && h.any("客户名称", "所属客户") && h.any("职务", "手机", "手机号", "邮件", "邮箱", "电话", "部门") &&
					!h.any("线索来源", "线索状态", "线索编号", "公司") {
					return 75
				}
				return 0
			},
			refuse: "a Fxiaoke contact export (联系人): pipelens keeps no contacts; export 客户 (accounts), 销售线索 (leads), 商机 (opportunities) or 销售记录 (activities) instead"},
		{name: "fxiaoke-activities", table: tActs, source: "fxiaoke", dateOrder: orderDMY,
			detect: func(h *header) int {
				if h.any(fxiaokeActivityText...) && h.any("跟进时间", "跟进日期", "创建时间", "记录时间") {
					return 75
				}
				return 0
			},
			cols: map[string][]string{"activity_id": {"记录编号", "销售记录编号", "跟进记录编号"}, "type": {"跟进类型", "跟进方式", "记录类型", "销售记录类型", "类型"},
				"rep_id": {"负责人", "跟进人", "创建人"}, "account_id": {"关联客户", "客户名称", "客户"},
				"opportunity_id": {"关联商机", "商机名称", "商机"}, "occurred_at": {"跟进时间", "跟进日期", "记录时间", "创建时间"}},
			prepare: prepareFxiaokeActivity},
		{name: "fxiaoke-history", table: tEvents, source: "fxiaoke", dateOrder: orderDMY,
			detect: func(h *header) int {
				if h.any("商机名称", "商机编号", "商机") && h.any(fxiaokeNewStage...) && h.any("变更时间", "操作时间", "修改时间", "变更日期") {
					return 85
				}
				return 0
			},
			cols: map[string][]string{"opportunity_id": {"商机编号", "商机id", "商机名称", "商机"}, "stage": fxiaokeNewStage,
				"entered_at": {"变更时间", "操作时间", "修改时间", "变更日期"}},
			values: map[string]map[string]string{"origin": {"": "history"}}},
	}
}

// fixFxiaoke follows the opportunity's 阶段状态 (赢单/输单) over its stage
// name; amounts are in yuan unless the export names a currency.
func fixFxiaoke(p *plan, m *mapped) *reject {
	t := p.t
	switch strings.TrimSpace(m.raw.get(p.hdr.find([]string{"阶段状态", "状态", "输赢", "商机状态"}))) {
	case "赢单", "赢", "已赢单":
		m.v[t.col("stage")].s, m.v[t.col("closed")].n, m.v[t.col("won")].n = "won", 1, 1
	case "输单", "输", "已输单", "无效":
		m.v[t.col("stage")].s, m.v[t.col("closed")].n, m.v[t.col("won")].n = "lost", 1, 0
	}
	return defaultCurrency(p, m, "CNY")
}

// defaultCurrency gives a row without a currency the vendor's, which must then
// have a rate to the reporting currency like any other (no_fx_rate).
func defaultCurrency(p *plan, m *mapped, code string) *reject {
	ci := p.at.currency
	if m.v[ci].s != "" {
		return nil
	}
	m.v[ci].s = code
	if !p.fx.known(code) {
		return &reject{file: p.file, row: m.row, column: p.colName(ci), raw: code, reason: "no_fx_rate",
			message: fmt.Sprintf("amounts of this export are in %s, which has no rate to the reporting currency %s: add currency.rates.%s to the config", code, p.fx.Reporting, code)}
	}
	return nil
}

// fxiaokeNewStage are the stage-change log's "stage after the change" headers.
var fxiaokeNewStage = []string{"变更后阶段", "变更后销售阶段", "新阶段", "变更后的阶段", "当前阶段"}

// fxiaokeActivityText are the headers of a 销售记录's text: only an activity
// export has one.
var fxiaokeActivityText = []string{"跟进内容", "销售记录内容", "记录内容", "跟进记录", "销售记录"}

// prepareFxiaokeLead keys leads without a 线索编号 column (the list view does
// not export one by default) by their person, company, phone and creation time:
// the same lead exported again gets the same key.
func prepareFxiaokeLead(p *plan) {
	i := tLeads.col("lead_id")
	if p.has[i] {
		return
	}
	src := fieldsOf(p.hdr, []string{"姓名", "线索名称"}, []string{"公司", "公司名称"}, []string{"手机", "手机号"}, []string{"邮件", "邮箱"}, []string{"创建时间"})
	if len(src) == 0 {
		return
	}
	p.cols[i] = colSrc{idx: -1, fn: func(r rawRow) string { return rowKey("fxlead:", r, src) }}
}

// fixFxiaokeLead reads conversion from the lead's status: 已转换 (converted).
func fixFxiaokeLead(p *plan, m *mapped) *reject {
	t := p.t
	switch strings.TrimSpace(m.v[t.col("status")].s) {
	case "已转换", "已转化", "转换成功":
		m.v[t.col("converted")].n = 1
	}
	if m.v[t.col("opportunity_id")].s != "" {
		m.v[t.col("converted")].n = 1
	}
	return nil
}

// prepareFxiaokeActivity keys 销售记录 rows without an id column by their
// author, time, account, deal, type and text.
func prepareFxiaokeActivity(p *plan) {
	i := tActs.col("activity_id")
	if p.has[i] {
		return
	}
	src := fieldsOf(p.hdr, []string{"负责人", "跟进人", "创建人"}, []string{"跟进时间", "跟进日期", "记录时间", "创建时间"},
		[]string{"关联客户", "客户名称", "客户"}, []string{"关联商机", "商机名称", "商机"}, []string{"跟进类型", "跟进方式", "记录类型", "类型"}, fxiaokeActivityText)
	p.cols[i] = colSrc{idx: -1, fn: func(r rawRow) string { return rowKey("fxact:", r, src) }}
}

// fieldsOf is the columns of the header that each candidate list names.
func fieldsOf(h *header, cands ...[]string) []int {
	var out []int
	for _, c := range cands {
		if i := h.find(c); i >= 0 {
			out = append(out, i)
		}
	}
	return out
}

// rowKey is a stable key made of the row's values in the given columns.
func rowKey(prefix string, r rawRow, cols []int) string {
	h := fnv.New64a()
	for _, i := range cols {
		h.Write([]byte(strings.TrimSpace(r.get(i))))
		h.Write([]byte{0})
	}
	return prefix + hex.EncodeToString(h.Sum(nil))
}
