package dashboards

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"
)

// BenchResult is what a load run measured for one path.
type BenchResult struct {
	Path          string
	Requests      int
	Errors        int
	P50, P95, Max time.Duration
}

// BenchHTTP runs concurrency simulated users for duration; each user requests the
// paths in turn (with header, e.g. a session cookie) as fast as the server
// answers. It prints p50/p95/max and errors per path and overall to w. A non-200
// answer or a transport error counts as an error.
func BenchHTTP(ctx context.Context, baseURL string, paths []string, header http.Header, concurrency int, duration time.Duration, w io.Writer) ([]BenchResult, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	type sample struct {
		path int
		d    time.Duration
		ok   bool
	}
	var mu sync.Mutex
	var samples []sample
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var wg sync.WaitGroup
	for u := 0; u < concurrency; u++ {
		wg.Add(1)
		go func(u int) {
			defer wg.Done()
			var local []sample
			// users walk disjoint strides of paths, so two never ask the same thing
			// at the same moment (which the result cache would answer once)
			for i := 0; ctx.Err() == nil; i++ {
				pi := (u + i*concurrency) % len(paths)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+paths[pi], nil)
				for k, v := range header {
					req.Header[k] = v
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if ctx.Err() != nil {
					break // cut off by the end of the run, not an answer
				}
				local = append(local, sample{pi, time.Since(t0), ok})
			}
			mu.Lock()
			samples = append(samples, local...)
			mu.Unlock()
		}(u)
	}
	wg.Wait()
	summarise := func(name string, ss []sample) BenchResult {
		r := BenchResult{Path: name, Requests: len(ss)}
		ds := make([]time.Duration, 0, len(ss))
		for _, s := range ss {
			if !s.ok {
				r.Errors++
			}
			ds = append(ds, s.d)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		if len(ds) > 0 {
			r.P50, r.P95, r.Max = ds[len(ds)*50/100], ds[min(len(ds)-1, len(ds)*95/100)], ds[len(ds)-1]
		}
		return r
	}
	var out []BenchResult
	fmt.Fprintf(w, "%d users, %s, %s\n%-40s %8s %8s %10s %10s %10s %8s\n", concurrency, duration, baseURL, "path", "requests", "req/s", "p50", "p95", "max", "errors")
	for i, p := range paths {
		if len(paths) > 20 {
			break // one row per path only when there are few
		}
		var ss []sample
		for _, s := range samples {
			if s.path == i {
				ss = append(ss, s)
			}
		}
		out = append(out, summarise(p, ss))
	}
	out = append(out, summarise("all", samples))
	for _, r := range out {
		fmt.Fprintf(w, "%-40s %8d %8.1f %10s %10s %10s %8d\n", r.Path, r.Requests, float64(r.Requests)/duration.Seconds(),
			r.P50.Round(100*time.Microsecond), r.P95.Round(100*time.Microsecond), r.Max.Round(100*time.Microsecond), r.Errors)
	}
	return out, nil
}
