package alerts

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestCRMNamesAndSubjectsAreDeliveredWithoutHeaderInjection sends, through the
// real outbox and a real SMTP server, emails whose recipient name and subject
// hold what a CRM export can hold: newlines (with a header after them), quotes,
// control characters, Chinese and accents. Each email must arrive (a manager
// whose CRM name has a stray newline used to lose every alert, refused with
// "failed to parse mail address"), to its one recipient, with a To header
// naming that recipient on one line and no header injected.
func TestCRMNamesAndSubjectsAreDeliveredWithoutHeaderInjection(t *testing.T) {
	db := schemastest.Open(t)
	ms := startMailServer(t)
	s, err := NewSMTPSender(smtpConfig(ms.addr))
	if err != nil {
		t.Fatal(err)
	}
	box := &outbox{db: db, log: quietLog(), maxBackoff: time.Hour}
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	long := strings.Repeat("名", 300)
	cases := []struct {
		name, subject         string
		wantName, wantSubject string
	}{
		{"王经理\nBcc: attacker@evil.example", "【pipelens】华东一组\r\nBcc: attacker@evil.example 新建商机 下降 80%",
			"王经理 Bcc: attacker@evil.example", "【pipelens】华东一组 Bcc: attacker@evil.example 新建商机 下降 80%"},
		{"Anna\r\nX-Injected: yes", "[pipelens] Team A\nX-Injected: yes",
			"Anna X-Injected: yes", "[pipelens] Team A X-Injected: yes"},
		{`Li "The Boss" Wang, Jr. <boss@evil.example>`, `[pipelens] "quoted" <team>`,
			`Li "The Boss" Wang, Jr. <boss@evil.example>`, `[pipelens] "quoted" <team>`},
		{"Zoë\x00\x07 Müller\t\u2028(Vertrieb)\u202e", "[pipelens] Zoë\x1b[31m Müller",
			"Zoë Müller (Vertrieb)", "[pipelens] Zoë [31m Müller"},
		{" \r\n ", "[pipelens]\r\n", "", "[pipelens]"},
		{long, "[pipelens] " + long, strings.Repeat("名", maxHeaderText), "[pipelens] " + strings.Repeat("名", maxHeaderText-len("[pipelens] "))},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%d", i), func(t *testing.T) {
			to := fmt.Sprintf("mgr%d@example.com", i)
			m := testMessage(fmt.Sprintf("hdr%d", i), to)
			m.ToName, m.Subject = tc.name, tc.subject
			before := len(ms.received())
			if _, err := box.enqueue(ctx, now, []*Message{m}); err != nil {
				t.Fatal(err)
			}
			sum, err := box.deliver(ctx, s, now)
			if err != nil || sum.Sent != 1 || sum.Failed != 0 {
				t.Fatalf("recipient name %q: %+v, %v (failed: %s); want the email sent", tc.name, sum, err, failures(t, db))
			}
			got := ms.received()
			if len(got) != before+1 {
				t.Fatalf("%d emails arrived, want 1", len(got)-before)
			}
			r := got[len(got)-1]
			if len(r.to) != 1 || !strings.EqualFold(r.to[0], to) {
				t.Errorf("envelope recipients %v: want only %s", r.to, to)
			}
			msg, err := netmail.ReadMessage(bytes.NewReader(r.data))
			if err != nil {
				t.Fatalf("the email that arrived does not parse: %v\n%s", err, r.data)
			}
			for _, h := range []string{"Bcc", "Cc", "X-Injected"} {
				if v, ok := msg.Header[h]; ok {
					t.Errorf("header %s: %v injected from CRM text", h, v)
				}
			}
			if n := len(msg.Header["To"]); n != 1 {
				t.Fatalf("%d To headers, want 1", n)
			}
			addrs, err := msg.Header.AddressList("To")
			if err != nil || len(addrs) != 1 {
				t.Fatalf("To header %q: %v, %v; want one address", msg.Header.Get("To"), addrs, err)
			}
			if addrs[0].Address != to || addrs[0].Name != tc.wantName {
				t.Errorf("To header %q reads as name %q address %q; want name %q address %q", msg.Header.Get("To"), addrs[0].Name, addrs[0].Address, tc.wantName, to)
			}
			subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil {
				t.Fatalf("Subject %q: %v", msg.Header.Get("Subject"), err)
			}
			// Folding puts line breaks between words; unfolded, the subject is the
			// cleaned CRM text.
			if subj = strings.Join(strings.Fields(subj), " "); subj != tc.wantSubject {
				t.Errorf("Subject reads %q, want %q", subj, tc.wantSubject)
			}
			for _, h := range []string{"To", "Subject"} {
				if v := msg.Header.Get(h); strings.ContainsAny(v, "\r\n\x00") {
					t.Errorf("raw %s header %q holds a control character", h, v)
				}
			}
		})
	}
}

// TestEngineEmailsManagerWhoseCRMNameHasNewline runs the engine on an org
// whose managers' names came out of the CRM with line breaks and quotes: their
// alerts must reach them.
func TestEngineEmailsManagerWhoseCRMNameHasNewline(t *testing.T) {
	db := schemastest.Open(t)
	ms := startMailServer(t)
	org := testOrg()
	for i := range org.Reps {
		switch org.Reps[i].ID {
		case "MA":
			org.Reps[i].Name = "Anna\r\nWeber \"Sales\"\nBcc: x@evil.example"
		case "D1":
			org.Reps[i].Name = "王总\n"
		}
	}
	day := func(n int) time.Time { return time.Date(2026, 11, n, 0, 0, 0, 0, time.UTC) }
	bad := map[time.Time]bool{day(17): true, day(18): true}
	c := config.Default()
	c.Server.BaseURL = "https://pipelens.example.com"
	c.SMTP = smtpConfig(ms.addr)
	rules := &Config{Rules: []Rule{{Name: "opened", Metric: MetricOppsOpened, Segments: []string{SegAll, SegTeam}, Detector: "seasonal", Direction: "down"}}}
	e, err := New(Options{DB: db, Config: c, Rules: rules, Source: staticSource{org: org, bad: func(d time.Time) bool { return bad[d] }}, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	e.box.settle = 0
	now := day(18).Add(8 * time.Hour)
	e.now = func() time.Time { return now }
	s, err := e.RunOnce(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if s.Emails == 0 || s.Delivery.Sent != s.Emails || s.Delivery.Failed != 0 {
		t.Fatalf("run: %s (failed: %s); want every queued email sent", s, failures(t, db))
	}
	names := map[string]string{}
	for _, r := range ms.received() {
		msg, err := netmail.ReadMessage(bytes.NewReader(r.data))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := msg.Header["Bcc"]; ok {
			t.Errorf("a Bcc header was injected: %v", msg.Header["Bcc"])
		}
		a, err := netmail.ParseAddress(msg.Header.Get("To"))
		if err != nil {
			t.Fatalf("To %q: %v", msg.Header.Get("To"), err)
		}
		names[a.Address] = a.Name
	}
	want := map[string]string{"anna@example.com": `Anna Weber "Sales" Bcc: x@evil.example`, "director@example.com": "王总"}
	for addr, name := range want {
		if got, ok := names[addr]; !ok || got != name {
			t.Errorf("email to %s: arrived %v, display name %q; want it to arrive named %q (all: %v)", addr, ok, got, name, names)
		}
	}
}

// failures lists the outbox's failed messages' errors.
func failures(t *testing.T, db *schemas.DB) string {
	t.Helper()
	failed, err := Outbox(context.Background(), db, StateFailed)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, m := range failed {
		out = append(out, m.To+": "+m.LastError)
	}
	return strings.Join(out, "; ")
}

func TestHeaderText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"王经理", "王经理"},
		{"a\r\nb", "a b"},
		{"\n\na\x00\x07b\x7f c\u0085d\u2028e\u200b", "a b c d e"},
		{"  trim\t", "trim"},
		{"\xff\xfebad utf8", "bad utf8"},
	} {
		if got := headerText(tc.in); got != tc.want {
			t.Errorf("headerText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCRMNameWithNewlineArrivesThroughMaildev sends to a manager whose CRM
// name holds a line break and a header through maildev, a separate SMTP
// server that parses what it receives as a mail client would.
func TestCRMNameWithNewlineArrivesThroughMaildev(t *testing.T) {
	bin := maildevBin(t)
	db := schemastest.Open(t)
	md := startMaildev(t, bin, freePort(t), freePort(t))
	s, err := NewSMTPSender(config.SMTP{Host: "127.0.0.1", Port: md.smtpPort, From: "pipelens@example.com", TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	box := &outbox{db: db, log: quietLog(), maxBackoff: time.Hour}
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	m := testMessage("maildev-name", "wang@example.com")
	m.ToName = "王经理\r\nBcc: attacker@evil.example"
	m.Subject = "【pipelens】华东一组\nBcc: attacker@evil.example"
	if _, err := box.enqueue(ctx, now, []*Message{m}); err != nil {
		t.Fatal(err)
	}
	if sum, err := box.deliver(ctx, s, now); err != nil || sum.Sent != 1 {
		t.Fatalf("deliver: %+v, %v (failed: %s); want sent", sum, err, failures(t, db))
	}
	var got []devMail
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got, err = md.emails(); err == nil && len(got) > 0 {
			break
		}
	}
	if len(got) != 1 {
		t.Fatalf("maildev holds %d emails, want 1 (%v)", len(got), err)
	}
	e := got[0]
	if len(e.To) != 1 || e.To[0].Address != "wang@example.com" || e.To[0].Name != "王经理 Bcc: attacker@evil.example" {
		t.Errorf("maildev read To as %+v; want only wang@example.com named %q", e.To, "王经理 Bcc: attacker@evil.example")
	}
	if e.Subject != "【pipelens】华东一组 Bcc: attacker@evil.example" {
		t.Errorf("maildev read Subject %q", e.Subject)
	}
	for k := range e.Headers {
		if strings.EqualFold(k, "bcc") {
			t.Errorf("maildev saw a Bcc header: %v", e.Headers[k])
		}
	}
}
