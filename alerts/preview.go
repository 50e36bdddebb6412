package alerts

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// This file previews rules (the rules editor, issue 15): what each rule would
// have raised on each of the past days, judged day by day exactly as
// `pipelens alerts run --at DAY` judges (evaluator.rule as of that day), with
// nothing stored and nothing sent.

// MaxPreviewDays bounds a preview.
const MaxPreviewDays = 180

// Preview is what a rule set would have raised over [From, To] (evaluation
// days, both included).
type Preview struct {
	From, To time.Time
	Days     int
	Rules    []PreviewRule
	Took     time.Duration
	// Complete is false when the time budget ended before every rule was
	// judged on every day: each rule says which days it was.
	Complete bool
}

// PreviewRule is one rule's events: each the episode an evaluation would have
// opened (a key not firing the day before), with the values it opened with.
// From and Days are the days the rule was judged on (the newest first, so a
// preview cut short by its budget still ends at the preview's To).
type PreviewRule struct {
	Rule   string
	From   time.Time
	Days   int
	Events []PreviewEvent
}

// PreviewEvent is an event as the Alerts page would show it, with the day
// (evaluation) that raised it and how many days it kept firing.
type PreviewEvent struct {
	Event
	Day  time.Time
	Last time.Time // the last evaluation day it fired
	Days int
}

// Preview evaluates rules (checked, e.g. by ParseRules) as of each of the days
// days before now's day (the last day the opportunities export covers, when
// earlier). With a budget > 0 it stops starting evaluations once the budget is
// spent, newest days first: a deal rule costs the day's open deals, seconds a
// day on a large export, while a metric rule's 90 days cost one read.
func (e *Engine) Preview(ctx context.Context, rules []Rule, days int, now time.Time, budget time.Duration) (Preview, error) {
	start := time.Now()
	if days <= 0 || days > MaxPreviewDays {
		return Preview{}, fmt.Errorf("preview %d days: want 1 to %d", days, MaxPreviewDays)
	}
	to, err := e.previewEnd(ctx, now)
	if err != nil {
		return Preview{}, err
	}
	from := to.AddDate(0, 0, 1-days)
	p := Preview{From: from, To: to, Days: days, Complete: true}
	var deadline time.Time
	if budget > 0 {
		deadline = start.Add(budget)
	}
	judged, err := e.judgeAll(ctx, rules, from, to, deadline)
	if err != nil {
		return p, err
	}
	for i, r := range rules {
		// The days judged: the newest ones, without a gap.
		k := len(judged[i])
		for k > 0 && judged[i][k-1] != nil {
			k--
		}
		if k > 0 {
			p.Complete = false
		}
		pr := e.episodes(r.Name, from.AddDate(0, 0, k), judged[i][k:])
		pr.From, pr.Days = from.AddDate(0, 0, k), len(judged[i])-k
		p.Rules = append(p.Rules, pr)
	}
	p.Took = time.Since(start)
	return p, nil
}

// episodes turns a rule's anomalies per day (days[k] as of from+k) into the
// events one run a day would open: a key not firing the day before opens one.
func (e *Engine) episodes(rule string, from time.Time, days [][]Anomaly) PreviewRule {
	pr := PreviewRule{Rule: rule, Events: []PreviewEvent{}}
	open := map[string]int{} // key → index in pr.Events of its firing episode
	for k, as := range days {
		d := from.AddDate(0, 0, k)
		now := map[string]int{}
		for j := range as {
			a := &as[j]
			i, ok := open[a.Key]
			if !ok {
				var x Event
				fillEvent(&x, a, nil, d, e.links)
				x.Key, x.OpenedAt = a.Key, d
				pr.Events = append(pr.Events, PreviewEvent{Event: x, Day: d})
				i = len(pr.Events) - 1
			}
			pr.Events[i].Last = d
			pr.Events[i].Days++
			now[a.Key] = i
		}
		open = now
	}
	return pr
}

// previewWorkers is how many evaluations of a preview run at once: the
// deal rules' inputs are one query per day, which the server answers in
// parallel.
const previewWorkers = 4

// judgeAll evaluates each rule as of each day in [from, to] as RunOnce at that
// day would: out[i][k] is rule i's anomalies (one per key, as RunOnce records
// them; empty, not nil, when none) as of from+k days. Past a non-zero deadline
// no evaluation starts: the days left have nil. The newest days go first.
func (e *Engine) judgeAll(ctx context.Context, rules []Rule, from, to, deadline time.Time) ([][][]Anomaly, error) {
	src, org, err := e.previewSource(ctx, rules, from, to)
	if err != nil {
		return nil, err
	}
	n := int(to.Sub(from).Hours()/24+0.5) + 1
	out := make([][][]Anomaly, len(rules))
	for i := range out {
		out[i] = make([][]Anomaly, n)
	}
	type task struct{ i, k int }
	tasks := make(chan task)
	errs := make(chan error, previewWorkers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < previewWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// An evaluator each: its cache of last days is not shared.
			ev := &evaluator{src: src, loc: e.loc, cal: e.cal, org: org, last: map[string]lastDay{}}
			for t := range tasks {
				as, err := ev.rule(ctx, &rules[t.i], from.AddDate(0, 0, t.k))
				if err != nil {
					errs <- err
					cancel()
					return
				}
				out[t.i][t.k] = uniqueKeys(as)
			}
		}()
	}
feed:
	for k := n - 1; k >= 0; k-- {
		for i := range rules {
			if !deadline.IsZero() && time.Now().After(deadline) {
				break feed
			}
			select {
			case tasks <- task{i, k}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(tasks)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return out, ctx.Err()
}

func uniqueKeys(as []Anomaly) []Anomaly {
	seen := map[string]bool{}
	out := []Anomaly{} // judged: not nil
	for _, a := range as {
		if !seen[a.Key] {
			seen[a.Key] = true
			out = append(out, a)
		}
	}
	return out
}

// previewEnd is the last evaluation day of a preview: now's day, or the day
// after the last day the opportunities export covers when that is earlier
// (later evaluations would judge the same days again).
func (e *Engine) previewEnd(ctx context.Context, now time.Time) (time.Time, error) {
	end := dayStart(now, e.loc)
	ld, ok := e.src.(lastDayer)
	if !ok {
		return end, nil
	}
	last, ok, err := ld.LastDay(ctx, MetricOppsOpened)
	if err != nil {
		return end, fmt.Errorf("preview: last loaded day: %w", err)
	}
	if d := time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, e.loc).AddDate(0, 0, 1); ok && d.Before(end) {
		end = d
	}
	return end, nil
}

// previewSource is the engine's Source for a preview: each metric's series
// read once for the whole preview (every day's lookback) and each day's
// evaluation answered from it, the open deals and stage norms of a day read
// once for all deal rules. 90 evaluations of a metric rule cost one query per
// segment kind instead of ninety.
func (e *Engine) previewSource(ctx context.Context, rules []Rule, from, to time.Time) (*spanSource, Org, error) {
	org, err := e.src.Org(ctx)
	if err != nil {
		return nil, org, err
	}
	var look time.Duration
	for _, r := range rules {
		look = max(look, r.Lookback)
	}
	// A week more: week-grain and trend rules start on a Monday.
	lo := from.AddDate(0, 0, -int(look.Hours()/24+0.5)-7)
	return &spanSource{Source: e.src, from: lo, to: to, memo: map[string]*memo{}}, org, nil
}

// spanSource answers Series for ranges inside [from, to) from one read of
// the whole span, and each day's deals and stage norms from one read; other
// ranges and the org go to the Source. Safe for concurrent use.
type spanSource struct {
	Source
	from, to time.Time

	mu   sync.Mutex
	memo map[string]*memo
}

// memo is one read, made once however many evaluations ask for it at once.
type memo struct {
	once sync.Once
	v    any
	err  error
}

func (s *spanSource) get(key string, read func() (any, error)) (any, error) {
	s.mu.Lock()
	m := s.memo[key]
	if m == nil {
		m = &memo{}
		s.memo[key] = m
	}
	s.mu.Unlock()
	m.once.Do(func() { m.v, m.err = read() })
	return m.v, m.err
}

func (s *spanSource) Series(ctx context.Context, metric, kind string, from, to time.Time) ([]SegmentSeries, error) {
	if from.Before(s.from) || to.After(s.to) {
		return s.Source.Series(ctx, metric, kind, from, to)
	}
	v, err := s.get("series|"+metric+"|"+kind, func() (any, error) { return s.Source.Series(ctx, metric, kind, s.from, s.to) })
	if err != nil {
		return nil, err
	}
	var out []SegmentSeries
	for _, ser := range v.([]SegmentSeries) {
		cut := ser
		cut.Points = nil
		seen := kind == SegAll
		for _, p := range ser.Points {
			if !p.Date.Before(from) && p.Date.Before(to) {
				cut.Points = append(cut.Points, p)
				seen = seen || p.Sum != 0 || p.Num != 0 || p.Den != 0
			}
		}
		// A segment with nothing in the range is not in the Source's answer
		// for that range either.
		if seen {
			out = append(out, cut)
		}
	}
	return out, nil
}

func (s *spanSource) Deals(ctx context.Context, asOf time.Time) ([]Deal, error) {
	v, err := s.get("deals|"+asOf.UTC().Format(time.RFC3339), func() (any, error) { return s.Source.Deals(ctx, asOf) })
	if err != nil {
		return nil, err
	}
	return append([]Deal(nil), v.([]Deal)...), nil // the rules point into their own copy
}

func (s *spanSource) StageNorms(ctx context.Context, asOf time.Time) ([]StageNorm, error) {
	v, err := s.get("norms|"+asOf.UTC().Format(time.RFC3339), func() (any, error) { return s.Source.StageNorms(ctx, asOf) })
	if err != nil {
		return nil, err
	}
	return v.([]StageNorm), nil
}

// LastDay implements lastDayer when the Source does.
func (s *spanSource) LastDay(ctx context.Context, metric string) (time.Time, bool, error) {
	if ld, ok := s.Source.(lastDayer); ok {
		return ld.LastDay(ctx, metric)
	}
	return time.Time{}, false, nil
}
