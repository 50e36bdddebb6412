package ingest

import (
	"strconv"
	"strings"
	"time"
)

// A generic targets (quota) sheet: one row per rep, team or territory and period,
// with the quota. The period is either start and end dates or one column naming a
// quarter (2024-Q1, Q1 2024, 2024年第1季度) or a month (2024-03, 2024年3月). The
// scope is the column the row names: rep (or owner), team, territory; metric is
// bookings unless a column says otherwise. period_end is exclusive, as in the
// canonical file: an end written as the last day of a month means the day after.

var targetSyn = map[string][]string{
	"rep":          {"repid", "rep", "owner", "ownerid", "salesrep", "salesperson", "销售", "销售人员", "负责人", "员工编号"},
	"team":         {"team", "teamid", "department", "团队", "部门"},
	"territory":    {"territory", "region", "区域", "大区"},
	"period_start": {"periodstart", "startdate", "start", "from", "开始日期"},
	"period_end":   {"periodend", "enddate", "end", "to", "结束日期"},
	"period":       {"quarter", "period", "month", "季度", "月份", "期间"},
	"amount":       {"quota", "quotaamount", "target", "targetamount", "amount", "目标", "目标金额", "业绩目标", "销售目标", "指标"},
	"metric":       {"metric", "指标类型"},
	"currency":     {"currency", "币种"},
}

func targetsProfile() *profile {
	return &profile{name: "generic:targets", table: tTargets, source: "generic",
		detect: func(h *header) int {
			if h.find(targetSyn["amount"][:4]) < 0 && h.find(targetSyn["amount"][6:]) < 0 {
				return 0 // "amount" or "target amount" alone do not make a quota sheet
			}
			if h.find(targetSyn["period"]) < 0 && h.find(targetSyn["period_start"]) < 0 {
				return 0
			}
			if h.find(targetSyn["rep"]) < 0 && h.find(targetSyn["team"]) < 0 && h.find(targetSyn["territory"]) < 0 {
				return 0
			}
			if h.find(synonyms["opportunities"]["stage"]) >= 0 {
				return 0
			}
			return 60
		},
		cols: map[string][]string{
			"scope": {"\x00none"}, "scope_id": {"\x00none"}, "period_start": targetSyn["period_start"], "period_end": targetSyn["period_end"],
			"metric": targetSyn["metric"], "amount": targetSyn["amount"], "currency": targetSyn["currency"],
		},
		prepare: prepareTargets,
		fix:     fixTargets,
	}
}

func prepareTargets(p *plan) {
	for _, scope := range []string{"rep", "team", "territory"} {
		if i := p.hdr.find(targetSyn[scope]); i >= 0 {
			scope := scope
			p.cols[tTargets.col("scope")] = colSrc{idx: -1, fn: func(rawRow) string { return scope }}
			p.has[tTargets.col("scope")] = true
			p.cols[tTargets.col("scope_id")] = colSrc{idx: i}
			p.has[tTargets.col("scope_id")] = true
			break
		}
	}
	if mi := tTargets.col("metric"); !p.has[mi] {
		p.cols[mi] = colSrc{idx: -1, fn: func(rawRow) string { return "bookings" }}
		p.has[mi] = true
	}
	if p.has[tTargets.col("period_start")] {
		return
	}
	i := p.hdr.find(targetSyn["period"])
	if i < 0 {
		return
	}
	// A quarter or month column fills both ends; fixTargets reports what it cannot read.
	p.cols[tTargets.col("period_start")] = colSrc{idx: -1, fn: func(r rawRow) string {
		if s, _, ok := periodBounds(r.get(i)); ok {
			return s
		}
		return strings.TrimSpace(r.get(i))
	}}
	// A date in a "month" column starts a month; in a "quarter" or "period" one, a quarter.
	months := 3
	if h := p.hdr.norm[i]; h == "month" || h == "月份" {
		months = 1
	}
	p.cols[tTargets.col("period_end")] = colSrc{idx: -1, fn: func(r rawRow) string {
		if _, e, ok := periodBounds(r.get(i)); ok {
			return e
		}
		if d, err := parseDate(r.get(i), p.order, p.loc); err == nil {
			return d.AddDate(0, months, 0).Format(time.DateOnly)
		}
		return ""
	}}
	p.has[tTargets.col("period_start")], p.has[tTargets.col("period_end")] = true, true
}

// fixTargets makes period_end exclusive and fills a blank one (start and end
// columns, end left empty): a quarter when the start begins one, else a month.
func fixTargets(p *plan, m *mapped) *reject {
	si, ei := tTargets.col("period_start"), tTargets.col("period_end")
	start, end := m.v[si].t, m.v[ei].t
	if start == 0 {
		return &reject{file: p.file, row: m.row, column: p.colName(si), reason: "bad_date", message: "the period's start is blank"}
	}
	if end == 0 {
		t := time.Unix(start*86400, 0).UTC()
		months := 1
		if (t.Month()-1)%3 == 0 {
			months = 3
		}
		m.v[ei].t = t.AddDate(0, months, 0).Unix() / 86400
		return nil
	}
	if e := time.Unix(end*86400, 0).UTC(); e.AddDate(0, 0, 1).Day() == 1 {
		m.v[ei].t = end + 1
	}
	return nil
}

// periodBounds reads a quarter or a month as its first day and the first day after
// it (YYYY-MM-DD).
func periodBounds(s string) (start, end string, ok bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.NewReplacer("年第", "Q", "季度", "", "年", "-", "月", "", "FY", "", " ", "", "/", "-", "_", "-").Replace(s)
	var y, q, mo int
	switch {
	case len(s) >= 6 && s[0] == 'Q': // Q1-2024, Q12024
		q, _ = strconv.Atoi(s[1:2])
		y, _ = strconv.Atoi(strings.TrimLeft(s[2:], "-"))
	case strings.Contains(s, "Q"): // 2024-Q1, 2024Q1
		a, b, _ := strings.Cut(s, "Q")
		y, _ = strconv.Atoi(strings.TrimRight(a, "-"))
		q, _ = strconv.Atoi(b)
	default: // 2024-03
		a, b, found := strings.Cut(s, "-")
		if !found {
			return "", "", false
		}
		y, _ = strconv.Atoi(a)
		mo, _ = strconv.Atoi(b)
	}
	if y < 1900 || y > 2200 {
		return "", "", false
	}
	var from, to time.Time
	switch {
	case q >= 1 && q <= 4:
		from = time.Date(y, time.Month(3*q-2), 1, 0, 0, 0, 0, time.UTC)
		to = from.AddDate(0, 3, 0)
	case mo >= 1 && mo <= 12:
		from = time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, time.UTC)
		to = from.AddDate(0, 1, 0)
	default:
		return "", "", false
	}
	return from.Format(time.DateOnly), to.Format(time.DateOnly), true
}
