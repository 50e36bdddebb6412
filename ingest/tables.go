package ingest

import (
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
)

// colType is a canonical column's ClickHouse type.
type colType uint8

const (
	tString colType = iota
	tFloat64
	tFloat32
	tUInt8
	tUInt16
	tUInt32
	tUInt64
	tDate
	tDateTime
	tBool // UInt8 holding 0/1, parsed as a yes/no value
)

type column struct {
	name string
	typ  colType
}

// table is a canonical table as the ingest writes it: its columns without run_id and
// loaded_at, which every load adds.
type table struct {
	name string
	cols []column
	key  []string // what identifies a row (duplicates within a file are counted by it)
	// unique says the key names one entity, so a second row with it in the same file
	// is a duplicate (entity tables), not another event.
	unique bool
	schema *arrow.Schema
	index  map[string]int
}

func (t *table) col(name string) int {
	i, ok := t.index[name]
	if !ok {
		panic("ingest: table " + t.name + " has no column " + name)
	}
	return i
}

func parseCols(spec string) []column {
	var out []column
	for _, f := range strings.Fields(spec) {
		n, typ, _ := strings.Cut(f, ":")
		c := column{name: n}
		switch typ {
		case "", "s":
			c.typ = tString
		case "f":
			c.typ = tFloat64
		case "f32":
			c.typ = tFloat32
		case "u8":
			c.typ = tUInt8
		case "u16":
			c.typ = tUInt16
		case "u32":
			c.typ = tUInt32
		case "u64":
			c.typ = tUInt64
		case "d":
			c.typ = tDate
		case "dt":
			c.typ = tDateTime
		case "b":
			c.typ = tBool
		default:
			panic("ingest: bad column spec " + f)
		}
		out = append(out, c)
	}
	return out
}

func newTable(name, spec string, unique bool, key ...string) *table {
	t := &table{name: name, cols: parseCols(spec), key: key, unique: unique, index: map[string]int{}}
	fields := make([]arrow.Field, len(t.cols))
	for i, c := range t.cols {
		t.index[c.name] = i
		fields[i] = arrow.Field{Name: c.name, Type: c.typ.arrow()}
	}
	t.schema = arrow.NewSchema(fields, nil)
	return t
}

func (c colType) arrow() arrow.DataType {
	switch c {
	case tFloat64:
		return arrow.PrimitiveTypes.Float64
	case tFloat32:
		return arrow.PrimitiveTypes.Float32
	case tUInt8, tBool:
		return arrow.PrimitiveTypes.Uint8
	case tUInt16:
		return arrow.PrimitiveTypes.Uint16
	case tUInt32:
		return arrow.PrimitiveTypes.Uint32
	case tUInt64:
		return arrow.PrimitiveTypes.Uint64
	case tDate:
		return arrow.FixedWidthTypes.Date32
	case tDateTime:
		return arrow.FixedWidthTypes.Timestamp_s
	}
	return arrow.BinaryTypes.String
}

// The canonical tables of schemas/migrations/0001_canonical.sql.
var (
	tAccounts = newTable("accounts", "account_id name territory region country city industry segment employees:u32 revenue:f parent_id source_system", true, "account_id")
	tReps     = newTable("reps", "rep_id name email role manager_id team territory lang active:b hired_on:d source_system", true, "rep_id")
	tOpps     = newTable("opportunities", "opportunity_id name account_id owner_id product pipeline source stage vendor_stage amount:f currency probability:f32 created_at:dt close_date:d closed:b won:b lost_reason snapshot_date:d source_system forecast_category", true, "opportunity_id")
	tSnaps    = newTable("opportunity_snapshots", "snapshot_date:d opportunity_id owner_id account_id product stage amount:f currency close_date:d closed:b won:b", true, "snapshot_date", "opportunity_id")
	tEvents   = newTable("stage_events", "opportunity_id stage stage_rank:u8 vendor_stage entered_at:dt origin", false, "opportunity_id", "entered_at", "stage")
	tLeads    = newTable("leads", "lead_id created_at:dt source owner_id account_id territory status converted:b converted_at:dt opportunity_id source_system", true, "lead_id")
	tActs     = newTable("activities", "activity_id type rep_id opportunity_id account_id occurred_at:dt duration_min:u32 source_system", true, "activity_id")
	tTargets  = newTable("targets", "scope scope_id period_start:d period_end:d metric amount:f currency", true, "scope", "scope_id", "metric", "period_start")
	tMarket   = newTable("market", "territory segment industry year:u16 potential:f accounts_total:u32 currency", true, "territory", "segment", "industry", "year")

	tFx       = newTable("fx_rates", "currency month:d rate:f", true, "currency", "month")
	tLinks    = newTable("lead_links", "lead_id opportunity_id source_system", true, "lead_id", "opportunity_id")
	allTables = []*table{tAccounts, tReps, tOpps, tSnaps, tEvents, tLeads, tActs, tTargets, tMarket, tFx, tLinks}
)

func tableByName(name string) *table {
	for _, t := range allTables {
		if t.name == name {
			return t
		}
	}
	return nil
}

// size is the bytes of one value of a fixed-width type.
func (c colType) size() int {
	switch c {
	case tUInt8, tBool:
		return 1
	case tUInt16:
		return 2
	case tFloat32, tUInt32, tDate:
		return 4
	case tFloat64, tUInt64, tDateTime:
		return 8
	}
	return 0
}
