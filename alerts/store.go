package alerts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pipelens/pipelens/schemas"
)

// ErrNotFound means no alert event has that id.
var ErrNotFound = errors.New("alert event not found")

var lastVersion atomic.Uint64

// nextVersion orders state changes: the row with the highest version wins.
// Nanoseconds keep versions increasing across restarts; the counter keeps them
// strictly increasing within one process.
func nextVersion() uint64 {
	for {
		old := lastVersion.Load()
		n := uint64(time.Now().UnixNano())
		if n <= old {
			n = old + 1
		}
		if lastVersion.CompareAndSwap(old, n) {
			return n
		}
	}
}

var epoch = time.Unix(0, 0).UTC()

func orEpoch(t time.Time) time.Time {
	if t.IsZero() || t.Before(epoch) {
		return epoch
	}
	return t.UTC().Truncate(time.Second)
}

func fromDB(t time.Time) time.Time {
	if t.Unix() <= 0 {
		return time.Time{}
	}
	return t
}

// Event is one anomaly episode as the Alerts page shows it.
type Event struct {
	ID           string
	Key          string
	Rule         string
	Metric       string
	Grain        string
	SegmentKind  string
	Segment      string
	SegmentLabel string
	Team         string // the team it belongs to ("" org-wide)
	Detector     string
	Kind         string
	Direction    int
	Actual       float64
	Expected     float64
	Score        float64
	Since        time.Time
	PeriodFrom   time.Time
	PeriodTo     time.Time
	Summary      string
	Drivers      []Driver
	Recipients   []string
	Status       string // firing, resolved
	OpenedAt     time.Time
	LastSeenAt   time.Time
	// CheckedAt is the last evaluation of its rule while the event was open,
	// found or not: an open event last seen before it has gone quiet (Quiet).
	CheckedAt   time.Time
	NotifiedAt  time.Time
	ResolvedAt  time.Time
	NotifyCount int
	// From alert_acks.
	AckedAt      time.Time
	AckedBy      string
	SnoozedUntil time.Time
	SnoozedBy    string
}

// Quiet says the event is open but its rule did not find it at its latest
// evaluation: it stays one episode until resolve_after has passed, but the
// anomaly is not (or no longer) there.
func (e Event) Quiet() bool {
	return e.Status == "firing" && !e.CheckedAt.IsZero() && e.LastSeenAt.Before(e.CheckedAt)
}

func eventID(key string, opened time.Time) string {
	sum := sha256.Sum256([]byte(key + "|" + opened.UTC().Format(time.RFC3339)))
	return hex.EncodeToString(sum[:12])
}

const eventCols = `event_id, key, rule, metric, grain, segment_kind, segment, segment_label, team, detector, kind, direction,
    actual, expected, score, since, period_from, period_to, summary, drivers, recipients, status,
    opened_at, last_seen_at, notified_at, resolved_at, notify_count, checked_at, version`

func writeEvents(ctx context.Context, db *schemas.DB, evs []*Event) error {
	if len(evs) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(evs))
	for _, e := range evs {
		drv, _ := json.Marshal(e.Drivers)
		rc := e.Recipients
		if rc == nil {
			rc = []string{}
		}
		rows = append(rows, []any{e.ID, e.Key, e.Rule, e.Metric, e.Grain, e.SegmentKind, e.Segment, e.SegmentLabel, e.Team, e.Detector, e.Kind,
			int8(e.Direction), e.Actual, e.Expected, e.Score, orEpoch(e.Since), orEpoch(e.PeriodFrom), orEpoch(e.PeriodTo), e.Summary,
			string(drv), rc, e.Status, orEpoch(e.OpenedAt), orEpoch(e.LastSeenAt), orEpoch(e.NotifiedAt), orEpoch(e.ResolvedAt),
			uint32(e.NotifyCount), orEpoch(e.CheckedAt), nextVersion()})
	}
	if err := db.InsertRows(ctx, "alerts-events", "INSERT INTO alert_events ("+eventCols+")", rows...); err != nil {
		return fmt.Errorf("write alert events: %w", err)
	}
	return nil
}

func readEvents(ctx context.Context, db *schemas.DB, where string, args ...any) ([]*Event, error) {
	qctx, cancel := db.Context(ctx, "alerts-read-events")
	defer cancel()
	rows, err := db.Conn.Query(qctx, "SELECT "+eventCols+" FROM alert_events FINAL WHERE "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read alert events: %w", err)
	}
	defer rows.Close()
	var out []*Event
	for rows.Next() {
		var (
			e       Event
			dir     int8
			drv     string
			cnt     uint32
			version uint64
		)
		if err := rows.Scan(&e.ID, &e.Key, &e.Rule, &e.Metric, &e.Grain, &e.SegmentKind, &e.Segment, &e.SegmentLabel, &e.Team, &e.Detector, &e.Kind,
			&dir, &e.Actual, &e.Expected, &e.Score, &e.Since, &e.PeriodFrom, &e.PeriodTo, &e.Summary, &drv, &e.Recipients, &e.Status,
			&e.OpenedAt, &e.LastSeenAt, &e.NotifiedAt, &e.ResolvedAt, &cnt, &e.CheckedAt, &version); err != nil {
			return nil, fmt.Errorf("read alert events: %w", err)
		}
		e.Direction, e.NotifyCount = int(dir), int(cnt)
		_ = json.Unmarshal([]byte(drv), &e.Drivers)
		e.NotifiedAt, e.ResolvedAt, e.CheckedAt = fromDB(e.NotifiedAt), fromDB(e.ResolvedAt), fromDB(e.CheckedAt)
		out = append(out, &e)
	}
	return out, rows.Err()
}

// EventQuery selects events for the Alerts page.
type EventQuery struct {
	Since  time.Time // opened or seen at or after; zero: 30 days back
	Status string    // firing, resolved or "" for both
	Team   string    // a manager's scope: events of this team's segments only
	ID     string    // that event alone (still within Since, Status and Team)
	Deals  string    // "only": deal alerts only; "none": none of them; "": both
	Limit  int       // default 200
}

// dealKindsSQL is the deal detectors as an SQL list ('amount_cut', …): the
// kinds EventQuery.Deals selects on.
var dealKindsSQL = func() string {
	ks := make([]string, 0, len(dealDetectors))
	for k := range dealDetectors {
		ks = append(ks, "'"+k+"'") // constants: no quoting needed
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}()

// ListEvents returns recent alert events, newest first, with their
// acknowledgement and snooze state.
func ListEvents(ctx context.Context, db *schemas.DB, q EventQuery) ([]Event, error) {
	if q.Since.IsZero() {
		q.Since = time.Now().AddDate(0, 0, -30)
	}
	if q.Limit <= 0 {
		q.Limit = 200
	}
	where := fmt.Sprintf("last_seen_at >= toDateTime(%d)", q.Since.Unix())
	var args []any
	if q.Status != "" {
		where += " AND status = ?"
		args = append(args, q.Status)
	}
	// In the statement, not after its LIMIT: a manager's events are not
	// crowded out by other teams' (thousands of deal alerts at 3.2M deals).
	if q.Team != "" {
		where += " AND team = ?"
		args = append(args, q.Team)
	}
	if q.ID != "" {
		where += " AND event_id = ?"
		args = append(args, q.ID)
	}
	switch q.Deals {
	case "only":
		where += " AND kind IN (" + dealKindsSQL + ")"
	case "none":
		where += " AND kind NOT IN (" + dealKindsSQL + ")"
	case "":
	default:
		return nil, fmt.Errorf("list alert events: deals %q: want only, none or nothing", q.Deals)
	}
	where += fmt.Sprintf(" ORDER BY last_seen_at DESC, event_id LIMIT %d", q.Limit)
	evs, err := readEvents(ctx, db, where, args...)
	if err != nil {
		return nil, err
	}
	acks, err := readAcks(ctx, db)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, e := range evs {
		acks.apply(e)
		out = append(out, *e)
		if len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

// ackState is the active acknowledgements and snoozes.
type ackState struct {
	acked   map[string]ackRow // by event id
	snoozed map[string]ackRow // by event key
}

type ackRow struct {
	until time.Time
	actor string
	at    time.Time
}

func (s ackState) apply(e *Event) {
	if a, ok := s.acked[e.ID]; ok {
		e.AckedAt, e.AckedBy = a.at, a.actor
	}
	if a, ok := s.snoozed[e.Key]; ok {
		e.SnoozedUntil, e.SnoozedBy = a.until, a.actor
	}
}

// muted says whether an event must not be emailed at now.
func (s ackState) muted(id, key string, now time.Time) bool {
	if _, ok := s.acked[id]; ok {
		return true
	}
	if a, ok := s.snoozed[key]; ok && now.Before(a.until) {
		return true
	}
	return false
}

func readAcks(ctx context.Context, db *schemas.DB) (ackState, error) {
	st := ackState{acked: map[string]ackRow{}, snoozed: map[string]ackRow{}}
	qctx, cancel := db.Context(ctx, "alerts-read-acks")
	defer cancel()
	rows, err := db.Conn.Query(qctx, "SELECT target, kind, until, active, actor, created_at FROM alert_acks FINAL")
	if err != nil {
		return st, fmt.Errorf("read alert acks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			target, kind, actor string
			until, at           time.Time
			active              uint8
		)
		if err := rows.Scan(&target, &kind, &until, &active, &actor, &at); err != nil {
			return st, fmt.Errorf("read alert acks: %w", err)
		}
		if active == 0 {
			continue
		}
		switch kind {
		case "ack":
			st.acked[target] = ackRow{actor: actor, at: at}
		case "snooze":
			st.snoozed[target] = ackRow{until: until, actor: actor, at: at}
		}
	}
	return st, rows.Err()
}

func writeAck(ctx context.Context, db *schemas.DB, target, kind, eventID string, until time.Time, active bool, actor, note string) error {
	var a uint8
	if active {
		a = 1
	}
	err := db.InsertRows(ctx, "alerts-ack", "INSERT INTO alert_acks (target, kind, event_id, until, active, actor, note, created_at, version)",
		[]any{target, kind, eventID, orEpoch(until), a, actor, note, orEpoch(time.Now()), nextVersion()})
	if err != nil {
		return fmt.Errorf("write alert %s: %w", kind, err)
	}
	return nil
}

func eventByID(ctx context.Context, db *schemas.DB, id string) (*Event, error) {
	evs, err := readEvents(ctx, db, "event_id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return evs[0], nil
}

// Ack acknowledges an event: it is not emailed again (no repeats) until it
// resolves; a new episode of the same anomaly is a new event.
func Ack(ctx context.Context, db *schemas.DB, eventID, actor, note string) error {
	if _, err := eventByID(ctx, db, eventID); err != nil {
		return err
	}
	return writeAck(ctx, db, eventID, "ack", eventID, time.Time{}, true, actor, note)
}

// Snooze mutes the anomaly of an event (all its episodes) until until.
func Snooze(ctx context.Context, db *schemas.DB, eventID string, until time.Time, actor, note string) error {
	e, err := eventByID(ctx, db, eventID)
	if err != nil {
		return err
	}
	return writeAck(ctx, db, e.Key, "snooze", eventID, until, true, actor, note)
}

// Unsnooze ends a snooze early.
func Unsnooze(ctx context.Context, db *schemas.DB, eventID, actor string) error {
	e, err := eventByID(ctx, db, eventID)
	if err != nil {
		return err
	}
	return writeAck(ctx, db, e.Key, "snooze", eventID, time.Time{}, false, actor, "")
}
