package ingest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// writeBenchOpps writes n canonical opportunity rows as `pipelens gen` does.
func writeBenchOpps(tb testing.TB, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("opportunity_id,name,account_id,owner_id,product,pipeline,source,stage,vendor_stage,amount,currency,probability,created_at,close_date,closed,won,lost_reason,snapshot_date,source_system\n")
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
	w.Flush()
	f.Close()
}

func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(l)[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkLoadOpportunities loads a 1M-row canonical opportunity export end to end
// (read, parse, map, load) and, in the same run, the same rows with clickhouse-client
// (INSERT … FORMAT CSVWithNames) into a table of the same columns.
func BenchmarkLoadOpportunities(b *testing.B) {
	const n = 1_000_000
	b.Run(fmt.Sprintf("rows=%d/cols=19", n), func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "opportunities.csv")
		writeBenchOpps(b, path, n)
		st, _ := os.Stat(path)
		b.SetBytes(st.Size())
		b.ReportAllocs()
		var ours, theirs time.Duration
		iters := 0
		for b.Loop() {
			b.StopTimer()
			db := schemastest.Open(b)
			s := New(db, Options{Location: time.UTC}, nil)
			b.StartTimer()
			t0 := time.Now()
			rep, err := s.LoadFile(context.Background(), path, LoadOptions{})
			ours += time.Since(t0)
			if err != nil || rep.Files[0].Loaded != n {
				b.Fatalf("load: %v %+v", err, rep)
			}
			b.StopTimer()
			cols := []string{}
			for _, c := range tOpps.cols {
				cols = append(cols, c.name+" "+chType(c.typ))
			}
			if err := db.Exec(context.Background(), "bench", "CREATE TABLE ch_opps ("+strings.Join(cols, ", ")+") ENGINE = MergeTree ORDER BY opportunity_id"); err != nil {
				b.Fatal(err)
			}
			host, port, _ := net.SplitHostPort(schemastest.Addr(b))
			in, _ := os.Open(path)
			cmd := exec.Command("clickhouse-client", "--host", host, "--port", port, "--database", db.Database, "--query", "INSERT INTO ch_opps FORMAT CSVWithNames")
			cmd.Stdin = in
			t1 := time.Now()
			out, err := cmd.CombinedOutput()
			theirs += time.Since(t1)
			in.Close()
			if err != nil {
				b.Fatalf("clickhouse-client: %v: %s", err, out)
			}
			iters++
			b.StartTimer()
		}
		oursRate := float64(n*iters) / ours.Seconds()
		theirRate := float64(n*iters) / theirs.Seconds()
		b.ReportMetric(oursRate, "rows/s")
		b.ReportMetric(theirRate, "ch-client-rows/s")
		b.ReportMetric(oursRate/theirRate, "ratio")
		b.ReportMetric(peakRSSMB(), "peak-rss-MB")
	})
}

func chType(t colType) string {
	return map[colType]string{tString: "String", tFloat64: "Float64", tFloat32: "Float32", tUInt8: "UInt8", tBool: "UInt8", tUInt16: "UInt16",
		tUInt32: "UInt32", tUInt64: "UInt64", tDate: "Date", tDateTime: "DateTime"}[t]
}
