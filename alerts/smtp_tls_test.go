package alerts

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	smtp "github.com/emersion/go-smtp"
	mail "github.com/wneessen/go-mail"

	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// testPKI is a throwaway CA and a server certificate it signed for
// 127.0.0.1 and localhost.
type testPKI struct {
	caFile string // the CA certificate as PEM, in t.TempDir()
	server tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	return newTestPKIFor(t, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
}

func newTestPKIFor(t *testing.T, names []string, ips []net.IP) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pipelens test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "pipelens test server"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
		IPAddresses:  ips,
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return testPKI{caFile: caFile, server: tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}}
}

const (
	tlsUser = "pipelens"
	tlsPass = "s3cret-pässword"
)

// authMailServer is an SMTP server that takes mail only from a client that
// authenticated with AUTH PLAIN as tlsUser/tlsPass, and offers AUTH only over
// TLS (AllowInsecureAuth false). It records, for each message, whether the
// session was TLS and who authenticated.
type authMailServer struct {
	mu       sync.Mutex
	msgs     []authReceived
	authFail int
	addr     string
	srv      *smtp.Server
}

type authReceived struct {
	tlsVersion uint16 // 0: not TLS
	user       string
	to         []string
	data       []byte
}

func (m *authMailServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &authSession{srv: m, conn: c}, nil
}

func (m *authMailServer) received() []authReceived {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]authReceived(nil), m.msgs...)
}

func (m *authMailServer) authFailures() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.authFail
}

type authSession struct {
	srv  *authMailServer
	conn *smtp.Conn
	user string
	to   []string
}

var _ smtp.AuthSession = (*authSession)(nil)

func (s *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *authSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username || username != tlsUser || password != tlsPass {
			s.srv.mu.Lock()
			s.srv.authFail++
			s.srv.mu.Unlock()
			return smtp.ErrAuthFailed // 535 5.7.8, as real servers answer
		}
		s.user = username
		return nil
	}), nil
}

func (s *authSession) Reset()        { s.to = nil }
func (s *authSession) Logout() error { return nil }

func (s *authSession) Mail(string, *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (s *authSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.to = append(s.to, to)
	return nil
}

func (s *authSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	var v uint16
	if st, ok := s.conn.TLSConnectionState(); ok && st.HandshakeComplete {
		v = st.Version
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.msgs = append(s.srv.msgs, authReceived{tlsVersion: v, user: s.user, to: s.to, data: b})
	return nil
}

// startAuthMailServer serves with STARTTLS (implicit false) or implicit TLS.
func startAuthMailServer(t *testing.T, pki testPKI, implicit bool) *authMailServer {
	t.Helper()
	m := &authMailServer{}
	tc := &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}
	var (
		l   net.Listener
		err error
	)
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", tc)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	m.addr = l.Addr().String()
	m.srv = smtp.NewServer(m)
	m.srv.Domain = "localhost"
	m.srv.TLSConfig = tc
	m.srv.AllowInsecureAuth = false
	m.srv.ReadTimeout = 10 * time.Second
	m.srv.WriteTimeout = 10 * time.Second
	m.srv.ErrorLog = log.New(io.Discard, "", 0)
	go m.srv.Serve(l)
	t.Cleanup(func() { m.srv.Close() })
	return m
}

func authSMTPConfig(addr, mode, caFile, password string) config.SMTP {
	c := smtpConfig(addr)
	c.TLS, c.CAFile, c.Username, c.Password = mode, caFile, tlsUser, config.Secret(password)
	return c
}

func sendOne(t *testing.T, c config.SMTP, id string) (bool, error) {
	t.Helper()
	s, err := NewSMTPSender(c)
	if err != nil {
		t.Fatal(err)
	}
	s.timeout = 5 * time.Second
	return s.Send(context.Background(), testMessage(id, "mgr@example.com"))
}

func assertDelivered(t *testing.T, ms *authMailServer, id string) {
	t.Helper()
	got := ms.received()
	if len(got) != 1 {
		t.Fatalf("%d messages received, want 1", len(got))
	}
	r := got[0]
	if r.tlsVersion < tls.VersionTLS12 {
		t.Errorf("message arrived over a session with TLS version %#x; want TLS 1.2 or later", r.tlsVersion)
	}
	if r.user != tlsUser {
		t.Errorf("message arrived from user %q; want authenticated as %q", r.user, tlsUser)
	}
	if len(r.to) != 1 || r.to[0] != "mgr@example.com" || !strings.Contains(string(r.data), "Message-ID: <"+id+"@example.com>") {
		t.Errorf("received rcpt %v, data lacks the Message-ID: %.300s", r.to, r.data)
	}
}

func TestSMTPStartTLSRequiredWithCAFileAndAuth(t *testing.T) {
	pki := newTestPKI(t)
	ms := startAuthMailServer(t, pki, false)
	retry, err := sendOne(t, authSMTPConfig(ms.addr, "starttls-required", pki.caFile, tlsPass), "tls1")
	if err != nil {
		t.Fatalf("send: %v (retry %v)", err, retry)
	}
	assertDelivered(t, ms, "tls1")
}

func TestSMTPStartTLSOpportunisticUsesTLSAndCAFile(t *testing.T) {
	pki := newTestPKI(t)
	ms := startAuthMailServer(t, pki, false)
	if _, err := sendOne(t, authSMTPConfig(ms.addr, "starttls", pki.caFile, tlsPass), "tls2"); err != nil {
		t.Fatalf("send: %v", err)
	}
	assertDelivered(t, ms, "tls2")
}

func TestSMTPImplicitTLSWithCAFileAndAuth(t *testing.T) {
	pki := newTestPKI(t)
	ms := startAuthMailServer(t, pki, true)
	if _, err := sendOne(t, authSMTPConfig(ms.addr, "tls", pki.caFile, tlsPass), "tls3"); err != nil {
		t.Fatalf("send: %v", err)
	}
	assertDelivered(t, ms, "tls3")
}

func TestSMTPWrongPasswordIsNotRetried(t *testing.T) {
	pki := newTestPKI(t)
	ms := startAuthMailServer(t, pki, false)
	retry, err := sendOne(t, authSMTPConfig(ms.addr, "starttls-required", pki.caFile, "wrong"), "tls4")
	if err == nil {
		t.Fatal("a wrong password was accepted")
	}
	t.Logf("wrong password: %v", err)
	if retry {
		t.Errorf("authentication failure marked retryable: %v", err)
	}
	if !strings.Contains(err.Error(), "535") || !strings.Contains(err.Error(), "smtp.password") {
		t.Errorf("error %q: want the 535 reply and a hint at smtp.username/smtp.password", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q contains the password", err)
	}
	if n := ms.authFailures(); n != 1 {
		t.Errorf("server saw %d failed AUTH attempts, want 1", n)
	}
	if n := len(ms.received()); n != 0 {
		t.Errorf("%d messages arrived without authentication", n)
	}

	// Through the outbox: failed at once, never tried again.
	db := schemastest.Open(t)
	s, _ := NewSMTPSender(authSMTPConfig(ms.addr, "starttls-required", pki.caFile, "wrong"))
	box := &outbox{db: db, log: quietLog(), maxBackoff: time.Hour}
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	if _, err := box.enqueue(ctx, now, []*Message{testMessage("tls5", "mgr@example.com")}); err != nil {
		t.Fatal(err)
	}
	sum, err := box.deliver(ctx, s, now)
	if err != nil || sum.Failed != 1 || sum.Retrying != 0 {
		t.Fatalf("535 on AUTH through the outbox: %+v, %v; want failed without retry", sum, err)
	}
	if sum, _ := box.deliver(ctx, s, now.Add(2*time.Hour)); sum != (DeliverySummary{}) {
		t.Fatalf("a message refused for bad credentials was tried again: %+v", sum)
	}
	if n := ms.authFailures(); n != 2 {
		t.Errorf("server saw %d failed AUTH attempts, want 2", n)
	}
}

func TestSMTPUntrustedCertificateIsRejected(t *testing.T) {
	pki := newTestPKI(t)
	for _, tc := range []struct {
		name     string
		implicit bool
		mode     string
	}{{"starttls-required", false, "starttls-required"}, {"starttls", false, "starttls"}, {"implicit", true, "tls"}} {
		t.Run(tc.name, func(t *testing.T) {
			ms := startAuthMailServer(t, pki, tc.implicit)
			// No ca_file: the system roots do not know the test CA.
			retry, err := sendOne(t, authSMTPConfig(ms.addr, tc.mode, "", tlsPass), "tls6")
			if err == nil {
				t.Fatal("a certificate from an unknown CA was accepted")
			}
			t.Logf("no ca_file: %v", err)
			if !retry {
				t.Errorf("a TLS handshake failure should stay retryable (the fix is in the configuration or the server's certificate; the message waits)")
			}
			var unknown x509.UnknownAuthorityError
			if !errors.As(err, &unknown) {
				t.Errorf("error %q: want an x509 unknown-authority error in the chain", err)
			}
			if !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "smtp.ca_file") {
				t.Errorf("error %q: want it to name the certificate and smtp.ca_file", err)
			}
			if n := len(ms.received()) + ms.authFailures(); n != 0 {
				t.Errorf("the password or message went to an unverified server (%d)", n)
			}
		})
	}

	// A CA file with a different CA: still rejected.
	other := newTestPKI(t)
	ms := startAuthMailServer(t, pki, false)
	_, err := sendOne(t, authSMTPConfig(ms.addr, "starttls-required", other.caFile, tlsPass), "tls7")
	if err == nil || !strings.Contains(err.Error(), other.caFile) {
		t.Errorf("certificate from a CA not in smtp.ca_file: %v; want rejected, naming the file", err)
	}
}

func TestSMTPHostnameMustMatchCertificate(t *testing.T) {
	// The server's certificate is for mail.internal only; smtp.host is 127.0.0.1.
	pki := newTestPKIFor(t, []string{"mail.internal"}, nil)
	ms := startAuthMailServer(t, pki, false)
	retry, err := sendOne(t, authSMTPConfig(ms.addr, "starttls-required", pki.caFile, tlsPass), "tls8")
	if err == nil || !strings.Contains(err.Error(), "not valid for smtp.host") {
		t.Fatalf("certificate for another name: %v; want rejected with a hint at smtp.host", err)
	}
	t.Logf("wrong name: %v", err)
	var hostErr x509.HostnameError
	if !errors.As(err, &hostErr) {
		t.Errorf("error %q: want an x509 hostname error in the chain", err)
	}
	if !retry {
		t.Errorf("a TLS handshake failure may pass (the certificate may be replaced): want retryable")
	}
	if n := len(ms.received()) + ms.authFailures(); n != 0 {
		t.Errorf("the password or message went to a server whose certificate does not match smtp.host (%d)", n)
	}
}

func TestSMTPNoTLSAgainstServerRequiringSTARTTLSForAuth(t *testing.T) {
	pki := newTestPKI(t)
	ms := startAuthMailServer(t, pki, false)
	retry, err := sendOne(t, authSMTPConfig(ms.addr, "none", "", tlsPass), "tls9")
	if err == nil {
		t.Fatal("tls: none with a username sent mail to a server that offers AUTH only after STARTTLS")
	}
	t.Logf("tls none: %v", err)
	if retry {
		t.Errorf("a server that offers no AUTH without TLS will not change by itself: %v marked retryable", err)
	}
	if !strings.Contains(err.Error(), "AUTH") || !strings.Contains(err.Error(), "smtp.tls") {
		t.Errorf("error %q: want it to say AUTH is unavailable and point at smtp.tls", err)
	}
	if n := len(ms.received()) + ms.authFailures(); n != 0 {
		t.Errorf("server saw %d messages/AUTH attempts", n)
	}
}

func TestSMTPStartTLSRequiredAgainstPlainServer(t *testing.T) {
	ms := startMailServer(t) // no TLSConfig: STARTTLS not offered
	c := smtpConfig(ms.addr)
	c.TLS = "starttls-required"
	s, _ := NewSMTPSender(c)
	s.timeout = 5 * time.Second
	_, err := s.Send(context.Background(), testMessage("tls10", "mgr@example.com"))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("starttls-required against a server without STARTTLS: %v; want a STARTTLS error", err)
	}
	if len(ms.received()) != 0 {
		t.Error("mail went out in the clear under starttls-required")
	}
}

func TestSMTPCAFileConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	base := config.SMTP{Host: "127.0.0.1", From: "pipelens@example.com"}
	for _, tc := range []struct {
		name, mode, file, want string
	}{
		{"missing", "starttls", filepath.Join(dir, "nope.pem"), "read smtp.ca_file"},
		{"not PEM", "tls", bad, "no PEM certificate"},
		{"with tls none", "none", newTestPKI(t).caFile, "smtp.tls is none"},
	} {
		c := base
		c.TLS, c.CAFile = tc.mode, tc.file
		if _, err := NewSMTPSender(c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestRetryableAuthReplies(t *testing.T) {
	for _, tc := range []struct {
		err   error
		retry bool
	}{
		{fmt.Errorf("dial failed: %w", fmt.Errorf("SMTP AUTH failed: %w", &textproto.Error{Code: 535, Msg: "5.7.8 Authentication failed"})), false},
		{fmt.Errorf("dial failed: %w", fmt.Errorf("SMTP AUTH failed: %w", &textproto.Error{Code: 454, Msg: "4.7.0 Temporary authentication failure"})), true},
		{fmt.Errorf("dial failed: %w", mail.ErrNoSupportedAuthDiscovered), false},
		{fmt.Errorf("dial failed: %w", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), true},
	} {
		if got := retryable(tc.err); got != tc.retry {
			t.Errorf("retryable(%v) = %v, want %v", tc.err, got, tc.retry)
		}
	}
}
