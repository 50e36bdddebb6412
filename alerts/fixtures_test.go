package alerts

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

func TestMain(m *testing.M) { schemastest.Main(m) }

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// loadGen generates a sample with the generator and loads it into db as one
// committed ingest run (the ingest service is not needed for alert tests).
func loadGen(t testing.TB, db *schemas.DB, cfg gen.Config) *gen.Truth {
	t.Helper()
	ctx := context.Background()
	loaded := time.Now().UTC().Truncate(time.Second)
	sink := gen.SinkFunc(func(ctx context.Context, c *gen.Chunk) error {
		names := make([]string, 0, len(c.Columns)+2)
		for _, col := range c.Columns {
			names = append(names, col.Name)
		}
		names = append(names, "run_id", "loaded_at")
		// A load is not a query: under a busy machine a medium sample's chunk
		// can outlast the default query timeout, which closes the connection.
		bctx, release := db.BatchContext(ctx, "test-load-"+c.Table, 2*time.Minute)
		defer release()
		b, err := db.Conn.PrepareBatch(bctx, fmt.Sprintf("INSERT INTO %s (%s)", c.Table, strings.Join(names, ", ")))
		if err != nil {
			return err
		}
		defer b.Close()
		for i, d := range c.Data {
			if err := b.Column(i).Append(d); err != nil {
				return fmt.Errorf("column %s: %w", c.Columns[i].Name, err)
			}
		}
		runs := make([]uint64, c.Len)
		at := make([]time.Time, c.Len)
		for i := range runs {
			runs[i], at[i] = 1, loaded
		}
		if err := b.Column(len(c.Data)).Append(runs); err != nil {
			return err
		}
		if err := b.Column(len(c.Data) + 1).Append(at); err != nil {
			return err
		}
		return b.Send()
	})
	truth, err := gen.Generate(ctx, cfg, sink)
	if err != nil {
		t.Fatalf("generate and load sample: %v", err)
	}
	err = db.InsertRows(ctx, "test-run", "INSERT INTO ingest_runs (run_id, file, status, started_at, finished_at, updated_ns)",
		[]any{uint64(1), "gen", "loaded", loaded, loaded, uint64(loaded.UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	// Published as a load is: nothing is visible before.
	if err := query.New(db, time.UTC, nil).Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	return truth
}

func mustDate(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(time.DateOnly, s, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
