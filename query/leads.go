package query

import "context"

// LeadSource is lead-to-opportunity conversion of one source.
type LeadSource struct {
	Source     string  `json:"source"`
	Leads      int64   `json:"leads"`
	Converted  int64   `json:"converted"`
	Conversion float64 `json:"conversion"`
}

// LeadConversion is lead-to-opportunity conversion by source for the leads
// created in [from, to). The product and segment filters do not apply to leads
// and are listed in Ignored when given.
type LeadConversion struct {
	From    string       `json:"from"`
	To      string       `json:"to"`
	Total   LeadSource   `json:"total"`
	Sources []LeadSource `json:"sources"`
	Ignored []string     `json:"ignored_filters,omitempty"`
}

// leadRows is the leads as of the raw rows where raw says (restrict, when not
// "", limits the leads), with their owner's team and manager, their territory
// (the lead's, else its owner's) and whether they converted. leads and
// lead_links are t's tables (a shard's own in a publication: both are sharded
// by lead_id); reps are read whole. The right side of the join is unique by
// owner_id (ALL keeps every lead).
func (s *Service) leadRows(t func(string) string, raw, restrict string) string {
	where := raw
	if restrict != "" {
		where += " AND " + restrict
	}
	leads := latestWhere(t("leads"), "lead_id", "lead_id, created_at, source, owner_id, territory AS l_territory, converted AS l_converted, opportunity_id", where)
	reps := latestWhere("reps", "rep_id", "rep_id AS owner_id, team, manager_id, territory AS r_territory", raw)
	// Converted: marked so, or linked to the opportunity it became by the lead
	// (Salesforce's ConvertedOpportunityId, Zoho's converted deal) or by the
	// deal (lead_links: HubSpot's associated contacts, Olist's mql_id).
	return "(SELECT lead_id, toDate(created_at, " + s.tz + ") AS created_date, source, owner_id, team, manager_id, if(l_territory != '', l_territory, r_territory) AS territory, " +
		"toUInt8(l_converted = 1 OR opportunity_id != '' OR lead_id IN (SELECT lead_id FROM " + t("lead_links") + " WHERE " + raw + ")) AS converted FROM " +
		leads + " AS l GLOBAL ALL LEFT JOIN " + reps + " AS r USING owner_id)"
}

// leadDaysWhere is the WHERE clause on lead_days for f: rep_days' (the same
// grain and owner columns) and the territory and source.
func leadDaysWhere(f Filter, daysOnly bool) cond {
	c := repDaysWhere(f, daysOnly)
	c.in("territory", f.Territory)
	c.in("source", f.Source)
	return c
}

// LeadConversion computes lead-to-opportunity conversion by source, from
// lead_days.
func (s *Service) LeadConversion(ctx context.Context, sc Scope, f Filter) (LeadConversion, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return LeadConversion{}, err
	}
	out := LeadConversion{From: day(f.From), To: day(f.To), Total: LeadSource{Source: "all"}, Sources: []LeadSource{}}
	if len(f.Product) > 0 {
		out.Ignored = append(out.Ignored, "product")
	}
	if len(f.Segment) > 0 {
		out.Ignored = append(out.Ignored, "segment")
	}
	c := leadDaysWhere(f, false)
	q := "SELECT source, sum(leads), sum(converted) FROM lead_days" + c.where() + " GROUP BY source HAVING sum(leads) > 0 ORDER BY source"
	err = s.query(ctx, "lead-conversion", q, c.args, func(r driverRows) error {
		var l LeadSource
		var n, cv uint64
		if err := r.Scan(&l.Source, &n, &cv); err != nil {
			return err
		}
		l.Leads, l.Converted, l.Conversion = int64(n), int64(cv), ratio(float64(cv), float64(n))
		out.Sources = append(out.Sources, l)
		out.Total.Leads += l.Leads
		out.Total.Converted += l.Converted
		return nil
	})
	out.Total.Conversion = ratio(float64(out.Total.Converted), float64(out.Total.Leads))
	return out, err
}

// leadsSeriesSQL is the daily leads cut by seg: lead_days' day rows; a group
// whose leads all moved away (sum 0) is no segment.
func leadsSeriesSQL(seg, agg string, f Filter, c *cond) string {
	*c = leadDaysWhere(f, true)
	return "SELECT " + seg + " AS g, day AS d, " + agg + " FROM lead_days" + c.where() + " GROUP BY g, d HAVING sum(leads) > 0"
}

// lastLeadDaySQL is the last creation day of a visible lead up to today, and a
// count that is 0 without leads.
func lastLeadDaySQL(today string) string {
	return "SELECT toString(max(d)), count() FROM (SELECT day AS d FROM lead_days WHERE " + tokDelta + " AND grain = 0 AND day <= toDate('" + today + "') GROUP BY d HAVING sum(leads) > 0)"
}
