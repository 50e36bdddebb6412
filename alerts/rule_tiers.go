package alerts

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/config"
)

// MetricAccountsBelowTier is what a tier_service rule counts: an owner's
// accounts contacted less often than their tier's service level asks
// (query.Tiers: tier from the config's rules, coverage from activities).
const MetricAccountsBelowTier = "accounts_below_tier"

// maxTierAccounts is how many of an owner's accounts below their level an
// alert names (the worst first, as query lists them); the link shows all.
const maxTierAccounts = 10

// TierGaps is what a tier_service rule reads: the accounts below their tier's
// level as of a day, with each owner's count of accounts.
type TierGaps struct {
	// Names are the tiers' names by key.
	Names  map[string]config.TierName
	Below  []query.AccountTier
	ByRep  []query.TierOwner
	ByTeam []query.TierOwner
}

// tierSource is a Source that measures account tiers (QuerySource does).
type tierSource interface {
	TierGaps(ctx context.Context, asOf time.Time) (TierGaps, error)
}

// WithTiers sets the tier rules the source measures accounts by (the config's
// tiers section; none: the default levels).
func (q *QuerySource) WithTiers(t config.Tiers) *QuerySource {
	q.tiers = t
	return q
}

// TierGaps implements tierSource: query.Tiers over the whole organisation with
// its range ending on asOf's day.
func (q *QuerySource) TierGaps(ctx context.Context, asOf time.Time) (TierGaps, error) {
	to := dayAfter(asOf.In(q.svc.Location()))
	at, err := q.svc.Tiers(ctx, query.Unrestricted, query.Filter{From: to.AddDate(0, 0, -1), To: to}, q.tiers, false)
	if err != nil {
		return TierGaps{}, err
	}
	g := TierGaps{Names: map[string]config.TierName{}, Below: at.Below, ByRep: at.ByRep, ByTeam: at.ByTeam}
	for _, t := range at.Tiers {
		g.Names[t.Key] = config.TierName{EN: t.NameEN, ZH: t.NameZH}
	}
	return g, nil
}

// normalizeTier checks a tier_service rule: per rep (default) or team.
func (r *Rule) normalizeTier() error {
	if r.Metric == "" {
		r.Metric = MetricAccountsBelowTier
	}
	if r.Metric != MetricAccountsBelowTier {
		return fmt.Errorf("metric %q: a tier_service rule counts %s", r.Metric, MetricAccountsBelowTier)
	}
	if len(r.Segments) == 0 {
		r.Segments = []string{SegRep}
	}
	for _, s := range r.Segments {
		if s != SegRep && s != SegTeam {
			return fmt.Errorf("segment %q: a tier_service rule is per rep or team", s)
		}
	}
	return nil
}

// tierService raises one anomaly per owner (rep or team) with at least
// Threshold accounts below their tier's service level, naming the worst of
// them. An export older than a day is judged as of its day, as deal rules are.
func (e *evaluator) tierService(ctx context.Context, r *Rule, now time.Time) ([]Anomaly, error) {
	ts, ok := e.src.(tierSource)
	if !ok {
		return nil, errors.New("rule " + r.Name + ": the source does not measure account tiers")
	}
	end, through, err := e.end(ctx, MetricActivities, now)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.Name, err)
	}
	if !through.IsZero() && now.Sub(end) > 24*time.Hour {
		now = end
	}
	gaps, err := ts.TierGaps(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.Name, err)
	}
	today := dayStart(now, e.loc)
	byID := e.org.byID()
	var out []Anomaly
	for _, kind := range r.Segments {
		owners := gaps.ByRep
		if kind == SegTeam {
			owners = gaps.ByTeam
		}
		for _, o := range owners {
			if o.Key == query.NoRep || float64(o.Below) < r.Threshold {
				continue
			}
			a := Anomaly{Rule: r.Name, Metric: r.Metric, Detector: r.Detector, Kind: r.Detector, Grain: "day",
				SegmentKind: kind, Segment: o.Key, SegmentLabel: o.Name, Team: o.Team, Direction: -1,
				Actual: float64(o.Below), Expected: 0, High: float64(o.Accounts), Score: float64(o.Below),
				Since: today, From: today, To: today, DataThrough: through}
			if kind == SegRep {
				a.RepID = o.Key
				if p, ok := byID[o.Key]; ok && a.SegmentLabel == "" {
					a.SegmentLabel = p.Name
				}
			} else {
				a.Team = o.Key
			}
			if a.SegmentLabel == "" {
				a.SegmentLabel = o.Key
			}
			a.Key = strings.Join([]string{r.Name, kind, o.Key}, "|")
			a.Drivers = tierAccounts(gaps, kind, o.Key)
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// tierAccounts are the owner's accounts below their level as drivers of its
// alert: the account, its tier, the days since the last contact that counts
// (actual, −1 never) against the tier's interval (expected).
func tierAccounts(g TierGaps, kind, key string) []Driver {
	var out []Driver
	for _, b := range g.Below {
		if (kind == SegRep && b.Rep != key) || (kind == SegTeam && b.Team != key) {
			continue
		}
		label := b.Name
		if label == "" {
			label = b.Account
		}
		name, ok := g.Names[b.Tier]
		if !ok {
			name = config.TierName{EN: b.Tier, ZH: b.Tier}
		}
		out = append(out, Driver{Kind: "account", Key: b.Account, Label: label, Tier: &name,
			Actual: float64(b.DaysSince), Expected: float64(b.ContactEvery)})
		if len(out) == maxTierAccounts {
			break
		}
	}
	return out
}

// tierItem is a tier_service alert's section: how many accounts of how many
// are below their tier's level, and the worst of them with their last contact.
func tierItem(lang string, a *Anomaly, it item) item {
	it.Title = tr(lang, "tier.title", int(a.Actual))
	it.short = it.Title + " · " + a.SegmentLabel
	it.Title = it.short
	it.Facts = append(it.Facts, fact{tr(lang, "tier.below"), fmt.Sprintf("%.0f / %.0f", a.Actual, a.High)})
	for _, d := range a.Drivers {
		it.Facts = append(it.Facts, fact{tierAccount(lang, d), tierContact(lang, d)})
	}
	it.ChartAlt = it.Title
	return it
}

// tierContact is an account's last contact against its tier's interval.
func tierContact(lang string, d Driver) string {
	last := tr(lang, "tier.never")
	if d.Actual >= 0 {
		last = tr(lang, "tier.days_ago", int(d.Actual))
	}
	return last + " · " + tr(lang, "tier.every", int(d.Expected))
}

// tierAccount is an account and its tier's name in lang.
func tierAccount(lang string, d Driver) string {
	if d.Tier == nil {
		return d.Label
	}
	if lang == "zh-CN" {
		return d.Label + "（" + d.Tier.ZH + "）"
	}
	return d.Label + " (" + d.Tier.EN + ")"
}

// tierAccountLine is an account below its level in one line.
func tierAccountLine(lang string, d Driver) string {
	return tierAccount(lang, d) + ": " + tierContact(lang, d)
}

func init() {
	for k, v := range map[string][2]string{
		"tier.title":                   {"%d accounts below their tier's contact frequency", "%d 个客户低于其分级的联系频率"},
		"tier.below":                   {"Accounts below / all", "低于标准 / 全部客户"},
		"tier.never":                   {"never contacted", "从未联系"},
		"tier.days_ago":                {"last contact %d days ago", "上次联系在 %d 天前"},
		"tier.every":                   {"every %d days asked", "标准每 %d 天"},
		"dealkind.tier_service":        {"Accounts below tier service", "客户低于分级服务标准"},
		"m." + MetricAccountsBelowTier: {"Accounts below tier service", "低于分级服务标准的客户"},
	} {
		if _, dup := messages["en"][k]; dup {
			panic("alerts: message " + k + " defined twice")
		}
		messages["en"][k], messages["zh-CN"][k] = v[0], v[1]
	}
}
