package gen

import "time"

// Table indexes, in delivery order.
const (
	tReps = iota
	tAccounts
	tOpps
	tEvents
	tSnapshots
	tLeads
	tActivities
	tTargets
	tMarket
	numTables
)

func cols(spec ...string) []Column {
	out := make([]Column, 0, len(spec)/2)
	for i := 0; i+1 < len(spec); i += 2 {
		out = append(out, Column{Name: spec[i], Type: spec[i+1]})
	}
	return out
}

var tables = [numTables]Table{
	tReps: {"reps", cols(
		"rep_id", "String", "name", "String", "email", "String", "role", "String",
		"manager_id", "String", "team", "String", "territory", "String", "lang", "String",
		"active", "UInt8", "hired_on", "Date", "source_system", "String")},
	tAccounts: {"accounts", cols(
		"account_id", "String", "name", "String", "territory", "String", "region", "String",
		"country", "String", "city", "String", "industry", "String", "segment", "String",
		"employees", "UInt32", "revenue", "Float64", "parent_id", "String", "source_system", "String")},
	tOpps: {"opportunities", cols(
		"opportunity_id", "String", "name", "String", "account_id", "String", "owner_id", "String",
		"product", "String", "pipeline", "String", "source", "String", "stage", "String",
		"vendor_stage", "String", "amount", "Float64", "currency", "String", "probability", "Float32",
		"created_at", "DateTime", "close_date", "Date", "closed", "UInt8", "won", "UInt8",
		"lost_reason", "String", "snapshot_date", "Date", "source_system", "String")},
	tEvents: {"stage_events", cols(
		"opportunity_id", "String", "stage", "String", "stage_rank", "UInt8", "vendor_stage", "String",
		"entered_at", "DateTime", "origin", "String")},
	tSnapshots: {"opportunity_snapshots", cols(
		"snapshot_date", "Date", "opportunity_id", "String", "owner_id", "String", "account_id", "String",
		"product", "String", "stage", "String", "amount", "Float64", "currency", "String",
		"close_date", "Date", "closed", "UInt8", "won", "UInt8")},
	tLeads: {"leads", cols(
		"lead_id", "String", "created_at", "DateTime", "source", "String", "owner_id", "String",
		"account_id", "String", "territory", "String", "status", "String", "converted", "UInt8",
		"converted_at", "DateTime", "opportunity_id", "String", "source_system", "String")},
	tActivities: {"activities", cols(
		"activity_id", "String", "type", "String", "rep_id", "String", "opportunity_id", "String",
		"account_id", "String", "occurred_at", "DateTime", "duration_min", "UInt32", "source_system", "String")},
	tTargets: {"targets", cols(
		"scope", "String", "scope_id", "String", "period_start", "Date", "period_end", "Date",
		"metric", "String", "amount", "Float64", "currency", "String")},
	tMarket: {"market", cols(
		"territory", "String", "segment", "String", "industry", "String", "year", "UInt16",
		"potential", "Float64", "accounts_total", "UInt32", "currency", "String")},
}

const sourceSystem = "gen"

// Typed row builders, one per table. Each chunk() wraps the slices in table column order.

type repRows struct {
	id, name, email, role, manager, team, territory, lang []string
	active                                                []uint8
	hired                                                 []time.Time
	sys                                                   []string
}

func (r *repRows) chunk() *Chunk {
	return mk(tReps, len(r.id), r.id, r.name, r.email, r.role, r.manager, r.team, r.territory, r.lang, r.active, r.hired, r.sys)
}

type accountRows struct {
	id, name, territory, region, country, city, industry, segment []string
	employees                                                     []uint32
	revenue                                                       []float64
	parent, sys                                                   []string
}

func (r *accountRows) chunk() *Chunk {
	return mk(tAccounts, len(r.id), r.id, r.name, r.territory, r.region, r.country, r.city, r.industry, r.segment, r.employees, r.revenue, r.parent, r.sys)
}

type oppRows struct {
	id, name, account, owner, product, pipeline, source, stage, vstage []string
	amount                                                             []float64
	currency                                                           []string
	prob                                                               []float32
	created, closeDate                                                 []time.Time
	closed, won                                                        []uint8
	lostReason                                                         []string
	snapshot                                                           []time.Time
	sys                                                                []string
}

func (r *oppRows) chunk() *Chunk {
	return mk(tOpps, len(r.id), r.id, r.name, r.account, r.owner, r.product, r.pipeline, r.source, r.stage, r.vstage,
		r.amount, r.currency, r.prob, r.created, r.closeDate, r.closed, r.won, r.lostReason, r.snapshot, r.sys)
}

type eventRows struct {
	opp, stage []string
	rank       []uint8
	vstage     []string
	entered    []time.Time
	origin     []string
}

func (r *eventRows) chunk() *Chunk {
	return mk(tEvents, len(r.opp), r.opp, r.stage, r.rank, r.vstage, r.entered, r.origin)
}

type snapshotRows struct {
	date                                []time.Time
	opp, owner, account, product, stage []string
	amount                              []float64
	currency                            []string
	closeDate                           []time.Time
	closed, won                         []uint8
}

func (r *snapshotRows) chunk() *Chunk {
	return mk(tSnapshots, len(r.opp), r.date, r.opp, r.owner, r.account, r.product, r.stage, r.amount, r.currency, r.closeDate, r.closed, r.won)
}

type leadRows struct {
	id          []string
	created     []time.Time
	source      []string
	owner       []string
	account     []string
	territory   []string
	status      []string
	converted   []uint8
	convertedAt []time.Time
	opp, sys    []string
}

func (r *leadRows) chunk() *Chunk {
	return mk(tLeads, len(r.id), r.id, r.created, r.source, r.owner, r.account, r.territory, r.status, r.converted, r.convertedAt, r.opp, r.sys)
}

type activityRows struct {
	id, typ, rep, opp, account []string
	occurred                   []time.Time
	duration                   []uint32
	sys                        []string
}

func (r *activityRows) chunk() *Chunk {
	return mk(tActivities, len(r.id), r.id, r.typ, r.rep, r.opp, r.account, r.occurred, r.duration, r.sys)
}

type targetRows struct {
	scope, scopeID []string
	start, end     []time.Time
	metric         []string
	amount         []float64
	currency       []string
}

func (r *targetRows) chunk() *Chunk {
	return mk(tTargets, len(r.scope), r.scope, r.scopeID, r.start, r.end, r.metric, r.amount, r.currency)
}

type marketRows struct {
	territory, segment, industry []string
	year                         []uint16
	potential                    []float64
	accounts                     []uint32
	currency                     []string
}

func (r *marketRows) chunk() *Chunk {
	return mk(tMarket, len(r.territory), r.territory, r.segment, r.industry, r.year, r.potential, r.accounts, r.currency)
}

func mk(t int, n int, data ...any) *Chunk {
	return &Chunk{Table: tables[t].Name, Columns: tables[t].Columns, Data: data, Len: n}
}
