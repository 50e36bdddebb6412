package query

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ErrBadFilter marks a request the caller can fix: a malformed date, an unknown
// group, a page out of range. The message names the parameter.
var ErrBadFilter = errors.New("bad filter")

// ErrNotFound means the thing asked for does not exist in the caller's scope.
var ErrNotFound = errors.New("not found")

// ParamError is a bad request parameter.
type ParamError struct {
	Param string
	Msg   string
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Msg }

// Is makes errors.Is(err, ErrBadFilter) true for every ParamError.
func (e *ParamError) Is(target error) bool { return target == ErrBadFilter }

func badParam(param, format string, args ...any) error {
	return &ParamError{Param: param, Msg: fmt.Sprintf(format, args...)}
}

// Filter is what every metric is restricted to. From is inclusive and To exclusive,
// both midnight of a date in the business time zone. Empty lists mean "all".
// Team, Territory, Product, Source and Segment match names; Manager and Rep match
// rep ids (reps.rep_id).
type Filter struct {
	From, To  time.Time
	Team      []string
	Manager   []string
	Rep       []string
	Territory []string
	Product   []string
	Source    []string
	Segment   []string
}

// DefaultDays is the range when neither from nor to is given: the last 365 days,
// today included.
const DefaultDays = 365

// FilterParams are the query parameters ParseFilter reads.
var FilterParams = []string{"from", "to", "team", "manager", "rep", "territory", "product", "source", "segment"}

const maxValues = 200

// ParseFilter reads the filter from URL parameters. Dates are YYYY-MM-DD in loc;
// list parameters may repeat (team=a&team=b) or hold commas (team=a,b). Errors
// wrap ErrBadFilter and name the parameter.
func ParseFilter(v url.Values, loc *time.Location) (Filter, error) {
	if loc == nil {
		loc = time.UTC
	}
	var f Filter
	var err error
	if f.From, err = parseDate(v, "from", loc); err != nil {
		return f, err
	}
	if f.To, err = parseDate(v, "to", loc); err != nil {
		return f, err
	}
	switch {
	case f.From.IsZero() && f.To.IsZero():
		now := time.Now().In(loc)
		f.To = time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, loc)
		f.From = f.To.AddDate(0, 0, -DefaultDays)
	case f.From.IsZero():
		f.From = f.To.AddDate(0, 0, -DefaultDays)
	case f.To.IsZero():
		f.To = f.From.AddDate(0, 0, DefaultDays)
	}
	if !f.From.Before(f.To) {
		return f, badParam("to", "%s is not after from %s (to is exclusive)", f.To.Format(time.DateOnly), f.From.Format(time.DateOnly))
	}
	for _, p := range []struct {
		name string
		dst  *[]string
	}{{"team", &f.Team}, {"manager", &f.Manager}, {"rep", &f.Rep}, {"territory", &f.Territory}, {"product", &f.Product}, {"source", &f.Source}, {"segment", &f.Segment}} {
		vals, err := parseList(v, p.name)
		if err != nil {
			return f, err
		}
		*p.dst = vals
	}
	return f, nil
}

func parseDate(v url.Values, name string, loc *time.Location) (time.Time, error) {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, badParam(name, "%q is not a date: want YYYY-MM-DD", s)
	}
	if t.Year() < 1971 || t.Year() > 2105 {
		return time.Time{}, badParam(name, "%q is out of range: want a year in 1971..2105", s)
	}
	return t, nil
}

func parseList(v url.Values, name string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, raw := range v[name] {
		for _, s := range strings.Split(raw, ",") {
			s = strings.TrimSpace(s)
			if s == "" || seen[s] {
				continue
			}
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(out) > maxValues {
		return nil, badParam(name, "%d values: at most %d", len(out), maxValues)
	}
	return out, nil
}

// Values is the filter as URL parameters (the inverse of ParseFilter), for links
// from alerts and pages to the filtered view.
func (f Filter) Values() url.Values {
	v := url.Values{}
	if !f.From.IsZero() {
		v.Set("from", f.From.Format(time.DateOnly))
	}
	if !f.To.IsZero() {
		v.Set("to", f.To.Format(time.DateOnly))
	}
	for name, l := range map[string][]string{"team": f.Team, "manager": f.Manager, "rep": f.Rep, "territory": f.Territory, "product": f.Product, "source": f.Source, "segment": f.Segment} {
		if len(l) > 0 {
			v.Set(name, strings.Join(l, ","))
		}
	}
	return v
}

// restrict applies the caller's row-level scope to the filter. A manager sees only
// the own team: no team asked means the own team, another team asked is
// ErrForbidden. A rep sees only the own numbers, the same way.
func (sc Scope) restrict(f Filter) (Filter, error) {
	switch sc.Role {
	case RoleDirector, RoleAdmin:
		return f, nil
	case RoleManager:
		if sc.Team == "" {
			return f, fmt.Errorf("%w: manager %q has no team", ErrForbidden, sc.Name)
		}
		for _, t := range f.Team {
			if t != sc.Team {
				return f, fmt.Errorf("%w: team %q is not %s's team", ErrForbidden, t, sc.Name)
			}
		}
		f.Team = []string{sc.Team}
		return f, nil
	case RoleRep:
		if sc.Rep == "" {
			return f, fmt.Errorf("%w: rep scope %q names no rep", ErrForbidden, sc.Name)
		}
		for _, r := range f.Rep {
			if r != sc.Rep {
				return f, fmt.Errorf("%w: rep %q is not %s", ErrForbidden, r, sc.Name)
			}
		}
		f.Rep = []string{sc.Rep}
		return f, nil
	}
	return f, fmt.Errorf("%w: unknown role %q", ErrForbidden, sc.Role)
}

// cond is a piece of WHERE clause with its bound arguments.
type cond struct {
	sql  []string
	args []any
}

func (c *cond) add(sql string, args ...any) {
	c.sql = append(c.sql, sql)
	c.args = append(c.args, args...)
}

func (c *cond) in(col string, vals []string) {
	if len(vals) == 0 {
		return
	}
	set := make([]any, len(vals))
	for i, v := range vals {
		set[i] = v
	}
	c.add(col+" IN ?", clickhouse.GroupSet{Value: set})
}

// where is " WHERE a AND b" (or "" with no conditions).
func (c *cond) where() string {
	if len(c.sql) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.sql, " AND ")
}

// prewhere is where() for a statement over opp_facts alone whose conditions
// name its columns: every condition but the visibility rule goes to PREWHERE,
// the rule to WHERE. ClickHouse then reads the filter's columns first and
// computes the rule, a NOT IN of every row's (opportunity_id, pub), only for
// the rows they keep (it does not move it there by itself, nor anything on a
// Distributed table). The answer is the same; a year of 3.2M deals takes 2-3x
// less time. The rule has no arguments, so the arguments keep their order.
func (c *cond) prewhere() string {
	var pre, rule []string
	for _, s := range c.sql {
		if s == tokFacts {
			rule = append(rule, s)
		} else {
			pre = append(pre, s)
		}
	}
	if len(pre) == 0 || len(rule) == 0 {
		return c.where()
	}
	return " PREWHERE " + strings.Join(pre, " AND ") + " WHERE " + strings.Join(rule, " AND ")
}

// and is " AND a AND b" (or "").
func (c *cond) and() string {
	if len(c.sql) == 0 {
		return ""
	}
	return " AND " + strings.Join(c.sql, " AND ")
}

// dims adds the visibility of opp_facts and opp_moves (tokFacts) and the
// attribute filters on their columns (owner_id, team, manager_id, territory,
// product, source, segment). prefix is "" or "alias.".
func dims(c *cond, f Filter, prefix string) {
	c.add(tokFacts)
	c.in(prefix+"team", f.Team)
	c.in(prefix+"manager_id", f.Manager)
	c.in(prefix+"owner_id", f.Rep)
	c.in(prefix+"territory", f.Territory)
	c.in(prefix+"product", f.Product)
	c.in(prefix+"source", f.Source)
	c.in(prefix+"segment", f.Segment)
}

// dateRange adds from <= col < to for a Date column.
func dateRange(c *cond, col string, f Filter) {
	c.add(col+" >= toDate(?) AND "+col+" < toDate(?)", day(f.From), day(f.To))
}

func day(t time.Time) string { return t.Format(time.DateOnly) }
