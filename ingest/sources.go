package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// rawChunk is a batch of input rows as text (cols, row after row), the row number
// of each row for reject reports, and the rows the reader itself could not use.
type rawChunk struct {
	seq     int // the chunk's place in the file, from 0
	cols    *rawText
	rows    []int64
	rejects []reject
	read    int // rows read into this chunk, rejects included
}

// rawText is a chunk's text row-major: each field's bytes followed by one ASCII
// separator byte, row after row, in one buffer, so that the reader copies a line
// at once and a row's fields lie together for the mapper. Field i of row r is
// text[pos[r*width+i] : pos[r*width+i+1]-1]; pos ends with len(text).
type rawText struct {
	text  []byte
	pos   []int32
	width int
	// valid: text is valid UTF-8 (textCols), and then so is every field: a
	// field ends at an ASCII byte, which no multi-byte character contains.
	valid bool
}

// release frees the chunk; its pooled buffers go back once no value of it is
// referenced any more (mapping copies what it keeps).
func (ch *rawChunk) release() {
	if ch.cols != nil {
		bytePool.put(ch.cols.text)
		int32Pool.put(ch.cols.pos)
		ch.cols = nil
	}
}

// source yields a file's rows in chunks. header is known once the source is open.
type source interface {
	header() []string
	next() (*rawChunk, error) // io.EOF at the end
	close()
	format() string
}

// chunkBuilder collects text rows into a rawChunk (rawText): a line without
// quotes is copied at once and only its field starts are found; other records
// are copied field by field.
type chunkBuilder struct {
	text  []byte
	pos   []int32
	rows  []int64
	rej   []reject
	read  int
	width int
	file  string
	// sizes of the last chunk, to allocate the next one at once
	lastText int
	lastRows int
}

// sep ends each field in rawText when the record has no separator of its own.
const sep = ','

func newChunkBuilder(header []string, file string) *chunkBuilder {
	return &chunkBuilder{width: len(header), file: file}
}

func (cb *chunkBuilder) start() {
	if cb.rows != nil {
		return
	}
	n := max(cb.lastRows, 64)
	cb.rows = make([]int64, 0, n)
	cb.text = bytePool.get(cb.lastText + cb.lastText/8 + 64)
	cb.pos = int32Pool.get(n*cb.width + 1)
}

// add appends one row. Short rows are padded with blanks (exports drop trailing
// empty cells); a row with extra non-empty cells is rejected, since its values cannot
// be lined up with the header.
func (cb *chunkBuilder) add(row int64, rec []string) {
	cb.read++
	if len(rec) > cb.width {
		for _, v := range rec[cb.width:] {
			if strings.TrimSpace(v) != "" {
				cb.rej = append(cb.rej, reject{file: cb.file, row: row, column: "", raw: truncate(strings.Join(rec, ","), 500),
					reason: "bad_row", message: fmt.Sprintf("%d fields, the header has %d", len(rec), cb.width)})
				return
			}
		}
		rec = rec[:cb.width]
	}
	cb.start()
	for i := 0; i < cb.width; i++ {
		cb.pos = append(cb.pos, int32(len(cb.text)))
		if i < len(rec) {
			cb.text = append(cb.text, rec[i]...)
		}
		cb.text = append(cb.text, sep)
	}
	cb.rows = append(cb.rows, row)
}

// addLine adds a record that is one line without quotes, split at comma. It adds
// nothing and returns false when the line has more fields than the header (add
// then decides whether the extra ones are blank).
func (cb *chunkBuilder) addLine(row int64, line []byte, comma byte) bool {
	w := cb.width
	if w == 0 {
		return false // no header
	}
	cb.start()
	base, n0 := len(cb.text), len(cb.pos)
	// The line's own commas end its fields; one more ends the last.
	cb.text = append(append(cb.text, line...), comma)
	cb.pos = append(cb.pos, int32(base))
	// Find the commas eight bytes at a time: fields are short, so this beats a
	// search call per field. A comma past the w-1 the header allows means an
	// extra field.
	found := 0
	cm := uint64(comma) * 0x0101010101010101
	i := 0
	for ; i+8 <= len(line); i += 8 {
		x := binary.LittleEndian.Uint64(line[i:]) ^ cm
		// The high bit of each byte that is zero in x, exactly (no borrows).
		t := ^((x&0x7F7F7F7F7F7F7F7F + 0x7F7F7F7F7F7F7F7F) | x | 0x7F7F7F7F7F7F7F7F)
		for t != 0 {
			if found++; found == w {
				cb.text, cb.pos = cb.text[:base], cb.pos[:n0]
				return false
			}
			cb.pos = append(cb.pos, int32(base+i+bits.TrailingZeros64(t)>>3+1))
			t &= t - 1
		}
	}
	for ; i < len(line); i++ {
		if line[i] == comma {
			if found++; found == w {
				cb.text, cb.pos = cb.text[:base], cb.pos[:n0]
				return false
			}
			cb.pos = append(cb.pos, int32(base+i+1))
		}
	}
	// A short line: the missing fields are blank, each with its own separator.
	for ; found < w-1; found++ {
		cb.pos = append(cb.pos, int32(len(cb.text)))
		cb.text = append(cb.text, comma)
	}
	cb.read++
	cb.rows = append(cb.rows, row)
	return true
}

// addFields is add for a record scanned into one buffer (csvReader.scan).
func (cb *chunkBuilder) addFields(row int64, buf []byte, ends []int) {
	if len(ends) > cb.width {
		for k := cb.width; k < len(ends); k++ {
			if len(bytes.TrimSpace(buf[ends[k-1]:ends[k]])) > 0 {
				rec := make([]string, len(ends))
				prev := 0
				for j, e := range ends {
					rec[j] = string(buf[prev:e])
					prev = e
				}
				cb.add(row, rec)
				return
			}
		}
		ends = ends[:cb.width]
	}
	cb.read++
	cb.start()
	prev := 0
	for i := 0; i < cb.width; i++ {
		cb.pos = append(cb.pos, int32(len(cb.text)))
		if i < len(ends) {
			e := ends[i]
			cb.text = append(cb.text, buf[prev:e]...)
			prev = e
		}
		cb.text = append(cb.text, sep)
	}
	cb.rows = append(cb.rows, row)
}

func (cb *chunkBuilder) len() int { return len(cb.rows) }

// full says the chunk has reached n rows, or 1 GiB of text (int32 offsets),
// whichever comes first.
func (cb *chunkBuilder) full(n int) bool {
	return len(cb.rows) >= n || len(cb.text) > 1<<30
}

func (cb *chunkBuilder) flush() *rawChunk {
	cb.start()
	cb.pos = append(cb.pos, int32(len(cb.text)))
	ch := &rawChunk{cols: &rawText{text: cb.text, pos: cb.pos, width: cb.width}, rows: cb.rows, rejects: cb.rej, read: cb.read}
	cb.lastText, cb.lastRows = len(cb.text), len(cb.rows)
	cb.text, cb.pos, cb.rows, cb.rej, cb.read = nil, nil, nil, nil, 0
	return ch
}

// stringArray wraps a column's bytes and offsets (offs[0] == 0) as an Arrow utf8
// array without copying them.
func stringArray(data []byte, offs []int32) *array.String {
	if len(data) == 0 {
		// Arrow wants a values buffer even when every value is blank.
		data = []byte{}
	}
	d := array.NewData(arrow.BinaryTypes.String, len(offs)-1,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(data)}, nil, 0, 0)
	defer d.Release()
	return array.NewStringData(d)
}

// ---- CSV / TSV ----

type csvSource struct {
	r       *csvReader
	hdr     []string
	cb      *chunkBuilder
	chunk   int
	enc     string
	comma   byte
	done    bool
	counter *countingReader
	footer  *reportFooter // set when the file is a report export (asReport)
}

// countingReader counts the bytes read, for progress.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Seek lets the encoding scan read the file and start again: the count follows.
func (c *countingReader) Seek(offset int64, whence int) (int64, error) {
	s, ok := c.r.(io.Seeker)
	if !ok {
		return 0, errors.New("seek: not a file")
	}
	n, err := s.Seek(offset, whence)
	if err == nil {
		c.n.Store(n)
	}
	return n, err
}

func (s *csvSource) bytes() int64 {
	if s.counter == nil {
		return 0
	}
	return s.counter.n.Load()
}

func openCSV(r io.Reader, name string, chunk int) (*csvSource, error) {
	dr, enc, err := decodeReader(r)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(dr, 1<<20)
	sample, err := br.Peek(64 << 10)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, err
	}
	comma, quote := sniffCSV(sample)
	if strings.HasSuffix(strings.ToLower(name), ".tsv") && bytes.IndexByte(sample, '\t') >= 0 {
		comma = '\t'
	}
	cr := newCSVReader(br, comma, quote)
	var hdr []string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil, fmt.Errorf("read %s: %w", name, ErrNoHeader)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s header: %w", name, err)
		}
		if cr.unterminated {
			return nil, fmt.Errorf("read %s header on line %d: a quoted field is not closed before the end of the file: %w", name, cr.start, ErrMalformed)
		}
		// Some exports put a title line above the header ("Report: Pipeline"); the
		// header is the first line with more than one non-empty field.
		nonEmpty := 0
		for _, f := range rec {
			if strings.TrimSpace(f) != "" {
				nonEmpty++
			}
		}
		if nonEmpty > 1 || len(rec) == 1 && nonEmpty == 1 {
			hdr = trimHeader(rec)
			break
		}
	}
	return &csvSource{r: cr, hdr: hdr, cb: newChunkBuilder(hdr, name), chunk: chunk, enc: enc, comma: comma}, nil
}

func trimHeader(rec []string) []string {
	h := make([]string, len(rec))
	for i, f := range rec {
		h[i] = strings.TrimSpace(strings.TrimPrefix(f, "\ufeff"))
	}
	// Trailing unnamed columns are spreadsheet leftovers.
	for len(h) > 1 && h[len(h)-1] == "" {
		h = h[:len(h)-1]
	}
	return h
}

// textEncoding names the encoding the file was read in, for reject messages.
func (s *csvSource) textEncoding() string  { return s.enc }
func (s *jsonSource) textEncoding() string { return s.enc }

// unwrap is the reader under a closingSource.
func unwrap(src source) source {
	if c, ok := src.(*closingSource); ok {
		return c.source
	}
	return src
}

// sourceEncoding is the text encoding src reads, "UTF-8" for formats that are
// always UTF-8 (XLSX, Parquet).
func sourceEncoding(src source) string {
	if e, ok := unwrap(src).(interface{ textEncoding() string }); ok {
		return e.textEncoding()
	}
	return "UTF-8"
}

func (s *csvSource) header() []string { return s.hdr }
func (s *csvSource) close()           {}
func (s *csvSource) format() string {
	d := "csv"
	switch s.comma {
	case '\t':
		d = "tsv"
	case ';':
		d = "csv;"
	case '|':
		d = "csv|"
	}
	return d + "/" + s.enc
}

func (s *csvSource) next() (*rawChunk, error) {
	if s.done {
		return nil, io.EOF
	}
	q := s.r.quote
	for !s.cb.full(s.chunk) {
		line, err := s.r.nextLine()
		if err == io.EOF {
			s.done = true
			if s.footer != nil {
				s.footer.end()
			}
			break
		}
		if err != nil {
			return nil, err
		}
		// Most lines hold no quote: split them straight into the columns.
		if s.footer == nil && (q == 0 || bytes.IndexByte(line, q) < 0) && s.cb.addLine(s.r.start, trimEOL(line), s.comma) {
			continue
		}
		buf, ends, err := s.r.scanFrom(line)
		if err != nil {
			return nil, err
		}
		if s.r.unterminated {
			// Everything after the open quote went into one field: the rows it
			// swallowed were never read, so the run cannot say it read the file.
			return nil, fmt.Errorf("row on line %d: a quoted field is not closed before the end of the file: %w", s.r.start, ErrMalformed)
		}
		if s.footer != nil {
			s.footer.take(s.cb, s.r.start, buf, ends)
			continue
		}
		s.cb.addFields(s.r.start, buf, ends)
	}
	if s.cb.read == 0 {
		return nil, io.EOF
	}
	return s.cb.flush(), nil
}

// ---- XLSX ----

type xlsxSource struct {
	sh     *xlsxSheet
	hdr    []string
	cb     *chunkBuilder
	chunk  int
	sheet  string
	done   bool
	report *formattedReport // set when the sheet is a formatted report (asReport)
}

// formattedReport reads a report exported with its formatting (Salesforce's
// "Formatted Report" XLSX): grouping fields are written once, on the first row
// of their group, and groups end in subtotal rows, the sheet in a grand total
// and text lines ("Confidential Information - Do Not Distribute"). Leading cells
// left blank take the value of the row above; total rows and rows of a single
// text cell are skipped and counted (FileReport.Warnings), never loaded as deals.
type formattedReport struct {
	last    []string
	totals  int64 // subtotal and total rows skipped
	texts   int64 // single-cell text rows skipped
	started bool  // a data row was seen
}

// totalLabels start a subtotal or total row.
var totalLabels = []string{"subtotal", "total", "grand total", "grand totals", "sum", "count", "小计", "总计", "合计"}

// keep says whether rec is a data row, filling its leading blanks.
func (r *formattedReport) keep(rec []string) bool {
	nonEmpty, first := 0, ""
	for _, c := range rec {
		if c = strings.TrimSpace(c); c != "" {
			if nonEmpty == 0 {
				first = strings.ToLower(c)
			}
			nonEmpty++
		}
	}
	for _, l := range totalLabels {
		if first == l || strings.HasPrefix(first, l+" ") || strings.HasPrefix(first, l+"(") || strings.HasPrefix(first, l+":") {
			r.totals++
			return false
		}
	}
	if nonEmpty == 1 {
		r.texts++
		return false
	}
	for i := 0; i < len(rec) && i < len(r.last) && strings.TrimSpace(rec[i]) == ""; i++ {
		rec[i] = r.last[i]
	}
	r.last = append(r.last[:0], rec...)
	r.started = true
	return true
}

// asReport reads the sheet as a formatted report (formattedReport).
func (s *xlsxSource) asReport() { s.report = &formattedReport{} }

func (s *xlsxSource) reportWarnings() map[string]int64 {
	if s.report == nil {
		return nil
	}
	return map[string]int64{"report_total_rows_skipped": s.report.totals, "report_text_rows_skipped": s.report.texts}
}

// openXLSX opens a sheet of the workbook f (the first sheet when sheet is
// empty); see xlsx.go for how it is read and bounded.
func openXLSX(f *os.File, name, sheet string, chunk int) (*xlsxSource, error) {
	book, err := openBook(f, name)
	if err != nil {
		return nil, err
	}
	if sheet == "" {
		if len(book.sheets) == 0 {
			return nil, fmt.Errorf("open workbook %s: %w", name, ErrNoHeader)
		}
		sheet = book.sheets[0]
	} else if _, ok := book.targets[sheet]; !ok {
		return nil, fmt.Errorf("open workbook %s: sheet %q: %w (sheets: %s)", name, truncate(sheet, maxNameBytes), ErrNoSheet, listNames(book.sheets))
	}
	sh, err := book.sheet(sheet)
	if err != nil {
		return nil, err
	}
	s := &xlsxSource{sh: sh, chunk: chunk, sheet: sheet}
	for {
		_, rec, err := sh.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.close()
			return nil, err
		}
		nonEmpty := 0
		for _, c := range rec {
			if strings.TrimSpace(c) != "" {
				nonEmpty++
			}
		}
		if nonEmpty > 1 {
			s.hdr = trimHeader(rec)
			break
		}
	}
	if s.hdr == nil {
		s.close()
		return nil, fmt.Errorf("read sheet %q of %s: %w", sheet, name, ErrNoHeader)
	}
	s.cb = newChunkBuilder(s.hdr, name)
	return s, nil
}

func (s *xlsxSource) header() []string { return s.hdr }
func (s *xlsxSource) format() string   { return "xlsx/" + s.sheet }
func (s *xlsxSource) close()           { s.sh.close() }

func (s *xlsxSource) next() (*rawChunk, error) {
	for !s.done && s.cb.len() < s.chunk {
		n, rec, err := s.sh.next()
		if err == io.EOF {
			s.done = true
			break
		}
		if err != nil {
			return nil, err
		}
		empty := true
		for _, c := range rec {
			if strings.TrimSpace(c) != "" {
				empty = false
				break
			}
		}
		if empty || s.report != nil && !s.report.keep(rec) {
			continue
		}
		s.cb.add(n, rec)
	}
	if s.cb.read == 0 {
		return nil, io.EOF
	}
	return s.cb.flush(), nil
}

// ---- JSON and JSON Lines ----

type jsonSource struct {
	dec     *json.Decoder
	array   bool
	hdr     []string
	idx     map[string]int
	pending [][]kv
	cb      *chunkBuilder
	chunk   int
	n       int64
	done    bool
	lines   bool
	enc     string
}

type kv struct{ k, v string }

func openJSON(r io.Reader, name string, chunk int) (*jsonSource, error) {
	dr, enc, err := decodeReader(r)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(dr, 1<<20)
	var first byte
	for {
		c, err := br.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, ErrNoHeader)
		}
		if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			first = c
			_ = br.UnreadByte()
			break
		}
	}
	s := &jsonSource{dec: json.NewDecoder(br), chunk: chunk, idx: map[string]int{}, enc: enc}
	s.dec.UseNumber()
	if first == '[' {
		s.array = true
		if _, err := s.dec.Token(); err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
	} else {
		s.lines = true
	}
	// The header is every key of the first thousand objects, in order of appearance.
	for len(s.pending) < 1000 {
		obj, err := s.object()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s row %d: %w", name, len(s.pending)+1, err)
		}
		for _, p := range obj {
			if _, ok := s.idx[p.k]; !ok {
				s.idx[p.k] = len(s.hdr)
				s.hdr = append(s.hdr, p.k)
			}
		}
		s.pending = append(s.pending, obj)
	}
	if len(s.hdr) == 0 {
		return nil, fmt.Errorf("read %s: %w", name, ErrNoHeader)
	}
	s.cb = newChunkBuilder(s.hdr, name)
	return s, nil
}

// object reads the next JSON object as ordered key/value text pairs. The end of
// the input counts only between rows, and for an array after its "]": a file cut
// anywhere else is ErrMalformed.
func (s *jsonSource) object() ([]kv, error) {
	if s.done {
		return nil, io.EOF
	}
	if s.array && !s.dec.More() {
		t, err := s.dec.Token()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: the file ends before the array's closing ]", ErrMalformed)
		}
		if err != nil {
			return nil, cutShort(err)
		}
		if d, ok := t.(json.Delim); !ok || d != ']' {
			return nil, fmt.Errorf("want , or ] after a row, found %s: %w", tokenText(t), ErrMalformed)
		}
		if t, err := s.dec.Token(); err != io.EOF {
			if err != nil {
				return nil, fmt.Errorf("after the array: %w: %w", ErrMalformed, err)
			}
			return nil, fmt.Errorf("after the array: found %s: %w", tokenText(t), ErrMalformed)
		}
		s.done = true
		return nil, io.EOF
	}
	t, err := s.dec.Token()
	if err == io.EOF && !s.array {
		s.done = true
		return nil, io.EOF
	}
	if err != nil {
		return nil, cutShort(err)
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want an object per row, found %s: %w", tokenText(t), ErrMalformed)
	}
	var out []kv
	for s.dec.More() {
		kt, err := s.dec.Token()
		if err != nil {
			return nil, cutShort(err)
		}
		k, _ := kt.(string)
		var raw json.RawMessage
		if err := s.dec.Decode(&raw); err != nil {
			return nil, cutShort(err)
		}
		out = append(out, kv{k, jsonText(raw)})
	}
	if _, err := s.dec.Token(); err != nil {
		return nil, cutShort(err)
	}
	return out, nil
}

// cutShort says a JSON error inside a row is a malformed file (io.EOF there means
// the file ends in the middle of a row).
func cutShort(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: the file ends inside a row", ErrMalformed)
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}

func tokenText(t json.Token) string {
	switch v := t.(type) {
	case string:
		return strconv.Quote(truncate(v, 40))
	case json.Delim:
		return string(v)
	}
	return truncate(fmt.Sprint(t), 40)
}

func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return ""
	case !utf8.Valid(raw):
		// Kept as written, so the row is rejected (bad_encoding) naming the
		// column; json.Unmarshal would put U+FFFD in place of the bad bytes.
		return string(raw)
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

func (s *jsonSource) header() []string { return s.hdr }
func (s *jsonSource) close()           {}
func (s *jsonSource) format() string {
	if s.lines {
		return "jsonl"
	}
	return "json"
}

func (s *jsonSource) next() (*rawChunk, error) {
	rec := make([]string, len(s.hdr))
	for s.cb.len() < s.chunk {
		var obj []kv
		if len(s.pending) > 0 {
			obj, s.pending = s.pending[0], s.pending[1:]
		} else {
			var err error
			obj, err = s.object()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", s.n+1, err)
			}
		}
		s.n++
		clear(rec)
		for _, p := range obj {
			if i, ok := s.idx[p.k]; ok {
				rec[i] = p.v
			}
		}
		s.cb.add(s.n, rec)
	}
	if s.cb.read == 0 {
		return nil, io.EOF
	}
	return s.cb.flush(), nil
}

// ---- Parquet ----

type parquetSource struct {
	f     *os.File
	pf    *file.Reader
	fr    *pqarrow.FileReader
	rr    pqarrow.RecordReader
	name  string
	hdr   []string
	n     int64 // rows read
	rg    int   // the row group rr reads
	rgN   int64 // rows read of it
	total int64 // rows the footer says the file holds
	cb    *chunkBuilder
}

// openParquet opens the Parquet file at path; errors name it name (an
// upload's own name, not its spool file's).
func openParquet(path, name string, chunk int) (*parquetSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	pf, err := file.NewParquetReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open parquet %s: %w: %w", name, ErrMalformed, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(chunk)}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("open parquet %s: %w: %w", name, ErrMalformed, err)
	}
	sc, err := fr.Schema()
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("open parquet %s: %w: %w", name, ErrMalformed, err)
	}
	s := &parquetSource{f: f, pf: pf, fr: fr, name: name, rg: -1, total: pf.NumRows()}
	for _, fl := range sc.Fields() {
		s.hdr = append(s.hdr, fl.Name)
	}
	return s, nil
}

func (s *parquetSource) header() []string { return s.hdr }
func (s *parquetSource) format() string   { return "parquet" }
func (s *parquetSource) close() {
	if s.rr != nil {
		s.rr.Release()
	}
	s.pf.Close()
}

// next turns a typed Parquet batch into text columns, so that the same profiles and
// value parsers apply: timestamps become RFC 3339 in UTC, dates YYYY-MM-DD. It
// reads one row group at a time and checks each yields the rows its metadata
// says: a corrupt page fails the run (naming the row group), it never ends the
// file early. A panic of the decoder on corrupt data is such a failure too.
func (s *parquetSource) next() (ch *rawChunk, err error) {
	defer func() {
		if r := recover(); r != nil {
			ch, err = nil, fmt.Errorf("read parquet %s row group %d: %w: decoder failed: %v", s.name, s.rg, ErrMalformed, r)
		}
	}()
	for {
		if s.rr == nil {
			if s.rg+1 >= s.pf.NumRowGroups() {
				if s.n != s.total {
					return nil, fmt.Errorf("read parquet %s: %w: %d rows read, the file says %d", s.name, ErrMalformed, s.n, s.total)
				}
				return nil, io.EOF
			}
			s.rg++
			s.rgN = 0
			rr, err := s.fr.GetRecordReader(context.Background(), nil, []int{s.rg})
			if err != nil {
				return nil, fmt.Errorf("read parquet %s row group %d: %w: %w", s.name, s.rg, ErrMalformed, err)
			}
			s.rr = rr
		}
		if s.rr.Next() {
			break
		}
		if err := s.rr.Err(); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read parquet %s row group %d (from row %d): %w: %w", s.name, s.rg, s.n-s.rgN+1, ErrMalformed, err)
		}
		if want := s.pf.MetaData().RowGroup(s.rg).NumRows(); s.rgN != want {
			return nil, fmt.Errorf("read parquet %s row group %d: %w: %d rows read, its metadata says %d", s.name, s.rg, ErrMalformed, s.rgN, want)
		}
		s.rr.Release()
		s.rr = nil
	}
	rec := s.rr.Record()
	n := int(rec.NumRows())
	s.rgN += int64(n)
	if s.cb == nil {
		s.cb = newChunkBuilder(s.hdr, s.name)
	}
	row := make([]string, len(s.hdr))
	for i := 0; i < n; i++ {
		for j := range s.hdr {
			row[j] = ""
			if col := rec.Column(j); !col.IsNull(i) {
				row[j] = arrowText(col, i)
			}
		}
		s.n++
		s.cb.add(s.n, row)
	}
	return s.cb.flush(), nil
}

func arrowText(col arrow.Array, i int) string {
	switch a := col.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano)
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly)
	case *array.Date64:
		return a.Value(i).ToTime().Format(time.DateOnly)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'f', -1, 64)
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'f', -1, 32)
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	}
	return col.ValueStr(i)
}

// openSource opens path (or the spooled upload at path, named name) with the reader
// its content calls for.
func openSource(path, name, sheet string, chunk int) (source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case bytes.HasPrefix(head, []byte("PAR1")) || ext == ".parquet":
		f.Close()
		return openParquet(path, name, chunk)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || ext == ".xlsx" || ext == ".xlsm":
		// The sheet streams from the file as it loads: f stays open until close.
		xs, err := openXLSX(f, name, sheet, chunk)
		if err != nil {
			f.Close()
			return nil, err
		}
		return &closingSource{source: xs, f: f}, nil
	}
	var src source
	if ext == ".json" || ext == ".jsonl" || ext == ".ndjson" || looksJSON(f) {
		src, err = openJSON(f, name, chunk)
	} else {
		cr := &countingReader{r: f}
		var cs *csvSource
		cs, err = openCSV(cr, name, chunk)
		if err == nil {
			cs.counter = cr
			src = cs
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &closingSource{source: src, f: f}, nil
}

type closingSource struct {
	source
	f *os.File
}

func (c *closingSource) close() { c.source.close(); c.f.Close() }

func looksJSON(f *os.File) bool {
	defer f.Seek(0, io.SeekStart)
	b := make([]byte, 512)
	n, _ := f.Read(b)
	t := bytes.TrimLeft(bytes.TrimPrefix(b[:n], []byte{0xEF, 0xBB, 0xBF}), " \r\n\t")
	return len(t) > 1 && (t[0] == '[' && bytes.IndexByte(t, '{') > 0 || t[0] == '{' && t[1] == '"' || t[0] == '{' && (t[1] == ' ' || t[1] == '\n'))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
