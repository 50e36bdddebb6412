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
// process) has used so far; 0 when the tests use an outside server.
func embeddedServerCPU() time.Duration {
	ents, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	var total time.Duration
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "clickhouse") {
			continue
		}
		f := strings.Fields(s[i+2:])
		// f[1] is the ppid, f[11] utime and f[12] stime in clock ticks (100 Hz).
		if len(f) < 13 || f[1] != me {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(u+st) * 10 * time.Millisecond
	}
	return total
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoadOpportunities loads a 1M-row canonical opportunity export end to end
// (checksum, read, parse, map, load: LoadFile) and, in the same run against the same
// server, the same file with clickhouse-client (INSERT … FORMAT CSVWithNames) into a
// table of the same columns. clickhouse-client is timed end to end, its process
// start and connection included (reported as ch-client-start-ms). It reports both
// rates, their ratio, and the CPU each side and the server spent per million rows.
func BenchmarkLoadOpportunities(b *testing.B) {
	const n = 1_000_000
	b.Run(fmt.Sprintf("rows=%d/cols=19", n), func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "opportunities.csv")
		writeBenchOpps(b, path, n)
		st, _ := os.Stat(path)
		b.SetBytes(st.Size())
		b.ReportAllocs()
		var ours, theirs, ourCPU, ourSrv, theirCPU, theirSrv time.Duration
		iters := 0
		for b.Loop() {
			b.StopTimer()
			db := schemastest.Open(b)
			waitMerges(b, db)
			s := newTest(db, benchOptions(), nil)
			b.StartTimer()
			t0, c0, s0 := time.Now(), selfCPU(), embeddedServerCPU()
			rep, err := s.LoadFile(context.Background(), path, LoadOptions{})
			ours += time.Since(t0)
			ourCPU += selfCPU() - c0
			ourSrv += embeddedServerCPU() - s0
			if err != nil || rep.Files[0].Loaded != n {
				b.Fatalf("load: %v %+v", err, rep)
			}
			b.StopTimer()
			if got := count(b, db, "opportunities", ""); got != n {
				b.Fatalf("pipelens stored %d rows, want %d", got, n)
			}
			d, c, sc := clickhouseClientLoad(b, db, path)
			theirs, theirCPU, theirSrv = theirs+d, theirCPU+c, theirSrv+sc
			if got := countAll(b, db, "ch_opps"); got != n {
				b.Fatalf("clickhouse-client stored %d rows, want %d", got, n)
			}
			iters++
			b.StartTimer()
		}
		rows := float64(n * iters)
		oursRate, theirRate := rows/ours.Seconds(), rows/theirs.Seconds()
		b.ReportMetric(float64(clickhouseClientStart(b).Milliseconds()), "ch-client-start-ms")
		perM := func(d time.Duration) float64 { return d.Seconds() / rows * 1e6 }
		b.ReportMetric(oursRate, "rows/s")
		b.ReportMetric(theirRate, "ch-client-rows/s")
		b.ReportMetric(oursRate/theirRate, "ratio")
		b.ReportMetric(perM(ourCPU), "cpu-s/Mrows")
		b.ReportMetric(perM(ourSrv), "server-cpu-s/Mrows")
		b.ReportMetric(perM(theirCPU), "ch-client-cpu-s/Mrows")
		b.ReportMetric(perM(theirSrv), "ch-client-server-cpu-s/Mrows")
	})
}

// clickhouseClientLoad loads path with clickhouse-client into a fresh ch_opps table
// of the opportunity columns: wall time (process start included), the client's CPU
// and the embedded server's CPU.
func clickhouseClientLoad(tb testing.TB, db *schemas.DB, path string) (wall, cpu, srv time.Duration) {
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
	cmd := exec.Command("clickhouse-client", "--host", host, "--port", port, "--database", db.Database, "--query", "INSERT INTO ch_opps FORMAT CSVWithNames")
	cmd.Stdin = in
	t0, s0 := time.Now(), embeddedServerCPU()
	out, err := cmd.CombinedOutput()
	wall = time.Since(t0)
	srv = embeddedServerCPU() - s0
	if err != nil {
		tb.Fatalf("clickhouse-client: %v: %s", err, out)
	}
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), srv
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
			d, _, _ := clickhouseClientLoad(b, db, path)
			theirs += d
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
