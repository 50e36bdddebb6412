package alerts

import (
	"sort"
	"strings"
)

// Recipient is one person an email goes to.
type Recipient struct {
	Email, Name, Lang string
	RepID             string
}

// route decides who hears about an anomaly: a team's anomaly (the team, one of
// its reps, its deals, a territory only it covers) goes to that team's manager;
// an org-wide one (all, product, source, a shared territory) to the
// director(s). Rule.To adds fixed addresses.
func route(r *Rule, a *Anomaly, org Org, c *Config) []Recipient {
	var out []Recipient
	seen := map[string]bool{}
	add := func(p Person) {
		e := strings.ToLower(strings.TrimSpace(p.Email))
		if e == "" || seen[e] {
			return
		}
		seen[e] = true
		lang := p.Lang
		if lang == "" {
			lang = c.Lang
		}
		out = append(out, Recipient{Email: p.Email, Name: p.Name, Lang: normLang(lang), RepID: p.ID})
	}
	directors := func() {
		for _, p := range org.Reps {
			if p.Role == "director" && p.Active {
				add(p)
			}
		}
		for _, e := range c.Directors {
			add(Person{Email: e, Name: e})
		}
	}
	switch r.Route {
	case "none":
	case "director":
		directors()
	default:
		mgrs := managersOf(a, org)
		if len(mgrs) == 0 && r.Route == "auto" {
			directors()
		}
		for _, m := range mgrs {
			add(m)
		}
	}
	for _, e := range r.To {
		add(Person{Email: e, Name: e})
	}
	return out
}

// managersOf finds the manager(s) responsible for the anomaly's team.
func managersOf(a *Anomaly, org Org) []Person {
	byID := org.byID()
	// A rep's own manager first: the org chart says who coaches whom.
	if a.RepID != "" {
		if p, ok := byID[a.RepID]; ok && p.ManagerID != "" {
			if m, ok := byID[p.ManagerID]; ok && m.Active && m.Role == "manager" {
				return []Person{m}
			}
		}
	}
	if a.Team == "" {
		return nil
	}
	var out []Person
	for _, p := range org.Reps {
		if p.Role == "manager" && p.Active && p.Team == a.Team {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		// No manager row carries the team: the manager the team's reps report to.
		ids := map[string]bool{}
		for _, p := range org.Reps {
			if p.Team == a.Team && p.ManagerID != "" {
				ids[p.ManagerID] = true
			}
		}
		for id := range ids {
			if m, ok := byID[id]; ok && m.Active && m.Role != "rep" {
				out = append(out, m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func normLang(l string) string {
	l = strings.ToLower(strings.ReplaceAll(l, "_", "-"))
	if strings.HasPrefix(l, "zh") {
		return "zh-CN"
	}
	return "en"
}
