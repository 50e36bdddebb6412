package alerts

import (
	"context"
	"time"

	"github.com/pipelens/pipelens/query"
)

// Metrics the alert rules can watch.
const (
	MetricLeads           = "leads"                // leads created
	MetricOppsOpened      = "opportunities_opened" // opportunities created
	MetricPipelineCreated = "pipeline_created"     // amount of opportunities created
	MetricBookings        = "bookings"             // amount won, by close date
	MetricDealsWon        = "deals_won"            // opportunities won, by close date
	MetricActivities      = "activities"           // calls, visits, meetings, emails
	MetricWinRate         = "win_rate"             // won / (won + lost), by close date
	MetricStageConversion = "stage_conversion"     // of stage entries, the share that moved on (within 30 days)
	MetricDaysInStage     = "days_in_stage"        // mean days in a stage, for stages left that day
)

// Segment kinds.
const (
	SegAll       = "all"
	SegTeam      = "team"
	SegTerritory = "territory"
	SegRep       = "rep"
	SegProduct   = "product"
	SegSource    = "source"
)

// MetricNames lists the metrics rules can watch: query's registry, sorted.
func MetricNames() []string { return query.MetricNames() }

// Source is where the alert engine reads metrics, the org and deals. The
// implementation (NewQuerySource) reads them through query; tests replace it.
// A Source that also has LastDay(ctx, metric) (day, ok, err) says the last day
// each metric's export covers: evaluations judge no day after it.
type Source interface {
	// Series returns one daily series per segment of kind, for days in
	// [from, to) of the business time zone, with a point for every day
	// (zeros where nothing happened).
	Series(ctx context.Context, metric, kind string, from, to time.Time) ([]SegmentSeries, error)
	Org(ctx context.Context) (Org, error)
	// Deals returns open opportunities with what the deal rules need, as of asOf.
	Deals(ctx context.Context, asOf time.Time) ([]Deal, error)
	// StageNorms returns, per team and stage, the usual days in that stage
	// (from stages left in the year before asOf).
	StageNorms(ctx context.Context, asOf time.Time) ([]StageNorm, error)
}

// SegmentSeries is one segment's daily series.
type SegmentSeries struct {
	Kind   string
	Key    string // rep_id for reps, the name otherwise; "" for all
	Label  string
	Points []Point
}

// Point is one day (or week) of a metric. Counts and amounts are in Sum; rates
// are Num/Den (successes/trials); means are Sum/Den.
type Point struct {
	Date     time.Time
	Sum      float64
	Num, Den float64
}

// Org is the sales organisation as the reps table says.
type Org struct {
	Reps []Person
}

// Person is a row of reps: a rep, manager or director.
type Person struct {
	ID, Name, Email, Role, ManagerID, Team, Territory, Lang string
	Active                                                  bool
}

// Deal is an open opportunity as the deal rules see it.
type Deal struct {
	ID, Name, Account, OwnerID, Stage string
	Product, Source, Territory        string
	Amount                            float64
	Currency                          string
	CloseDate                         time.Time
	StageEntered                      time.Time // when it entered its current stage
	Created                           time.Time // the dashboards list a deal by its created date
	// Snapshot history, oldest first.
	SnapDates, SnapClose []time.Time
	SnapAmount           []float64
}

// StageNorm is the usual time in a stage for a team.
type StageNorm struct {
	Team, Stage string
	Count       int
	P50, P90    float64 // days
}

// byID indexes the org.
func (o Org) byID() map[string]Person {
	m := make(map[string]Person, len(o.Reps))
	for _, p := range o.Reps {
		m[p.ID] = p
	}
	return m
}
