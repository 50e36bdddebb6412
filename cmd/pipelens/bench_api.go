package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pipelens/pipelens/dashboards"
	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

func init() { benches["api"] = benchAPI }

// apiCase is one endpoint and the hand-written single statement that computes
// the same numbers from the same serving tables.
type apiCase struct {
	name, path, sql string
}

// floorNext separates the statements of a floor that needs more than one.
const floorNext = ";\n"

// benchAPI loads a generated sample into the embedded ClickHouse and times each
// JSON API endpoint through the real HTTP server against the same metric's
// hand-written SQL run by clickhouse-client.
func benchAPI(ctx context.Context, a *app, args []string) error {
	fs := a.flags("bench api", "")
	size := fs.String("size", "large", "small, medium or large")
	opps := fs.Int("opportunities", 0, "number of opportunities (overrides the size's)")
	n := fs.Int("n", 40, "requests per endpoint (and client calls per statement); the p95 of 40 is the 38th")
	reuse := fs.Bool("reuse-home", false, "keep the loaded home under the temp directory and reuse it next time")
	home := fs.String("home", "", "home of the embedded ClickHouse (default: a fresh temporary one, or a fixed one with --reuse-home)")
	refresh := fs.Bool("refresh", false, "rebuild the serving tables even when the sample was already loaded")
	only := fs.String("only", "", "comma-separated endpoints to time (default all)")
	rawN := fs.Int("raw-n", 5, "runs of each hand SQL over the raw tables (slow at scale)")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile of the timed requests to FILE (go tool pprof)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	reuseName := ""
	if *reuse {
		reuseName = fmt.Sprintf("pipelens-bench-api-%s-%d", *size, *opps)
	}
	cleanup, err := a.benchHome("api", *home, reuseName)
	if err != nil {
		return err
	}
	defer cleanup()
	cfg, _ := a.config()
	sampleDir := filepath.Join(cfg.Home, "sample")
	loadedMark := filepath.Join(sampleDir, "loaded")
	truth := &gen.Truth{}
	t0 := time.Now()
	if b, err := os.ReadFile(filepath.Join(sampleDir, "truth.json")); err == nil && json.Unmarshal(b, truth) == nil {
		fmt.Fprintf(a.stdout, "sample: reusing %s (%d opportunities)\n", sampleDir, truth.Opportunities)
	} else {
		if truth, err = gen.WriteDir(ctx, gen.Config{Seed: 1, Size: *size, Opportunities: *opps}, sampleDir); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "generate: %d opportunities, %d stage events in %s\n", truth.Opportunities, truth.Rows["stage_events"], time.Since(t0).Round(time.Millisecond))
	}
	db, err := a.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := a.queryService(db)
	if _, err := os.Stat(loadedMark); err != nil {
		files, _ := filepath.Glob(filepath.Join(sampleDir, "*.csv"))
		sort.Slice(files, func(i, j int) bool { return loadOrder(files[i]) < loadOrder(files[j]) })
		t1 := time.Now()
		rep, err := a.ingestLoader(db).LoadFiles(ctx, files, ingest.LoadOptions{Source: "canonical"})
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "load: %d files, rejected %d, in %s\n", len(rep.Files), rep.Rejected, time.Since(t1).Round(time.Millisecond))
		*refresh = true
	}
	// A home published by an older build is rebuilt as serve would rebuild it.
	if err := a.upgradeServing(ctx, svc); err != nil {
		return err
	}
	if *refresh {
		t2 := time.Now()
		if err := svc.Refresh(ctx); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "refresh serving tables: %s\n", time.Since(t2).Round(time.Millisecond))
		if err := os.WriteFile(loadedMark, []byte(time.Now().Format(time.RFC3339)+"\n"), 0o644); err != nil {
			return err
		}
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	// What serve does after a publication: the forecasts' history for today.
	t3 := time.Now()
	if did, err := svc.PrecomputeForecasts(ctx, 0); err != nil {
		return err
	} else if did {
		fmt.Fprintf(a.stdout, "forecasts' history: %s\n", time.Since(t3).Round(time.Millisecond))
	}

	// The API: the real Echo server with the real auth, on a loopback port.
	const token = "bench-director"
	scfg := *cfg
	scfg.Auth.Tokens = []config.Token{{Name: "bench", Token: token, Role: "director"}}
	srv := dashboards.New(dashboards.Options{Config: &scfg, DB: db, Logger: a.log, Query: svc, Mount: []func(*dashboards.Server){dashboards.APIMount(svc)}})
	hs := httptest.NewServer(srv.Echo)
	defer hs.Close()

	asOf, err := time.Parse(time.DateOnly, truth.AsOf)
	if err != nil {
		return fmt.Errorf("read the sample's as_of: %w", err)
	}
	from, to := asOf.AddDate(0, 0, -364).Format(time.DateOnly), asOf.AddDate(0, 0, 1).Format(time.DateOnly)
	rng := "from=" + from + "&to=" + to
	rep := ""
	if truth.WeakRep != nil {
		rep = truth.WeakRep.RepID
	}
	keep := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		keep[s] = *only != ""
	}
	filters, err := benchFilters(ctx, db)
	if err != nil {
		return err
	}

	host, port, err := net.SplitHostPort(db.Addr())
	if err != nil {
		return err
	}
	client := &chClient{host: host, port: port, database: db.Database}
	if _, err := exec.LookPath("clickhouse-client"); err != nil {
		return fmt.Errorf("clickhouse-client not found (apt-get install clickhouse-client): %w", err)
	}
	// clickhouse-client's own start-up: the wall time of SELECT 1.
	var start []time.Duration
	for range *n {
		d, _, err := client.run(ctx, "SELECT 1")
		if err != nil {
			return err
		}
		start = append(start, d)
	}
	fmt.Fprintf(a.stdout, "\n%d opportunities, range [%s, %s), %d requests per endpoint and filter (%d raw-table statements); server %s\n", truth.Opportunities, from, to, *n, *rawN, db.ServerVersion())
	fmt.Fprintf(a.stdout, "clickhouse-client start-up (wall time of SELECT 1): p50 %s p95 %s, not in the SQL figures (the query time clickhouse-client reports with --time).\n", ms(pct(start, 50)), ms(pct(start, 95)))
	fmt.Fprintf(a.stdout, "API cold: the server's caches emptied before each request (ClickHouse computes it; what serve reads once per publication before requests ask, the copies of team_days, dim_days, cycle_days, rep_days and rep_activity_days in memory and the reps, targets and market lists and the deals open today (query.Service.Warm), is kept); warm: the same request repeated at once (the API keeps no response cache, so this is ClickHouse's own caches). HTTP wall times to the last byte of the gzipped body.\n")
	fmt.Fprintf(a.stdout, "floor: hand SQL over the serving tables; raw: hand SQL over the raw tables (latest row per key), what a user would otherwise run.\n")
	fmt.Fprintf(a.stdout, "cold/floor = API cold p95 / floor p95; raw/cold = raw p50 / API cold p50 (how much faster than doing it by hand).\n\n")
	fmt.Fprintf(a.stdout, "%-13s %-10s %9s %9s  %8s %8s  %9s %9s  %9s %9s  %10s %8s\n", "endpoint", "filter", "cold p50", "cold p95", "warm p50", "warm p95", "floor p50", "floor p95", "raw p50", "raw p95", "cold/floor", "raw/cold")
	hc := hs.Client()
	// Cold as serve is after a publication: nothing kept but what its
	// maintenance loop reads once per publication (query.Service.Warm).
	cold := func() error { srv.Invalidate(); return svc.Warm(ctx) }
	for _, e := range apiEndpoints {
		if *only != "" && !keep[e.name] {
			continue
		}
		for _, flt := range filters {
			who := rep
			if e.name == "reps/{id}" && flt.col != "" {
				// the rep with the most deals under the filter (the weak rep may have none)
				q := "SELECT owner_id FROM opp_facts WHERE 1" + flt.and() + " GROUP BY owner_id ORDER BY count() DESC, owner_id LIMIT 1"
				if err := db.Conn.QueryRow(ctx, q).Scan(&who); err != nil {
					return fmt.Errorf("pick a rep under %s: %w", flt.name, err)
				}
			}
			path := strings.Replace(e.path, "{id}", url.PathEscape(who), 1) + rng + flt.query()
			floor := endpointSQL(e.name, servingSQL(flt), from, to, who, true)
			for _, c := range apiCases(from, to, rep, flt) {
				if c.name == e.name {
					floor = c.sql
				}
			}
			raw := endpointSQL(e.name, rawSQL(flt), from, to, who, false)
			line, err := benchEndpoint(ctx, cold, hc, client, hs.URL+path, token, floor, raw, *n, *rawN)
			if err != nil {
				return fmt.Errorf("%s %s: %w", e.name, flt.name, err)
			}
			fmt.Fprintf(a.stdout, "%-13s %-10s %s\n", e.name, flt.name, line)
		}
	}
	return nil
}

// benchEndpoint times one request cold (after cold) and warm and its two
// baselines, and formats the figures; a filter the endpoint refuses (400) is
// said so.
func benchEndpoint(ctx context.Context, cold func() error, hc *http.Client, client *chClient, u, token, floor, raw string, n, rawN int) (string, error) {
	if err := cold(); err != nil {
		return "", err
	}
	if _, err := apiGet(ctx, hc, u, token); err != nil {
		var refused *apiStatusError
		if errors.As(err, &refused) && refused.code >= 400 && refused.code < 500 {
			return fmt.Sprintf("no answer (%d): %s", refused.code, refused.body), nil
		}
		return "", err
	}
	var cd, warm, fl, rw []time.Duration
	for range n {
		if err := cold(); err != nil {
			return "", err
		}
		d, err := apiGet(ctx, hc, u, token)
		if err != nil {
			return "", err
		}
		cd = append(cd, d)
	}
	for range n {
		d, err := apiGet(ctx, hc, u, token)
		if err != nil {
			return "", err
		}
		warm = append(warm, d)
	}
	// A floor of several statements (floorNext) takes their times added up, as
	// a user running them one after another in clickhouse-client would wait.
	runFloor := func() (time.Duration, error) {
		var sum time.Duration
		for _, q := range strings.Split(floor, floorNext) {
			_, d, err := client.run(ctx, q)
			if err != nil {
				return 0, fmt.Errorf("floor SQL: %w", err)
			}
			sum += d
		}
		return sum, nil
	}
	if _, err := runFloor(); err != nil {
		return "", err
	}
	for range n {
		q, err := runFloor()
		if err != nil {
			return "", err
		}
		fl = append(fl, q)
	}
	for range rawN {
		_, q, err := client.run(ctx, raw)
		if err != nil {
			return "", fmt.Errorf("raw SQL: %w", err)
		}
		rw = append(rw, q)
	}
	return fmt.Sprintf("%9s %9s  %8s %8s  %9s %9s  %9s %9s  %10.2f %8.1f", ms(pct(cd, 50)), ms(pct(cd, 95)), ms(pct(warm, 50)), ms(pct(warm, 95)),
		ms(pct(fl, 50)), ms(pct(fl, 95)), ms(pct(rw, 50)), ms(pct(rw, 95)),
		float64(pct(cd, 95))/float64(pct(fl, 95)), float64(pct(rw, 50))/float64(pct(cd, 50))), nil
}

// benchFilters is no filter and the most common product, territory and
// segment of the sample's deals.
func benchFilters(ctx context.Context, db *schemas.DB) ([]benchFilter, error) {
	out := []benchFilter{{name: "none"}}
	for _, col := range []string{"product", "source", "territory", "segment"} {
		var v string
		q := "SELECT " + col + " FROM opp_facts WHERE " + col + " != '' GROUP BY " + col + " ORDER BY count() DESC, " + col + " LIMIT 1"
		if err := db.Conn.QueryRow(ctx, q).Scan(&v); err != nil {
			return nil, fmt.Errorf("pick a %s to filter by: %w", col, err)
		}
		out = append(out, benchFilter{name: col, col: col, value: v})
	}
	return out, nil
}

// apiCases are the floors that read pre-aggregates: under flt, the funnel, the
// conversion, the movement and the bookings series from dim_days; with no
// filter, those from team_days and the others from rep_days and the other day
// tables.
func apiCases(from, to, rep string, flt benchFilter) []apiCase {
	rng := "from=" + from + "&to=" + to
	inR := func(col string) string {
		return col + " >= toDate('" + from + "') AND " + col + " < toDate('" + to + "')"
	}
	// The pre-aggregates' rows for the range: whole months at grain 1, the days
	// at both ends at grain 0 (schemas/migrations/0005_serving.sql).
	grains := grainRange(from, to)
	funnel := "sum(created), sum(created_amount), sum(created_won), sum(created_lost), sum(created_open), sum(created_won_amount), sumForEach(reached)"
	repSQL := "SELECT f.*, a.acts FROM (SELECT owner_id, sumForEach(reached), sum(created_won), sum(won), sum(lost), sum(won_amount), " +
		"sum(won_amount) / sum(won), sqrt((sum(won_amount_sq) - sum(won_amount) * sum(won_amount) / sum(won)) / (sum(won) - 1)), " +
		"sum(cycle_sum) / sum(won), sqrt((sum(cycle_sq) - sum(cycle_sum) * sum(cycle_sum) / sum(won)) / (sum(won) - 1)), " +
		"sumForEach(stage_left), arrayMap((n, d) -> d / n, sumForEach(stage_left), sumForEach(stage_days)), " +
		"arrayMap((n, d, q) -> sqrt((q - d * d / n) / (n - 1)), sumForEach(stage_left), sumForEach(stage_days), sumForEach(stage_days_sq)), sum(arraySum(stage_entries)) " +
		"FROM rep_days WHERE " + grains + " GROUP BY owner_id) AS f ANY LEFT JOIN (SELECT rep_id AS owner_id, sum(activities) AS acts FROM rep_activity_days WHERE " + inR("day") + " GROUP BY rep_id) AS a USING owner_id"
	cube, days := "team_days WHERE "+grains, "team_days WHERE grain = 0 AND "+inR("day")
	if flt.col != "" {
		dim := "dim_days WHERE " + flt.dimValue() + " AND "
		cube, days = dim+grains, dim+"grain = 0 AND "+inR("day")
	}
	cubed := []apiCase{
		{"funnel", "/api/v1/funnel?" + rng, "SELECT " + funnel + " FROM " + cube},
		{"conversion", "/api/v1/conversion?period=month&" + rng, "SELECT toStartOfMonth(day) AS p, " + funnel + " FROM " + cube + " GROUP BY p HAVING sum(created) > 0 ORDER BY p"},
		// The months, then the most pushed deals (two statements: their times add up).
		{"movement", "/api/v1/movement?period=month&" + rng, "SELECT p, sum(o), sum(oa), sum(w), sum(wa), sum(l), sum(la), sum(pi), sum(pia), sum(po), sum(poa), sum(ac), sum(pd) FROM (" +
			"SELECT toStartOfMonth(day) AS p, sum(created) AS o, sum(created_amount) AS oa, sum(won) AS w, sum(won_amount) AS wa, sum(lost) AS l, sum(lost_amount) AS la, toUInt64(0) AS pi, 0. AS pia, toUInt64(0) AS po, 0. AS poa, 0. AS ac, toUInt64(0) AS pd FROM " + cube + " GROUP BY p UNION ALL " +
			"SELECT toStartOfMonth(change_date) AS p, toUInt64(0), 0., toUInt64(0), 0., toUInt64(0), 0., countIf(new_close < old_close), sumIf(new_amount, new_close < old_close), countIf(new_close > old_close), sumIf(new_amount, new_close > old_close), " +
			"sum(new_amount - old_amount), uniqExactIf(opportunity_id, new_close > old_close) FROM opp_moves WHERE " + inR("change_date") + flt.and() + " GROUP BY p" +
			") GROUP BY p ORDER BY p" + floorNext +
			"SELECT opportunity_id, any(name), any(owner_id), count() AS pushes, sum(toInt64(toUInt16(new_close)) - toInt64(toUInt16(old_close))) AS days FROM opp_moves WHERE new_close > old_close AND " +
			inR("change_date") + flt.and() + " GROUP BY opportunity_id ORDER BY pushes DESC, days DESC, opportunity_id LIMIT 20"},
		{"series", "/api/v1/series?metric=bookings&" + rng, "SELECT day, sum(won_amount) FROM " + days + " GROUP BY day HAVING sum(won) + sum(lost) > 0 ORDER BY day"},
	}
	cubed = append(cubed, apiCase{"territories", "/api/v1/territories?" + rng, territoriesFloor(flt, from, grains, inR)})
	cubed = append(cubed, apiCase{"attainment", "/api/v1/attainment?" + rng, attainmentFloor(flt, from, to, grains, inR)})
	cubed = append(cubed, apiCase{"deals", "/api/v1/deals?basis=created&sort=-amount&" + rng, dealsFloor(flt, cube, grains, inR)})
	cubed = append(cubed, apiCase{"days-in-stage", "/api/v1/days-in-stage?" + rng, daysInStageFloor(flt, grains, inR)})
	if flt.col != "" {
		return append(cubed, apiCase{"winrate", "/api/v1/winrate?group_by=rep&" + rng, winRateFloor(flt, from, to, inR)})
	}
	return append(cubed, []apiCase{
		{"winrate", "/api/v1/winrate?group_by=rep&" + rng, "SELECT owner_id AS k, any(owner_name), sum(won), sum(lost), sum(won_amount), sum(lost_amount) FROM rep_days WHERE " + grains + " GROUP BY k HAVING sum(won) + sum(lost) > 0 ORDER BY k"},
		{"leads", "/api/v1/leads?" + rng, "SELECT source, sum(leads), sum(converted) FROM lead_days WHERE " + grains + " GROUP BY source HAVING sum(leads) > 0 ORDER BY source"},
		{"reps", "/api/v1/reps?" + rng, repSQL},
		{"reps/{id}", "/api/v1/reps/" + url.PathEscape(rep) + "?" + rng, repSQL},
	}...)
}

// territoriesFloor is the territories' floor under flt: per territory, the won
// and lost deals, won amount and open pipeline from territory_days (under a
// product or source filter territory_dim_days), the accounts won (the rows of
// territory_firsts whose account had not won since before from; opp_closes' won
// deals of the value), and the accounts and white space from account_facts (and
// account_dims' rows of the value).
func territoriesFloor(flt benchFilter, from, grains string, inR func(string) string) string {
	const zeros = "0., toUInt64(0), toUInt64(0), 0., "
	days := "territory_days WHERE (" + grains + " OR grain = 2)" + flt.and()
	won := "SELECT territory, " + zeros + "sum(n), toUInt64(0), toUInt64(0) FROM territory_firsts WHERE " + grains + " AND prev < toDate('" + from + "')" + flt.and() + " GROUP BY territory"
	accounts := "SELECT territory, " + zeros + "toUInt64(0), count(), countIf(NOT arrayExists(d -> " + inR("d") + ", created)) FROM account_facts WHERE territory != ''" + flt.and() + " GROUP BY territory"
	if flt.col == "product" || flt.col == "source" {
		value := flt.dimValue()
		days = "territory_dim_days WHERE " + value + " AND (" + grains + " OR grain = 2)"
		won = "SELECT territory, " + zeros + "uniqExact(account_id), toUInt64(0), toUInt64(0) FROM opp_closes WHERE won = 1 AND closed = 1 AND territory != '' AND " + inR("close_date") + flt.and() + " GROUP BY territory"
		accounts = "SELECT territory, " + zeros + "toUInt64(0), uniqExact(account_id) AS n, toUInt64(n - uniqExactIf(account_id, hit = 1)) FROM (" +
			"SELECT territory, account_id, toUInt8(0) AS hit FROM account_facts WHERE territory != '' UNION ALL " +
			"SELECT territory, account_id, toUInt8(1) FROM account_dims WHERE " + value + " AND arrayExists(d -> " + inR("d") + ", created)) GROUP BY territory"
	}
	return "SELECT territory, sum(t_captured), sum(t_won), sum(t_lost), sum(t_pipeline), sum(t_won_accounts), sum(t_accounts), sum(t_white) FROM (" +
		"SELECT territory, sum(won_amount) AS t_captured, sum(won) AS t_won, sum(lost) AS t_lost, sum(pipeline) AS t_pipeline, toUInt64(0) AS t_won_accounts, toUInt64(0) AS t_accounts, toUInt64(0) AS t_white FROM " + days + " GROUP BY territory UNION ALL " +
		won + " UNION ALL " + accounts + ") GROUP BY territory ORDER BY territory"
}

// histRows is the rows of the range in a histogram table (stay_hist,
// deal_hist): flt's value, or the empty dim's rows (every value) without one.
func histRows(table string, flt benchFilter, grains string) string {
	if flt.col == "" {
		return table + " WHERE dim = '' AND " + grains
	}
	return table + " WHERE " + flt.dimValue() + " AND " + grains
}

// dealsFloor is the deals list's floor, the first 50 deals created in the
// range by amount: their count from the cohort's cube (team_days, or dim_days
// under flt), the bucket holding the 50th from deal_hist, the page from
// deal_amounts' rows at and above it, what the API reads.
func dealsFloor(flt benchFilter, cube, grains string, inR func(string) string) string {
	hist := histRows("deal_hist", flt, grains)
	bound := "(SELECT bs[arrayFirstIndex(c -> c >= 50, arrayCumSum(ks))] FROM (SELECT groupArray(b) AS bs, groupArray(k) AS ks FROM (SELECT b, sum(n) AS k FROM " + hist + " GROUP BY b ORDER BY b DESC)))"
	return "SELECT opportunity_id, name, account_id, account_name, owner_id, owner_name, team, territory, segment, product, source, stage, furthest, amount, created_date, close_date, closed, won, " +
		"(SELECT sum(created) FROM " + cube + ") FROM deal_amounts PREWHERE b >= " + bound + " AND " + inR("created_date") + flt.and() + " ORDER BY amount DESC, opportunity_id LIMIT 50"
}

// daysInStageFloor is days in stage's floor: per stage, stay_hist's count,
// days, squared days and stays still in over the range, and the lengths of
// the range's stays in the buckets that hold the middle ranks (stay_lens),
// what the API reads.
func daysInStageFloor(flt benchFilter, grains string, inR func(string) string) string {
	hist := histRows("stay_hist", flt, grains)
	buckets := "SELECT rk, b, sum(n) AS n FROM " + hist + " GROUP BY rk, b ORDER BY rk, b"
	middle := "SELECT rk, arrayJoin(arrayDistinct([bs[arrayFirstIndex(c -> c > intDiv(t - 1, 2), cs)], bs[arrayFirstIndex(c -> c > intDiv(t, 2), cs)]])) AS b " +
		"FROM (SELECT rk, groupArray(b) AS bs, arrayCumSum(groupArray(n)) AS cs, arraySum(groupArray(n)) AS t FROM (" + buckets + ") GROUP BY rk) WHERE t > 0"
	return "SELECT rk, b, toUInt64(0), 0., 0., toUInt64(0), groupArray(s) FROM stay_lens WHERE " + inR("en_day") + flt.and() + " AND (rk, b) IN (" + middle + ") GROUP BY rk, b UNION ALL " +
		"SELECT rk, toInt32(0), sum(n), sum(days), sum(days_sq), sum(still), emptyArrayInt64() FROM " + hist + " GROUP BY rk"
}

// winRateFloor is the win rate by rep's floor under flt, one deal dimension:
// the range's whole months from rep_dim_months, the days around them from
// opp_closes, what the API reads.
func winRateFloor(flt benchFilter, from, to string, inR func(string) string) string {
	edges, a, b, ok := edgeCloses(from, to, inR)
	months := ""
	if ok {
		months = "SELECT owner_id, sum(won) AS w, sum(lost) AS l, sum(won_amount) AS wa, sum(lost_amount) AS la FROM rep_dim_months WHERE " + flt.dimValue() +
			" AND day >= toDate('" + a + "') AND day < toDate('" + b + "') GROUP BY owner_id UNION ALL "
	}
	return "SELECT owner_id, sum(w), sum(l), sum(wa), sum(la) FROM (" + months +
		"SELECT owner_id, countIf(won = 1) AS w, countIf(won = 0) AS l, sumIf(amount, won = 1) AS wa, sumIf(amount, won = 0) AS la FROM opp_closes WHERE closed = 1 AND " +
		edges + flt.and() + " GROUP BY owner_id) GROUP BY owner_id HAVING sum(w) + sum(l) > 0 ORDER BY owner_id"
}

// attainmentFloor is attainment's floor under flt, one deal dimension: the
// reps' monthly targets in the range against their bookings, the whole months'
// from rep_dim_months and the other days' from opp_closes, what the API reads.
func attainmentFloor(flt benchFilter, from, to, grains string, inR func(string) string) string {
	// no filter: rep_days' months and days
	booked := "SELECT owner_id AS scope_id, toStartOfMonth(day) AS period_start, sum(won_amount) AS booked FROM rep_days WHERE " + grains + " GROUP BY scope_id, period_start"
	if flt.col != "" {
		edges, a, b, ok := edgeCloses(from, to, inR)
		months := ""
		if ok {
			months = "SELECT owner_id AS scope_id, day AS period_start, sum(won_amount) AS booked FROM rep_dim_months WHERE " + flt.dimValue() +
				" AND day >= toDate('" + a + "') AND day < toDate('" + b + "') GROUP BY scope_id, period_start UNION ALL "
		}
		booked = "SELECT scope_id, period_start, sum(booked) AS booked FROM (" + months + "SELECT owner_id AS scope_id, toStartOfMonth(close_date) AS period_start, sum(amount) AS booked FROM opp_closes WHERE won = 1 AND " +
			edges + flt.and() + " GROUP BY scope_id, period_start) GROUP BY scope_id, period_start"
	}
	return "SELECT t.scope_id, t.period_start, t.amount, b.booked FROM (SELECT scope_id, period_start, amount FROM " + rawSQL(flt).targets + " AS t0 WHERE scope = 'rep' AND " +
		inR("period_start") + ") AS t ALL LEFT JOIN (" + booked + ") AS b USING (scope_id, period_start)"
}

// edgeCloses is the condition on close_date of the days of [from, to) outside
// its whole months [m0, m1) (all of it when ok is false: there are none).
func edgeCloses(from, to string, inR func(string) string) (edges, m0, m1 string, ok bool) {
	m0, m1, ok = wholeMonthSpan(from, to)
	if !ok {
		return inR("close_date"), m0, m1, false
	}
	return "(close_date >= toDate('" + from + "') AND close_date < toDate('" + m0 + "') OR close_date >= toDate('" + m1 + "') AND close_date < toDate('" + to + "'))", m0, m1, true
}

// wholeMonthSpan is the whole months [m0, m1) inside [from, to), as dates;
// ok is false when there are none.
func wholeMonthSpan(from, to string) (m0, m1 string, ok bool) {
	f, _ := time.Parse(time.DateOnly, from)
	t, _ := time.Parse(time.DateOnly, to)
	a := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, time.UTC)
	if !a.Equal(f) {
		a = a.AddDate(0, 1, 0)
	}
	b := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return a.Format(time.DateOnly), b.Format(time.DateOnly), a.Before(b)
}

// grainRange is the WHERE clause that picks a (grain, day) pre-aggregate's rows
// for [from, to): whole months at grain 1, the other days at grain 0.
func grainRange(from, to string) string {
	days := func(a, b string) string { return "(day >= toDate('" + a + "') AND day < toDate('" + b + "'))" }
	a, b, ok := wholeMonthSpan(from, to)
	if !ok {
		return "(grain = 0 AND " + days(from, to) + ")"
	}
	return "((grain = 1 AND " + days(a, b) + ") OR (grain = 0 AND (" + days(from, a) + " OR " + days(b, to) + ")))"
}

// chClient runs statements with clickhouse-client, as a person would.
type chClient struct{ host, port, database string }

// run returns the wall time of the client call and the query's own time as the
// client reports it with --time (from sending the query to the last row,
// without the client's start-up).
func (c *chClient) run(ctx context.Context, q string) (wall, query time.Duration, err error) {
	cmd := exec.CommandContext(ctx, "clickhouse-client", "--host", c.host, "--port", c.port, "--database", c.database, "--time", "--query", q)
	cmd.Stdout = io.Discard
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t := time.Now()
	err = cmd.Run()
	wall = time.Since(t)
	if err != nil {
		return wall, 0, fmt.Errorf("clickhouse-client: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Fields(stderr.String())
	if len(lines) == 0 {
		return wall, 0, fmt.Errorf("clickhouse-client --time printed no time")
	}
	sec, err := strconv.ParseFloat(lines[len(lines)-1], 64)
	if err != nil {
		return wall, 0, fmt.Errorf("clickhouse-client --time: %q: %w", lines[len(lines)-1], err)
	}
	return wall, time.Duration(sec * float64(time.Second)), nil
}

// apiGet times GET u with token from the request to the last byte of the body.
func apiGet(ctx context.Context, hc *http.Client, u, token string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	// Asked for explicitly, the body arrives as sent and is not inflated here:
	// the time is the server's until the last byte, not this process's
	// decompression (3-4 ms of /api/v1/reps' 400 kB on these cores), which a
	// browser does on its own machine.
	req.Header.Set("Accept-Encoding", "gzip")
	t := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t)
	if err != nil {
		return d, err
	}
	if resp.StatusCode != http.StatusOK {
		if resp.Header.Get("Content-Encoding") == "gzip" {
			if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
				b, _ = io.ReadAll(zr)
			}
		}
		return d, fmt.Errorf("GET %s: %w", u, &apiStatusError{resp.StatusCode, strings.TrimSpace(string(b))})
	}
	return d, nil
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}

// apiStatusError is an API answer other than 200.
type apiStatusError struct {
	code int
	body string
}

func (e *apiStatusError) Error() string { return fmt.Sprintf("%d %s", e.code, e.body) }
