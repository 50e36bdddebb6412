package alerts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

// Subscriptions (issue 15): a user's scheduled email report of a page's view.
// Stored as versioned rows (subscriptions, migration 0015): a change is a new
// row with a higher version, readers keep the highest per id.

// ErrBadSubscription is a subscription that cannot be stored: the message
// names the field.
var ErrBadSubscription = errors.New("bad subscription")

// ErrNoSubscription means no (visible) subscription has that id.
var ErrNoSubscription = errors.New("subscription not found")

// Report kinds and schedules.
const (
	KindOverview = "overview"
	KindTeam     = "team"
	EveryDaily   = "daily"
	EveryWeekly  = "weekly"
	EveryMonthly = "monthly"
)

// Schedule says when a subscription is due, in the business time zone.
type Schedule struct {
	Every   string `json:"every"`             // daily, weekly or monthly
	Weekday int    `json:"weekday,omitempty"` // weekly: 1 Monday .. 7 Sunday
	Day     int    `json:"day,omitempty"`     // monthly: 1..28
	Hour    int    `json:"hour"`              // 0..23
}

// Subscription is one user's scheduled report.
type Subscription struct {
	ID          string    `json:"id"`
	Owner       string    `json:"owner"`
	Recipients  []string  `json:"recipients"`
	Kind        string    `json:"kind"`
	Filter      string    `json:"filter"` // the page URL's query, without from/to
	Schedule    Schedule  `json:"schedule"`
	Lang        string    `json:"lang"`
	SkipIfEmpty bool      `json:"skip_if_empty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// filterKeys are the page filters a subscription keeps; the period comes from
// the schedule, so from, to and preset are dropped.
var filterKeys = map[string]bool{"team": true, "manager": true, "rep": true, "territory": true, "product": true, "source": true, "segment": true}

func badSub(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrBadSubscription, field, fmt.Sprintf(format, args...))
}

// Normalize checks s and fills its defaults (lang from the owner, then en):
// an unknown kind, schedule field or filter key is an error naming it.
func (s *Subscription) Normalize(owner config.User) error {
	s.Owner = owner.Username
	if strings.TrimSpace(owner.Email) == "" {
		return badSub("owner", "user %q has no email address in the users config", owner.Username)
	}
	s.Recipients = []string{owner.Email}
	if s.Kind == "" {
		s.Kind = KindOverview
	}
	if s.Kind != KindOverview && s.Kind != KindTeam {
		return badSub("kind", "%q: want overview or team", s.Kind)
	}
	if err := s.Schedule.check(); err != nil {
		return err
	}
	switch s.Lang {
	case "":
		s.Lang = normLang(owner.Lang)
	case "en", "zh-CN":
	default:
		return badSub("lang", "%q: want en or zh-CN", s.Lang)
	}
	v, err := url.ParseQuery(strings.TrimPrefix(strings.TrimSpace(s.Filter), "?"))
	if err != nil {
		return badSub("filter", "%v", err)
	}
	keep := url.Values{}
	for k, vs := range v {
		switch {
		case filterKeys[k]:
			keep[k] = vs
		case k == "from" || k == "to" || k == "preset" || k == "lang":
		default:
			return badSub("filter."+k, "unknown filter; want team, manager, rep, territory, product, source or segment")
		}
	}
	s.Filter = keep.Encode()
	return nil
}

func (sc Schedule) check() error {
	switch sc.Every {
	case EveryDaily:
		if sc.Weekday != 0 || sc.Day != 0 {
			return badSub("schedule", "daily takes only hour")
		}
	case EveryWeekly:
		if sc.Weekday < 1 || sc.Weekday > 7 {
			return badSub("schedule.weekday", "%d: want 1 (Monday) to 7 (Sunday)", sc.Weekday)
		}
		if sc.Day != 0 {
			return badSub("schedule.day", "weekly takes weekday and hour")
		}
	case EveryMonthly:
		if sc.Day < 1 || sc.Day > 28 {
			return badSub("schedule.day", "%d: want 1 to 28", sc.Day)
		}
		if sc.Weekday != 0 {
			return badSub("schedule.weekday", "monthly takes day and hour")
		}
	default:
		return badSub("schedule.every", "%q: want daily, weekly or monthly", sc.Every)
	}
	if sc.Hour < 0 || sc.Hour > 23 {
		return badSub("schedule.hour", "%d: want 0 to 23", sc.Hour)
	}
	return nil
}

const subCols = "subscription_id, owner, recipients, kind, filter, every, weekday, day, hour, lang, skip_if_empty, created_at, updated_at, deleted, version"

// SaveSubscription stores s (a new one when s.ID is empty) as of now.
func SaveSubscription(ctx context.Context, db *schemas.DB, s *Subscription, now time.Time) error {
	if s.ID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		s.ID = "sub-" + hex.EncodeToString(b[:])
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	s.UpdatedAt = now
	return writeSubscription(ctx, db, s, false)
}

// DeleteSubscription removes s.
func DeleteSubscription(ctx context.Context, db *schemas.DB, s *Subscription, now time.Time) error {
	s.UpdatedAt = now
	return writeSubscription(ctx, db, s, true)
}

func writeSubscription(ctx context.Context, db *schemas.DB, s *Subscription, deleted bool) error {
	rcpt := s.Recipients
	if rcpt == nil {
		rcpt = []string{}
	}
	sc := s.Schedule
	err := db.InsertRows(ctx, "subscription-write", "INSERT INTO subscriptions ("+subCols+")",
		[]any{s.ID, s.Owner, rcpt, s.Kind, s.Filter, sc.Every, uint8(sc.Weekday), uint8(sc.Day), uint8(sc.Hour), s.Lang,
			b2u(s.SkipIfEmpty), orEpoch(s.CreatedAt), orEpoch(s.UpdatedAt), b2u(deleted), nextVersion()})
	if err == nil {
		// On a cluster every replica holds the new version before this returns
		// (as contests and plans): the list read next may go to another replica.
		err = db.SyncReplicas(ctx, "subscriptions")
	}
	if err != nil {
		return fmt.Errorf("store subscription %s: %w", s.ID, err)
	}
	return nil
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// ListSubscriptions reads the live subscriptions, of owner when given, oldest
// first; every version is read and the highest kept (no FINAL, no merges).
func ListSubscriptions(ctx context.Context, db *schemas.DB, owner string) ([]Subscription, error) {
	qctx, cancel := db.Context(ctx, "subscriptions-read")
	defer cancel()
	q := "SELECT " + subCols + " FROM subscriptions"
	var args []any
	if owner != "" {
		q += " WHERE owner = ?"
		args = append(args, owner)
	}
	rows, err := db.Conn.Query(qctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read subscriptions: %w", err)
	}
	defer rows.Close()
	type versioned struct {
		s       Subscription
		deleted bool
		v       uint64
	}
	latest := map[string]versioned{}
	for rows.Next() {
		var (
			x                     versioned
			wd, day, hour, sk, dl uint8
		)
		s := &x.s
		if err := rows.Scan(&s.ID, &s.Owner, &s.Recipients, &s.Kind, &s.Filter, &s.Schedule.Every, &wd, &day, &hour, &s.Lang,
			&sk, &s.CreatedAt, &s.UpdatedAt, &dl, &x.v); err != nil {
			return nil, fmt.Errorf("read subscriptions: %w", err)
		}
		s.Schedule.Weekday, s.Schedule.Day, s.Schedule.Hour = int(wd), int(day), int(hour)
		s.SkipIfEmpty, x.deleted = sk == 1, dl == 1
		if old, ok := latest[s.ID]; !ok || x.v > old.v {
			latest[s.ID] = x
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read subscriptions: %w", err)
	}
	out := []Subscription{}
	for _, x := range latest {
		if !x.deleted {
			out = append(out, x.s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// SubscriptionSend is what happened at one due slot of a subscription.
type SubscriptionSend struct {
	SubscriptionID string    `json:"subscription_id"`
	Slot           time.Time `json:"slot"`
	Status         string    `json:"status"` // sent (queued in the outbox) or skipped
	MessageID      string    `json:"message_id,omitempty"`
	From           string    `json:"from"`
	To             string    `json:"to"`
	RecordedAt     time.Time `json:"recorded_at"`
}

func recordSend(ctx context.Context, db *schemas.DB, s SubscriptionSend) error {
	day := func(d string) time.Time { t, _ := time.Parse(time.DateOnly, d); return t }
	err := db.InsertRows(ctx, "subscription-send", "INSERT INTO subscription_sends (subscription_id, slot, status, message_id, period_from, period_to, recorded_at, version)",
		[]any{s.SubscriptionID, orEpoch(s.Slot), s.Status, s.MessageID, day(s.From), day(s.To), orEpoch(s.RecordedAt), nextVersion()})
	if err == nil {
		err = db.SyncReplicas(ctx, "subscription_sends")
	}
	if err != nil {
		return fmt.Errorf("record subscription %s at %s: %w", s.SubscriptionID, s.Slot.Format(time.RFC3339), err)
	}
	return nil
}

// SubscriptionSends lists what happened at the slots of subscription id
// (every subscription when id is empty), the latest slot first. Every version
// is read and the highest kept per slot (no FINAL: through a Distributed table
// 18.16 refuses FINAL without the version column, and merges are not relied on).
func SubscriptionSends(ctx context.Context, db *schemas.DB, id string) ([]SubscriptionSend, error) {
	qctx, cancel := db.Context(ctx, "subscription-sends-read")
	defer cancel()
	q := "SELECT subscription_id, slot, status, message_id, period_from, period_to, recorded_at, version FROM subscription_sends"
	var args []any
	if id != "" {
		q += " WHERE subscription_id = ?"
		args = append(args, id)
	}
	rows, err := db.Conn.Query(qctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read subscription sends: %w", err)
	}
	defer rows.Close()
	type versioned struct {
		s SubscriptionSend
		v uint64
	}
	latest := map[string]versioned{}
	for rows.Next() {
		var x versioned
		var from, to time.Time
		s := &x.s
		if err := rows.Scan(&s.SubscriptionID, &s.Slot, &s.Status, &s.MessageID, &from, &to, &s.RecordedAt, &x.v); err != nil {
			return nil, fmt.Errorf("read subscription sends: %w", err)
		}
		s.From, s.To = from.Format(time.DateOnly), to.Format(time.DateOnly)
		k := s.SubscriptionID + "|" + strconv.FormatInt(s.Slot.Unix(), 10)
		if old, ok := latest[k]; !ok || x.v > old.v {
			latest[k] = x
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read subscription sends: %w", err)
	}
	out := []SubscriptionSend{}
	for _, x := range latest {
		out = append(out, x.s)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Slot.Equal(out[j].Slot) {
			return out[i].Slot.After(out[j].Slot)
		}
		return out[i].SubscriptionID < out[j].SubscriptionID
	})
	return out, nil
}

// slotRecorded says whether the slot of subscription id already has a row.
func slotRecorded(ctx context.Context, db *schemas.DB, id string, slot time.Time) (bool, error) {
	qctx, cancel := db.Context(ctx, "subscription-slot")
	defer cancel()
	var n uint64
	q := fmt.Sprintf("SELECT count() FROM subscription_sends WHERE subscription_id = ? AND slot = toDateTime(%d)", orEpoch(slot).Unix())
	err := db.Conn.QueryRow(qctx, q, id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read subscription sends: %w", err)
	}
	return n > 0, nil
}
