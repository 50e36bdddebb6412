package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"golang.org/x/term"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/schemas"
)

func init() {
	register(command{name: "ingest", summary: "load CRM exports (CSV, TSV, XLSX, JSON, Parquet) into ClickHouse", run: runIngest})
}

func runIngest(ctx context.Context, a *app, args []string) error {
	fs := a.flags("ingest", "FILE...")
	asJSON := fs.Bool("json", false, "print one JSON report on stdout")
	source := fs.String("source", "", "force a profile instead of detecting it: "+strings.Join(ingest.Profiles(), ", "))
	sheet := fs.String("sheet", "", "XLSX sheet to read (default: the first)")
	dateOrder := fs.String("date-order", "", "force dmy or mdy for dates like 03/04/2024")
	watch := fs.String("watch", "", "watch this drop folder and load what lands in it (done/ and failed/ get the files and reports)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if *watch == "" && fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	db, err := a.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := a.ingestService(db, !*asJSON && *watch == "")
	if err := svc.Recover(ctx); err != nil {
		a.log.Warn("recover abandoned runs", "err", err)
	}
	if *watch != "" {
		a.log.Info("watching drop folder", "dir", *watch)
		err := svc.Watch(ctx, *watch)
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	rep, err := svc.LoadFiles(ctx, fs.Args(), ingest.LoadOptions{Source: *source, Sheet: *sheet, DateOrder: *dateOrder})
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if rep != nil {
			_ = enc.Encode(rep)
		}
	} else if rep != nil {
		printReport(a, rep)
	}
	if err != nil {
		return err
	}
	if rep.Failed > 0 {
		return fmt.Errorf("%d of %d files failed", rep.Failed, len(rep.Files))
	}
	return nil
}

// ingestService builds the ingest service from the config; bar draws progress
// when stderr is a terminal. Its loads publish themselves.
func (a *app) ingestService(db *schemas.DB, bar bool) *ingest.Service {
	o := a.ingestOptions(bar)
	o.Publish = func(ctx context.Context) error {
		_, err := a.queryService(db).Publish(ctx)
		return err
	}
	return ingest.New(db, o, a.log)
}

// ingestLoader is ingestService whose loads stay unpublished (benchmarks time
// the publication on its own).
func (a *app) ingestLoader(db *schemas.DB) *ingest.Service {
	return ingest.New(db, a.ingestOptions(false), a.log)
}

func (a *app) ingestOptions(bar bool) ingest.Options {
	c, _ := a.config()
	o := ingest.Options{RejectThreshold: &c.Ingest.RejectThreshold, Mappings: c.Ingest.Mappings, Location: c.Location(),
		MaxUploadBytes: c.Ingest.MaxUploadMB << 20, Currency: ingest.Currency{Reporting: c.Currency.Reporting, Rates: c.Currency.Rates}}
	if bar {
		if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			o.Progress = ingest.ProgressBar(a.stderr)
		}
	}
	return o
}

func printReport(a *app, rep *ingest.Report) {
	for _, f := range rep.Files {
		detected := ""
		if f.Score > 0 {
			detected = fmt.Sprintf(" scored %d", f.Score)
			if f.RunnerUp != "" {
				detected += fmt.Sprintf(", next %s %d", f.RunnerUp, f.RunnerUpScore)
			}
		}
		fmt.Fprintf(a.stdout, "%s: %s (profile %s%s, run %d): read %d, loaded %d, rejected %d", f.File, f.Status, f.Profile, detected, f.RunID, f.Read, f.Loaded, f.Rejected)
		if f.Duplicates > 0 {
			fmt.Fprintf(a.stdout, ", duplicate rows %d", f.Duplicates)
		}
		fmt.Fprintf(a.stdout, " in %d ms\n", f.DurationMS)
		for _, r := range slices.Sorted(maps.Keys(f.RejectsByReason)) {
			fmt.Fprintf(a.stdout, "  rejected %-16s %d\n", r, f.RejectsByReason[r])
		}
		for _, w := range slices.Sorted(maps.Keys(f.Warnings)) {
			fmt.Fprintf(a.stdout, "  warning %-16s %d rows\n", w, f.Warnings[w])
		}
		for _, r := range f.SampleRejects {
			fmt.Fprintf(a.stdout, "  row %d, column %s, value %q: %s\n", r.Row, r.Column, r.Value, r.Message)
		}
		if f.Error != "" {
			fmt.Fprintf(a.stdout, "  error: %s\n", f.Error)
		}
	}
	fmt.Fprintf(a.stdout, "total: loaded %d, rejected %d, failed files %d\n", rep.Loaded, rep.Rejected, rep.Failed)
}

// refresh publishes what is loaded and not yet visible (loads publish
// themselves; this catches a load whose process died before it published).
func (a *app) refresh(ctx context.Context, db *schemas.DB) {
	if _, err := a.queryService(db).Publish(ctx); err != nil {
		a.log.Error("publish loaded runs", "err", err)
	}
}
