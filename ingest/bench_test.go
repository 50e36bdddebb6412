package ingest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// benchOppsHeader is the header of writeBenchOpps's files.
const benchOppsHeader = "opportunity_id,name,account_id,owner_id,product,pipeline,source,stage,vendor_stage,amount,currency,probability,created_at,close_date,closed,won,lost_reason,snapshot_date,source_system\n"

// writeBenchOpps writes n canonical opportunity rows as `pipelens gen` does (about
// 155 bytes a row: 1M rows are 155 MB, 6.5M rows 1 GB).
func writeBenchOpps(tb testing.TB, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(benchOppsHeader)
	stages := []string{"lead", "qualified", "proposal", "negotiation", "won", "lost"}
	for i := 0; i < n; i++ {
		st := stages[i%6]
		closed, won := 0, 0
		if st == "won" || st == "lost" {
			closed = 1
		}
		if st == "won" {
			won = 1
		}
		fmt.Fprintf(w, "OPP-%08d,Deal number %d,ACC-%05d,REP-%04d,Product %d,default,web,%s,%s,%d.%02d,USD,%d,2024-%02d-%02d %02d:%02d:00,2024-%02d-%02d,%d,%d,,2024-12-31,gen\n",
			i, i, i%20000, i%400, i%12, st, st, 1000+i%90000, i%100, (i%10)*10, 1+i%12, 1+i%28, i%24, i%60, 1+(i+3)%12, 1+i%28, closed, won)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// procStatus reads a "VmHWM:"-style line of /proc/<pid>/status in MB.
func procStatusMB(pid, key string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key) {
			kb, _ := strconv.Atoi(strings.Fields(l)[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// embeddedServerCPU is the CPU time the embedded ClickHouse (a child of this
// process, or a grandchild under its supervisor shell) has used so far; 0 when
// the tests use an outside server.
func embeddedServerCPU() time.Duration {
	me := strconv.Itoa(os.Getpid())
	var total time.Duration
	for _, e := range procStats() {
		// f[1] is the ppid, f[11] utime and f[12] stime in clock ticks (100 Hz).
		f := e.fields
		if !strings.Contains(e.comm, "clickhouse") || len(f) < 13 || (f[1] != me && parentOf(f[1]) != me) {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(u+st) * 10 * time.Millisecond
	}
	return total
}

type procStat struct {
	comm   string
	fields []string // after the command: state, ppid, …
}

// procStats reads /proc/*/stat.
func procStats() []procStat {
	ents, _ := os.ReadDir("/proc")
	var out []procStat
	for _, e := range ents {
		if st, ok := readProcStat(e.Name()); ok {
			out = append(out, st)
		}
	}
	return out
}

func readProcStat(pid string) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return procStat{}, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return procStat{}, false
	}
	return procStat{comm: s[:i], fields: strings.Fields(s[i+2:])}, true
}

// parentOf is a process's parent pid ("" when it is gone).
func parentOf(pid string) string {
	if st, ok := readProcStat(pid); ok && len(st.fields) > 1 {
		return st.fields[1]
	}
	return ""
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoadOpportunities loads a 1M-row canonical opportunity export end to end
// (checksum, read, parse, map, load, publish: LoadFile with the default Options, as
// `pipelens ingest` runs it) and, against the same server, the same file with
// clickhouse-client (INSERT … FORMAT CSVWithNames) into a table of the same
// columns. The two alternate (ours, theirs, ours, theirs…: PIPELENS_BENCH_PAIRS
// pairs, default 3) so that the load of a shared machine hits both alike; each
// pair's ratio is reported and the median of them is "ratio". clickhouse-client is
// timed end to end, its process start and connection included (reported as
// ch-client-start-ms). "load-ratio" takes our load phase only (the run's
// duration, publication excluded). It also reports the CPU each side and the
// server spent per million rows.
func BenchmarkLoadOpportunities(b *testing.B) {
	const n = 1_000_000
	pairs := 3
	if v, err := strconv.Atoi(os.Getenv("PIPELENS_BENCH_PAIRS")); err == nil && v > 0 {
		pairs = v
	}
	b.Run(fmt.Sprintf("rows=%d/cols=19", n), func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "opportunities.csv")
		writeBenchOpps(b, path, n)
		st, _ := os.Stat(path)
		b.SetBytes(st.Size())
		b.ReportAllocs()
		var ratios, loadRatios []float64
		var ours, load, theirs benchCost
		for b.Loop() {
			for range pairs {
				b.StopTimer()
				o, l := benchOurLoad(b, path, n)
				b.StopTimer()
				t := clickhouseClientLoad(b, schemastest.Open(b), path, n)
				ours, load, theirs = ours.add(o), load.add(l), theirs.add(t)
				ratios = append(ratios, t.wall.Seconds()/o.wall.Seconds())
				loadRatios = append(loadRatios, t.wall.Seconds()/l.wall.Seconds())
				b.Logf("pair %d: ours %.2fs (load phase %.2fs, publication %.2fs), clickhouse-client %.2fs: ratio %.2f, load-ratio %.2f",
					len(ratios), o.wall.Seconds(), l.wall.Seconds(), (o.wall - l.wall).Seconds(), t.wall.Seconds(), ratios[len(ratios)-1], loadRatios[len(loadRatios)-1])
			}
			b.StartTimer()
		}
		rows := float64(n * len(ratios))
		for i := range ratios {
			b.ReportMetric(ratios[i], fmt.Sprintf("ratio-pair%d", i+1))
			b.ReportMetric(loadRatios[i], fmt.Sprintf("load-ratio-pair%d", i+1))
		}
		b.ReportMetric(median(ratios), "ratio")
		b.ReportMetric(median(loadRatios), "load-ratio")
		b.ReportMetric(float64(clickhouseClientStart(b).Milliseconds()), "ch-client-start-ms")
		perM := func(d time.Duration) float64 { return d.Seconds() / rows * 1e6 }
		b.ReportMetric(rows/ours.wall.Seconds(), "rows/s")
		b.ReportMetric(rows/load.wall.Seconds(), "load-rows/s")
		b.ReportMetric(rows/theirs.wall.Seconds(), "ch-client-rows/s")
		b.ReportMetric(perM(ours.cpu), "cpu-s/Mrows")
		b.ReportMetric(perM(ours.srv), "server-cpu-s/Mrows")
		b.ReportMetric(perM(load.cpu), "load-cpu-s/Mrows")
		b.ReportMetric(perM(load.srv), "load-server-cpu-s/Mrows")
		b.ReportMetric(perM(theirs.cpu), "ch-client-cpu-s/Mrows")
		b.ReportMetric(perM(theirs.srv), "ch-client-server-cpu-s/Mrows")
	})
}

// benchOurLoad loads path with LoadFile into a fresh database. It returns the wall
// time, our CPU and the embedded server's, all of it and of the load phase alone
// (until the publication starts).
func benchOurLoad(b *testing.B, path string, n int) (all, load benchCost) {
	db := schemastest.Open(b)
	waitMerges(b, db)
	s := newTest(db, benchOptions(), nil)
	var t0 time.Time
	var c0, s0 time.Duration
	if pub := s.opts.Publish; pub != nil {
		s.opts.Publish = func(ctx context.Context) error {
			load = benchCost{time.Since(t0), selfCPU() - c0, embeddedServerCPU() - s0}
			return pub(ctx)
		}
	}
	b.StartTimer()
	t0, c0, s0 = time.Now(), selfCPU(), embeddedServerCPU()
	rep, err := s.LoadFile(context.Background(), path, LoadOptions{})
	all = benchCost{time.Since(t0), selfCPU() - c0, embeddedServerCPU() - s0}
	b.StopTimer()
	if err != nil || rep.Files[0].Loaded != int64(n) {
		b.Fatalf("load: %v %+v", err, rep)
	}
	if got := count(b, db, "opportunities", ""); got != uint64(n) {
		b.Fatalf("pipelens stored %d rows, want %d", got, n)
	}
	if load.wall == 0 {
		load = all
	}
	return all, load
}

// benchCost is what one load took: wall time, our CPU (the client's for
// clickhouse-client) and the server's CPU.
type benchCost struct{ wall, cpu, srv time.Duration }

func (c benchCost) add(d benchCost) benchCost {
	return benchCost{c.wall + d.wall, c.cpu + d.cpu, c.srv + d.srv}
}

// median of xs (sorted in place).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	if m := len(xs) / 2; len(xs)%2 == 0 {
		return (xs[m-1] + xs[m]) / 2
	} else {
		return xs[m]
	}
}

// clickhouseClientLoad loads path with clickhouse-client into a fresh ch_opps table
// of the opportunity columns (the file's columns named in the INSERT, the others
// take their defaults, as pipelens fills them): wall time (process start
// included), the client's CPU and the embedded server's CPU. It checks that n
// rows arrived.
func clickhouseClientLoad(tb testing.TB, db *schemas.DB, path string, n int) benchCost {
	cols := []string{}
	for _, c := range tOpps.cols {
		cols = append(cols, c.name+" "+chType(c.typ))
	}
	if err := db.Exec(context.Background(), "bench", "CREATE TABLE ch_opps ("+strings.Join(cols, ", ")+") ENGINE = MergeTree ORDER BY opportunity_id"); err != nil {
		tb.Fatal(err)
	}
	waitMerges(tb, db)
	host, port, _ := net.SplitHostPort(schemastest.Addr(tb))
	in, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	hdr, err := bufio.NewReader(in).ReadString('\n')
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		tb.Fatal(err)
	}
	q := "INSERT INTO ch_opps (" + strings.TrimSpace(hdr) + ") FORMAT CSVWithNames"
	cmd := exec.Command("clickhouse-client", "--host", host, "--port", port, "--database", db.Database, "--query", q)
	cmd.Stdin = in
	t0, s0 := time.Now(), embeddedServerCPU()
	out, err := cmd.CombinedOutput()
	wall, srv := time.Since(t0), embeddedServerCPU()-s0
	if err != nil {
		tb.Fatalf("clickhouse-client: %v: %s", err, out)
	}
	if got := countAll(tb, db, "ch_opps"); got != uint64(n) {
		tb.Fatalf("clickhouse-client stored %d rows, want %d", got, n)
	}
	return benchCost{wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), srv}
}

// BenchmarkLoadOpportunities1GB loads a ~1 GB export (6.5M rows) in a child process
// with the default Options and reports the child's peak RSS (VmHWM), beside
// clickhouse-client on the same file. It takes minutes: set PIPELENS_BENCH_1GB=1
// (PIPELENS_BENCH_ROWS for another size). With PIPELENS_BIN=path the child is the
// pipelens binary (`pipelens ingest --json FILE`) instead of the test's own loader.
func BenchmarkLoadOpportunities1GB(b *testing.B) {
	if os.Getenv("PIPELENS_BENCH_1GB") == "" {
		b.Skip("set PIPELENS_BENCH_1GB=1 to load a 1 GB file (minutes, 1 GB of temp disk)")
	}
	n := 6_500_000
	if v, err := strconv.Atoi(os.Getenv("PIPELENS_BENCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	b.Run(fmt.Sprintf("rows=%d/cols=19", n), func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "opportunities.csv")
		writeBenchOpps(b, path, n)
		st, _ := os.Stat(path)
		b.SetBytes(st.Size())
		var ours, theirs time.Duration
		var peak float64
		iters := 0
		for b.Loop() {
			b.StopTimer()
			db := schemastest.Open(b)
			b.StartTimer()
			t0 := time.Now()
			cmd := exec.Command(os.Args[0], "-test.run=^TestLoadChild$", "-test.v")
			cmd.Env = append(os.Environ(), "PIPELENS_LOAD_CHILD="+schemastest.Addr(b)+"|"+db.Database+"|"+path)
			if bin := os.Getenv("PIPELENS_BIN"); bin != "" {
				// The CLI as users run it: pipelens ingest against this server.
				cmd = exec.Command(bin, "ingest", "--json", path)
				cmd.Env = append(os.Environ(), "PIPELENS_CLICKHOUSE_URL=clickhouse://default@"+schemastest.Addr(b)+"/"+db.Database,
					"PIPELENS_HOME="+b.TempDir())
			}
			out, err := cmd.CombinedOutput()
			ours += time.Since(t0)
			b.StopTimer()
			if err != nil {
				b.Fatalf("child load: %v\n%s", err, out)
			}
			if got := count(b, db, "opportunities", ""); got != uint64(n) {
				b.Fatalf("child stored %d rows, want %d:\n%s", got, n, out)
			}
			// The child's peak RSS (VmHWM) as the kernel kept it.
			hwm := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
			peak = max(peak, hwm)
			theirs += clickhouseClientLoad(b, db, path, n).wall
			iters++
			b.StartTimer()
		}
		rows := float64(n * iters)
		b.ReportMetric(rows/ours.Seconds(), "rows/s")
		b.ReportMetric(rows/theirs.Seconds(), "ch-client-rows/s")
		b.ReportMetric(theirs.Seconds()/ours.Seconds(), "ratio")
		b.ReportMetric(peak, "peak_rss_MB")
	})
}

// TestLoadChild is the child process of BenchmarkLoadOpportunities1GB: it loads one
// file with the default Options and prints the rows loaded and its peak RSS.
func TestLoadChild(t *testing.T) {
	env := os.Getenv("PIPELENS_LOAD_CHILD")
	if env == "" {
		t.Skip("helper process for BenchmarkLoadOpportunities1GB")
	}
	parts := strings.Split(env, "|")
	db, err := schemas.OpenAddr(context.Background(), parts[0], parts[1], time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := newTest(db, Options{}, nil).LoadFile(context.Background(), parts[2], LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("loaded=%d peak_rss_mb=%.1f\n", rep.Files[0].Loaded, procStatusMB("self", "VmHWM:"))
}

func chType(t colType) string {
	return map[colType]string{tString: "String", tFloat64: "Float64", tFloat32: "Float32", tUInt8: "UInt8", tBool: "UInt8", tUInt16: "UInt16",
		tUInt32: "UInt32", tUInt64: "UInt64", tDate: "Date", tDateTime: "DateTime"}[t]
}

// benchOptions are the default Options, or PIPELENS_BENCH_OPTS="chunk=N,insert=N,workers=N"
// to compare settings.
func benchOptions() Options {
	o := Options{Location: time.UTC}
	for _, kv := range strings.Split(os.Getenv("PIPELENS_BENCH_OPTS"), ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "chunk":
			o.ChunkRows = n
		case "insert":
			o.InsertRows = n
		case "workers":
			o.Workers = n
		case "inserters":
			o.inserters = n
		}
	}
	return o
}

// waitMerges waits (up to a minute) until the server merges no parts, so that the
// merges of one load do not slow the next one down.
func waitMerges(tb testing.TB, db *schemas.DB) {
	for i := 0; i < 600; i++ {
		var n uint64
		ctx, cancel := db.Context(context.Background(), "bench-merges")
		err := db.Conn.QueryRow(ctx, "SELECT count() FROM system.merges").Scan(&n)
		cancel()
		if err != nil || n == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clickhouseClientStart is what clickhouse-client spends outside the load: process
// start, connection and a trivial query.
func clickhouseClientStart(tb testing.TB) time.Duration {
	host, port, _ := net.SplitHostPort(schemastest.Addr(tb))
	best := time.Hour
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		if out, err := exec.Command("clickhouse-client", "--host", host, "--port", port, "--query", "SELECT 1").CombinedOutput(); err != nil {
			tb.Fatalf("clickhouse-client: %v: %s", err, out)
		}
		best = min(best, time.Since(t0))
	}
	return best
}

// BenchmarkParseMap is the Go side of a load without ClickHouse, on one core: read,
// split, map, check duplicates and build the typed batches of a canonical
// opportunity export. It bounds what a load can reach on this machine.
func BenchmarkParseMap(b *testing.B) {
	const n = 200_000
	b.Run(fmt.Sprintf("rows=%d/cols=19", n), func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "opportunities.csv")
		writeBenchOpps(b, path, n)
		st, _ := os.Stat(path)
		b.SetBytes(st.Size())
		b.ReportAllocs()
		s := New(nil, Options{}, nil)
		for b.Loop() {
			src, err := openSource(path, "opportunities.csv", "", s.opts.ChunkRows)
			if err != nil {
				b.Fatal(err)
			}
			hdr := newHeader(src.header(), "opportunities.csv")
			prof, _, err := s.detect(hdr, "")
			if err != nil {
				b.Fatal(err)
			}
			p := newPlan(prof, hdr, "opportunities.csv", time.UTC, nil)
			m := &mapped{v: make([]val, len(p.t.cols))}
			tb := newTableBuf(p.t, s.opts.ChunkRows)
			var sums []uint64
			var dup []bool
			loaded := 0
			for {
				ch, err := src.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				if p.order == orderUnknown {
					p.decideOrder(ch, orderUnknown)
				}
				text := textCols(ch.cols)
				sums = sums[:0]
				for i := range ch.rows {
					m.raw, m.row = rawRow{cols: text, i: i}, ch.rows[i]
					if p.mapRow(m) != nil {
						b.Fatal("reject")
					}
					sums = append(sums, p.keyHash(m))
					tb.append(m.v)
				}
				dup = grow(dup, len(sums))
				p.duplicates(sums, dup)
				loaded += tb.n
				_, free := tb.record()
				free()
				ch.release()
			}
			src.close()
			p.seen.free()
			if loaded != n {
				b.Fatalf("mapped %d rows, want %d", loaded, n)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
