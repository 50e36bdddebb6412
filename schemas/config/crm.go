package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// CRM says how to link a deal back to its record in the CRM it was exported
// from: RecordURLs maps a source system (as the ingest profiles name it:
// salesforce, hubspot, zoho, pipedrive, fxiaoke, dynamics, neocrm, …) to an
// http(s) URL template holding {id}, the record's id in that CRM, e.g.
// salesforce: https://acme.my.salesforce.com/lightning/r/Opportunity/{id}/view.
type CRM struct {
	RecordURLs map[string]string `yaml:"record_urls"`
}

var sourceName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

func (c CRM) validate() []error {
	var errs []error
	for src, tmpl := range c.RecordURLs {
		if !sourceName.MatchString(src) {
			errs = append(errs, fmt.Errorf("crm.record_urls.%s: want a source system name in lower case, e.g. salesforce", src))
		}
		u, err := url.Parse(strings.ReplaceAll(tmpl, "{id}", "x"))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !strings.Contains(tmpl, "{id}") {
			errs = append(errs, fmt.Errorf("crm.record_urls.%s %q: want an http(s) URL holding {id}", src, tmpl))
		}
	}
	return errs
}

// RecordURL is the CRM record of id exported from source, "" when no template
// is configured for source or id is empty. The id is escaped into the path.
func (c CRM) RecordURL(source, id string) string {
	tmpl, ok := c.RecordURLs[source]
	if !ok || id == "" {
		return ""
	}
	return strings.ReplaceAll(tmpl, "{id}", url.PathEscape(id))
}
