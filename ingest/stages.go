package ingest

import (
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// The canonical default pipeline (DESIGN.md): lead → qualified → proposal →
// negotiation → won / lost. stage_rank orders the open stages 1..k; won is 100, lost 0.
var stageRank = map[string]uint8{"lead": 1, "qualified": 2, "proposal": 3, "negotiation": 4, "won": 100, "lost": 0}

// defaultStages maps vendor stage names (normalised with normKey) to canonical stages.
// Salesforce, HubSpot, Zoho, Pipedrive, Fxiaoke and Maven defaults are all here: a name
// means the same thing in every CRM that uses it.
var defaultStages = map[string]string{}

func init() {
	add := func(stage string, names ...string) {
		for _, n := range names {
			defaultStages[normKey(n)] = stage
		}
	}
	add("lead", "lead", "leads", "prospecting", "prospect", "new", "lead in", "contact made", "appointment scheduled",
		"identify", "discovery", "initial contact", "线索", "初步接洽", "验证客户", "初步沟通", "潜在", "意向", "prospecting (1)", "open")
	add("qualified", "qualified", "qualification", "needs analysis", "qualified to buy", "qualified lead", "needs defined",
		"engaging", "demo scheduled", "value proposition", "需求确认", "需求确定", "需求分析", "确认需求", "立项")
	add("proposal", "proposal", "id. decision makers", "identify decision makers", "perception analysis",
		"proposal/price quote", "proposal made", "presentation scheduled", "decision maker bought-in", "decision maker bought in",
		"quote", "方案/报价", "方案报价", "方案", "报价", "方案制定", "提交方案", "商务报价")
	add("negotiation", "negotiation", "negotiation/review", "negotiations started", "contract sent", "contract", "commit",
		"谈判", "谈判审核", "商务谈判", "合同", "签约", "合同审批")
	add("won", "won", "closed won", "closedwon", "closed-won", "win", "deal won", "赢单", "成交", "已成交", "签单", "赢得")
	add("lost", "lost", "closed lost", "closedlost", "closed-lost", "closed lost to competition", "closed-lost to competition",
		"lose", "deal lost", "输单", "丢单", "失败", "已输单", "无效")
}

// normKey folds a header or a stage name for matching: width-folded, lower case,
// without spaces, underscores, dashes, dots, quotes and BOM.
func normKey(s string) string {
	if !isASCII(s) {
		s = width.Fold.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\ufeff' || r == '_' || r == '-' || r == '.' || r == '"' || r == '\'' || r == '（' || r == '）' || unicode.IsSpace(r):
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// stageMapper maps a file's vendor stage names to canonical stages: the mapping
// file's names first, then the defaults.
type stageMapper struct {
	extra map[string]string
}

func (m stageMapper) lookup(vendor string) (string, bool) {
	k := normKey(vendor)
	if s, ok := m.extra[k]; ok {
		return s, true
	}
	if s, ok := defaultStages[k]; ok {
		return s, true
	}
	// HubSpot writes "Closed Won (Sales Pipeline)"; others add a probability "(10%)".
	if i := strings.LastIndexAny(vendor, "(（"); i > 0 {
		return m.lookup(strings.TrimSpace(vendor[:i]))
	}
	if _, ok := stageRank[k]; ok {
		return k, true
	}
	return "", false
}
