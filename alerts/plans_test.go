package alerts

import (
	"context"
	"mime"
	"mime/multipart"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestPlanReviewEmailsTheManager: a plan on the generated sample's weak rep,
// recorded 120 days before the export and due 30 days before it, is reviewed
// once by the review step; its manager receives one email (SMTP, in-process
// server) whose verdict is the recorded one, and a second run sends nothing.
func TestPlanReviewEmailsTheManager(t *testing.T) {
	db := schemastest.Open(t)
	truth := loadGen(t, db, gen.Config{Seed: 7, Opportunities: 2000})
	if truth.WeakRep == nil {
		t.Fatal("the sample has no weak rep")
	}
	ctx := context.Background()
	q := query.New(db, time.UTC, quietLog())
	asOf := mustDate(t, truth.AsOf)
	recorded := asOf.AddDate(0, 0, -120).Add(9 * time.Hour)
	review := asOf.AddDate(0, 0, -30)
	w := truth.WeakRep
	base, err := q.Rep(ctx, query.Unrestricted, query.Filter{From: mustDate(t, truth.From), To: recorded.Truncate(24 * time.Hour), Team: []string{w.Team}}, w.RepID)
	if err != nil {
		t.Fatal(err)
	}
	var conv query.MetricScore
	for _, m := range base.Metrics {
		if m.Metric == "conversion" && m.Stage == w.FromStage {
			conv = m
		}
	}
	p, err := q.CreatePlan(ctx, query.Unrestricted, query.PlanInput{RepID: w.RepID, Metric: "conversion", Stage: w.FromStage,
		Goal: conv.Value + 0.1, Actions: "Review every proposal with the manager before it goes out.", Review: review.Format(time.DateOnly),
		BaselineFrom: truth.From, BaselineTo: recorded.Format(time.DateOnly)}, recorded)
	if err != nil {
		t.Fatal(err)
	}
	org, err := NewClickHouseSource(db, time.UTC).Org(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mgr Person
	for _, x := range org.Reps {
		if x.ID == p.ManagerID {
			mgr = x
		}
	}
	if mgr.Email == "" {
		t.Fatalf("the weak rep's manager %q has no email in the sample", p.ManagerID)
	}
	ms := startMailServer(t)
	cfg := config.Default()
	cfg.SMTP = smtpConfig(ms.addr)
	cfg.Server.BaseURL = "https://pipelens.example.com"
	e, err := New(Options{DB: db, Config: cfg, Logger: quietLog(), Now: func() time.Time { return review.Add(8 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	// The day before the review date nothing is due.
	if s, err := e.ReviewPlans(ctx, q, review.Add(-time.Hour)); err != nil || s.Due != 0 {
		t.Fatalf("before the review date: %+v %v", s, err)
	}
	s, err := e.ReviewPlans(ctx, q, review.Add(8*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if s.Due != 1 || s.Reviewed != 1 || s.Emails != 1 || s.Delivery.Sent != 1 {
		t.Fatalf("review step: %+v, want one plan reviewed and one email sent", s)
	}
	stored, err := q.Plans(ctx, query.Unrestricted, w.RepID, query.PlanReviewed)
	if err != nil || len(stored) != 1 || stored[0].Result == nil {
		t.Fatalf("the plan is not recorded as reviewed: %v %+v", err, stored)
	}
	got := ms.received()
	if len(got) != 1 || len(got[0].to) != 1 || !strings.EqualFold(got[0].to[0], mgr.Email) {
		t.Fatalf("the email went to %v, want the manager %s", got, mgr.Email)
	}
	lang := normLang(mgr.Lang)
	subject, body := planDecodeMail(t, got[0].data)
	verdict := planWord(lang, stored[0].Result.Verdict)
	t.Logf("%s (%+v)", subject, *stored[0].Result)
	if !strings.Contains(subject, verdict) || !strings.Contains(body, verdict) {
		t.Errorf("the email does not say the recorded verdict %q: %s\n%s", verdict, subject, body)
	}
	for _, want := range []string{PlanValue(lang, "conversion", stored[0].Result.Low), "/reps/" + w.RepID, "/review/" + w.RepID, "Review every proposal"} {
		if !strings.Contains(body, want) {
			t.Errorf("the email lacks %q:\n%s", want, body)
		}
	}
	// Once only.
	s, err = e.ReviewPlans(ctx, q, review.Add(9*time.Hour))
	if err != nil || s.Due != 0 || len(ms.received()) != 1 {
		t.Errorf("a second run: %+v %v, %d emails", s, err, len(ms.received()))
	}
}

// decodeMail returns a message's subject and its text part, decoded.
func planDecodeMail(t *testing.T, raw []byte) (string, string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var walk func(r *multipart.Reader)
	walk = func(r *multipart.Reader) {
		for {
			part, err := r.NextPart()
			if err != nil {
				return
			}
			ct, ps, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
			if strings.HasPrefix(ct, "multipart/") {
				walk(multipart.NewReader(part, ps["boundary"]))
				continue
			}
			if ct == "text/plain" {
				b := new(strings.Builder)
				buf := make([]byte, 4096)
				for {
					n, err := part.Read(buf)
					b.Write(buf[:n])
					if err != nil {
						break
					}
				}
				text.WriteString(b.String())
			}
		}
	}
	if b := params["boundary"]; b != "" {
		walk(multipart.NewReader(m.Body, b))
	}
	return subject, text.String()
}

// TestPlanReviewTooFewDeals: a plan reviewed two days after it was recorded has
// almost no deals behind it; the manager's email says there are too few deals
// to tell, with the count (n) and the interval, and not improved or not yet.
func TestPlanReviewTooFewDeals(t *testing.T) {
	db := schemastest.Open(t)
	truth := loadGen(t, db, gen.Config{Seed: 7, Opportunities: 2000})
	ctx := context.Background()
	q := query.New(db, time.UTC, quietLog())
	asOf := mustDate(t, truth.AsOf)
	org, err := NewClickHouseSource(db, time.UTC).Org(ctx)
	if err != nil {
		t.Fatal(err)
	}
	emails := map[string]Person{}
	for _, x := range org.Reps {
		emails[x.ID] = x
	}
	var rep Person
	for _, x := range org.Reps {
		if x.Role == "rep" && emails[x.ManagerID].Email != "" {
			rep = x
			break
		}
	}
	if rep.ID == "" {
		t.Fatal("no rep with a manager who has an email")
	}
	recorded := asOf.AddDate(0, 0, -3).Add(9 * time.Hour)
	review := asOf.AddDate(0, 0, -1)
	p, err := q.CreatePlan(ctx, query.Unrestricted, query.PlanInput{RepID: rep.ID, Metric: "win_rate", Goal: 0.5,
		Actions: "Qualify out early.", Review: review.Format(time.DateOnly), BaselineFrom: truth.From, BaselineTo: recorded.Format(time.DateOnly)}, recorded)
	if err != nil {
		t.Fatal(err)
	}
	ms := startMailServer(t)
	cfg := config.Default()
	cfg.SMTP = smtpConfig(ms.addr)
	cfg.Server.BaseURL = "https://pipelens.example.com"
	e, err := New(Options{DB: db, Config: cfg, Logger: quietLog(), Now: func() time.Time { return review.Add(8 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.ReviewPlans(ctx, q, review.Add(8*time.Hour))
	if err != nil || s.Reviewed != 1 || s.Delivery.Sent != 1 {
		t.Fatalf("review step: %+v %v; want one plan reviewed, one email", s, err)
	}
	stored, err := q.Plans(ctx, query.Unrestricted, rep.ID, query.PlanReviewed)
	if err != nil || len(stored) != 1 || stored[0].Result == nil || stored[0].Result.Verdict != query.VerdictTooFew {
		t.Fatalf("plan %s after review: %+v %v; want too few deals to tell", p.ID, stored, err)
	}
	mgr := emails[rep.ManagerID]
	lang := normLang(mgr.Lang)
	subject, body := planDecodeMail(t, ms.received()[0].data)
	r := stored[0].Result
	for _, want := range []string{planWord(lang, query.VerdictTooFew), planWord(lang, "n") + " " + strconv.FormatInt(r.N, 10),
		PlanValue(lang, "win_rate", r.Low) + " – " + PlanValue(lang, "win_rate", r.High)} {
		if !strings.Contains(body, want) {
			t.Errorf("the email lacks %q:\n%s\n%s", want, subject, body)
		}
	}
	for _, not := range []string{planWord(lang, query.VerdictImproved), planWord(lang, query.VerdictNotYet)} {
		if strings.Contains(subject, not) {
			t.Errorf("the subject says %q for too few deals: %s", not, subject)
		}
	}
}
