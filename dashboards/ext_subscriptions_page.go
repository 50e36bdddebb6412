package dashboards

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/query"
)

func init() { addMessages(subscriptionsMessages) }

var subscriptionsMessages = map[string][2]string{
	"nav.subscriptions": {"Subscriptions", "订阅"},
	"sub.title":         {"Email reports", "邮件报告"},
	"sub.mine":          {"My subscriptions", "我的订阅"},
	"sub.all":           {"All subscriptions", "全部订阅"},
	"sub.mine_sub":      {"Each is emailed at its time (business time zone) with the charts, to the address of your user; nothing is sent for a period with nothing closed and nothing created when skip is on.", "按设定时间（业务时区）将含图表的报告发送到您的用户邮箱；开启“无数据不发送”时，没有关闭也没有新建商机的时段不发送。"},
	"sub.none":          {"No subscriptions yet: add one below.", "暂无订阅，请在下方添加。"},
	"sub.add":           {"Subscribe to a report", "订阅报告"},
	"sub.add_sub":       {"The view is the filter of the page you came from (team, rep, territory …); the period is the day, week or month before each send.", "视图为您来源页面的筛选条件（团队、销售、区域等）；时段为每次发送前的一天、一周或一个月。"},
	"sub.remove":        {"Unsubscribe", "取消订阅"},
	"sub.f.kind":        {"Report", "报告"},
	"sub.kind.overview": {"Overview (KPIs and charts)", "概览（指标与图表）"},
	"sub.kind.team":     {"Team report (with each team or rep)", "团队报告（含各团队或销售）"},
	"sub.f.every":       {"Every", "频率"},
	"sub.every.daily":   {"Day", "每天"},
	"sub.every.weekly":  {"Week", "每周"},
	"sub.every.monthly": {"Month", "每月"},
	"sub.f.weekday":     {"Weekday (weekly)", "星期（每周）"},
	"sub.f.day":         {"Day of month (monthly, 1–28)", "日期（每月，1–28）"},
	"sub.f.hour":        {"Hour (0–23)", "小时（0–23）"},
	"sub.f.lang":        {"Language", "语言"},
	"sub.f.filter":      {"View (filter)", "视图（筛选）"},
	"sub.f.skip":        {"Skip if empty", "无数据不发送"},
	"sub.f.id":          {"Subscription", "订阅"},
	"sub.yes":           {"Yes", "是"},
	"sub.no":            {"No", "否"},
	"sub.submit":        {"Subscribe", "订阅"},
	"sub.saved":         {"Subscription saved.", "订阅已保存。"},
	"sub.removed":       {"Subscription removed.", "订阅已取消。"},
	"sub.col.owner":     {"Owner", "所有者"},
	"sub.col.schedule":  {"When", "时间"},
	"sub.col.view":      {"View", "视图"},
	"sub.col.lang":      {"Language", "语言"},
	"sub.col.skip":      {"Skip if empty", "无数据不发送"},
	"sub.col.to":        {"To", "收件人"},
	"sub.col.last":      {"Last report", "最近一次"},
	"sub.last.sent":     {"sent %s (%s – %s)", "已发送 %s（%s – %s）"},
	"sub.last.skipped":  {"skipped %s: nothing closed or created", "%s 未发送：无关闭也无新建商机"},
	"sub.last.other":    {"not sent %s: %s", "%s 未发送：%s"},
	"sub.last.none":     {"not yet", "尚未发送"},
	"sub.all_view":      {"everything you may see", "您可见的全部"},
	"sub.sched.daily":   {"daily at %02d:00", "每天 %02d:00"},
	"sub.sched.weekly":  {"%s at %02d:00", "%s %02d:00"},
	"sub.sched.monthly": {"monthly on day %d at %02d:00", "每月 %d 日 %02d:00"},
	"sub.wd.1":          {"Mondays", "每周一"},
	"sub.wd.2":          {"Tuesdays", "每周二"},
	"sub.wd.3":          {"Wednesdays", "每周三"},
	"sub.wd.4":          {"Thursdays", "每周四"},
	"sub.wd.5":          {"Fridays", "每周五"},
	"sub.wd.6":          {"Saturdays", "每周六"},
	"sub.wd.7":          {"Sundays", "每周日"},
}

// subscriptionsPage lists the user's subscriptions (an admin's: everyone's)
// with a form to add one and one to remove one.
func (p *pages) subscriptionsPage(c echo.Context) error { return p.subscriptionsView(c, "") }

func (p *pages) subscriptionsView(c echo.Context, errMsg string) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	subs, err := p.s.subscriptionsOf(c, r.scope, "")
	if err != nil {
		return err
	}
	v := &view{Title: r.T("sub.title"), Nav: "subscriptions", Notice: errMsg}
	title := r.T("sub.mine")
	if r.scope.Role == query.RoleAdmin {
		title = r.T("sub.all")
	}
	list := &panel{ID: "subscriptions", Title: title, Sub: r.T("sub.mine_sub")}
	if len(subs) == 0 {
		list.Empty = r.T("sub.none")
	} else {
		sends, err := alerts.SubscriptionSends(c.Request().Context(), p.s.opts.DB, "")
		if err != nil {
			return err
		}
		list.Table = subscriptionsTable(r, subs, sends)
	}
	v.Panels = append(v.Panels, list, &panel{ID: "subscribe", Title: r.T("sub.add"), Sub: r.T("sub.add_sub"), Form: subscriptionForm(r)})
	if len(subs) > 0 {
		var opts []formOption
		for _, s := range subs {
			opts = append(opts, formOption{Value: s.ID, Label: subscriptionLabel(r, s)})
		}
		v.Panels = append(v.Panels, &panel{ID: "unsubscribe", Title: r.T("sub.remove"), Form: &form{Method: "post", Action: "/subscriptions/delete", Submit: r.T("sub.remove"),
			Fields: []formField{{Label: r.T("sub.f.id"), Name: "id", Options: opts}}}})
	}
	return p.render(r, v)
}

func subscriptionSchedule(r *request, s alerts.Schedule) string {
	switch s.Every {
	case alerts.EveryWeekly:
		return fmt.Sprintf(r.T("sub.sched.weekly"), r.T("sub.wd."+strconv.Itoa(s.Weekday)), s.Hour)
	case alerts.EveryMonthly:
		return fmt.Sprintf(r.T("sub.sched.monthly"), s.Day, s.Hour)
	}
	return fmt.Sprintf(r.T("sub.sched.daily"), s.Hour)
}

func subscriptionLabel(r *request, s alerts.Subscription) string {
	view := s.Filter
	if view == "" {
		view = r.T("sub.all_view")
	}
	// Short: the select holding it must fit a phone's width.
	return subscriptionSchedule(r, s.Schedule) + " · " + view
}

// lastSend says what happened at a subscription's latest recorded slot.
func lastSend(r *request, sends []alerts.SubscriptionSend, id string) string {
	for _, x := range sends { // the latest slot first
		if x.SubscriptionID != id {
			continue
		}
		at := x.Slot.Format("2006-01-02 15:04")
		switch x.Status {
		case "sent":
			return fmt.Sprintf(r.T("sub.last.sent"), at, x.From, x.To)
		case "skipped":
			return fmt.Sprintf(r.T("sub.last.skipped"), at)
		}
		return fmt.Sprintf(r.T("sub.last.other"), at, x.Status)
	}
	return r.T("sub.last.none")
}

func subscriptionsTable(r *request, subs []alerts.Subscription, sends []alerts.SubscriptionSend) *table {
	t := &table{ID: "subscriptions", Cols: []col{{Label: r.T("sub.f.kind")}, {Label: r.T("sub.col.schedule")}, {Label: r.T("sub.col.view")},
		{Label: r.T("sub.col.lang")}, {Label: r.T("sub.col.skip")}, {Label: r.T("sub.col.to")}, {Label: r.T("sub.col.last")}}}
	admin := r.scope.Role == query.RoleAdmin
	if admin {
		t.Cols = append([]col{{Label: r.T("sub.col.owner")}}, t.Cols...)
	}
	for _, s := range subs {
		view := cell{Text: r.T("sub.all_view"), Link: "/"}
		if s.Filter != "" {
			view = cell{Text: s.Filter, Link: "/?" + s.Filter}
		}
		skip := r.T("sub.no")
		if s.SkipIfEmpty {
			skip = r.T("sub.yes")
		}
		cells := []cell{{Text: r.T("sub.kind." + s.Kind)}, {Text: subscriptionSchedule(r, s.Schedule)}, view, {Text: s.Lang}, {Text: skip}, {Text: strings.Join(s.Recipients, ", ")},
			{Text: lastSend(r, sends, s.ID)}}
		if admin {
			cells = append([]cell{{Text: s.Owner}}, cells...)
		}
		t.Rows = append(t.Rows, row{Cells: cells})
	}
	return t
}

// subscriptionForm offers the page's filter (the menu link carries it) as the
// report's view.
func subscriptionForm(r *request) *form {
	opt := func(prefix string, vals []string, sel string) []formOption {
		var out []formOption
		for _, v := range vals {
			out = append(out, formOption{Value: v, Label: r.T(prefix + v), Selected: v == sel})
		}
		return out
	}
	var wd []formOption
	for i := 1; i <= 7; i++ {
		wd = append(wd, formOption{Value: strconv.Itoa(i), Label: r.T("sub.wd." + strconv.Itoa(i)), Selected: i == 1})
	}
	keep := url.Values{}
	for k, vs := range r.q {
		if k != "from" && k != "to" && k != "preset" && k != "lang" && k != "notice" {
			keep[k] = vs
		}
	}
	return &form{Method: "post", Action: "/subscriptions", Submit: r.T("sub.submit"), Fields: []formField{
		{Label: r.T("sub.f.kind"), Name: "kind", Options: opt("sub.kind.", []string{alerts.KindOverview, alerts.KindTeam}, alerts.KindOverview)},
		{Label: r.T("sub.f.every"), Name: "every", Options: opt("sub.every.", []string{alerts.EveryWeekly, alerts.EveryDaily, alerts.EveryMonthly}, alerts.EveryWeekly)},
		{Label: r.T("sub.f.weekday"), Name: "weekday", Options: wd},
		{Label: r.T("sub.f.day"), Name: "day", Type: "number", Value: "1"},
		{Label: r.T("sub.f.hour"), Name: "hour", Type: "number", Value: "8"},
		{Label: r.T("sub.f.lang"), Name: "lang", Options: []formOption{{Value: "en", Label: "English", Selected: r.lang != "zh-CN"}, {Value: "zh-CN", Label: "中文", Selected: r.lang == "zh-CN"}}},
		{Label: r.T("sub.f.filter"), Name: "filter", Type: "text", Value: keep.Encode()},
		{Label: r.T("sub.f.skip"), Name: "skip_if_empty", Options: []formOption{{Value: "1", Label: r.T("sub.yes"), Selected: true}, {Value: "0", Label: r.T("sub.no")}}},
	}}
}

// subscriptionsSave stores the form's subscription; a mistake shows the page
// again with the field named.
func (p *pages) subscriptionsSave(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	num := func(name string) (int, error) {
		s := strings.TrimSpace(c.FormValue(name))
		if s == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, errors.New("schedule." + name + ": " + strconv.Quote(s) + " is not a whole number")
		}
		return n, nil
	}
	skip := c.FormValue("skip_if_empty") != "0"
	in := subscriptionInput{Kind: c.FormValue("kind"), Filter: c.FormValue("filter"), Lang: c.FormValue("lang"), SkipIfEmpty: &skip}
	in.Schedule.Every = c.FormValue("every")
	var errs []error
	for _, f := range []struct {
		name string
		dst  *int
	}{{"hour", &in.Schedule.Hour}, {"weekday", &in.Schedule.Weekday}, {"day", &in.Schedule.Day}} {
		n, err := num(f.name)
		errs = append(errs, err)
		*f.dst = n
	}
	// The form sends every field; the schedule keeps those of its kind.
	switch in.Schedule.Every {
	case alerts.EveryDaily:
		in.Schedule.Weekday, in.Schedule.Day = 0, 0
	case alerts.EveryWeekly:
		in.Schedule.Day = 0
	case alerts.EveryMonthly:
		in.Schedule.Weekday = 0
	}
	if err := errors.Join(errs...); err != nil {
		return p.subscriptionsView(c, err.Error())
	}
	if _, err := p.s.saveSubscription(c, p.svc, r.scope, in); err != nil {
		var he *echo.HTTPError
		if errors.As(subscriptionError(err), &he) && he.Code < 500 {
			return p.subscriptionsView(c, strings.TrimPrefix(he.Message.(string), alerts.ErrBadSubscription.Error()+": "))
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/subscriptions?notice=sub.saved")
}

func (p *pages) subscriptionsRemove(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	if err := p.s.removeSubscription(c, r.scope, c.FormValue("id")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/subscriptions?notice=sub.removed")
}

// openAPISubscriptions adds the subscriptions' schemas and paths.
func openAPISubscriptions(schemas, paths obj) {
	errResp := jsonResp("error", "Error")
	with := func(code string, r obj) obj {
		out := obj{code: r}
		for _, k := range []string{"400", "401", "403", "404"} {
			out[k] = errResp
		}
		return out
	}
	schedule := props([]string{"every", "hour"}, obj{"every": enum(alerts.EveryDaily, alerts.EveryWeekly, alerts.EveryMonthly),
		"weekday": obj{"type": "integer", "description": "weekly: 1 Monday .. 7 Sunday"},
		"day":     obj{"type": "integer", "description": "monthly: 1..28"},
		"hour":    obj{"type": "integer", "description": "0..23, business time zone"}})
	input := obj{"owner": obj{"type": "string", "description": "admins: the user whose subscription it is (default: the caller)"},
		"kind":     enum(alerts.KindOverview, alerts.KindTeam),
		"filter":   obj{"type": "string", "description": "the page URL's query (team, manager, rep, territory, product, source, segment); from, to and preset are dropped: the period is the day, week or month before each send"},
		"schedule": ref("SubscriptionSchedule"), "lang": enum("en", "zh-CN"),
		"skip_if_empty": obj{"type": "boolean", "description": "no email for a period with nothing closed and nothing created (default true)"}}
	sub := obj{"id": str, "recipients": arr(str), "created_at": obj{"type": "string", "format": "date-time"}, "updated_at": obj{"type": "string", "format": "date-time"}}
	for k, v := range input {
		sub[k] = v
	}
	schemas["SubscriptionSchedule"] = schedule
	schemas["SubscriptionInput"] = props([]string{"schedule"}, input)
	schemas["Subscription"] = props([]string{"id", "owner", "kind", "schedule", "lang"}, sub)
	schemas["Subscriptions"] = props([]string{"subscriptions"}, obj{"subscriptions": arr(ref("Subscription"))})
	paths["/subscriptions"] = obj{
		"get": obj{"summary": "Email report subscriptions", "description": "The caller's; an admin's: everyone's (narrowed by ?owner=).",
			"parameters": []any{obj{"name": "owner", "in": "query", "schema": str, "description": "admins: one user's"}}, "responses": with("200", jsonResp("OK", "Subscriptions"))},
		"post": obj{"summary": "Subscribe to an email report", "description": "For the caller (a user of the users config, whose email receives it); admins for any user. Unknown fields and bad values are a 400 naming the field.",
			"requestBody": obj{"required": true, "content": obj{"application/json": obj{"schema": ref("SubscriptionInput")}}}, "responses": with("201", jsonResp("Created", "Subscription"))},
	}
	paths["/subscriptions/{id}"] = obj{"delete": obj{"summary": "Unsubscribe", "description": "The owner or an admin.",
		"parameters": []any{obj{"name": "id", "in": "path", "required": true, "schema": str}}, "responses": with("204", obj{"description": "Deleted"})}}
}
