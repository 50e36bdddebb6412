package ingest

import (
	"strings"
)

// Leads and the deals they became. A lead export may name its deal (Salesforce
// Lead.ConvertedOpportunityId, Zoho's Converted Deal, HubSpot contacts'
// Associated Deal IDs): that fills leads.opportunity_id. A deal export may name
// its lead instead (HubSpot deals' Associated Contact IDs; Olist's closed deals,
// which carry the MQL's mql_id): those links go to lead_links, one row per lead
// and deal, and the lead counts as converted whichever file comes first.

// linkProfiles are the lead exports that link deals and the link exports.
func linkProfiles() []*profile {
	return []*profile{
		// HubSpot contacts (HubSpot's leads are contacts): Record ID, Contact
		// owner, Create Date, Lifecycle Stage, Lead Status, Original Source.
		{name: "hubspot-contacts", table: tLeads, source: "hubspot", dateOrder: orderMDY,
			detect: func(h *header) int {
				if h.any("recordid", "contactid") && h.any("lifecyclestage", "leadstatus") && h.any("firstname", "lastname", "email", "contactowner") && !h.any("dealstage", "dealname", "leadowner") {
					return 75
				}
				return 0
			},
			cols: map[string][]string{"lead_id": {"recordid", "contactid"}, "owner_id": {"contactowner", "hubspotowner", "owner"}, "created_at": {"createdate", "createdat"},
				"source": {"originalsource", "originalsourcetype", "latestsource", "leadsource"}, "status": {"lifecyclestage", "leadstatus"},
				"account_id": {"associatedcompany", "companyname", "company"}, "opportunity_id": {"associateddealids", "associateddealid"},
				"converted_at": {"becameanopportunitydate", "becameacustomerdate"}},
			fix: fixHubSpotContact},
		// Zoho CRM Leads: Record Id, Lead Owner, Lead Status, Created Time, and
		// for a converted lead Converted (true) and the Converted Deal.
		{name: "zoho-leads", table: tLeads, source: "zoho", dateOrder: orderMDY,
			detect: func(h *header) int {
				// Record Id and Created Time are Zoho's own labels.
				if h.has("leadowner") && h.any("recordid", "createdtime") && h.any("leadstatus", "leadsource", "converteddeal", "converted", "converted__s") && !h.any("dealname", "stage") {
					return 75
				}
				return 0
			},
			cols: map[string][]string{"lead_id": {"recordid", "leadid", "id"}, "owner_id": {"leadowner"}, "created_at": {"createdtime"},
				"source": {"leadsource"}, "status": {"leadstatus"}, "account_id": {"company"},
				"converted": {"converted", "isconverted", "converted__s"}, "converted_at": {"converteddatetime", "converteddate"},
				"opportunity_id": {"converteddeal", "converteddealid"}}},
		// Olist's marketing funnel: the MQLs (mql_id, first_contact_date,
		// landing_page_id, origin) and the closed deals (mql_id, seller_id,
		// sdr_id, sr_id, won_date, …): a closed deal links its MQL.
		{name: "olist-leads", table: tLeads, source: "olist", dateOrder: orderMDY,
			detect: func(h *header) int {
				if h.has("mqlid", "firstcontactdate") {
					return 80
				}
				return 0
			},
			cols: map[string][]string{"lead_id": {"mqlid"}, "created_at": {"firstcontactdate"}, "source": {"origin"}}},
		{name: "olist-closed-deals", table: tLinks, source: "olist", dateOrder: orderMDY,
			detect: func(h *header) int {
				if h.has("mqlid", "sellerid", "wondate") {
					return 80
				}
				return 0
			},
			cols: map[string][]string{"lead_id": {"mqlid"}, "opportunity_id": {"sellerid"}}},
		// An associations export: a lead (or contact) id and a deal id per row.
		{name: "associations", table: tLinks, source: "generic",
			detect: func(h *header) int {
				if h.find(linkLead) >= 0 && h.find(linkDeal) >= 0 && len(h.raw) <= 4 {
					return 70
				}
				return 0
			},
			cols: map[string][]string{"lead_id": linkLead, "opportunity_id": linkDeal}},
	}
}

var (
	linkLead = []string{"leadid", "contactid", "mqlid", "fromobjectid"}
	linkDeal = []string{"opportunityid", "dealid", "convertedopportunityid", "toobjectid"}
)

// fixHubSpotContact: HubSpot sets a contact's lifecycle stage to Opportunity
// when a deal is associated with it, and to Customer when one is won.
func fixHubSpotContact(p *plan, m *mapped) *reject {
	t := p.t
	switch strings.ToLower(strings.TrimSpace(m.v[t.col("status")].s)) {
	case "opportunity", "customer":
		m.v[t.col("converted")].n = 1
	}
	return nil
}

// hubspotContactIDs is a deals export's column of associated contact ids.
var hubspotContactIDs = []string{"associatedcontactids", "associatedcontactid"}

// prepareHubSpotDeals adds the deal–contact links to a HubSpot deals export
// that carries the associated contacts' ids.
func prepareHubSpotDeals(p *plan) {
	prepareHubSpot(p)
	if p.hdr.find(hubspotContactIDs) >= 0 {
		p.writes = append(p.writes, tLinks)
	}
}

// deriveHubSpotDeals writes the date-entered history and one link per
// associated contact ("101;102", HubSpot's list separator).
func deriveHubSpotDeals(p *plan, m *mapped, e emitter) {
	deriveHubSpot(p, m, e)
	i := p.hdr.find(hubspotContactIDs)
	if i < 0 {
		return
	}
	id := m.v[p.t.col("opportunity_id")].s
	for _, c := range strings.FieldsFunc(m.raw.get(i), func(r rune) bool { return r == ';' || r == ',' }) {
		if c = strings.TrimSpace(c); c != "" {
			r := make([]val, len(tLinks.cols))
			r[tLinks.col("lead_id")].s, r[tLinks.col("opportunity_id")].s = strings.Clone(c), id
			r[tLinks.col("source_system")].s = p.prof.source
			e.emit(tLinks, r)
		}
	}
}
