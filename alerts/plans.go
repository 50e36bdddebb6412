package alerts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pipelens/pipelens/query"
)

// The review step of coaching plans (issue 17, PDCA): at a plan's review date
// the plan's metric is judged over [start, review date) through the
// scorecard (query.PlanReview), the plan's manager gets an email with the
// verdict (improved, not yet, or too few deals to tell, with the interval)
// and the suggested next step, and the plan is recorded as reviewed. The email
// goes through the outbox like every alert email: written before any SMTP
// traffic under an id derived from the plan, so a rerun after a crash between
// the two steps queues nothing twice.

// PlanReviews is what the review step needs of query.Service.
type PlanReviews interface {
	DuePlans(ctx context.Context, now time.Time) ([]query.Plan, error)
	PlanReview(ctx context.Context, p query.Plan) (*query.PlanCheck, error)
	RecordReview(ctx context.Context, p query.Plan, c *query.PlanCheck, now time.Time) (query.Plan, error)
}

// PlanSummary says what one review step did.
type PlanSummary struct {
	Due, Reviewed, Emails, NoRecipient int
	Delivery                           DeliverySummary
}

// ReviewPlans reviews every plan due by now, queues the emails and drains the
// outbox. A plan whose manager (and, failing that, every director) has no
// email address stays open and is logged each run, never dropped silently.
func (e *Engine) ReviewPlans(ctx context.Context, q PlanReviews, now time.Time) (PlanSummary, error) {
	var s PlanSummary
	due, err := q.DuePlans(ctx, now)
	if err != nil || len(due) == 0 {
		return s, err
	}
	s.Due = len(due)
	org, err := e.src.Org(ctx)
	if err != nil {
		return s, err
	}
	for _, p := range due {
		to := planRecipients(p, org, e.cfg)
		if len(to) == 0 {
			s.NoRecipient++
			e.log.Error("coaching plan review has nobody to email: the rep's manager and the directors have no email address",
				"plan", p.ID, "rep", p.RepID, "manager", p.ManagerID)
			continue
		}
		c, err := q.PlanReview(ctx, p)
		if err != nil {
			return s, err
		}
		var msgs []*Message
		for _, r := range to {
			msgs = append(msgs, e.planMessage(p, c, r))
		}
		n, err := e.box.enqueue(ctx, now, msgs)
		if err != nil {
			return s, err
		}
		s.Emails += n
		if _, err := q.RecordReview(ctx, p, c, now); err != nil {
			return s, err
		}
		s.Reviewed++
		e.log.Info("coaching plan reviewed", "plan", p.ID, "rep", p.RepID, "verdict", c.Verdict, "to", to[0].Email)
	}
	s.Delivery, err = e.Deliver(ctx, later(now, e.now()))
	return s, err
}

// SchedulePlanReviews runs the review step at start and then every
// evaluate_every (the alert schedule's tick) until ctx ends.
func (e *Engine) SchedulePlanReviews(ctx context.Context, q PlanReviews) error {
	t := time.NewTicker(e.cfg.EvaluateEvery)
	defer t.Stop()
	for {
		s, err := e.ReviewPlans(ctx, q, e.now())
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Error("coaching plan reviews", "err", err)
		case s.Due > 0:
			e.log.Info("coaching plan reviews", "due", s.Due, "reviewed", s.Reviewed, "emails", s.Emails, "sent", s.Delivery.Sent)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// planRecipients is the plan's manager; without an address, the directors.
func planRecipients(p query.Plan, org Org, c *Config) []Recipient {
	person := func(x Person) Recipient {
		lang := x.Lang
		if lang == "" {
			lang = c.Lang
		}
		return Recipient{Email: x.Email, Name: x.Name, Lang: normLang(lang), RepID: x.ID}
	}
	for _, x := range org.Reps {
		if x.ID == p.ManagerID && strings.TrimSpace(x.Email) != "" {
			return []Recipient{person(x)}
		}
	}
	var out []Recipient
	for _, x := range org.Reps {
		if x.Role == "director" && x.Active && strings.TrimSpace(x.Email) != "" {
			out = append(out, person(x))
		}
	}
	for _, m := range c.Directors {
		out = append(out, Recipient{Email: m, Name: m, Lang: normLang(c.Lang)})
	}
	return out
}

var planWords = map[string][2]string{
	"subject":             {"Coaching review", "辅导复盘"},
	"improved":            {"improved", "已改善"},
	"not_yet":             {"not improved yet", "尚未改善"},
	"too_few":             {"too few deals to tell", "商机太少，无法判断"},
	"rep":                 {"Rep", "销售代表"},
	"metric":              {"Metric", "指标"},
	"baseline":            {"Baseline", "基线"},
	"goal":                {"Goal", "目标"},
	"result":              {"Since the plan", "计划以来"},
	"interval":            {"95% interval", "95% 区间"},
	"n":                   {"n", "样本数"},
	"verdict":             {"Verdict", "结论"},
	"goal_met":            {"goal reached", "已达成目标"},
	"actions":             {"Actions agreed", "约定的行动"},
	"next":                {"Next step", "下一步"},
	"scorecard":           {"Scorecard", "记分卡"},
	"review_pack":         {"Review pack", "绩效面谈资料"},
	"per_week":            {"/week", "次/周"},
	"days":                {"days", "天"},
	"conversion":          {"conversion out of %s", "%s阶段转化率"},
	"win_rate":            {"win rate", "赢单率"},
	"deal_size":           {"deal size", "客单价"},
	"cycle_time":          {"cycle time", "成交周期"},
	"days_in_stage":       {"days in %s", "%s阶段停留天数"},
	"activities_per_week": {"activities per week", "每周客户活动"},
}

var planStages = map[string]string{"lead": "线索", "qualified": "需求确认", "proposal": "方案/报价", "negotiation": "谈判"}

func planWord(lang, key string) string {
	i := 0
	if lang == "zh-CN" {
		i = 1
	}
	return planWords[key][i]
}

// PlanMetricName is a plan's metric in lang ("conversion out of qualified",
// "需求确认阶段转化率").
func PlanMetricName(lang, metric, stage string) string {
	w := planWord(lang, metric)
	if w == "" {
		w = metric
	}
	if strings.Contains(w, "%s") {
		st := stage
		if z, ok := planStages[stage]; ok && lang == "zh-CN" {
			st = z
		}
		w = fmt.Sprintf(w, st)
	}
	return w
}

// PlanValue formats a value of a plan's metric in lang.
func PlanValue(lang, metric string, v float64) string {
	switch metric {
	case "conversion", "win_rate":
		return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
	case "deal_size":
		return money(lang, v)
	case "cycle_time", "days_in_stage":
		return strconv.FormatFloat(v, 'f', 1, 64) + " " + planWord(lang, "days")
	case "activities_per_week":
		return strconv.FormatFloat(v, 'f', 1, 64) + planWord(lang, "per_week")
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

type planMail struct {
	Lang, Title, Rep, Metric, Baseline, Goal, Result, Interval, N, Verdict, VerdictClass, Actions, Next string
	Scorecard, Pack                                                                                     string
	W                                                                                                   map[string]string
}

var planHTML = template.Must(template.New("plan").Parse(`<!DOCTYPE html><html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family:sans-serif;color:#1f2933;max-width:640px">
<h2 style="margin:0 0 8px">{{.Title}}</h2>
<p style="font-size:18px;margin:0 0 12px"><b>{{.W.verdict}}:</b> <span class="verdict {{.VerdictClass}}">{{.Verdict}}</span></p>
<table cellpadding="4" style="border-collapse:collapse">
<tr><td>{{.W.rep}}</td><td>{{.Rep}}</td></tr>
<tr><td>{{.W.metric}}</td><td>{{.Metric}}</td></tr>
<tr><td>{{.W.baseline}}</td><td>{{.Baseline}}</td></tr>
<tr><td>{{.W.goal}}</td><td>{{.Goal}}</td></tr>
<tr><td>{{.W.result}}</td><td><b>{{.Result}}</b> ({{.W.interval}} {{.Interval}}, {{.W.n}} {{.N}})</td></tr>
</table>
<p><b>{{.W.actions}}:</b> {{.Actions}}</p>
<p><b>{{.W.next}}:</b> {{.Next}}</p>
<p><a href="{{.Scorecard}}">{{.W.scorecard}}</a> · <a href="{{.Pack}}">{{.W.review_pack}}</a></p>
</body></html>`))

// planMessage renders the review email of plan p for r.
func (e *Engine) planMessage(p query.Plan, c *query.PlanCheck, r Recipient) *Message {
	lang := r.Lang
	name := p.RepName
	if name == "" {
		name = p.RepID
	}
	verdict := planWord(lang, c.Verdict)
	if c.GoalMet && c.Verdict == query.VerdictImproved {
		verdict += " · " + planWord(lang, "goal_met")
	}
	next := c.NextEN
	if lang == "zh-CN" {
		next = c.NextZH
	}
	v := url.Values{"from": {c.From}, "to": {c.To}}
	if lang == "zh-CN" {
		v.Set("lang", "zh-CN")
	}
	m := planMail{Lang: lang, Rep: name + " (" + p.Team + ")", Metric: PlanMetricName(lang, p.Metric, p.Stage),
		Baseline: PlanValue(lang, p.Metric, p.Baseline) + " (" + p.BaselineFrom + " – " + p.BaselineTo + ", " + planWord(lang, "n") + " " + strconv.FormatInt(p.BaselineN, 10) + ")",
		Goal:     PlanValue(lang, p.Metric, p.Goal), Result: PlanValue(lang, p.Metric, c.Value) + " (" + c.From + " – " + c.To + ")",
		Interval: PlanValue(lang, p.Metric, c.Low) + " – " + PlanValue(lang, p.Metric, c.High), N: strconv.FormatInt(c.N, 10),
		Verdict: verdict, VerdictClass: c.Verdict, Actions: p.Actions, Next: next,
		Scorecard: e.links.base + "/reps/" + url.PathEscape(p.RepID) + "?" + v.Encode(),
		Pack:      e.links.base + "/review/" + url.PathEscape(p.RepID) + "?" + v.Encode(), W: map[string]string{}}
	for k := range planWords {
		m.W[k] = planWord(lang, k)
	}
	m.Title = planWord(lang, "subject") + ": " + name + " — " + m.Metric
	var text strings.Builder
	fmt.Fprintf(&text, "%s\n\n%s: %s\n\n", m.Title, m.W["verdict"], m.Verdict)
	for _, row := range [][2]string{{"rep", m.Rep}, {"metric", m.Metric}, {"baseline", m.Baseline}, {"goal", m.Goal},
		{"result", m.Result + ", " + m.W["interval"] + " " + m.Interval + ", " + m.W["n"] + " " + m.N}, {"actions", m.Actions}, {"next", m.Next},
		{"scorecard", m.Scorecard}, {"review_pack", m.Pack}} {
		fmt.Fprintf(&text, "%s: %s\n", m.W[row[0]], row[1])
	}
	var html bytes.Buffer
	if err := planHTML.Execute(&html, m); err != nil {
		// The template is fixed and its data plain strings: the text part stands alone.
		e.log.Error("render coaching review email", "plan", p.ID, "err", err)
		html.Reset()
	}
	sum := sha256.Sum256([]byte("plan|" + p.ID + "|" + p.Review + "|" + strings.ToLower(r.Email)))
	return &Message{ID: hex.EncodeToString(sum[:16]) + "@" + helo(e.from), DedupKey: "plan|" + p.ID + "|" + strings.ToLower(r.Email),
		To: r.Email, ToName: r.Name, Lang: lang, Subject: m.Title + ": " + m.Verdict, Text: text.String(), HTML: html.String(),
		EventIDs: []string{"plan:" + p.ID}}
}
