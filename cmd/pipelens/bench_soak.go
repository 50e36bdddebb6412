package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

func init() { benches["soak"] = benchSoak }

// benchSoak runs the product as a user runs it, for minutes: `serve` (pages,
// API, the alert schedule) on a home holding a generated sample, a load every
// --load-every (a re-export with new amounts and new deals, loaded and
// published by the ingest service uploads use), and --users users each loading
// a page, then another, without pause: half of them ranges others asked
// before, half new ones. It prints throughput, latency percentiles, errors and
// this process's memory (RSS) through the run, and fails when a request
// failed or memory grew by 10% or more over the second half.
func benchSoak(ctx context.Context, a *app, args []string) error {
	fs := a.flags("bench soak", "")
	size := fs.String("size", "small", "small, medium or large: the sample the home holds")
	duration := fs.Duration("duration", 6*time.Minute, "how long the users and loads run (the caches fill in the first minutes: shorter runs measure that)")
	users := fs.Int("users", 50, "users loading pages at once")
	every := fs.Duration("load-every", 5*time.Second, "a load starts this often (or when the previous one ends, if later)")
	loadSize := fs.Int("load-opportunities", 2000, "opportunities per load")
	home := fs.String("home", "", "home of the embedded ClickHouse (default: a fresh temporary one)")
	heapProfile := fs.String("heap-profile", "", "write heap profiles PREFIX-mid.pprof and PREFIX-end.pprof (go tool pprof -base)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	db, dir, done, err := a.benchDB(ctx, "soak", *home, "")
	if err != nil {
		return err
	}
	defer done()
	c, _ := a.config()
	sampleDir := filepath.Join(dir, "sample")
	if err := freshnessBase(ctx, a, db, *size, sampleDir); err != nil {
		return err
	}
	tokens, err := soakTokens(ctx, db)
	if err != nil {
		return err
	}
	c.Auth.Tokens = append(c.Auth.Tokens, tokens...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()

	s := &soak{a: a, db: db, base: "http://" + addr, tokens: tokens, dir: sampleDir, loadSize: *loadSize, t0: time.Now(), heapProfile: *heapProfile, duration: *duration}
	sctx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	served := make(chan error, 1)
	go func() { served <- a.serve(sctx, db, addr, false) }()
	if err := s.waitReady(ctx, served); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "soak: %d users, a load of %d opportunities every %s, for %s\n", *users, *loadSize, *every, *duration)
	rctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	g, gctx := errgroup.WithContext(rctx)
	g.Go(func() error { s.sampleMemory(gctx); return nil })
	g.Go(func() error { return s.loads(gctx, *every) })
	for u := 0; u < *users; u++ {
		g.Go(func() error { s.user(gctx, u); return nil })
	}
	err = g.Wait()
	stopServe()
	if serr := <-served; serr != nil && !errors.Is(serr, context.Canceled) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return err
	}
	return s.report(*duration)
}

// soakTokens are bearer tokens for a director, each team's manager and a few
// reps, so that requests run with every kind of scope.
func soakTokens(ctx context.Context, db *schemas.DB) ([]config.Token, error) {
	toks := []config.Token{{Name: "soak-director", Token: "soak-director", Role: "director"}}
	rows, err := db.Conn.Query(ctx, "SELECT team, any(rep_id) FROM reps WHERE team != '' GROUP BY team ORDER BY team LIMIT 8")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var team, rep string
		if err := rows.Scan(&team, &rep); err != nil {
			return nil, err
		}
		toks = append(toks,
			config.Token{Name: "soak-manager-" + team, Token: config.Secret("soak-m-" + team), Role: "manager", Team: team},
			config.Token{Name: "soak-rep-" + rep, Token: config.Secret("soak-r-" + rep), Role: "rep", Team: team, Rep: rep})
	}
	return toks, rows.Err()
}

type soak struct {
	a        *app
	db       *schemas.DB
	base     string
	tokens   []config.Token
	dir      string
	loadSize int
	t0       time.Time
	duration time.Duration

	heapProfile string

	mu        sync.Mutex
	latencies []time.Duration
	errs      map[string]int
	firstErr  string
	loadTimes []time.Duration
	loadRows  int
	rss       []rssSample
}

type rssSample struct {
	at   time.Duration
	rss  int64
	live int64 // the Go heap's live bytes after the last GC
}

func (s *soak) waitReady(ctx context.Context, served <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-served:
			return fmt.Errorf("serve stopped: %v", err)
		default:
		}
		if resp, err := http.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("serve not ready after 30 s")
}

// soakPages are what a user opens: pages and the API calls a page's scripts make.
var soakPages = []string{"/", "/funnel", "/trends", "/reps", "/territories", "/alerts",
	"/api/v1/funnel", "/api/v1/winrate?group_by=team", "/api/v1/deals?sort=-amount", "/api/v1/series?metric=bookings"}

// user loads pages until ctx ends, each with one token's scope and a range:
// every other request a range from a small common set (warm), the rest new.
func (s *soak) user(ctx context.Context, u int) {
	rng := rand.New(rand.NewSource(int64(u)))
	tok := s.tokens[u%len(s.tokens)]
	hc := &http.Client{Timeout: 60 * time.Second}
	end := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		var from, to time.Time
		if i%2 == 0 {
			to = end.AddDate(0, 0, 1).Truncate(24 * time.Hour)
			from = to.AddDate(0, -3*(1+rng.Intn(4)), 0)
		} else {
			to = end.AddDate(0, 0, -rng.Intn(700)).Truncate(24 * time.Hour)
			from = to.AddDate(0, 0, -(7 + rng.Intn(400)))
		}
		p := soakPages[rng.Intn(len(soakPages))]
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		url := s.base + p + sep + "from=" + from.Format(time.DateOnly) + "&to=" + to.Format(time.DateOnly)
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+string(tok.Token))
		t0 := time.Now()
		resp, err := hc.Do(req)
		if ctx.Err() != nil {
			return // the run ended mid-request: not a failure of the server
		}
		code := 0
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			code = resp.StatusCode
		}
		s.record(time.Since(t0), p, code, err)
	}
}

func (s *soak) record(d time.Duration, page string, code int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latencies = append(s.latencies, d)
	if err == nil && code == 200 {
		return
	}
	key := strconv.Itoa(code)
	if err != nil {
		key = err.Error()
	}
	if s.errs == nil {
		s.errs = map[string]int{}
	}
	s.errs[key]++
	if s.firstErr == "" {
		s.firstErr = fmt.Sprintf("%s: %s", page, key)
	}
}

// loads writes and loads a re-export every period through the ingest service
// serve uses for uploads (its loads publish themselves).
func (s *soak) loads(ctx context.Context, every time.Duration) error {
	svc := s.a.ingestService(s.db, false)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for round := 1; ; round++ {
		export := filepath.Join(s.dir, fmt.Sprintf("soak_%d.csv", round))
		if _, err := writeExport(filepath.Join(s.dir, "opportunities.csv"), export, s.loadSize, fmt.Sprintf("SOAK-%d-%d-", s.t0.Unix(), round)); err != nil {
			return err
		}
		t0 := time.Now()
		rep, err := svc.LoadFile(ctx, export, ingest.LoadOptions{Source: "canonical"})
		os.Remove(export)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("load %d: %w", round, err)
		}
		s.mu.Lock()
		s.loadTimes = append(s.loadTimes, time.Since(t0))
		s.loadRows += int(rep.Loaded)
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// sampleMemory records this process's resident memory and live heap every
// second, and heap profiles at the middle and the end when asked.
func (s *soak) sampleMemory(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	midDone := false
	for {
		if rss, err := residentBytes(); err == nil {
			metrics.Read(live)
			s.mu.Lock()
			s.rss = append(s.rss, rssSample{time.Since(s.t0), rss, int64(live[0].Value.Uint64())})
			s.mu.Unlock()
		}
		if s.heapProfile != "" && !midDone && time.Since(s.t0) > s.duration/2 {
			midDone = true
			s.writeHeap("mid")
		}
		select {
		case <-ctx.Done():
			if s.heapProfile != "" {
				s.writeHeap("end")
			}
			return
		case <-t.C:
		}
	}
}

func (s *soak) writeHeap(when string) {
	runtime.GC()
	f, err := os.Create(s.heapProfile + "-" + when + ".pprof")
	if err == nil {
		err = pprof.WriteHeapProfile(f)
		f.Close()
	}
	if err != nil {
		s.a.log.Error("heap profile", "err", err)
	}
}

// residentBytes is VmRSS of this process (Linux).
func residentBytes() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/self/status")
}

// report prints the figures and fails on errors or memory growth.
func (s *soak) report(d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	lat := append([]time.Duration(nil), s.latencies...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	nerr := 0
	for _, n := range s.errs {
		nerr += n
	}
	w := s.a.stdout
	fmt.Fprintf(w, "requests: %d in %s (%.1f/s), p50 %s, p95 %s, p99 %s, errors %d\n",
		len(lat), d, float64(len(lat))/d.Seconds(), ms(pct(lat, 50)), ms(pct(lat, 95)), ms(pct(lat, 99)), nerr)
	for k, n := range s.errs {
		fmt.Fprintf(w, "  error %s: %d\n", k, n)
	}
	lt := append([]time.Duration(nil), s.loadTimes...)
	sort.Slice(lt, func(i, j int) bool { return lt[i] < lt[j] })
	fmt.Fprintf(w, "loads: %d (%d rows, %.0f rows/s over the run), load+publish p50 %s, p95 %s\n",
		len(lt), s.loadRows, float64(s.loadRows)/d.Seconds(), ms(pct(lt, 50)), ms(pct(lt, 95)))
	mid, end, growth := memoryGrowth(s.rss, func(r rssSample) int64 { return r.rss })
	lmid, lend, lgrowth := memoryGrowth(s.rss, func(r rssSample) int64 { return r.live })
	fmt.Fprintf(w, "memory (RSS of this process, serve and loads): %.0f MB at the middle, %.0f MB at the end: %+.1f%% over the second half (live Go heap %.0f → %.0f MB, %+.1f%%)\n",
		float64(mid)/(1<<20), float64(end)/(1<<20), growth*100, float64(lmid)/(1<<20), float64(lend)/(1<<20), lgrowth*100)
	var fail []string
	if nerr > 0 {
		fail = append(fail, fmt.Sprintf("%d requests failed (first: %s)", nerr, s.firstErr))
	}
	if len(lt) == 0 {
		fail = append(fail, "no load finished")
	}
	if growth >= 0.10 {
		fail = append(fail, fmt.Sprintf("memory grew %.1f%% over the second half (bound 10%%)", growth*100))
	}
	if len(fail) > 0 {
		return errors.New("soak: " + strings.Join(fail, "; "))
	}
	return nil
}

// memoryGrowth compares the mean RSS of the samples around the middle of the
// run (45–55%) with that of its last tenth.
func memoryGrowth(samples []rssSample, of func(rssSample) int64) (mid, end int64, growth float64) {
	if len(samples) < 10 {
		return 0, 0, 0
	}
	span := samples[len(samples)-1].at
	mean := func(lo, hi float64) int64 {
		var sum, n int64
		for _, s := range samples {
			if f := float64(s.at) / float64(span); f >= lo && f <= hi {
				sum += of(s)
				n++
			}
		}
		if n == 0 {
			return 0
		}
		return sum / n
	}
	mid, end = mean(0.45, 0.55), mean(0.90, 1)
	if mid == 0 {
		return mid, end, 0
	}
	return mid, end, float64(end-mid) / float64(mid)
}

// startCPUProfile writes a CPU profile to path until the returned stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
