package alerts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/pipelens/pipelens/schemas/config"
)

// SMTPSender sends through an SMTP server with github.com/wneessen/go-mail:
// STARTTLS (smtp.tls: starttls, the default, used when offered; "starttls-required"
// insists), implicit TLS ("tls") or none ("none"); AUTH when a username is set.
type SMTPSender struct {
	cfg     config.SMTP
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
	return &SMTPSender{cfg: c, timeout: 30 * time.Second}, nil
}

func (s *SMTPSender) client() (*mail.Client, error) {
	opts := []mail.Option{mail.WithTimeout(s.timeout), mail.WithHELO(helo(s.cfg.From))}
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
func build(from string, m *Message) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("smtp.from %q: %w", from, err)
	}
	to := m.To
	if m.ToName != "" && m.ToName != m.To {
		if err := msg.AddToFormat(m.ToName, m.To); err != nil {
			return nil, fmt.Errorf("recipient %q: %w", m.To, err)
		}
	} else if err := msg.To(to); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.ID)
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetGenHeader(mail.HeaderContentLang, m.Lang)
	msg.SetGenHeader("X-Pipelens-Events", strings.Join(m.EventIDs, ","))
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	for i, c := range m.Charts {
		name := fmt.Sprintf("chart-%d.png", i+1)
		if err := msg.EmbedReader(name, bytes.NewReader(c.PNG), mail.WithFileContentID("<"+c.CID+">"), mail.WithFileContentType(mail.ContentType("image/png"))); err != nil {
			return nil, fmt.Errorf("embed chart: %w", err)
		}
	}
	return msg, nil
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
	return retryable(err), fmt.Errorf("send to %s via %s: %w", m.To, s.cfg.Host, err)
}

// retryable says whether an SMTP failure may pass: network errors and 4xx
// replies may; a 5xx refusal (unknown recipient, message rejected) will not.
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
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// Dial failures, TLS handshakes, closed connections: the server may come back.
	return true
}
