package alerts

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"

	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// mailServer is an in-process SMTP server that records what it accepts.
type mailServer struct {
	mu      sync.Mutex
	msgs    []received
	rejectN int // reject DATA this many times with 451 (temporary)
	badRcpt string
	addr    string
	srv     *smtp.Server
}

type received struct {
	from string
	to   []string
	data []byte
}

func (m *mailServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{srv: m}, nil }

type session struct {
	srv  *mailServer
	from string
	to   []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.srv.badRcpt != "" && strings.EqualFold(to, s.srv.badRcpt) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.srv.rejectN > 0 {
		s.srv.rejectN--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.srv.msgs = append(s.srv.msgs, received{from: s.from, to: s.to, data: b})
	return nil
}

func startMailServer(t *testing.T) *mailServer {
	t.Helper()
	m := &mailServer{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.addr = l.Addr().String()
	m.srv = smtp.NewServer(m)
	m.srv.Domain = "localhost"
	m.srv.AllowInsecureAuth = true
	go m.srv.Serve(l)
	t.Cleanup(func() { m.srv.Close() })
	return m
}

func (m *mailServer) received() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.msgs...)
}

func smtpConfig(addr string) config.SMTP {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return config.SMTP{Host: host, Port: p, From: "pipelens@example.com", TLS: "none"}
}

func testMessage(id, to string) *Message {
	return &Message{ID: id + "@example.com", To: to, ToName: "王经理", Lang: "zh-CN", Subject: "【pipelens】新建商机 下降 80%",
		Text: "text body", HTML: "<p>html body</p><img src=\"cid:c1@pipelens\">", Charts: []InlineImage{{CID: "c1@pipelens", PNG: []byte("\x89PNG\r\n\x1a\nfake")}},
		EventIDs: []string{"e1"}, CreatedAt: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)}
}

func TestOutboxRetriesRejectedDataAndSendsOnce(t *testing.T) {
	db := schemastest.Open(t)
	ms := startMailServer(t)
	ms.rejectN = 1
	s, err := NewSMTPSender(smtpConfig(ms.addr))
	if err != nil {
		t.Fatal(err)
	}
	box := &outbox{db: db, log: quietLog(), maxBackoff: time.Hour}
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	if _, err := box.enqueue(ctx, now, []*Message{testMessage("m1", "mgr@example.com")}); err != nil {
		t.Fatal(err)
	}
	sum, err := box.deliver(ctx, s, now)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Retrying != 1 || sum.Sent != 0 || len(ms.received()) != 0 {
		t.Fatalf("after a 451 on DATA: %+v, %d received; want one retrying, none received", sum, len(ms.received()))
	}
	// Not due before the backoff passes.
	if sum, _ := box.deliver(ctx, s, now.Add(5*time.Second)); sum.Sent != 0 {
		t.Fatalf("retried before the backoff: %+v", sum)
	}
	sum, err = box.deliver(ctx, s, now.Add(time.Minute))
	if err != nil || sum.Sent != 1 {
		t.Fatalf("retry after backoff: %+v, %v; want sent", sum, err)
	}
	if sum, _ := box.deliver(ctx, s, now.Add(time.Hour)); sum.Sent != 0 {
		t.Fatalf("a sent message was sent again: %+v", sum)
	}
	got := ms.received()
	if len(got) != 1 {
		t.Fatalf("%d messages received, want exactly 1", len(got))
	}
	raw := string(got[0].data)
	for _, want := range []string{"Message-ID: <m1@example.com>", "Content-Id: <c1@pipelens>", "multipart/alternative", "text/html", "image/png"} {
		if !strings.Contains(strings.ReplaceAll(raw, "Content-ID", "Content-Id"), want) {
			t.Errorf("received message lacks %q:\n%s", want, raw[:min(len(raw), 2000)])
		}
	}
	sent, err := Outbox(ctx, db, StateSent)
	if err != nil || len(sent) != 1 || sent[0].Attempts != 1 {
		t.Fatalf("outbox after delivery: %+v, %v; want one sent message after one failed attempt", sent, err)
	}
}

func TestOutboxDoesNotRetryUnknownRecipient(t *testing.T) {
	db := schemastest.Open(t)
	ms := startMailServer(t)
	ms.badRcpt = "gone@example.com"
	s, _ := NewSMTPSender(smtpConfig(ms.addr))
	box := &outbox{db: db, log: quietLog(), maxBackoff: time.Hour}
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	if _, err := box.enqueue(ctx, now, []*Message{testMessage("m2", "gone@example.com")}); err != nil {
		t.Fatal(err)
	}
	sum, err := box.deliver(ctx, s, now)
	if err != nil || sum.Failed != 1 || sum.Retrying != 0 {
		t.Fatalf("550 on RCPT: %+v, %v; want failed without retry", sum, err)
	}
	if sum, _ := box.deliver(ctx, s, now.Add(2*time.Hour)); sum != (DeliverySummary{}) {
		t.Fatalf("a refused message was tried again: %+v", sum)
	}
	failed, _ := Outbox(ctx, db, StateFailed)
	if len(failed) != 1 || !strings.Contains(failed[0].LastError, "550") && !strings.Contains(failed[0].LastError, "no such user") {
		t.Fatalf("failed outbox rows %+v: want the refusal recorded", failed)
	}
}

func TestOutboxSurvivesServerDown(t *testing.T) {
	db := schemastest.Open(t)
	// A port nobody listens on: the server is down.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	s, _ := NewSMTPSender(smtpConfig(addr))
	s.timeout = 2 * time.Second
	box := &outbox{db: db, log: quietLog(), maxBackoff: time.Hour}
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	box.enqueue(ctx, now, []*Message{testMessage("m3", "mgr@example.com")})
	sum, err := box.deliver(ctx, s, now)
	if err != nil || sum.Retrying != 1 {
		t.Fatalf("server down: %+v, %v; want retrying", sum, err)
	}
	// A duplicate enqueue (a rerun after a crash) adds nothing.
	if n, _ := box.enqueue(ctx, now, []*Message{testMessage("m3", "mgr@example.com")}); n != 0 {
		t.Fatalf("enqueue of a stored message id added %d", n)
	}
	// The server comes up on that port.
	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	ms := &mailServer{addr: addr}
	ms.srv = smtp.NewServer(ms)
	ms.srv.Domain = "localhost"
	go ms.srv.Serve(l2)
	defer ms.srv.Close()
	sum, err = box.deliver(ctx, s, now.Add(10*time.Minute))
	if err != nil || sum.Sent != 1 {
		t.Fatalf("server up again: %+v, %v; want sent", sum, err)
	}
	box.deliver(ctx, s, now.Add(time.Hour))
	if n := len(ms.received()); n != 1 {
		t.Fatalf("%d messages arrived, want exactly 1", n)
	}
}

func TestRetryable(t *testing.T) {
	var ne net.Error = &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	if !retryable(ne) {
		t.Error("a refused connection must be retried")
	}
	_ = bytes.MinRead
}
