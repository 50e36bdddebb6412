package alerts

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/clustertest"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

func TestSubscriptionSchedule(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2026, 3, 11, 7, 30, 0, 0, sh) // a Wednesday
	for _, c := range []struct {
		sc         Schedule
		slot, from string
	}{
		{Schedule{Every: EveryWeekly, Weekday: 1, Hour: 8}, "2026-03-09 08:00", "2026-03-02"},
		{Schedule{Every: EveryWeekly, Weekday: 3, Hour: 8}, "2026-03-04 08:00", "2026-02-25"}, // today's 08:00 is still ahead
		{Schedule{Every: EveryWeekly, Weekday: 7, Hour: 20}, "2026-03-08 20:00", "2026-03-01"},
		{Schedule{Every: EveryDaily, Hour: 7}, "2026-03-11 07:00", "2026-03-10"},
		{Schedule{Every: EveryDaily, Hour: 9}, "2026-03-10 09:00", "2026-03-09"},
		{Schedule{Every: EveryMonthly, Day: 1, Hour: 6}, "2026-03-01 06:00", "2026-02-01"},
		{Schedule{Every: EveryMonthly, Day: 15, Hour: 6}, "2026-02-15 06:00", "2026-01-15"},
	} {
		slot := c.sc.lastSlot(now, sh)
		from, to := c.sc.period(slot)
		if got := slot.Format("2006-01-02 15:04"); got != c.slot || from.Format(time.DateOnly) != c.from || to.Format(time.DateOnly) != c.slot[:10] {
			t.Errorf("%+v at %s: slot %s, period %s..%s; want slot %s from %s", c.sc, now, got, from.Format(time.DateOnly), to.Format(time.DateOnly), c.slot, c.from)
		}
	}
}

func TestSubscriptionValidation(t *testing.T) {
	u := config.User{Username: "d", Role: "director", Email: "d@example.com", Lang: "zh-CN"}
	for _, c := range []struct {
		s     Subscription
		field string
	}{
		{Subscription{Kind: "daily-digest", Schedule: Schedule{Every: EveryDaily}}, "kind"},
		{Subscription{Schedule: Schedule{Every: "hourly"}}, "schedule.every"},
		{Subscription{Schedule: Schedule{Every: EveryWeekly, Weekday: 8}}, "schedule.weekday"},
		{Subscription{Schedule: Schedule{Every: EveryMonthly, Day: 31}}, "schedule.day"},
		{Subscription{Schedule: Schedule{Every: EveryDaily, Hour: 24}}, "schedule.hour"},
		{Subscription{Schedule: Schedule{Every: EveryDaily}, Lang: "fr"}, "lang"},
		{Subscription{Schedule: Schedule{Every: EveryDaily}, Filter: "team=A&colour=red"}, "filter.colour"},
	} {
		err := c.s.Normalize(u)
		if !errors.Is(err, ErrBadSubscription) || !strings.Contains(err.Error(), c.field+":") {
			t.Errorf("%+v: %v, want a bad subscription naming %s", c.s, err, c.field)
		}
	}
	s := Subscription{Schedule: Schedule{Every: EveryWeekly, Weekday: 1, Hour: 8}, Filter: "?from=2026-01-01&team=A&preset=ytd"}
	if err := s.Normalize(u); err != nil || s.Filter != "team=A" || s.Lang != "zh-CN" || s.Kind != KindOverview || s.Recipients[0] != u.Email {
		t.Errorf("normalized %+v, %v: want filter team=A, the owner's language and email, kind overview", s, err)
	}
	if err := (&Subscription{Schedule: Schedule{Every: EveryDaily}}).Normalize(config.User{Username: "x"}); err == nil {
		t.Error("an owner without an email address was accepted")
	}
}

// TestSubscriptionsMaildev: over the generated sample, a director's weekly
// report in zh-CN arrives once at its slot (maildev, real SMTP) with the KPI
// numbers query.Service gives for the whole company and that week, three inline
// PNG charts and a link with the saved filter; running again (and from a
// second engine, as a second server would) sends nothing more; a subscription
// whose filter matches nothing is skipped and recorded as such; a manager's
// team report carries the team's numbers and only the team's reps.
func TestSubscriptionsMaildev(t *testing.T) {
	bin := maildevBin(t)
	db := schemastest.Open(t)
	truth := loadGen(t, db, gen.Config{Seed: 7, Opportunities: 2000})
	ctx := context.Background()
	md := startMaildev(t, bin, freePort(t), freePort(t))
	q := query.New(db, time.UTC, quietLog())
	org, err := NewClickHouseSource(db, time.UTC).Org(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mgr Person
	for _, p := range org.Reps {
		if p.Role == "manager" && p.Active && p.Team != "" && mgr.ID == "" {
			mgr = p
		}
	}
	if mgr.ID == "" {
		t.Fatal("the sample has no manager")
	}
	users := []config.User{
		{Username: "director", Name: "王总", Role: "director", Email: "director@example.com", Lang: "zh-CN"},
		{Username: "manager1", Name: mgr.Name, Role: "manager", Team: mgr.Team, Email: "manager1@example.com", Lang: "en"},
	}
	cfg := config.Default()
	cfg.Server.BaseURL = "https://pipelens.example.com"
	cfg.SMTP = config.SMTP{Host: "127.0.0.1", Port: md.smtpPort, From: "pipelens@example.com", TLS: "none"}
	engine := func() *SubscriptionRunner {
		e, err := New(Options{DB: db, Config: cfg, Rules: &Config{}, Logger: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		return e.Subscriptions(q, users)
	}
	// The last Monday 08:00 before the export date: its week is all data.
	asOf := mustDate(t, truth.AsOf)
	weekly := Schedule{Every: EveryWeekly, Weekday: 1, Hour: 8}
	slot := weekly.lastSlot(asOf, time.UTC)
	created := slot.AddDate(0, 0, -30)
	subs := []*Subscription{
		{Kind: KindOverview, Schedule: weekly, Lang: "zh-CN", SkipIfEmpty: true, Filter: "preset=ytd"},
		{Kind: KindOverview, Schedule: weekly, Lang: "zh-CN", SkipIfEmpty: true, Filter: "territory=Atlantis"},
		{Kind: KindTeam, Schedule: weekly, Lang: "en", SkipIfEmpty: true},
	}
	owners := []config.User{users[0], users[0], users[1]}
	for i, s := range subs {
		if err := s.Normalize(owners[i]); err != nil {
			t.Fatal(err)
		}
		s.CreatedAt = created
		if err := SaveSubscription(ctx, db, s, created); err != nil {
			t.Fatal(err)
		}
	}
	r := engine()
	// Half an hour after the slot: all three are due.
	sum, err := r.RunOnce(ctx, slot.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run: %s", sum)
	if sum.Due != 3 || sum.Sent != 2 || sum.Skipped != 1 || sum.Failed != 0 || sum.Delivery.Sent != 2 {
		t.Fatalf("first run at the slot: %s; want 3 due, 2 queued and sent, 1 skipped", sum)
	}
	for i, again := range []*SubscriptionRunner{r, engine()} {
		s2, err := again.RunOnce(ctx, slot.Add(time.Duration(i+1)*time.Hour))
		if err != nil || s2.Due != 0 || s2.Sent != 0 || s2.Delivery.Sent != 0 {
			t.Fatalf("run %d again in the same slot: %s, %v; want nothing due and nothing sent", i+2, s2, err)
		}
	}
	sends, err := SubscriptionSends(ctx, db, subs[1].ID)
	if err != nil || len(sends) != 1 || sends[0].Status != "skipped" {
		t.Fatalf("the empty subscription's sends: %+v, %v; want one skipped slot", sends, err)
	}
	ms, err := md.emails()
	if err != nil {
		t.Fatal(err)
	}
	byTo := map[string][]devMail{}
	for _, m := range ms {
		for _, to := range m.To {
			byTo[to.Address] = append(byTo[to.Address], m)
		}
	}
	if len(ms) != 2 || len(byTo["director@example.com"]) != 1 || len(byTo["manager1@example.com"]) != 1 {
		t.Fatalf("%d emails (director %d, manager %d); want one each", len(ms), len(byTo["director@example.com"]), len(byTo["manager1@example.com"]))
	}
	from, to := weekly.period(slot)
	f := query.Filter{From: from, To: to}
	dir := byTo["director@example.com"][0]
	if !strings.Contains(dir.Subject, "周报") {
		t.Errorf("director's subject %q is not a zh-CN weekly report", dir.Subject)
	}
	checkReportNumbers(t, q, query.Scope{Name: "director", Role: "director"}, f, "zh-CN", dir)
	checkInlinePNGs(t, md, dir, 3)
	if !strings.Contains(dir.HTML, "https://pipelens.example.com/?from="+from.Format(time.DateOnly)) {
		t.Errorf("no link to the overview over the week in the director's email")
	}
	man := byTo["manager1@example.com"][0]
	team := query.Scope{Name: "manager1", Role: "manager", Team: mgr.Team}
	checkReportNumbers(t, q, team, f, "en", man)
	checkInlinePNGs(t, md, man, 3)
	all, err := q.Coverage(ctx, query.Unrestricted, f)
	if err != nil {
		t.Fatal(err)
	}
	if tc, _ := q.Coverage(ctx, team, f); tc.Won != all.Won && strings.Contains(man.Text, "Bookings: "+money("en", all.Won)) {
		t.Errorf("the manager's report shows the company's bookings %s", money("en", all.Won))
	}
	reps, err := q.WinRate(ctx, team, f, "rep")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range org.Reps {
		if p.Role == "rep" && p.Team != mgr.Team && p.Name != "" && strings.Contains(man.Text, p.Name+" |") {
			t.Errorf("the manager's team report lists %s of team %s", p.Name, p.Team)
		}
	}
	for _, g := range reps.Groups {
		if !strings.Contains(man.Text, g.Name+" | "+money("en", g.WonAmount)) {
			t.Errorf("the team table has no row %q with bookings %s:\n%s", g.Name, money("en", g.WonAmount), man.Text)
		}
	}
}

// checkReportNumbers asserts the email's KPI lines are query.Service's values
// for sc over f, formatted as the report formats them.
func checkReportNumbers(t *testing.T, q *query.Service, sc query.Scope, f query.Filter, lang string, m devMail) {
	t.Helper()
	ctx := context.Background()
	cov, err := q.Coverage(ctx, sc, f)
	if err != nil {
		t.Fatal(err)
	}
	wr, err := q.WinRate(ctx, sc, f, "")
	if err != nil {
		t.Fatal(err)
	}
	cyc, err := q.CycleTime(ctx, sc, f, "")
	if err != nil {
		t.Fatal(err)
	}
	fn, err := q.Funnel(ctx, sc, f)
	if err != nil {
		t.Fatal(err)
	}
	if wr.Total.Won+wr.Total.Lost == 0 || cov.Won == 0 {
		t.Fatalf("%s: nothing closed in %s..%s; the test needs a week with deals", sc.Name, f.From, f.To)
	}
	want := []string{
		sw(lang, "bookings") + ": " + money(lang, cov.Won),
		sw(lang, "winrate") + ": " + pct1(wr.Total.WinRate),
		sw(lang, "cycle") + ": " + sw(lang, "days", strconv.FormatFloat(cyc.Total.Median, 'f', 1, 64)),
		sw(lang, "created") + ": " + num(fn.Cohort),
	}
	if cov.Target > 0 {
		want = append(want, pct1(cov.Won/cov.Target))
	}
	if cov.Status == "ok" {
		want = append(want, sw(lang, "coverage")+": "+strconv.FormatFloat(*cov.Coverage, 'f', 1, 64)+"×")
	}
	for _, w := range want {
		if !strings.Contains(m.Text, w) {
			t.Errorf("%s's report has no %q:\n%s", sc.Name, w, m.Text)
		}
	}
	t.Logf("%s: bookings %.0f (target %.0f), win rate %.3f (%d/%d), cycle %.1f, created %d", sc.Name, cov.Won, cov.Target, wr.Total.WinRate, wr.Total.Won, wr.Total.Won+wr.Total.Lost, cyc.Total.Median, fn.Cohort)
}

func checkInlinePNGs(t *testing.T, md *maildev, m devMail, n int) {
	t.Helper()
	raw, err := md.source(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw = strings.ReplaceAll(raw, "=\r\n", "")
	var got int
	for _, a := range m.Attachments {
		cid := strings.Trim(a.ContentID, "<>")
		if a.ContentType == "image/png" && cid != "" && strings.Contains(raw, "cid:"+cid) {
			got++
		}
	}
	if got != n || !strings.Contains(raw, "Content-Disposition: inline") {
		t.Errorf("%d inline PNG charts referenced from the HTML, want %d (attachments %+v)", got, n, m.Attachments)
	}
}

// TestSubscriptionsOnACluster: migration 0015 runs on a cluster (two shards
// of two replicas); a subscription saved there is listed right away, whichever
// replica answers, its changes and deletion too, and a recorded slot is seen
// as recorded (what keeps two servers from sending it twice).
func TestSubscriptionsOnACluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := clustertest.StartCluster(t)
	db := clustertest.OpenMigrated(t, ctx, c.Config)
	u := config.User{Username: "director", Role: "director", Email: "d@example.com"}
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var ids []string
	for i := 0; i < 6; i++ { // several ids: both shards hold some
		s := &Subscription{Schedule: Schedule{Every: EveryDaily, Hour: i}}
		if err := s.Normalize(u); err != nil {
			t.Fatal(err)
		}
		if err := SaveSubscription(ctx, db, s, now); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
		got, err := ListSubscriptions(ctx, db, "director")
		if err != nil || len(got) != i+1 {
			t.Fatalf("after saving %d subscriptions the list has %d (%v)", i+1, len(got), err)
		}
	}
	got, _ := ListSubscriptions(ctx, db, "")
	s := got[0]
	s.Schedule.Hour = 23
	if err := SaveSubscription(ctx, db, &s, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := DeleteSubscription(ctx, db, &got[1], now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := ListSubscriptions(ctx, db, "director")
	if err != nil || len(got) != 5 {
		t.Fatalf("after one deletion: %d subscriptions (%v), want 5", len(got), err)
	}
	for _, x := range got {
		if x.ID == s.ID && x.Schedule.Hour != 23 {
			t.Errorf("the changed subscription reads hour %d, want 23", x.Schedule.Hour)
		}
	}
	slot := now.Truncate(time.Hour)
	for _, id := range ids {
		if err := recordSend(ctx, db, SubscriptionSend{SubscriptionID: id, Slot: slot, Status: "skipped", RecordedAt: now, From: "2026-11-01", To: "2026-11-02"}); err != nil {
			t.Fatal(err)
		}
		if ok, err := slotRecorded(ctx, db, id, slot); !ok || err != nil {
			t.Errorf("slot of %s not seen as recorded right after recording it: %v %v", id, ok, err)
		}
		if ok, _ := slotRecorded(ctx, db, id, slot.Add(time.Hour)); ok {
			t.Errorf("the next slot of %s is seen as recorded", id)
		}
	}
	if sends, err := SubscriptionSends(ctx, db, ""); err != nil || len(sends) != len(ids) {
		t.Errorf("%d sends listed (%v), want %d", len(sends), err, len(ids))
	}
}
