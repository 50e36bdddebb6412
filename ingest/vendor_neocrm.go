package ingest

// 销售易 (Neocrm) opportunities (销售机会). Its OpenAPI object "opportunity"
// names the fields id, opportunityName, accountId, ownerId, saleStageId,
// lostStageId, money, winRate, closeDate, opportunityType, sourceId, reasonDesc,
// createdAt, dimDepart; the web app's list export writes their display names
// (机会名称, 客户名称, 所有人, 销售阶段, 输单阶段, 销售金额, 赢率, 结单日期,
// 机会类型, 机会来源, 输单描述, 创建日期, 所属部门) and lookups by name. The
// default sales process is 初步接洽 → 需求确定 → 方案/报价 → 谈判审核 → 赢单 /
// 输单, all in defaultStages.

func neocrmProfile() *profile {
	return &profile{name: "neocrm", table: tOpps, source: "neocrm", snapshot: true, dateOrder: orderDMY,
		detect: func(h *header) int {
			if h.has("opportunityname", "salestageid") || h.has("机会名称", "销售阶段") && h.any("销售金额", "结单日期", "赢率", "输单阶段") {
				return 80
			}
			return 0
		},
		cols: map[string][]string{"opportunity_id": {"id", "机会id", "机会编号", "opportunityid"}, "name": {"opportunityname", "机会名称"},
			"account_id": {"accountid", "客户名称", "客户"}, "owner_id": {"ownerid", "所有人", "负责人"}, "stage": {"salestageid", "销售阶段"},
			"amount": {"money", "销售金额"}, "probability": {"winrate", "赢率"}, "close_date": {"closedate", "结单日期"},
			"source": {"sourceid", "机会来源"}, "lost_reason": {"reasondesc", "输单描述", "输单原因"}, "created_at": {"createdat", "创建日期", "创建时间"},
			"product": {"opportunitytype", "机会类型"}},
		nameAsID: true,
		fix:      fixNeocrm}
}

// fixNeocrm: amounts are in yuan unless the export names a currency.
func fixNeocrm(p *plan, m *mapped) *reject { return defaultCurrency(p, m, "CNY") }
