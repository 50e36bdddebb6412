package ingest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// Hostile inputs: files that are cut, corrupt, oddly encoded or built to hurt.
// Each test says what a user would have seen before the fix.

var cities = []string{"上海", "北京", "深圳", "广州", "杭州", "成都", "南京", "武汉", "西安", "重庆"}

// oppCSV is a small opportunities export: n rows named "<city> <i>".
func oppCSV(n int) string {
	var b strings.Builder
	b.WriteString("opportunity_id,name,stage,amount,close_date\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "E%d,%s %d,Prospecting,1000,2024-01-31\n", i, cities[i%len(cities)], i)
	}
	return b.String()
}

func gb(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// invalidText counts the stored values (committed or not) and rejects that are
// not valid UTF-8: ClickHouse must never get one. (The check runs here, in Go:
// the embedded ClickHouse may lack isValidUTF8.)
func invalidText(t *testing.T, db *schemas.DB) int {
	t.Helper()
	bad := 0
	for _, q := range []string{
		"SELECT concat(name, opportunity_id, vendor_stage) FROM opportunities",
		"SELECT concat(raw_value, message, column, file) FROM ingest_rejects",
		"SELECT concat(error, report, file) FROM ingest_runs",
	} {
		ctx, cancel := db.Context(context.Background(), "test-utf8")
		rows, err := db.Conn.Query(ctx, q)
		if err != nil {
			cancel()
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			if !utf8.ValidString(s) {
				bad++
				t.Logf("stored, not valid UTF-8: %.80q", s)
			}
		}
		rows.Close()
		cancel()
	}
	return bad
}

// TestEncodingEvidence: the encoding is decided from the whole file, a BOM is
// evidence, and bytes the chosen encoding cannot decode become rejects naming
// row and column; they are never stored, and never make the whole file GB18030.
func TestEncodingEvidence(t *testing.T) {
	const rows = 50
	utf8Text := oppCSV(rows)
	// Row 7 (line 8) gets a stray Latin-1 é.
	stray := strings.Replace(utf8Text, "E7,", "E7,Caf\xe9 ", 1)
	gbRows := gb(t, oppCSV(rows))
	// 64 KB and more of ASCII rows before the first Chinese one.
	var ascii strings.Builder
	ascii.WriteString("opportunity_id,name,stage,amount,close_date\n")
	for i := 1; ascii.Len() < 80<<10; i++ {
		fmt.Fprintf(&ascii, "A%d,Plain deal %d,Prospecting,1000,2024-01-31\n", i, i)
	}
	asciiRows := int64(strings.Count(ascii.String(), "\n") - 1)
	late := append([]byte(ascii.String()), gb(t, "Z1,上海 late,Prospecting,1000,2024-01-31\n")...)
	// A GB18030 file with one byte no GB18030 sequence starts with (0xFF).
	corrupt := bytes.Replace(gbRows, gb(t, "E12,"), append(gb(t, "E12,"), 0xFF), 1)

	for _, c := range []struct {
		name, file   string
		data         []byte
		format       string
		loaded       int64
		badRows      []int64 // lines of the bad_encoding rejects
		wantStored   string  // a name that must be stored exactly
		wantStoredOK uint64
	}{
		{"utf-8 with one stray byte stays utf-8", "stray.csv", []byte(stray), "csv/utf-8", rows - 1, []int64{8}, "上海 10", 1},
		{"utf-8 BOM then GB18030 bytes: the BOM decides", "bomgb.csv", append([]byte{0xEF, 0xBB, 0xBF}, gbRows...), "csv/utf-8-bom", 0, nil, "", 0},
		{"GB18030 after 80 KB of ASCII", "late.csv", late, "csv/gb18030", asciiRows + 1, nil, "上海 late", 1},
		{"GB18030 with one bad byte", "corrupt.csv", corrupt, "csv/gb18030", rows - 1, []int64{13}, "上海 10", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := schemastest.Open(t)
			s := newTest(db, Options{RejectThreshold: threshold(1)}, nil)
			fr := load(t, s, writeFile(t, c.file, c.data), LoadOptions{})
			if fr.Format != c.format {
				t.Errorf("read as %s, want %s", fr.Format, c.format)
			}
			if fr.Loaded != c.loaded {
				t.Errorf("loaded %d rows, want %d (rejects %v)", fr.Loaded, c.loaded, fr.RejectsByReason)
			}
			if n := invalidText(t, db); n != 0 {
				t.Errorf("%d stored values are not valid UTF-8", n)
			}
			if c.wantStored != "" {
				if n := count(t, db, "opportunities", "name = '"+c.wantStored+"'"); n != c.wantStoredOK {
					t.Errorf("name %q stored %d times, want %d: text garbled", c.wantStored, n, c.wantStoredOK)
				}
			}
			if c.badRows != nil {
				if fr.RejectsByReason["bad_encoding"] != int64(len(c.badRows)) {
					t.Fatalf("rejects %v, want %d bad_encoding", fr.RejectsByReason, len(c.badRows))
				}
				r := fr.SampleRejects[0]
				if r.Row != c.badRows[0] || r.Column != "name" || !strings.Contains(r.Message, `\x`) {
					t.Errorf("reject %+v: want row %d, column name, the bad byte shown escaped", r, c.badRows[0])
				}
			}
			if c.format == "csv/utf-8-bom" {
				// Every row has Chinese in GB18030: all rejected, none stored garbled.
				if fr.RejectsByReason["bad_encoding"] != rows || count(t, db, "opportunities", "") != 0 {
					t.Errorf("BOM + GB18030: rejects %v, %d stored; want %d bad_encoding, none stored", fr.RejectsByReason, count(t, db, "opportunities", ""), rows)
				}
			}
		})
	}
	// Detection alone, on samples.
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{[]byte(stray), "utf-8"},
		{gbRows, "gb18030"},
		{late, "gb18030"},
		{corrupt, "gb18030"},
		{[]byte("id,name\n1,Caf\xe9 cr\xe8me\n"), "utf-8"}, // Latin-1: neither reads clean; not guessed GB18030
	} {
		if got := detectEncoding(c.in); got != c.want {
			t.Errorf("detectEncoding(%.40q…) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestCRLFInQuotedField: a note with a CR LF inside quotes is stored with its CR LF.
func TestCRLFInQuotedField(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{}, nil)
	text := "opportunity_id,name,stage,amount,close_date\r\nQ1,\"first line\r\nsecond line\",Prospecting,10,2024-01-31\r\nQ2,\"lf\nonly\",Prospecting,10,2024-01-31\r\n"
	fr := load(t, s, writeFile(t, "crlf.csv", []byte(text)), LoadOptions{})
	if fr.Loaded != 2 {
		t.Fatalf("loaded %d, want 2 (%v)", fr.Loaded, fr.SampleRejects)
	}
	if n := count(t, db, "opportunities", `name = 'first line\r\nsecond line'`); n != 1 {
		t.Errorf("CR LF inside quotes not kept as written (%d rows match)", n)
	}
	if n := count(t, db, "opportunities", `name = 'lf\nonly'`); n != 1 {
		t.Errorf("LF inside quotes not kept as written (%d rows match)", n)
	}
}

// xlsxBytes builds a workbook of n opportunity rows.
func xlsxBytes(t *testing.T, n int) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.SetRow("A1", []any{"opportunity_id", "name", "stage", "amount", "close_date"}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, []any{fmt.Sprintf("X%d", i), fmt.Sprintf("Deal %d", i), "Prospecting", 1000 + i, "2024-01-31"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rezip copies a workbook, passing each part through edit (nil keeps it).
func rezip(t *testing.T, in []byte, edit func(name string, b []byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			b = edit(f.Name, b)
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func parquetBytes(t *testing.T, n int) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "opportunity_id", Type: arrow.BinaryTypes.String}, {Name: "stage", Type: arrow.BinaryTypes.String},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("P%d", i))
		b.Field(1).(*array.StringBuilder).Append("Qualification")
		b.Field(2).(*array.Float64Builder).Append(float64(i))
	}
	rec := b.NewRecord()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &buf, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// flipParquetPage flips 8 bytes in the middle of the data of column col's first
// row group.
func flipParquetPage(t *testing.T, in []byte, col int) []byte {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := pf.MetaData().RowGroup(0).ColumnChunk(col)
	if err != nil {
		t.Fatal(err)
	}
	start := cc.DataPageOffset()
	if cc.HasDictionaryPage() {
		start = cc.DictionaryPageOffset()
	}
	mid := start + cc.TotalCompressedSize()/2
	out := append([]byte(nil), in...)
	for i := mid; i < mid+8; i++ {
		out[i] ^= 0xFF
	}
	return out
}

// TestCutOrCorruptFilesFail: a reader that cannot prove it read the whole file
// fails the run, naming where; nothing of the file becomes visible. Before, a
// workbook cut halfway committed 501 of 1,000 rows and a Parquet file with 8
// flipped bytes committed 0 of 200, both reported as success.
func TestCutOrCorruptFilesFail(t *testing.T) {
	book := xlsxBytes(t, 1000)
	cutBook := rezip(t, book, func(name string, b []byte) []byte {
		if name == "xl/worksheets/sheet1.xml" {
			return b[:len(b)/2]
		}
		return b
	})
	pq := parquetBytes(t, 200)
	jsonRows := func(n int) string {
		var b strings.Builder
		b.WriteString("[")
		for i := 1; i <= n; i++ {
			if i > 1 {
				b.WriteString(",\n")
			}
			fmt.Fprintf(&b, `{"opportunity_id": "J%d", "stage": "Prospecting", "amount": %d}`, i, i)
		}
		b.WriteString("]\n")
		return b.String()
	}
	arr := jsonRows(100)
	lines := strings.NewReplacer("[", "", "]", "", ",\n", "\n").Replace(arr)
	for _, c := range []struct {
		name, file string
		data       []byte
		want       []string // in the error
	}{
		{"xlsx sheet cut halfway", "cut.xlsx", cutBook, []string{"cut.xlsx", `sheet "Sheet1"`}},
		{"parquet with 8 flipped bytes in a page", "flipped.parquet", flipParquetPage(t, pq, 0), []string{"flipped.parquet", "row group 0"}},
		{"json array without its closing bracket", "cut.json", []byte(strings.TrimSuffix(arr, "]\n")), []string{"cut.json"}},
		{"json array cut inside a row", "cut2.json", []byte(arr[:len(arr)/2]), []string{"cut2.json", "row"}},
		{"json lines cut inside a row", "cut.jsonl", []byte(lines[:len(lines)-20]), []string{"cut.jsonl", "row 100"}},
		{"csv with a quote left open at the end", "open.csv", []byte(oppCSV(20) + "E21,\"unclosed,Prospecting,1,2024-01-31\nE22,x,Prospecting,1,2024-01-31\n"), []string{"open.csv", "line 22"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := schemastest.Open(t)
			s := newTest(db, Options{ChunkRows: 64}, nil)
			rep, err := s.LoadFile(context.Background(), writeFile(t, c.file, c.data), LoadOptions{})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("load: %v; want an ErrMalformed failure", err)
			}
			t.Logf("%v", err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
			if rep == nil || len(rep.Files) != 1 || rep.Files[0].Status != StatusFailed {
				t.Errorf("report %+v, want one failed run", rep)
			}
			if n := count(t, db, "opportunities", ""); n != 0 {
				t.Errorf("%d rows of a failed run are visible", n)
			}
		})
	}
	// The intact files load whole.
	db := schemastest.Open(t)
	s := newTest(db, Options{ChunkRows: 64}, nil)
	for _, c := range []struct {
		file string
		data []byte
		rows int64
	}{{"whole.xlsx", book, 1000}, {"whole.parquet", pq, 200}, {"whole.json", []byte(arr), 100}, {"whole.jsonl", []byte(lines), 100}} {
		fr := load(t, s, writeFile(t, c.file, c.data), LoadOptions{})
		if fr.Loaded != c.rows {
			t.Errorf("%s: loaded %d, want %d", c.file, fr.Loaded, c.rows)
		}
	}
}

// bombXLSX is a valid workbook whose one sheet is a header and then `expand`
// bytes of identical rows of empty cells, deflated to about a thousandth.
func bombXLSX(t *testing.T, expand int64) []byte {
	t.Helper()
	base := rezip(t, xlsxBytes(t, 1), nil)
	zr, err := zip.NewReader(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestCompression) })
	for _, f := range zr.File {
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name != "xl/worksheets/sheet1.xml" {
			rc, _ := f.Open()
			io.Copy(w, rc)
			rc.Close()
			continue
		}
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">`)
		for _, h := range []string{"opportunity_id", "name", "stage", "amount", "close_date"} {
			io.WriteString(w, `<c t="inlineStr"><is><t>`+h+`</t></is></c>`)
		}
		io.WriteString(w, `</row>`)
		rows := bytes.Repeat([]byte(`<row><c/><c/><c/><c/><c/></row>`), 1<<15)
		for n := int64(0); n < expand; n += int64(len(rows)) {
			if _, err := w.Write(rows); err != nil {
				t.Fatal(err)
			}
		}
		io.WriteString(w, `</sheetData></worksheet>`)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// peakHeap runs fn and returns the most heap it held above what was in use
// before, sampled every millisecond.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > base && m.HeapInuse-base > peak {
				peak = m.HeapInuse - base
			}
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	return peak
}

// TestXLSXBomb: a workbook of a few hundred KB whose sheet unpacks to 1 GB fails
// at the expansion limit, naming file, sheet and limit, in little memory and
// without writing the sheet to TMPDIR; nothing is stored. Before, it took about
// twice the expanded size in memory and wrote the sheet to TMPDIR.
func TestXLSXBomb(t *testing.T) {
	const expand = 1 << 30
	bomb := bombXLSX(t, expand)
	t.Logf("bomb: %d KB compressed, %d MB unpacked", len(bomb)>>10, expand>>20)
	path := writeFile(t, "bomb.xlsx", bomb)
	db := schemastest.Open(t) // first: the test ClickHouse may start here, in TMPDIR
	s := newTest(db, Options{}, nil)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var err error
	var rep *Report
	start := time.Now()
	peak := peakHeap(func() { rep, err = s.LoadFile(context.Background(), path, LoadOptions{}) })
	t.Logf("failed after %v, peak heap %d MB above the baseline: %v", time.Since(start).Round(time.Millisecond), peak>>20, err)
	if !errors.Is(err, ErrExpandLimit) {
		t.Fatalf("load of a zip bomb: %v, want ErrExpandLimit", err)
	}
	for _, w := range []string{"bomb.xlsx", `sheet "Sheet1"`, "limit"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %s", err, w)
		}
	}
	if peak > 64<<20 {
		t.Errorf("peak heap %d MB while reading the bomb, want under 64 MB", peak>>20)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("TMPDIR holds %d files after the load, want none", len(left))
	}
	if rep == nil || rep.Files[0].Status != StatusFailed {
		t.Errorf("report %+v, want a failed run", rep)
	}
	if n := countAll(t, db, "opportunities"); n != 0 {
		t.Errorf("%d rows stored from the bomb", n)
	}
}

// TestHugeHeaderAndDeepJSON: 100,000 unknown columns give a short error (first
// names, then "and N more"), in the returned error and in ingest_runs; JSON
// nested 100,000 deep is a clear error, not a crash.
func TestHugeHeaderAndDeepJSON(t *testing.T) {
	db := schemastest.Open(t)
	s := newTest(db, Options{}, nil)
	var hdr, row strings.Builder
	for i := 0; i < 100000; i++ {
		if i > 0 {
			hdr.WriteByte(',')
			row.WriteByte(',')
		}
		fmt.Fprintf(&hdr, "mystery column %d", i)
		row.WriteByte('1')
	}
	_, err := s.LoadFile(context.Background(), writeFile(t, "wide.csv", []byte(hdr.String()+"\n"+row.String()+"\n")), LoadOptions{})
	if !errors.Is(err, ErrUnknownLayout) {
		t.Fatalf("100,000 unknown columns: %v, want ErrUnknownLayout", err)
	}
	if len(err.Error()) > 2000 || !strings.Contains(err.Error(), "and 99980 more") {
		t.Errorf("error is %d bytes (%.200s…), want the first 20 names and \"and 99980 more\"", len(err.Error()), err)
	}
	var maxErr, maxRep uint64
	ctx, cancel := db.Context(context.Background(), "test-runs")
	defer cancel()
	if err := db.Conn.QueryRow(ctx, "SELECT max(length(error)), max(length(report)) FROM ingest_runs").Scan(&maxErr, &maxRep); err != nil {
		t.Fatal(err)
	}
	if maxErr > 2000 || maxRep > 8000 {
		t.Errorf("ingest_runs keeps an error of %d bytes and a report of %d, want them short", maxErr, maxRep)
	}

	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	for _, c := range []struct{ file, data string }{
		{"deep.json", `[{"opportunity_id": "D1", "stage": "Prospecting", "x": ` + deep + `}]`},
		{"deep.jsonl", `{"opportunity_id": "D1", "stage": "Prospecting", "x": ` + deep + "}\n"},
		{"deeptop.json", deep},
	} {
		rep, err := s.LoadFile(context.Background(), writeFile(t, c.file, []byte(c.data)), LoadOptions{})
		if err == nil || !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNoHeader) {
			t.Errorf("%s: %v; want a malformed-file error", c.file, err)
			continue
		}
		t.Logf("%v", err)
		if !strings.Contains(err.Error(), c.file) || len(err.Error()) > 500 {
			t.Errorf("%s: error %q should name the file and stay short", c.file, err)
		}
		if rep != nil && len(rep.Files) > 0 && rep.Files[0].Status != StatusFailed {
			t.Errorf("%s: status %s, want failed", c.file, rep.Files[0].Status)
		}
	}
}

// TestXLSXReaderMatchesExcelize: the streaming sheet reader gives the cells
// excelize gave (raw values) for every kind of cell a CRM export holds, so the
// change of reader changes no loaded value.
func TestXLSXReaderMatchesExcelize(t *testing.T) {
	f := excelize.NewFile()
	f.NewSheet("Data")
	set := func(cell string, v any) {
		if err := f.SetCellValue("Data", cell, v); err != nil {
			t.Fatal(err)
		}
	}
	set("A1", "id")
	set("B1", "name")
	set("C1", "amount")
	set("E1", "won") // D1 left out: a gap in the header
	set("A2", "R1")
	set("B2", "上海 \"quoted\" & <tagged>")
	set("C2", 1234.5)
	set("E2", true)
	set("A3", "R2")
	set("B3", "line one\r\nline two")
	set("C3", 42)
	set("E3", false)
	set("A4", "R3")
	set("C4", time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC))
	// Row 5 is blank; row 6 has rich text and a formula without a cached value.
	set("A6", "R4")
	if err := f.SetCellRichText("Data", "B6", []excelize.RichTextRun{{Text: "bold "}, {Text: "plain"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.SetCellFormula("Data", "C6", "=C2*2"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kinds.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	want := map[int64][]string{}
	rows, err := f.Rows("Data")
	if err != nil {
		t.Fatal(err)
	}
	for n := int64(1); rows.Next(); n++ {
		rec, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		// Trailing blanks do not matter: short rows are padded.
		for len(rec) > 0 && rec[len(rec)-1] == "" {
			rec = rec[:len(rec)-1]
		}
		if len(rec) > 0 {
			want[n] = rec
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	book, err := openBook(fh, "kinds.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(book.sheets, ",") != "Sheet1,Data" {
		t.Errorf("sheets %q, want Sheet1,Data", book.sheets)
	}
	sh, err := book.sheet("Data")
	if err != nil {
		t.Fatal(err)
	}
	defer sh.close()
	got := map[int64][]string{}
	for {
		n, rec, err := sh.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for len(rec) > 0 && rec[len(rec)-1] == "" {
			rec = rec[:len(rec)-1]
		}
		if len(rec) > 0 {
			got[n] = append([]string(nil), rec...)
		}
	}
	if len(got) != len(want) {
		t.Errorf("rows %v, excelize read %v", got, want)
	}
	for n, w := range want {
		if strings.Join(got[n], "|") != strings.Join(w, "|") {
			t.Errorf("row %d: %q, excelize read %q", n, got[n], w)
		}
	}
}
