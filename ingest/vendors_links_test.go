package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// leadsWant is a lead conversion computed by hand: total leads and converted,
// and per source.
type leadsWant struct {
	leads, converted int64
	sources          map[string][2]int64
}

func checkLeads(t *testing.T, db *schemas.DB, what, from, to string, w leadsWant) {
	t.Helper()
	q := query.New(db, time.UTC, nil)
	if err := q.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := query.Filter{}
	f.From, _ = time.Parse("2006-01-02", from)
	f.To, _ = time.Parse("2006-01-02", to)
	lc, err := q.LeadConversion(context.Background(), query.Unrestricted, f)
	if err != nil {
		t.Fatal(err)
	}
	if lc.Total.Leads != w.leads || lc.Total.Converted != w.converted || len(lc.Sources) != len(w.sources) {
		t.Errorf("%s: %d leads, %d converted, %d sources; want %d, %d, %d", what, lc.Total.Leads, lc.Total.Converted, len(lc.Sources), w.leads, w.converted, len(w.sources))
	}
	for _, s := range lc.Sources {
		if sw := w.sources[s.Source]; s.Leads != sw[0] || s.Converted != sw[1] {
			t.Errorf("%s: leads from %q: %d, %d converted; want %d, %d", what, s.Source, s.Leads, s.Converted, sw[0], sw[1])
		}
	}
}

// TestHubSpotDealContactLinks: HubSpot's leads are contacts. A contact counts
// as converted when its lifecycle stage says a deal is associated
// (Opportunity, Customer), when the contacts export lists its deal, or when a
// deals export (Associated Contact IDs) or an associations export links it.
func TestHubSpotDealContactLinks(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{RejectThreshold: threshold(0.5)}, nil)
	o := LoadOptions{SnapshotDate: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}
	checkFile(t, s, fileWant{"hubspot_contacts.csv", "hubspot-contacts", "leads", 5, 1, 0, map[string]int64{"bad_date": 1}}, o)
	// Before any deal export: 101 (Opportunity) and 105 (Associated Deal IDs).
	checkLeads(t, db, "contacts alone", "2024-01-01", "2024-02-01", leadsWant{5, 2, map[string][2]int64{
		"Organic Search": {3, 2}, "Paid Search": {1, 0}, "Referrals": {1, 0}}})
	checkFile(t, s, fileWant{"hubspot_deals_contacts.csv", "hubspot", "opportunities", 3, 0, 0, nil}, o)
	if n := count(t, db, "lead_links", "source_system = 'hubspot'"); n != 3 {
		t.Errorf("%d deal–contact links, want 3 (9101–102, 9102–103, 9102–999)", n)
	}
	if n := count(t, db, "lead_links", "lead_id = '103' AND opportunity_id = '9102'"); n != 1 {
		t.Errorf("link 103–9102: %d rows", n)
	}
	// 102 and 103 now linked; 999 is no lead of the file and counts nowhere.
	checkLeads(t, db, "with deals", "2024-01-01", "2024-02-01", leadsWant{5, 4, map[string][2]int64{
		"Organic Search": {3, 3}, "Paid Search": {1, 1}, "Referrals": {1, 0}}})
	checkFile(t, s, fileWant{"hubspot_associations.csv", "associations", "lead_links", 1, 0, 0, nil}, o)
	checkLeads(t, db, "with associations", "2024-01-01", "2024-02-01", leadsWant{5, 5, map[string][2]int64{
		"Organic Search": {3, 3}, "Paid Search": {1, 1}, "Referrals": {1, 1}}})
}

// TestZohoConvertedLeads: a Zoho Leads export marks a converted lead
// (Converted) and may name its Converted Deal; either makes it converted.
func TestZohoConvertedLeads(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{RejectThreshold: threshold(0.5)}, nil)
	checkFile(t, s, fileWant{"zoho_leads.csv", "zoho-leads", "leads", 4, 1, 0, map[string]int64{"bad_date": 1}}, LoadOptions{})
	if n := count(t, db, "leads", "lead_id = 'zcrm_502' AND opportunity_id = 'Das Motors - Fleet' AND converted = 1 AND owner_id = 'Priya Shah'"); n != 1 {
		t.Errorf("converted deal of zcrm_502: %d rows", n)
	}
	checkLeads(t, db, "zoho", "2024-02-01", "2024-03-01", leadsWant{4, 2, map[string][2]int64{
		"Web Download": {2, 1}, "Trade Show": {1, 1}, "Cold Call": {1, 0}}})
}

// TestOlistMarketingFunnel: Olist's MQLs are leads; its closed deals carry the
// MQL's mql_id, and that link converts the lead, whichever file loads first.
func TestOlistMarketingFunnel(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{RejectThreshold: threshold(0.5)}, nil)
	checkFile(t, s, fileWant{"olist_closed_deals_dataset.csv", "olist-closed-deals", "lead_links", 3, 1, 0, map[string]int64{"missing_id": 1}}, LoadOptions{})
	checkFile(t, s, fileWant{"olist_marketing_qualified_leads_dataset.csv", "olist-leads", "leads", 5, 1, 0, map[string]int64{"bad_date": 1}}, LoadOptions{})
	// February 2018: organic_search 3 MQLs, all three closed; paid_search and
	// social one each, not closed (the second social MQL's 2018-02-31 was rejected).
	checkLeads(t, db, "olist", "2018-02-01", "2018-03-01", leadsWant{5, 3, map[string][2]int64{
		"organic_search": {3, 3}, "paid_search": {1, 0}, "social": {1, 0}}})
}
