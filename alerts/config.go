package alerts

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/pipelens/pipelens/alerts/detect"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/config"
)

// Config is the `alerts` section of the configuration file.
type Config struct {
	// EvaluateEvery is how often Schedule wakes up to run due rules and drain the
	// outbox (default 5m).
	EvaluateEvery time.Duration `yaml:"evaluate_every"`
	// DashboardPath is the page an alert links to (default /trends, which
	// means: a metric anomaly opens the Alerts page on its event, a win rate
	// the reps page); deal alerts link to DealPath (default /funnel).
	DashboardPath string `yaml:"dashboard_path"`
	DealPath      string `yaml:"deal_path"`
	// Lang is the language of recipients whose reps row names none: en or zh-CN.
	Lang     string         `yaml:"lang"`
	Calendar CalendarConfig `yaml:"calendar"`
	// Directors receive org-wide alerts in addition to the reps with role director
	// (and when the org has none).
	Directors []string     `yaml:"directors"`
	Defaults  RuleDefaults `yaml:"defaults"`
	// Rules to evaluate; when the config lists none, DefaultRules apply unless
	// Disabled is set.
	Rules    []Rule    `yaml:"rules"`
	Disabled bool      `yaml:"disabled"`
	Silences []Silence `yaml:"silences"`
	// MaxAttempts bounds SMTP retries of temporary failures (default 0: forever,
	// backoff capped at MaxBackoff). Permanent refusals are never retried.
	MaxAttempts int           `yaml:"max_attempts"`
	MaxBackoff  time.Duration `yaml:"max_backoff"`
}

// CalendarConfig names the days that do not follow the weekday pattern.
type CalendarConfig struct {
	// Preset "cn" adds China's public holidays and swapped working days (调休)
	// for the years pipelens knows; "" adds nothing.
	Preset      string   `yaml:"preset"`
	Holidays    []string `yaml:"holidays"`     // YYYY-MM-DD
	WorkingDays []string `yaml:"working_days"` // weekend days worked
}

// RuleDefaults apply to every rule that does not set its own value.
type RuleDefaults struct {
	Sensitivity    string        `yaml:"sensitivity"`
	MinVolume      float64       `yaml:"min_volume"`
	GroupWait      time.Duration `yaml:"group_wait"`
	RepeatInterval time.Duration `yaml:"repeat_interval"`
	ResolveAfter   time.Duration `yaml:"resolve_after"`
	QuietHours     string        `yaml:"quiet_hours"`
	Mode           string        `yaml:"mode"`
	DigestAt       string        `yaml:"digest_at"`
	Schedule       string        `yaml:"schedule"`
}

// Rule says what to watch, how to judge it and whom to tell.
type Rule struct {
	Name   string `yaml:"name"`
	Metric string `yaml:"metric"`
	// Grain is day or week.
	Grain string `yaml:"grain"`
	// Segments are the kinds to watch: all (org-wide), team, territory, rep,
	// product, source.
	Segments []string `yaml:"segments"`
	// Detector: seasonal (spikes and drops against the weekday/month-end
	// baseline), rate (binomial intervals), level_shift, trend; for deal rules
	// stuck_deal, pushed_close, amount_cut; for accounts tier_service (an
	// owner's accounts contacted less often than their tier asks).
	Detector string `yaml:"detector"`
	// Model of day-grain seasonal and level_shift rules on counts and
	// amounts: "" or "daily" (the shipped default, detect.Daily: the series'
	// own weekday, holiday, 调休 and period-end factors learnt from a year of
	// history, deviations against the series' own spread), or "classic" (the
	// judges before it: same-weekday baselines of 16 weeks, count tail tests).
	Model string `yaml:"model"`
	// Sensitivity: low, medium, high, or a number (z threshold).
	Sensitivity string `yaml:"sensitivity"`
	// Direction: up, down or both (default both).
	Direction string `yaml:"direction"`
	// MinVolume: a segment whose expected and actual values are both below it is
	// not judged (counts; for rates the trials).
	MinVolume float64 `yaml:"min_volume"`
	// MinChange is the smallest relative change worth an email (default 0.25).
	MinChange float64 `yaml:"min_change"`
	// Lookback is the history the baseline is built from (default 16 weeks).
	Lookback time.Duration `yaml:"lookback"`
	// Window is how many recent points (days or weeks) an evaluation reports on
	// (default 1 for seasonal, 10 for shifts); for rate, how far back (days or
	// weeks) a change of the rate may have started (default 84 days / 12 weeks).
	Window int `yaml:"window"`
	// Threshold is the deal rules' knob: stuck_deal: multiple of the segment's
	// p90 days in stage (default 3); pushed_close: pushes (default 4);
	// amount_cut: cut share (default 0.6); tier_service: accounts below their
	// tier's service level an owner must have (default 1).
	Threshold float64 `yaml:"threshold"`
	// Drivers are the segment kinds ranked under a total (default team, rep).
	Drivers  []string `yaml:"drivers"`
	Schedule string   `yaml:"schedule"`
	// Route: auto (org hierarchy), director, manager; To adds addresses.
	Route          string        `yaml:"route"`
	To             []string      `yaml:"to"`
	Mode           string        `yaml:"mode"`
	DigestAt       string        `yaml:"digest_at"`
	GroupWait      time.Duration `yaml:"group_wait"`
	RepeatInterval time.Duration `yaml:"repeat_interval"`
	// ResolveAfter: an open anomaly resolves at the first evaluation that does
	// not find it ResolveAfter or longer after it was last found; found again
	// before, it is the same event (no new email beyond RepeatInterval's).
	// Metric rules default to defaults.resolve_after; deal and tier rules to 0.
	ResolveAfter time.Duration `yaml:"resolve_after"`
	QuietHours   string        `yaml:"quiet_hours"`
	// Page overrides the dashboard path of the link.
	Page string `yaml:"page"`

	sched    schedule
	quiet    *quietHours
	zThresh  float64
	alpha    float64 // false-alarm budget of one evaluation of the rule (tail tests)
	digestAt int     // minutes after midnight, -1 none
}

// Silence mutes matching anomalies until a time.
type Silence struct {
	Rule        string `yaml:"rule"`
	Metric      string `yaml:"metric"`
	SegmentKind string `yaml:"segment_kind"`
	Segment     string `yaml:"segment"`
	Until       string `yaml:"until"` // YYYY-MM-DD or RFC 3339
	Comment     string `yaml:"comment"`
	until       time.Time
}

// DefaultResolveAfter is defaults.resolve_after: an anomaly resolves after
// two weeks in which its rule did not find it. Resolving at the first clear
// evaluation (as before 2026-12-03) turned a slow slide that crossed the
// threshold on and off into an event, and an email, each time it crossed
// again. Chosen on the tuning seeds of alerts/detect/salesgen in NAB's layout
// (1 day, 3, 7, 14 and 28: standard 26.56, 29.73, 34.21, 37.54, 32.84 on
// seed 1's 24 series); the report seeds' figures are in the README.
const DefaultResolveAfter = 14 * 24 * time.Hour

var (
	// metricKinds is, per metric of query's registry, how the detectors read
	// it: count, amount, rate (Num/Den) or mean (Sum/Den).
	metricKinds = func() map[string]string {
		m := map[string]string{}
		for _, x := range query.Metrics() {
			switch {
			case x.Unit == "rate":
				m[x.Name] = "rate"
			case x.Combine == "ratio":
				m[x.Name] = "mean"
			default:
				m[x.Name] = x.Unit
			}
		}
		return m
	}()
	segmentKinds  = map[string]bool{SegAll: true, SegTeam: true, SegTerritory: true, SegRep: true, SegProduct: true, SegSource: true}
	dealDetectors = map[string]bool{"stuck_deal": true, "pushed_close": true, "amount_cut": true}
	// tierDetectors judge accounts against their tier's service level
	// (query.Tiers): tier_service.
	tierDetectors = map[string]bool{"tier_service": true}
)

// ParseConfig decodes the alerts section (nil or empty: no rules) and checks
// it. Unknown keys are refused with their line: a misspelt rule setting would
// otherwise silently keep its default.
func ParseConfig(node *yaml.Node, loc *time.Location) (*Config, error) {
	c := &Config{}
	if node != nil && node.Kind != 0 {
		if err := config.UnknownKeys(node, c, "alerts"); err != nil {
			return nil, fmt.Errorf("parse alerts config: %w", err)
		}
		if err := node.Decode(c); err != nil {
			return nil, fmt.Errorf("parse alerts config: %w", err)
		}
	}
	if len(c.Rules) == 0 && !c.Disabled {
		c.Rules = DefaultRules()
	}
	return c, c.normalize(loc)
}

// DefaultRules are what pipelens watches when the config lists no alerts.rules:
// opened opportunities per team (spikes, drops and level shifts), leads per
// territory, win rate per team judged as a rate, and the deal rules. The
// planted-anomaly tests run exactly these.
func DefaultRules() []Rule {
	return []Rule{
		{Name: "opened", Metric: MetricOppsOpened, Segments: []string{SegAll, SegTeam}, Detector: "seasonal", Window: 1},
		{Name: "opened-shift", Metric: MetricOppsOpened, Segments: []string{SegTeam}, Detector: "level_shift", Window: 5},
		{Name: "leads", Metric: MetricLeads, Segments: []string{SegAll, SegTerritory}, Detector: "seasonal", Window: 1},
		{Name: "winrate", Metric: MetricWinRate, Segments: []string{SegTeam}, Detector: "rate", Lookback: 26 * 7 * 24 * time.Hour},
		{Name: "stuck", Detector: "stuck_deal"},
		{Name: "pushed", Detector: "pushed_close", Window: 7},
		{Name: "cut", Detector: "amount_cut", Window: 7},
	}
}

func (c *Config) normalize(loc *time.Location) error {
	if c.EvaluateEvery <= 0 {
		c.EvaluateEvery = 5 * time.Minute
	}
	if c.DashboardPath == "" {
		c.DashboardPath = "/trends"
	}
	if c.DealPath == "" {
		c.DealPath = "/funnel"
	}
	if c.Lang == "" {
		c.Lang = "en"
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = time.Hour
	}
	d := &c.Defaults
	if d.Sensitivity == "" {
		d.Sensitivity = "medium"
	}
	if d.RepeatInterval <= 0 {
		d.RepeatInterval = 24 * time.Hour
	}
	if d.ResolveAfter <= 0 {
		d.ResolveAfter = DefaultResolveAfter
	}
	if d.Mode == "" {
		d.Mode = "immediate"
	}
	if d.DigestAt == "" {
		d.DigestAt = "08:00"
	}
	if d.Schedule == "" {
		d.Schedule = "every 1h"
	}
	var errs []error
	if err := validateRules(c.Rules, d, loc); err != nil {
		errs = append(errs, err)
	}
	for i := range c.Silences {
		s := &c.Silences[i]
		t, err := parseDateTime(s.Until, loc)
		if err != nil {
			errs = append(errs, fmt.Errorf("alerts.silences[%d].until: %w", i, err))
		}
		s.until = t
	}
	if _, err := c.Calendar.build(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RuleError is what is wrong with one rule of a set: its index, its name and
// the setting (field) at fault.
type RuleError struct {
	Index int
	Name  string
	Field string
	Err   error
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("alerts.rules[%d] (%s): %v", e.Index, e.Name, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// validateRules checks and completes rules with the defaults d: the one home
// of the checks of a rule set, whether it comes from the config file or from
// the rules editor (SaveRules). The error joins a *RuleError per fault.
func validateRules(rules []Rule, d *RuleDefaults, loc *time.Location) error {
	var errs []error
	seen := map[string]bool{}
	for i := range rules {
		r := &rules[i]
		if err := r.normalize(d, loc); err != nil {
			// Every message of normalize starts with the setting it is about.
			field, _, _ := strings.Cut(err.Error(), " ")
			errs = append(errs, &RuleError{Index: i, Name: r.Name, Field: strings.TrimSuffix(field, ":"), Err: err})
		}
		if seen[r.Name] {
			errs = append(errs, &RuleError{Index: i, Name: r.Name, Field: "name", Err: fmt.Errorf("name %q used twice", r.Name)})
		}
		seen[r.Name] = true
	}
	return errors.Join(errs...)
}

func (r *Rule) normalize(d *RuleDefaults, loc *time.Location) error {
	if r.Detector == "" {
		r.Detector = "seasonal"
	}
	deal := dealDetectors[r.Detector]
	if r.Name == "" {
		r.Name = r.Metric + "-" + r.Detector
		if deal || tierDetectors[r.Detector] {
			r.Name = r.Detector
		}
	}
	if tierDetectors[r.Detector] {
		if err := r.normalizeTier(); err != nil {
			return err
		}
	} else if deal {
		if r.Metric == "" {
			r.Metric = "deals"
		}
		if len(r.Segments) == 0 {
			r.Segments = []string{SegTeam}
		}
	} else {
		kind, ok := metricKinds[r.Metric]
		if !ok {
			return fmt.Errorf("metric %q: want one of %s", r.Metric, strings.Join(MetricNames(), ", "))
		}
		switch r.Detector {
		case "seasonal", "level_shift", "trend":
		case "rate":
			if kind != "rate" {
				return fmt.Errorf("detector rate needs a rate metric (win_rate, stage_conversion), not %s", r.Metric)
			}
		default:
			return fmt.Errorf("detector %q: want seasonal, rate, level_shift, trend, stuck_deal, pushed_close, amount_cut or tier_service", r.Detector)
		}
		if r.Model != "" && ((r.Model != "daily" && r.Model != "classic") || (r.Grain != "" && r.Grain != "day") || kind == "rate" || (r.Detector != "seasonal" && r.Detector != "level_shift")) {
			return fmt.Errorf("model %q: want \"daily\" or \"classic\", for a day-grain seasonal or level_shift rule on a count or an amount", r.Model)
		}
		if kind == "rate" && r.Detector == "seasonal" {
			// A rate is judged as a rate, never as a plain number.
			r.Detector = "rate"
		}
		if len(r.Segments) == 0 {
			r.Segments = []string{SegAll, SegTeam}
		}
	}
	for _, s := range r.Segments {
		if tierDetectors[r.Detector] {
			break // checked by normalizeTier
		}
		if !segmentKinds[s] {
			return fmt.Errorf("segment %q: want all, team, territory, rep, product or source", s)
		}
		if m, err := query.LookupMetric(r.Metric); err == nil && !m.Allows(s) {
			return fmt.Errorf("segment %q: %s cannot be cut by %s (it can by %s)", s, r.Metric, s, strings.Join(m.SegmentKinds, ", "))
		}
	}
	if r.Grain == "" {
		r.Grain = "day"
	}
	if r.Grain != "day" && r.Grain != "week" {
		return fmt.Errorf("grain %q: want day or week", r.Grain)
	}
	switch r.Direction {
	case "":
		r.Direction = "both"
	case "up", "down", "both":
	default:
		return fmt.Errorf("direction %q: want up, down or both", r.Direction)
	}
	if r.Sensitivity == "" {
		r.Sensitivity = d.Sensitivity
	}
	// Robust-z detectors (amounts, means, level shifts) use zThresh; count and
	// rate tests use alpha, the chance that one evaluation of the rule alerts
	// on a sample with nothing wrong in any segment.
	switch r.Sensitivity {
	case "low":
		r.zThresh, r.alpha = 5, 5e-4
	case "medium":
		r.zThresh, r.alpha = 4, 5e-3
	case "high":
		r.zThresh, r.alpha = 3, 2e-2
	default:
		z, err := strconv.ParseFloat(r.Sensitivity, 64)
		if err != nil || z <= 0 {
			return fmt.Errorf("sensitivity %q: want low, medium, high or a positive number", r.Sensitivity)
		}
		r.zThresh, r.alpha = z, math.Erfc(z/math.Sqrt2)
	}
	if r.MinVolume == 0 {
		r.MinVolume = d.MinVolume
	}
	if r.MinVolume == 0 {
		switch {
		case metricKinds[r.Metric] == "rate":
			r.MinVolume = 30
		case metricKinds[r.Metric] == "count" || metricKinds[r.Metric] == "mean":
			r.MinVolume = 5
		}
	}
	if r.MinChange == 0 {
		r.MinChange = 0.25
	}
	if r.Lookback <= 0 {
		r.Lookback = 16 * 7 * 24 * time.Hour
		if usesDaily(r, metricKinds[r.Metric]) {
			r.Lookback = detect.DailyLookback
		}
		if r.Grain == "week" {
			r.Lookback = 26 * 7 * 24 * time.Hour
		}
	}
	if r.Window <= 0 {
		switch r.Detector {
		case "rate":
			// How far back a change of the rate may have started: twelve weeks.
			r.Window = 84
			if r.Grain == "week" {
				r.Window = 12
			}
		case "level_shift", "trend":
			r.Window = 10
			if r.Grain == "week" {
				r.Window = 4
			}
		case "seasonal":
			r.Window = 1
		default:
			r.Window = 14
		}
	}
	if r.Threshold <= 0 {
		switch r.Detector {
		case "stuck_deal":
			r.Threshold = 3
		case "pushed_close":
			// Three pushes in two months happen to ordinary deals; four do not.
			r.Threshold = 4
		case "amount_cut":
			r.Threshold = 0.6
		case "tier_service":
			r.Threshold = 1
		}
	}
	if len(r.Drivers) == 0 {
		r.Drivers = []string{SegTeam, SegRep}
	}
	if r.Route == "" {
		r.Route = "auto"
	}
	if r.Route != "auto" && r.Route != "director" && r.Route != "manager" && r.Route != "none" {
		return fmt.Errorf("route %q: want auto, director, manager or none", r.Route)
	}
	if r.Mode == "" {
		r.Mode = d.Mode
	}
	if r.Mode != "immediate" && r.Mode != "digest" {
		return fmt.Errorf("mode %q: want immediate or digest", r.Mode)
	}
	if r.DigestAt == "" {
		r.DigestAt = d.DigestAt
	}
	m, err := parseClock(r.DigestAt)
	if err != nil {
		return fmt.Errorf("digest_at: %w", err)
	}
	r.digestAt = m
	if r.GroupWait == 0 {
		r.GroupWait = d.GroupWait
	}
	if r.RepeatInterval <= 0 {
		r.RepeatInterval = d.RepeatInterval
	}
	// A deal that moved or an account contacted again is done with: deal and
	// tier rules resolve at the first evaluation without the finding (0)
	// unless they set their own resolve_after.
	if r.ResolveAfter <= 0 && !r.isDeal() && !tierDetectors[r.Detector] {
		r.ResolveAfter = d.ResolveAfter
	}
	if r.QuietHours == "" {
		r.QuietHours = d.QuietHours
	}
	if r.QuietHours != "" {
		q, err := parseQuietHours(r.QuietHours)
		if err != nil {
			return fmt.Errorf("quiet_hours: %w", err)
		}
		r.quiet = q
	}
	if r.Schedule == "" {
		r.Schedule = d.Schedule
	}
	s, err := parseSchedule(r.Schedule)
	if err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	r.sched = s
	return nil
}

func (r *Rule) isDeal() bool { return dealDetectors[r.Detector] }

func (c CalendarConfig) build() (detect.Calendar, error) {
	cal := detect.Calendar{Holidays: map[string]bool{}, WorkingDays: map[string]bool{}}
	switch c.Preset {
	case "":
	case "cn", "CN", "china", "zh-CN":
		cal = detect.CNCalendar()
	default:
		return cal, fmt.Errorf("alerts.calendar.preset %q: want cn or nothing", c.Preset)
	}
	for _, d := range c.Holidays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return cal, fmt.Errorf("alerts.calendar.holidays %q: want YYYY-MM-DD", d)
		}
		cal.Holidays[d] = true
	}
	for _, d := range c.WorkingDays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return cal, fmt.Errorf("alerts.calendar.working_days %q: want YYYY-MM-DD", d)
		}
		cal.WorkingDays[d] = true
	}
	return cal, nil
}

func parseDateTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want YYYY-MM-DD or RFC 3339", s)
	}
	return t, nil
}

// parseClock reads "HH:MM" as minutes after midnight.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	return hh*60 + mm, nil
}

func minuteOfDay(t time.Time) int { return t.Hour()*60 + t.Minute() }

// quietHours is a daily range [from, to) in the business time zone; it may wrap
// midnight ("22:00-07:00").
type quietHours struct{ from, to int }

func parseQuietHours(s string) (*quietHours, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return nil, fmt.Errorf("%q: want HH:MM-HH:MM", s)
	}
	f, err := parseClock(a)
	if err != nil {
		return nil, err
	}
	t, err := parseClock(b)
	if err != nil {
		return nil, err
	}
	return &quietHours{f, t}, nil
}

func (q *quietHours) contains(local time.Time) bool {
	if q == nil || q.from == q.to {
		return false
	}
	m := minuteOfDay(local)
	if q.from < q.to {
		return m >= q.from && m < q.to
	}
	return m >= q.from || m < q.to
}

// schedule says when a rule is due: every d, or at a clock time on some weekdays.
type schedule struct {
	every    time.Duration
	at       int     // minutes after midnight
	weekdays [7]bool // for clock schedules
}

// parseSchedule reads "every 1h", "hourly", "daily 07:00", "weekdays 07:00",
// "weekly mon 07:00".
func parseSchedule(s string) (schedule, error) {
	f := strings.Fields(strings.ToLower(s))
	bad := fmt.Errorf("%q: want \"every DURATION\", \"hourly\", \"daily HH:MM\", \"weekdays HH:MM\" or \"weekly DAY HH:MM\"", s)
	if len(f) == 0 {
		return schedule{}, bad
	}
	var sc schedule
	clock := func(x string) error {
		m, err := parseClock(x)
		sc.at = m
		return err
	}
	switch f[0] {
	case "hourly":
		if len(f) != 1 {
			return sc, bad
		}
		sc.every = time.Hour
	case "every":
		if len(f) != 2 {
			return sc, bad
		}
		d, err := time.ParseDuration(f[1])
		if err != nil || d < time.Minute {
			return sc, bad
		}
		sc.every = d
	case "daily":
		if len(f) != 2 || clock(f[1]) != nil {
			return sc, bad
		}
		sc.weekdays = [7]bool{true, true, true, true, true, true, true}
	case "weekdays":
		if len(f) != 2 || clock(f[1]) != nil {
			return sc, bad
		}
		sc.weekdays = [7]bool{false, true, true, true, true, true, false}
	case "weekly":
		if len(f) != 3 || clock(f[2]) != nil {
			return sc, bad
		}
		days := map[string]time.Weekday{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
		wd, ok := days[f[1][:min(3, len(f[1]))]]
		if !ok || (len(f[1]) > 3 && strings.ToLower(wd.String()) != f[1]) {
			return sc, bad
		}
		sc.weekdays[wd] = true
	default:
		return sc, bad
	}
	return sc, nil
}

// due reports whether a scheduled time falls in (prev, now], both in the
// business time zone.
func (s schedule) due(prev, now time.Time) bool {
	if !now.After(prev) {
		return false
	}
	if s.every > 0 {
		// Slots are aligned to the business time zone's wall clock ("every
		// 24h" is local midnight, "hourly" on the local hour even where the
		// zone is offset by a half hour), not to UTC.
		_, off := now.Zone()
		shift := time.Duration(off) * time.Second
		return now.Add(shift).Truncate(s.every).Add(-shift).After(prev)
	}
	// Walk the days between prev and now (at most a week matters).
	d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	for i := 0; i < 8; i++ {
		t := d.AddDate(0, 0, -i).Add(time.Duration(s.at) * time.Minute)
		if !t.After(prev) {
			break
		}
		if !t.After(now) && s.weekdays[t.Weekday()] {
			return true
		}
	}
	return false
}
