package config

import (
	"strings"
	"testing"
)

// TestCRMRecordURLs: a template per source system turns an id into its CRM
// record's URL (escaped into the path); a template without {id}, not http(s),
// or under a bad source name refuses to start, naming the key.
func TestCRMRecordURLs(t *testing.T) {
	c := CRM{RecordURLs: map[string]string{"salesforce": "https://acme.my.salesforce.com/lightning/r/Opportunity/{id}/view"}}
	if errs := c.validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	if got := c.RecordURL("salesforce", "006Dn00000A1b/C"); got != "https://acme.my.salesforce.com/lightning/r/Opportunity/006Dn00000A1b%2FC/view" {
		t.Errorf("got %s", got)
	}
	if got := c.RecordURL("hubspot", "1"); got != "" {
		t.Errorf("no template: got %q", got)
	}
	for src, tmpl := range map[string]string{"salesforce": "https://acme.my.salesforce.com/", "hubspot": "javascript:alert({id})", "Zoho CRM": "https://crm.zoho.com/{id}"} {
		errs := CRM{RecordURLs: map[string]string{src: tmpl}}.validate()
		if len(errs) == 0 || !strings.Contains(errs[0].Error(), "crm.record_urls."+src) {
			t.Errorf("%s: %q: %v, want an error naming crm.record_urls.%s", src, tmpl, errs, src)
		}
	}
}
