// Package gen generates a deterministic, realistic sales organisation in the canonical
// model: org and reps, accounts, leads, opportunities with full stage histories,
// activities, targets, market potential and weekly pipeline snapshots. It plants known
// truths (a rep weak at one stage, a territory with untapped potential, anomalies on
// known dates, stuck / pushed / cut deals) and reports them in a Truth, so tests can
// check that pipelens finds them. Natural deals sit, slip and shrink with tails
// through the planted deals' values, so the deal rules are judged by their
// definitions (Truth.OpenDeals), not by the planted list.
//
// The same Config gives byte-identical output. Rows are produced in blocks by several
// goroutines and delivered in block order, so the large size streams without holding
// everything in memory.
package gen

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// DefaultAsOf is the export date used when Config.AsOf is zero. It is fixed, not
// time.Now(), so that output is reproducible.
var DefaultAsOf = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// Config says what to generate. The zero value is the small size with seed 0.
type Config struct {
	Seed int64
	// Size is "small" (default: ~30 reps, 4,000 opportunities, 12 months), "medium"
	// (~110 reps, 100,000 opportunities, 24 months) or "large" (~590 reps, 3,200,000
	// opportunities and over 10,000,000 stage events, 36 months).
	Size string
	// Opportunities overrides the size's opportunity count when > 0.
	Opportunities int
	// AsOf is the export date: the last day that has data (UTC). Zero means DefaultAsOf.
	AsOf time.Time
	// Months of history before AsOf; zero means the size's default.
	Months int
	// NoAnomalies plants nothing: no weak rep, no outlying territory, no anomalies and
	// no stuck / pushed / cut deals. For "stays quiet" tests.
	NoAnomalies bool
	// OpenDeals records every deal open at the export in Truth.OpenDeals.
	OpenDeals bool
	// Workers generating blocks concurrently; zero means GOMAXPROCS. Output does not
	// depend on it.
	Workers int
}

type sizeSpec struct {
	teamsPerGroup int
	repsPerTeam   int
	opps          int
	months        int
}

var sizes = map[string]sizeSpec{
	"small":  {teamsPerGroup: 1, repsPerTeam: 4, opps: 4000, months: 12},
	"medium": {teamsPerGroup: 2, repsPerTeam: 8, opps: 100_000, months: 24},
	"large":  {teamsPerGroup: 7, repsPerTeam: 13, opps: 3_200_000, months: 36},
}

// resolved is a Config with its defaults filled in.
type resolved struct {
	Config
	spec sizeSpec
	from time.Time // first day of history (inclusive)
	end  time.Time // AsOf + 1 day: every timestamp is before it
}

func (c Config) resolve() (resolved, error) {
	if c.Size == "" {
		c.Size = "small"
	}
	spec, ok := sizes[c.Size]
	if !ok {
		return resolved{}, fmt.Errorf("resolve size %q: want small, medium or large", c.Size)
	}
	if c.Opportunities < 0 || c.Months < 0 {
		return resolved{}, fmt.Errorf("resolve config: negative opportunities (%d) or months (%d)", c.Opportunities, c.Months)
	}
	if c.Opportunities > 0 {
		spec.opps = c.Opportunities
	}
	if c.Months > 0 {
		spec.months = c.Months
	}
	c.Opportunities, c.Months = spec.opps, spec.months
	if c.AsOf.IsZero() {
		c.AsOf = DefaultAsOf
	}
	y, m, d := c.AsOf.UTC().Date()
	c.AsOf = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return resolved{
		Config: c,
		spec:   spec,
		from:   c.AsOf.AddDate(0, -spec.months, 0),
		end:    c.AsOf.AddDate(0, 0, 1),
	}, nil
}

// Column is one column of a canonical table: its name and ClickHouse type.
type Column struct {
	Name string
	Type string // String, UInt8, UInt16, UInt32, Float32, Float64, Date or DateTime
}

// Table is a canonical table as the generator writes it: the columns of
// schemas/migrations/0001_canonical.sql less run_id and loaded_at.
type Table struct {
	Name    string
	Columns []Column
}

// Chunk is a run of rows of one table, column by column. Data[i] holds the values of
// Columns[i] as []string, []uint8, []uint16, []uint32, []float32, []float64 or
// []time.Time (Date and DateTime columns, in UTC); every slice has Len values. The
// typed slices can be appended straight to a clickhouse-go batch column.
type Chunk struct {
	Table   string
	Columns []Column
	Data    []any
	Len     int
}

// Sink receives the generated rows. Write is called from one goroutine, table chunks
// in a deterministic order; it must not keep the chunk or its slices after returning.
type Sink interface {
	Write(ctx context.Context, c *Chunk) error
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(ctx context.Context, c *Chunk) error

// Write calls f.
func (f SinkFunc) Write(ctx context.Context, c *Chunk) error { return f(ctx, c) }

// Tables lists the canonical tables the generator writes, in the order their first
// chunks arrive.
func Tables() []Table {
	out := make([]Table, len(tables))
	copy(out, tables[:])
	return out
}

// Generate generates the sample described by cfg into sink and returns the planted
// truths. It stops early when ctx is done or sink fails.
func Generate(ctx context.Context, cfg Config, sink Sink) (*Truth, error) {
	rc, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	g := newGenerator(rc)
	return g.run(ctx, nil, func(b *block) error {
		for t := range b.chunks {
			c := b.chunks[t]
			if c == nil || c.Len == 0 {
				continue
			}
			if err := sink.Write(ctx, c); err != nil {
				return fmt.Errorf("write %s rows: %w", c.Table, err)
			}
		}
		return nil
	})
}
