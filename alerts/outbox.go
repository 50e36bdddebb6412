package alerts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/pipelens/pipelens/schemas"
)

// Outbox states.
const (
	StatePending = "pending"
	StateSending = "sending"
	StateSent    = "sent"
	StateFailed  = "failed"
)

// Message is an email in the outbox.
//
// Delivery is exactly-once as far as pipelens can make it: the message is
// written (pending) before any SMTP traffic; a sender claims it (sending) and
// re-reads the claim before talking SMTP, so two pipelens processes do not both
// send it; it is marked sent right after the server accepted it. One window
// remains: the server accepted the message and the process died before the
// sent row was written. After the claim times out (claimTimeout) the message
// is sent again, with the same Message-ID header, so receivers and mail
// clients that drop duplicate Message-IDs (Gmail, Outlook, most archivers)
// show it once. That window is milliseconds long; it is at-least-once only
// across such a crash.
type Message struct {
	ID            string // RFC 5322 Message-ID without brackets; the outbox key
	DedupKey      string
	To            string
	ToName        string
	Lang          string
	Subject       string
	Text          string
	HTML          string
	Charts        []InlineImage
	EventIDs      []string
	State         string
	Claim         string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time
}

// Sender delivers one message. retry says whether trying again later can help
// (the server is down, a 4xx reply) or not (a 5xx refusal of the recipient).
type Sender interface {
	Send(ctx context.Context, m *Message) (retry bool, err error)
}

// claimTimeout is how long a claimed message may stay in state sending before
// another run takes it over (the claimer died mid-send).
const claimTimeout = 10 * time.Minute

const outboxCols = `message_id, dedup_key, recipient, recipient_name, lang, subject, text_body, html_body, charts, event_ids,
    state, claim, attempts, next_attempt_at, last_error, created_at, sent_at, version`

type outbox struct {
	db          *schemas.DB
	log         *slog.Logger
	maxAttempts int
	maxBackoff  time.Duration
	// settle is the pause between writing a claim and reading it back, so a
	// concurrent claimer's row is visible to both.
	settle time.Duration
}

func (o *outbox) write(ctx context.Context, ms ...*Message) error {
	rows := make([][]any, 0, len(ms))
	for _, m := range ms {
		ch, err := json.Marshal(m.Charts)
		if err != nil {
			return err
		}
		ev := m.EventIDs
		if ev == nil {
			ev = []string{}
		}
		rows = append(rows, []any{m.ID, m.DedupKey, m.To, m.ToName, m.Lang, m.Subject, m.Text, m.HTML, string(ch), ev,
			m.State, m.Claim, uint32(m.Attempts), orEpoch(m.NextAttemptAt), m.LastError, orEpoch(m.CreatedAt), orEpoch(m.SentAt), nextVersion()})
	}
	if err := o.db.InsertRows(ctx, "alerts-outbox", "INSERT INTO alert_outbox ("+outboxCols+")", rows...); err != nil {
		return fmt.Errorf("write outbox: %w", err)
	}
	return nil
}

func (o *outbox) read(ctx context.Context, where string, args ...any) ([]*Message, error) {
	qctx, cancel := o.db.Context(ctx, "alerts-outbox-read")
	defer cancel()
	rows, err := o.db.Conn.Query(qctx, "SELECT "+outboxCols+" FROM alert_outbox FINAL WHERE "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var out []*Message
	for rows.Next() {
		var (
			m        Message
			charts   string
			attempts uint32
			version  uint64
		)
		if err := rows.Scan(&m.ID, &m.DedupKey, &m.To, &m.ToName, &m.Lang, &m.Subject, &m.Text, &m.HTML, &charts, &m.EventIDs,
			&m.State, &m.Claim, &attempts, &m.NextAttemptAt, &m.LastError, &m.CreatedAt, &m.SentAt, &version); err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		m.Attempts = int(attempts)
		if err := json.Unmarshal([]byte(charts), &m.Charts); err != nil {
			return nil, fmt.Errorf("read outbox %s charts: %w", m.ID, err)
		}
		m.SentAt = fromDB(m.SentAt)
		out = append(out, &m)
	}
	return out, rows.Err()
}

// exists says which of the message ids are already in the outbox.
func (o *outbox) exists(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	qctx, cancel := o.db.Context(ctx, "alerts-outbox-exists")
	defer cancel()
	q := "SELECT DISTINCT message_id FROM alert_outbox WHERE message_id IN ("
	args := make([]any, len(ids))
	for i, id := range ids {
		if i > 0 {
			q += ", "
		}
		q += "?"
		args[i] = id
	}
	rows, err := o.db.Conn.Query(qctx, q+")", args...)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// enqueue stores new messages as pending; ones already stored (a rerun after a
// crash computes the same ids) are left alone.
func (o *outbox) enqueue(ctx context.Context, now time.Time, ms []*Message) (int, error) {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	have, err := o.exists(ctx, ids)
	if err != nil {
		return 0, err
	}
	var fresh []*Message
	for _, m := range ms {
		if have[m.ID] {
			continue
		}
		m.State, m.NextAttemptAt, m.CreatedAt = StatePending, now, now
		fresh = append(fresh, m)
	}
	if len(fresh) == 0 {
		return 0, nil
	}
	return len(fresh), o.write(ctx, fresh...)
}

// DeliverySummary counts what one drain of the outbox did.
type DeliverySummary struct {
	Sent, Retrying, Failed, Skipped int
}

func (o *outbox) backoff(attempts int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempts && d < o.maxBackoff; i++ {
		d *= 2
	}
	return min(d, o.maxBackoff)
}

// deliver sends every due message once.
func (o *outbox) deliver(ctx context.Context, s Sender, now time.Time) (DeliverySummary, error) {
	var sum DeliverySummary
	due, err := o.read(ctx, fmt.Sprintf("state IN ('pending', 'sending') AND next_attempt_at <= toDateTime(%d) ORDER BY created_at, message_id", now.Unix()))
	if err != nil {
		return sum, err
	}
	for _, m := range due {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		ok, err := o.claim(ctx, m, now)
		if err != nil {
			return sum, err
		}
		if !ok {
			sum.Skipped++
			continue
		}
		retry, serr := s.Send(ctx, m)
		m.Claim = ""
		switch {
		case serr == nil:
			m.State, m.SentAt, m.LastError = StateSent, time.Now(), ""
			sum.Sent++
			o.log.Info("alert email sent", "message_id", m.ID, "to", m.To, "subject", m.Subject, "attempts", m.Attempts+1)
		case retry && (o.maxAttempts <= 0 || m.Attempts+1 < o.maxAttempts):
			m.Attempts++
			m.State, m.LastError = StatePending, serr.Error()
			m.NextAttemptAt = now.Add(o.backoff(m.Attempts))
			sum.Retrying++
			o.log.Warn("alert email not sent, will retry", "message_id", m.ID, "to", m.To, "attempts", m.Attempts, "next_attempt", m.NextAttemptAt, "err", serr)
		default:
			m.Attempts++
			m.State, m.LastError = StateFailed, serr.Error()
			sum.Failed++
			o.log.Error("alert email refused, not retrying", "message_id", m.ID, "to", m.To, "err", serr)
		}
		// Marking sent must survive the caller's cancellation: the server already
		// has the message.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err = o.write(wctx, m)
		cancel()
		if err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// claim marks m as being sent by this run and checks that the claim won.
func (o *outbox) claim(ctx context.Context, m *Message, now time.Time) (bool, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	c := *m
	c.State, c.Claim, c.NextAttemptAt = StateSending, token, now.Add(claimTimeout)
	if err := o.write(ctx, &c); err != nil {
		return false, err
	}
	if o.settle > 0 {
		select {
		case <-time.After(o.settle):
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	got, err := o.read(ctx, "message_id = ?", m.ID)
	if err != nil {
		return false, err
	}
	if len(got) != 1 || got[0].Claim != token || got[0].State != StateSending {
		return false, nil
	}
	return true, nil
}

// Outbox lists messages for inspection (tests, the Alerts page): state "" for all.
func Outbox(ctx context.Context, db *schemas.DB, state string) ([]Message, error) {
	o := &outbox{db: db}
	where := "1 = 1"
	var args []any
	if state != "" {
		where = "state = ?"
		args = append(args, state)
	}
	ms, err := o.read(ctx, where+" ORDER BY created_at, message_id", args...)
	if err != nil {
		return nil, err
	}
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = *m
	}
	return out, nil
}
