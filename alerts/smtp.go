package alerts

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	mail "github.com/wneessen/go-mail"
	mailsmtp "github.com/wneessen/go-mail/smtp"

	"github.com/pipelens/pipelens/schemas/config"
)

// SMTPSender sends through an SMTP server with github.com/wneessen/go-mail:
// STARTTLS (smtp.tls: starttls, the default, used when offered; "starttls-required"
// insists), implicit TLS ("tls") or none ("none"); AUTH when a username is set.
// The server's certificate is always verified: against smtp.ca_file when set,
// else the system roots, for the name in smtp.host.
type SMTPSender struct {
	cfg     config.SMTP
	roots   *x509.CertPool // nil: the system roots
	timeout time.Duration
}

// NewSMTPSender checks the SMTP section and returns a sender for it.
func NewSMTPSender(c config.SMTP) (*SMTPSender, error) {
	if c.Host == "" {
		return nil, errors.New("smtp.host is not set: alert emails cannot be sent")
	}
	if c.From == "" {
		return nil, errors.New("smtp.from is not set: alert emails need a sender address")
	}
	switch c.TLS {
	case "", "starttls", "starttls-required", "tls", "none":
	default:
		return nil, fmt.Errorf("smtp.tls %q: want starttls, starttls-required, tls or none", c.TLS)
	}
	s := &SMTPSender{cfg: c, timeout: 30 * time.Second}
	if c.CAFile != "" {
		if c.TLS == "none" {
			return nil, errors.New("smtp.ca_file is set but smtp.tls is none: no certificate would be checked; use starttls-required or tls")
		}
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read smtp.ca_file: %w", err)
		}
		s.roots = x509.NewCertPool()
		if !s.roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("smtp.ca_file %s: no PEM certificate in it", c.CAFile)
		}
	}
	return s, nil
}

// tlsConfig verifies the server's certificate for smtp.host against
// smtp.ca_file or the system roots; verification is never skipped.
func (s *SMTPSender) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: s.cfg.Host, RootCAs: s.roots, MinVersion: tls.VersionTLS12}
}

func (s *SMTPSender) client() (*mail.Client, error) {
	opts := []mail.Option{mail.WithTimeout(s.timeout), mail.WithHELO(helo(s.cfg.From)), mail.WithTLSConfig(s.tlsConfig())}
	port := s.cfg.Port
	switch s.cfg.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
		if port == 0 {
			port = 465
		}
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case "starttls-required":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if port == 0 {
		port = 587
	}
	opts = append(opts, mail.WithPort(port))
	if s.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(s.cfg.Username), mail.WithPassword(string(s.cfg.Password)))
	}
	return mail.NewClient(s.cfg.Host, opts...)
}

func helo(from string) string {
	if _, dom, ok := strings.Cut(from, "@"); ok {
		return strings.Trim(dom, "> ")
	}
	return "localhost"
}

// build turns an outbox message into a MIME message: multipart/alternative
// (text, HTML) with the charts as inline images, and the stored Message-ID.
//
// The recipient's display name and the subject carry CRM text (a manager's
// name, team and rep names): they are cleaned to one line (headerText) and
// written RFC 2047-encoded by net/mail and go-mail, so a name with a newline,
// quotes or Chinese is delivered as such and cannot add a header. Only the
// address itself must parse.
func build(from string, m *Message) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("smtp.from %q: %w", from, err)
	}
	to, err := recipient(m.To, m.ToName)
	if err != nil {
		return nil, err
	}
	msg.ToMailAddress(to)
	msg.Subject(headerText(m.Subject))
	msg.SetMessageIDWithValue(headerText(m.ID))
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetGenHeader(mail.HeaderContentLang, headerText(m.Lang))
	msg.SetGenHeader("X-Pipelens-Events", headerText(strings.Join(m.EventIDs, ",")))
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	for i, c := range m.Charts {
		name := fmt.Sprintf("chart-%d.png", i+1)
		if err := msg.EmbedReader(name, bytes.NewReader(c.PNG), mail.WithFileContentID("<"+headerText(c.CID)+">"), mail.WithFileContentType(mail.ContentType("image/png"))); err != nil {
			return nil, fmt.Errorf("embed chart: %w", err)
		}
	}
	return msg, nil
}

// recipient is the To address: addr must be one mailbox (from the CRM's email
// column); name, cleaned, is its display name unless it only repeats the
// address. A name is never a reason not to deliver.
func recipient(addr, name string) (*netmail.Address, error) {
	a, err := netmail.ParseAddress(addr)
	if err != nil {
		return nil, fmt.Errorf("recipient address %q: %w", addr, err)
	}
	a.Name = headerText(name)
	if strings.EqualFold(a.Name, a.Address) {
		a.Name = ""
	}
	return a, nil
}

// maxHeaderText bounds a cleaned header value in runes: a display name or
// subject longer than this is a data error, and mail clients cut far earlier.
const maxHeaderText = 200

// headerText makes CRM text safe for one header line: control characters
// (CR, LF, tab, NUL, DEL, C1), Unicode line and paragraph separators and
// invisible format characters (bidi overrides) become spaces, runs of spaces
// collapse, and the result is trimmed and bounded. Encoding (RFC 2047) is left
// to net/mail and go-mail.
func headerText(s string) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) ||
			r == '\u2028' || r == '\u2029' {
			space = b.Len() > 0
			continue
		}
		if n >= maxHeaderText {
			break
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// Send implements Sender.
func (s *SMTPSender) Send(ctx context.Context, m *Message) (bool, error) {
	msg, err := build(s.cfg.From, m)
	if err != nil {
		return false, err
	}
	c, err := s.client()
	if err != nil {
		return false, fmt.Errorf("smtp client: %w", err)
	}
	err = c.DialAndSendWithContext(ctx, msg)
	if err == nil {
		return false, nil
	}
	return retryable(err), fmt.Errorf("send to %s via %s: %w%s", m.To, s.cfg.Host, err, s.hint(err))
}

// hint says what to change in the configuration when the error is a known
// misconfiguration: an untrusted certificate, AUTH refused or not offered.
func (s *SMTPSender) hint(err error) string {
	var (
		unknownCA x509.UnknownAuthorityError
		badHost   x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		reply     *textproto.Error
	)
	switch {
	case errors.As(err, &unknownCA):
		if s.cfg.CAFile != "" {
			return fmt.Sprintf(" (the server's certificate is not signed by a CA in smtp.ca_file %s)", s.cfg.CAFile)
		}
		return " (the server's certificate is not signed by a trusted CA: if the server uses a private CA, set smtp.ca_file to its PEM certificate)"
	case errors.As(err, &badHost):
		return fmt.Sprintf(" (the server's certificate is not valid for smtp.host %q: use the name the certificate was issued for)", s.cfg.Host)
	case errors.As(err, &invalid), errors.As(err, &verify):
		return " (the server's TLS certificate was rejected)"
	case isAuthUnavailable(err):
		if s.cfg.TLS == "none" {
			return " (smtp.username is set but the server offers no AUTH pipelens will use without TLS: the password is never sent unencrypted; many servers offer AUTH only after STARTTLS: set smtp.tls to starttls-required or tls)"
		}
		return " (smtp.username is set but the server offers no AUTH mechanism pipelens can use on this connection)"
	case errors.As(err, &reply) && reply.Code >= 500 && reply.Code < 600 && strings.Contains(err.Error(), "SMTP AUTH failed"):
		return " (the server refused smtp.username/smtp.password; not retrying)"
	}
	return ""
}

// isAuthUnavailable says whether AUTH could not even be tried: the server
// offers no AUTH on this connection, or only mechanisms go-mail will not use
// there (PLAIN and LOGIN without TLS).
func isAuthUnavailable(err error) bool {
	for _, e := range []error{mail.ErrNoSupportedAuthDiscovered, mail.ErrPlainAuthNotSupported, mail.ErrLoginAuthNotSupported, mailsmtp.ErrUnencrypted} {
		if errors.Is(err, e) {
			return true
		}
	}
	// go-mail returns this one unwrapped from fmt.Errorf, without a sentinel.
	return strings.Contains(err.Error(), "server does not support SMTP AUTH")
}

// retryable says whether an SMTP failure may pass: network errors, TLS
// handshake failures (a certificate may be renewed) and 4xx replies may; a
// 5xx refusal (unknown recipient, message rejected, 535 authentication
// failed) will not, nor will a server that offers no usable AUTH — retrying
// wrong credentials only risks locking the account.
func retryable(err error) bool {
	var se *mail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code >= 500 && code < 600 {
			return false
		}
		if code := se.ErrorCode(); code >= 400 && code < 500 {
			return true
		}
		if se.IsTemp() {
			return true
		}
		switch se.Reason {
		case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrWriteContent:
			return false
		}
		return true
	}
	if isAuthUnavailable(err) {
		return false
	}
	// Replies during the dial: greeting, EHLO, STARTTLS, AUTH.
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return reply.Code < 500 || reply.Code >= 600
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// Dial failures, TLS handshakes, closed connections: the server may come back.
	return true
}
