package config

import (
	"fmt"
	"regexp"
)

// Tiers serves accounts by tier (战略/重点/核心/普通): rules put each account in
// the first level whose conditions it meets, and each level has its service
// level. Without levels the DefaultTiers apply.
type Tiers struct {
	// LookbackDays is the window, ending on the day asked about, over which won
	// amount and activities (engagement) are counted; default 365.
	LookbackDays int    `yaml:"lookback_days"`
	Levels       []Tier `yaml:"levels"`
}

// Tier is one level. Levels are tried in order; the last one has no
// conditions and takes every account the others left, so no account is
// without a tier.
type Tier struct {
	Key  string   `yaml:"key"`
	Name TierName `yaml:"name"`
	// Match: "any" (default) puts an account here when one condition holds,
	// "all" when every one does.
	Match   string       `yaml:"match"`
	When    TierWhen     `yaml:"when"`
	Service ServiceLevel `yaml:"service"`
}

// TierName is a level's name in the pages' languages.
type TierName struct {
	EN string `yaml:"en"`
	ZH string `yaml:"zh"`
}

// TierWhen are a level's conditions; a missing one is not a condition.
type TierWhen struct {
	// RevenueAtLeast: the account's annual revenue (accounts export).
	RevenueAtLeast *float64 `yaml:"revenue_at_least"`
	// EmployeesAtLeast: the account's employees (accounts export).
	EmployeesAtLeast *float64 `yaml:"employees_at_least"`
	// PipelineAtLeast: the potential still open with the account, the amount of
	// its open opportunities.
	PipelineAtLeast *float64 `yaml:"pipeline_at_least"`
	// WonAtLeast: won amount closed in the lookback window.
	WonAtLeast *float64 `yaml:"won_at_least"`
	// ActivitiesAtLeast: activities with the account in the lookback window.
	ActivitiesAtLeast *float64 `yaml:"activities_at_least"`
}

// ServiceLevel is what a tier's accounts deserve.
type ServiceLevel struct {
	// ContactEveryDays: an account is below its level when its last contact
	// (an activity) is more than this many days before the day asked about.
	ContactEveryDays int `yaml:"contact_every_days"`
	// ResponseHours: the response time promised to the account (shown, not
	// measured: the exports carry no requests).
	ResponseHours int `yaml:"response_hours"`
	// CoveredBy says whose activities count as contact: "rep" (the account's
	// rep, default), "team" (anyone of the rep's team, the manager included)
	// or "anyone".
	CoveredBy string `yaml:"covered_by"`
}

// Conditions lists the level's conditions as (name, threshold) pairs.
func (w TierWhen) Conditions() map[string]float64 {
	out := map[string]float64{}
	for name, p := range map[string]*float64{"revenue": w.RevenueAtLeast, "employees": w.EmployeesAtLeast,
		"pipeline": w.PipelineAtLeast, "won": w.WonAtLeast, "activities": w.ActivitiesAtLeast} {
		if p != nil {
			out[name] = *p
		}
	}
	return out
}

func f64(v float64) *float64 { return &v }

// DefaultTiers are the levels without a tiers section, sized on the demo's
// accounts (won per account and year: median 17k, top 3% above 580k; revenue:
// top 3% above 2e9): about 5% strategic, 10% key, 25% core, the rest standard.
func DefaultTiers() Tiers {
	return Tiers{LookbackDays: 365, Levels: []Tier{
		{Key: "strategic", Name: TierName{"Strategic", "战略"}, When: TierWhen{WonAtLeast: f64(500_000), RevenueAtLeast: f64(2e9)},
			Service: ServiceLevel{ContactEveryDays: 14, ResponseHours: 4, CoveredBy: "team"}},
		{Key: "key", Name: TierName{"Key", "重点"}, When: TierWhen{WonAtLeast: f64(200_000), PipelineAtLeast: f64(300_000)},
			Service: ServiceLevel{ContactEveryDays: 30, ResponseHours: 8, CoveredBy: "rep"}},
		{Key: "core", Name: TierName{"Core", "核心"}, When: TierWhen{WonAtLeast: f64(50_000), PipelineAtLeast: f64(100_000), ActivitiesAtLeast: f64(45)},
			Service: ServiceLevel{ContactEveryDays: 60, ResponseHours: 24, CoveredBy: "rep"}},
		{Key: "standard", Name: TierName{"Standard", "普通"},
			Service: ServiceLevel{ContactEveryDays: 90, ResponseHours: 48, CoveredBy: "anyone"}},
	}}
}

var tierKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// validate fills the defaults and says what is wrong with each level.
func (t *Tiers) validate() []error {
	var errs []error
	if len(t.Levels) == 0 {
		lb := t.LookbackDays
		*t = DefaultTiers()
		if lb != 0 {
			t.LookbackDays = lb
		}
	}
	if t.LookbackDays == 0 {
		t.LookbackDays = 365
	}
	if t.LookbackDays < 1 || t.LookbackDays > 3650 {
		errs = append(errs, fmt.Errorf("tiers.lookback_days %d: want 1..3650 days", t.LookbackDays))
	}
	seen := map[string]bool{}
	for i := range t.Levels {
		l := &t.Levels[i]
		at := fmt.Sprintf("tiers.levels[%d]", i)
		if l.Key != "" {
			at += " (" + l.Key + ")"
		}
		if !tierKey.MatchString(l.Key) {
			errs = append(errs, fmt.Errorf("%s: key %q: want lower-case letters, digits and _ starting with a letter (e.g. strategic)", at, l.Key))
		} else if seen[l.Key] {
			errs = append(errs, fmt.Errorf("%s: key %q is used by an earlier level", at, l.Key))
		}
		seen[l.Key] = true
		if l.Name.EN == "" || l.Name.ZH == "" {
			errs = append(errs, fmt.Errorf("%s: name needs both en and zh (e.g. {en: Strategic, zh: 战略})", at))
		}
		switch l.Match {
		case "":
			l.Match = "any"
		case "any", "all":
		default:
			errs = append(errs, fmt.Errorf("%s: match %q: want any or all", at, l.Match))
		}
		conds := l.When.Conditions()
		for name, v := range conds {
			if v < 0 || v != v {
				errs = append(errs, fmt.Errorf("%s: when.%s_at_least %v: want 0 or more", at, name, v))
			}
		}
		last := i == len(t.Levels)-1
		if last && len(conds) > 0 {
			errs = append(errs, fmt.Errorf("%s: the last level takes every account the others left, so it has no conditions (remove its when)", at))
		}
		if !last && len(conds) == 0 {
			errs = append(errs, fmt.Errorf("%s: a level before the last needs at least one condition under when (revenue_at_least, employees_at_least, pipeline_at_least, won_at_least, activities_at_least)", at))
		}
		s := &l.Service
		if s.ContactEveryDays < 1 || s.ContactEveryDays > 3650 {
			errs = append(errs, fmt.Errorf("%s: service.contact_every_days %d: want 1..3650", at, s.ContactEveryDays))
		}
		if s.ResponseHours < 0 {
			errs = append(errs, fmt.Errorf("%s: service.response_hours %d: want 0 or more", at, s.ResponseHours))
		}
		switch s.CoveredBy {
		case "":
			s.CoveredBy = "rep"
		case "rep", "team", "anyone":
		default:
			errs = append(errs, fmt.Errorf("%s: service.covered_by %q: want rep, team or anyone", at, s.CoveredBy))
		}
	}
	return errs
}
