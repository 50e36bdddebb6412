package parity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

// database is the test database's name on 18.16 and on chDB alike (the dumped
// CREATE statements name it).
const database = "parity"

// TestParity: every statement pipelens runs answers the same on ClickHouse
// 18.16 and on current ClickHouse (chDB). See doc.go.
func TestParity(t *testing.T) {
	node, prefix, why := findChDB()
	if why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the parity test needs chDB in CI: %s. Install it with %s", why, chdbInstall)
		}
		t.Skipf("%s. Install it with %s", why, chdbInstall)
	}
	ctx := context.Background()
	work := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	started := time.Now()

	emb, err := schemas.StartEmbedded(ctx, schemas.EmbeddedOptions{Dir: filepath.Join(work, "clickhouse"), Logger: log})
	if errors.Is(err, schemas.ErrNoServerBinary) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Stop() })
	httpPort, err := httpPortOf(filepath.Join(work, "clickhouse"))
	if err != nil {
		t.Fatal(err)
	}
	// log_queries = 1 for every statement of this connection (a URL parameter is a
	// setting): system.query_log then holds what pipelens ran.
	db, err := schemas.Open(ctx, config.ClickHouse{URL: config.Secret("clickhouse://default@" + emb.Addr + "/" + database + "?log_queries=1"), QueryTimeout: 2 * time.Minute}, work, log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	chDir := filepath.Join(work, "chdb")
	if err := os.MkdirAll(chDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ch, err := startChDB(node, prefix, chDir)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.close()
	r := &run{t: t, ctx: ctx, db: db, old: newOld(httpPort, database), ch: ch, work: work, seen: map[string]bool{}}
	newVersion, err := ch.must("SELECT version()")
	if err != nil {
		t.Fatalf("chDB does not answer (%s): %v", prefix, err)
	}
	oldVersion, err := r.old.must("SELECT version()")
	if err != nil {
		t.Fatal(err)
	}
	r.versions = fmt.Sprintf("ClickHouse %s (embedded) against %s (chDB under %s)", strings.TrimSpace(oldVersion), strings.TrimSpace(newVersion), prefix)
	t.Log(r.versions)

	// Two loads through ingest, each published by the query service as the
	// binary wires it; each publication is replayed on chDB as it happens.
	// Reported in CNY with USD at a configured rate and monthly rates (the
	// sample's international team sells in USD): the conversion's SQL runs too.
	svc := query.New(db, time.UTC, log).WithCurrency("CNY", map[string]float64{"USD": 7.1})
	ing := ingest.New(db, ingest.Options{Publish: func(ctx context.Context) error { return r.publish(ctx, svc) },
		Currency: ingest.Currency{Reporting: "CNY", Rates: map[string]float64{"USD": 7.1}}}, log)
	genDir := filepath.Join(work, "gen")
	truth, err := gen.WriteDir(ctx, gen.Config{Seed: 3, Opportunities: 3000}, genDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(genDir, "fx_rates.csv"), []byte("currency,month,rate\nUSD,2026-03-01,7.05\nUSD,2026-06-01,7.2\nusd,2026-09-01,7.15\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeLeadLinks(t, genDir)
	files, _ := filepath.Glob(filepath.Join(genDir, "*.csv"))
	sort.Slice(files, func(i, j int) bool { return loadOrder[filepath.Base(files[i])] < loadOrder[filepath.Base(files[j])] })
	for _, batch := range [][]string{files, reexport(t, genDir)} {
		rep, err := ing.LoadFiles(ctx, batch, ingest.LoadOptions{Source: "canonical"})
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		for _, f := range rep.Files {
			if f.Status != ingest.StatusCommitted {
				t.Fatalf("load %s: %s %s", f.File, f.Status, f.Error)
			}
		}
	}
	if len(r.pubs) != 2 || !r.pubs[0].full || r.pubs[1].full {
		var got []string
		for _, p := range r.pubs {
			got = append(got, fmt.Sprintf("%d full=%v", p.n, p.full))
		}
		t.Fatalf("publications: %v; want one full, then one incremental", got)
	}
	loaded := time.Now()

	// The metric suite and one alert evaluation, on 18.16.
	calls := suite(t, ctx, svc, db, truth)
	alertCalls := alertReads(t, ctx, db, truth)
	asked := time.Now()

	// Every SELECT they ran, asked again of 18.16 and of chDB over the same data.
	r.compareSelects()

	diffs := 0
	for _, p := range r.pubs {
		diffs += len(p.diffs)
	}
	diffs += len(r.selectDiffs)
	summary := fmt.Sprintf("parity: %s\n"+
		"  publications replayed on chDB: %d (%d statements), serving tables compared: %d, differences: %d\n"+
		"  metric suite: %d API calls; alerts: one evaluation (default rules) and %d source reads\n"+
		"  SELECT statements logged: %d (%d distinct), compared: %d, skipped: %d (%s)\n"+
		"  answers compared: %d (%d rows on 18.16), differences: %d\n"+
		"  total differences: %d   [load+publish %s, suite %s, compare %s]",
		r.versions, len(r.pubs), r.replayed, r.tablesCompared, diffs-len(r.selectDiffs),
		calls, alertCalls,
		r.logged, r.distinct, r.compared, r.skipped, strings.Join(r.skipReasons(), ", "),
		r.answers, r.rows, len(r.selectDiffs),
		diffs, loaded.Sub(started).Round(time.Second), asked.Sub(loaded).Round(time.Second), time.Since(asked).Round(time.Second))
	t.Log(summary)
	t.Logf("distinct SELECTs compared by purpose (query id): %s", r.purposeList())
	t.Logf("settings applied on both sides besides limits: %s", r.settingList())
	if len(r.nullable) > 0 {
		t.Logf("equal, but typed Nullable(T) on 26.x where 18.16 says T (no NULLs; clickhouse-go scans them alike): %s", countList(r.nullable))
	}
	for _, p := range r.pubs {
		for _, d := range p.diffs {
			t.Errorf("publication %d: %s", p.n, d)
		}
	}
	for _, d := range r.selectDiffs {
		t.Errorf("%s", d)
	}
	// go test prints t.Log only with -v or on failure; CI may keep the summary.
	if p := os.Getenv("PIPELENS_PARITY_REPORT"); p != "" {
		report := summary + "\n"
		for _, x := range r.pubs {
			for _, d := range x.diffs {
				report += fmt.Sprintf("\npublication %d: %s\n", x.n, d)
			}
		}
		for _, d := range r.selectDiffs {
			report += "\n" + d + "\n"
		}
		if err := os.WriteFile(p, []byte(report), 0o644); err != nil {
			t.Errorf("write %s: %v", p, err)
		}
	}
}

// loadOrder loads dimensions before the facts that refer to them.
var loadOrder = map[string]int{"reps.csv": 0, "accounts.csv": 1, "market.csv": 2, "targets.csv": 3, "opportunities.csv": 4,
	"opportunity_snapshots.csv": 5, "stage_events.csv": 6, "leads.csv": 7, "activities.csv": 8}

// run is the state of one parity run.
type run struct {
	t        *testing.T
	ctx      context.Context
	db       *schemas.DB
	old      *old
	ch       *chdb
	work     string
	versions string

	seen map[string]bool // query ids of publication statements already replayed
	pubs []*pubRun

	replayed, tablesCompared   int
	logged, distinct, compared int
	skipped                    int
	skips, purposes, nullable  map[string]int
	settingsSeen               map[string]bool
	answers, rows              int
	selectDiffs                []string
}

type pubRun struct {
	n     int
	full  bool
	stmts []logged
	diffs []string
}

// logged is one finished pipelens statement from system.query_log.
type logged struct {
	ID       string   `json:"query_id"`
	Time     string   `json:"t"`
	Query    string   `json:"query"`
	Names    []string `json:"names"`
	Values   []string `json:"values"`
	settings map[string]any
}

// keptSettings are the settings of a logged statement that can change its
// answer; the rest (time limits, logging, the profile's memory limit) cannot.
func keptSettings(l logged) map[string]any {
	skip := map[string]bool{"max_execution_time": true, "log_queries": true, "max_memory_usage": true, "load_balancing": true,
		"use_uncompressed_cache": true, "max_threads": true, "receive_timeout": true, "send_timeout": true}
	var out map[string]any
	for i, n := range l.Names {
		if skip[n] || i >= len(l.Values) {
			continue
		}
		if out == nil {
			out = map[string]any{}
		}
		out[n] = l.Values[i]
	}
	return out
}

// statements returns the finished pipelens statements in system.query_log whose
// query id starts with prefix, in the order they ran. Rows of one flush are
// stored sorted by event_time with ties in the order they were logged (a stable
// sort), and parts are read in insert order with one thread; the stable sort
// here merges the parts.
func (r *run) statements(prefix string) ([]logged, error) {
	if _, err := r.old.must("SYSTEM FLUSH LOGS"); err != nil {
		return nil, err
	}
	b, err := r.old.query("SELECT query_id, toString(event_time) AS t, query, Settings.Names AS names, Settings.Values AS values "+
		"FROM system.query_log WHERE type = 2 AND query_id LIKE '"+prefix+"%' FORMAT JSONEachRow", map[string]any{"max_threads": 1})
	if err != nil {
		return nil, fmt.Errorf("read query_log: %w", err)
	}
	var out []logged
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var l logged
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			return nil, fmt.Errorf("query_log row %q: %w", short(line, 200), err)
		}
		l.settings = keptSettings(l)
		out = append(out, l)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time < out[j].Time })
	return out, nil
}

// publish is the Publish of ingest.Options: it dumps 18.16's tables, publishes,
// and replays the publication's statements on chDB over the dump.
func (r *run) publish(ctx context.Context, svc *query.Service) error {
	t := r.t
	p := &pubRun{n: len(r.pubs) + 1}
	before, err := r.statements("pipelens-publish-")
	if err != nil {
		return err
	}
	for _, l := range before {
		r.seen[l.ID] = true
	}
	dir := filepath.Join(r.work, fmt.Sprintf("pre%d", p.n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, err := r.old.must("SYSTEM STOP MERGES"); err != nil {
		return err
	}
	pre, err := r.old.dump(dir)
	if _, err2 := r.old.must("SYSTEM START MERGES"); err == nil {
		err = err2
	}
	if err != nil {
		return err
	}
	pub, err := svc.Publish(ctx)
	if err != nil {
		return err
	}
	if pub == nil {
		return nil
	}
	p.full = pub.Full
	r.pubs = append(r.pubs, p)

	// 18.16's serving tables now, and the statements that wrote them.
	after, err := r.statements("pipelens-publish-")
	if err != nil {
		return err
	}
	byName := map[string]table{}
	for _, x := range pre {
		byName[x.Name] = x
	}
	var targets []string
	wrote := map[string]bool{}
	for _, l := range after {
		if r.seen[l.ID] {
			continue
		}
		r.seen[l.ID] = true
		target, ok := insertSelect(l.Query)
		if !ok {
			if m := reMutation.FindStringSubmatch(l.Query); m != nil {
				target = m[1]
			} else {
				continue // reads, and native INSERTs (their data is not logged)
			}
		}
		p.stmts = append(p.stmts, l)
		// publish_delta is a publication's scratch: dropped once it commits, its
		// rows are compared through every delta table computed from it.
		if target == "publish_delta" || strings.HasSuffix(target, ".publish_delta") {
			continue
		}
		if !wrote[target] {
			wrote[target] = true
			targets = append(targets, target)
		}
	}
	if len(p.stmts) == 0 {
		p.diffs = append(p.diffs, "no INSERT … SELECT logged for the publication: is log_queries on?")
		return nil
	}
	want := map[string]string{}
	for _, tn := range targets {
		x, ok := byName[tn]
		if !ok {
			p.diffs = append(p.diffs, "publication writes "+tn+", which the dump does not hold")
			continue
		}
		if want[tn], err = r.old.must(selectAll(database, x) + " FORMAT TSVWithNamesAndTypes"); err != nil {
			return err
		}
	}

	// The same statements on chDB, in the same order, from the same raw state.
	if err := r.ch.load(database, pre); err != nil {
		return err
	}
	for _, l := range p.stmts {
		r.replayed++
		a, err := r.ch.do(chdbRequest{SQL: l.Query, Settings: l.settings})
		if err != nil {
			return err
		}
		if a.Err != "" {
			p.diffs = append(p.diffs, fmt.Sprintf("%s fails on 26.x: %s\n  statement: %s", l.ID, firstLine(a.Err), short(l.Query, 2000)))
		}
	}
	for _, tn := range targets {
		x, ok := byName[tn]
		if !ok {
			continue
		}
		a, err := r.ch.do(chdbRequest{SQL: selectAll(database, x), Format: "TSVWithNamesAndTypes"})
		if err != nil {
			return err
		}
		r.tablesCompared++
		v := compareAnswers(want[tn], "", a.Out, a.Err, false)
		if !v.equal {
			var ids []string
			for _, l := range p.stmts {
				if target, _ := insertSelect(l.Query); target == tn {
					ids = append(ids, purpose(l.ID))
				}
			}
			p.diffs = append(p.diffs, fmt.Sprintf("serving table %s after the replay (%s: %s): %s\n  %s", tn, strings.Join(ids, ", "),
				where(ids), v.kind, v.detail))
		}
	}
	t.Logf("publication %d (full %v): %d statements replayed on chDB, %d serving tables compared, %d differences",
		p.n, p.full, len(p.stmts), len(targets), len(p.diffs))
	return nil
}

// compareSelects dumps the final state into chDB and asks every logged SELECT
// of both.
func (r *run) compareSelects() {
	t := r.t
	if _, err := r.old.must("SYSTEM STOP MERGES"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(r.work, "final")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	final, err := r.old.dump(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ch.load(database, final); err != nil {
		t.Fatal(err)
	}
	// The copy holds what 18.16 holds, table by table.
	for _, x := range final {
		a, ea := r.old.answer(selectAll(database, x), nil)
		b, err := r.ch.do(chdbRequest{SQL: selectAll(database, x), Format: "TSVWithNamesAndTypes"})
		if err != nil {
			t.Fatal(err)
		}
		if v := compareAnswers(a, ea, b.Out, b.Err, false); !v.equal && v.kind != "types-differ" {
			t.Fatalf("table %s copied into chDB differs from 18.16's: %s\n%s", x.Name, v.kind, v.detail)
		}
	}
	all, err := r.statements("pipelens-")
	if err != nil {
		t.Fatal(err)
	}
	r.skips, r.purposes, r.nullable, r.settingsSeen = map[string]int{}, map[string]int{}, map[string]int{}, map[string]bool{}
	done := map[string]bool{}
	for _, l := range all {
		if !isSelect(l.Query) {
			continue
		}
		r.logged++
		if done[l.Query] {
			continue
		}
		done[l.Query] = true
		r.distinct++
		if reason := skipReason(l.Query); reason != "" {
			r.skipped++
			r.skips[reason]++
			continue
		}
		r.compared++
		r.purposes[purpose(l.ID)]++
		for k := range l.settings {
			r.settingsSeen[k] = true
		}
		sorted := ordered(l.Query)
		a, ea := r.old.answer(l.Query, l.settings)
		b, err := r.ch.do(chdbRequest{SQL: l.Query, Format: "TSVWithNamesAndTypes", Settings: l.settings})
		if err != nil {
			t.Fatal(err)
		}
		if ea == "" {
			r.answers++
			r.rows += strings.Count(a, "\n") - 2
		}
		v := compareAnswers(a, ea, b.Out, b.Err, sorted)
		if v.kind == "equal-nullable" {
			r.nullable[purpose(l.ID)]++
		}
		if v.equal {
			continue
		}
		// Is either side unstable from run to run (the statement itself does not
		// decide its answer)?
		a2, ea2 := r.old.answer(l.Query, l.settings)
		b2, _ := r.ch.do(chdbRequest{SQL: l.Query, Format: "TSVWithNamesAndTypes", Settings: l.settings})
		stable := ""
		if !compareAnswers(a, ea, a2, ea2, sorted).equal {
			stable += " 18.16 answers differently from run to run."
		}
		if !compareAnswers(b.Out, b.Err, b2.Out, b2.Err, sorted).equal {
			stable += " 26.x answers differently from run to run."
		}
		p := purpose(l.ID)
		r.selectDiffs = append(r.selectDiffs, fmt.Sprintf("SELECT %s (%s): %s%s\n  %s\n  statement: %s", p, where([]string{p}), v.kind, stable, v.detail, short(l.Query, 3000)))
	}
	sort.Strings(r.selectDiffs)
}

// skipReason says why a SELECT is not compared: its answer depends on when or
// where it runs, not on the data.
func skipReason(sql string) string {
	s := stripSQL(sql)
	if reSystem.MatchString(s) {
		return "reads system tables"
	}
	if m := reVolatile.FindStringSubmatch(s); m != nil {
		return "calls " + strings.ToLower(m[1]) + "()"
	}
	return ""
}

func (r *run) skipReasons() []string {
	var out []string
	for k, n := range r.skips {
		out = append(out, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(out)
	return out
}

func (r *run) purposeList() string { return countList(r.purposes) }

func countList(m map[string]int) string {
	var out []string
	for k, n := range m {
		out = append(out, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func (r *run) settingList() string {
	var out []string
	for k := range r.settingsSeen {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

var reIDTail = regexp.MustCompile(`-[0-9a-f]{16}$`)

// purpose is a query id without its random tail: what the statement is for.
func purpose(id string) string {
	return strings.TrimPrefix(reIDTail.ReplaceAllString(id, ""), "pipelens-")
}

// where names the source files that build statements of these purposes: the
// files that pass the purpose (or its longest prefix ending before a "-",
// followed by + something) as a query's purpose, else those that merely hold
// it as a string literal.
func where(purposes []string) string {
	files := map[string]bool{}
	tiers := []func(cand string) []string{
		func(c string) []string {
			return []string{`ctx, "` + c + `"`, `"` + c + `", q`, `"` + c + `-"+`, `"` + c + `-" +`}
		},
		func(c string) []string { return []string{`"` + c + `"`} },
	}
	for _, p := range purposes {
		if strings.HasPrefix(p, "publish-") {
			files["query/publish_sql.go (steps)"] = true
		}
	tiers:
		for _, patterns := range tiers {
			for cand := p; cand != ""; {
				found := false
				for _, pat := range patterns(cand) {
					for _, f := range sourceFiles() {
						if strings.Contains(f.text, pat) {
							files[f.name], found = true, true
						}
					}
				}
				if found {
					break tiers
				}
				i := strings.LastIndexByte(cand, '-')
				if i < 0 {
					break
				}
				cand = cand[:i]
			}
		}
	}
	var out []string
	for f := range files {
		out = append(out, f)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "source not found"
	}
	return strings.Join(out, ", ")
}

type source struct{ name, text string }

var sources []source

func sourceFiles() []source {
	if sources != nil {
		return sources
	}
	sources = []source{}
	for _, dir := range []string{"query", "alerts", "schemas", "ingest"} {
		files, _ := filepath.Glob(filepath.Join("..", dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err == nil {
				sources = append(sources, source{strings.TrimPrefix(f, "../"), string(b)})
			}
		}
	}
	return sources
}
