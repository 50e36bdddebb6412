package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// csvReader reads delimited text with a configurable delimiter and quote: RFC 4180
// quoting, CRLF or LF line ends, newlines inside quoted fields, and the lazy
// quoting spreadsheets produce (a stray quote inside an unquoted field is kept).
// It tracks the physical line each record starts on, for reject reports.
type csvReader struct {
	r      *bufio.Reader
	comma  byte
	quote  byte
	line   int64 // physical lines consumed so far
	start  int64 // physical line the last record started on (1-based)
	buf    []byte
	ends   []int
	fields []string
	long   []byte
	// unterminated is set when the last record ended inside a quoted field at EOF:
	// the file is cut, or a quote is missing, and the rest of the file went into
	// that field.
	unterminated bool
}

func newCSVReader(r io.Reader, comma, quote byte) *csvReader {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < 1<<16 {
		br = bufio.NewReaderSize(r, 1<<20)
	}
	return &csvReader{r: br, comma: comma, quote: quote}
}

// readLine returns the next physical line as written, with its "\n" or "\r\n" end
// (the last line may lack it). The slice is valid until the next call.
func (c *csvReader) readLine() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		c.long = append(c.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = c.r.ReadSlice('\n')
			c.long = append(c.long, line...)
		}
		line = c.long
	}
	if len(line) > 0 && err == io.EOF {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	c.line++
	return line, nil
}

// trimEOL drops a line's end, "\n" or "\r\n". Inside a quoted field the line end
// is kept as written: a CR LF in a note stays a CR LF.
func trimEOL(b []byte) []byte {
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		n--
		if n > 0 && b[n-1] == '\r' {
			n--
		}
	}
	return b[:n]
}

// Read returns the next record. The slice is reused by the next call; the strings
// are not.
func (c *csvReader) Read() ([]string, error) {
	buf, ends, err := c.scan()
	if err != nil {
		return nil, err
	}
	s := string(buf)
	c.fields = c.fields[:0]
	prev := 0
	for _, e := range ends {
		c.fields = append(c.fields, s[prev:e])
		prev = e
	}
	return c.fields, nil
}

// scan reads the next record into one buffer: field i is buf[ends[i-1]:ends[i]].
// Both are reused by the next call, so the bulk path copies each field once, into
// its column, without a string per record.
func (c *csvReader) scan() (buf []byte, ends []int, err error) {
	line, err := c.nextLine()
	if err != nil {
		return nil, nil, err
	}
	return c.scanFrom(line)
}

// nextLine returns the first line of the next record, skipping completely empty
// lines between records. The slice is valid until the next read.
func (c *csvReader) nextLine() ([]byte, error) {
	for {
		line, err := c.readLine()
		if err != nil {
			return nil, err
		}
		if len(trimEOL(line)) > 0 {
			c.start = c.line
			return line, nil
		}
	}
}

// scanFrom is scan for a record whose first line nextLine returned.
func (c *csvReader) scanFrom(line []byte) (buf []byte, ends []int, err error) {
	c.unterminated = false
	c.buf = c.buf[:0]
	c.ends = c.ends[:0]
	pos := 0
	q, comma := c.quote, c.comma
field:
	for {
		if pos < len(line) && line[pos] == q && q != 0 {
			pos++
			for {
				i := bytes.IndexByte(line[pos:], q)
				if i >= 0 {
					c.buf = append(c.buf, line[pos:pos+i]...)
					pos += i + 1
					if pos < len(line) && line[pos] == q {
						c.buf = append(c.buf, q)
						pos++
						continue
					}
					// After the closing quote: up to the delimiter or the line end,
					// anything else is kept as written (lazy quotes).
					rest := line[pos:]
					j := bytes.IndexByte(rest, comma)
					if j < 0 {
						c.buf = append(c.buf, trimEOL(rest)...)
						c.ends = append(c.ends, len(c.buf))
						break field
					}
					c.buf = append(c.buf, rest[:j]...)
					c.ends = append(c.ends, len(c.buf))
					pos += j + 1
					continue field
				}
				// The quoted field goes on past this line.
				c.buf = append(c.buf, line[pos:]...)
				line, err = c.readLine()
				if err != nil {
					if err != io.EOF {
						return nil, nil, err
					}
					c.unterminated = true
					c.buf = trimEOL(c.buf)
					c.ends = append(c.ends, len(c.buf))
					break field
				}
				pos = 0
			}
		}
		rest := line[pos:]
		j := bytes.IndexByte(rest, comma)
		if j < 0 {
			c.buf = append(c.buf, trimEOL(rest)...)
			c.ends = append(c.ends, len(c.buf))
			break
		}
		c.buf = append(c.buf, rest[:j]...)
		c.ends = append(c.ends, len(c.buf))
		pos += j + 1
	}
	return c.buf, c.ends, nil
}

// sniffCSV picks the delimiter and quote of a text sample: the candidate that
// splits the first lines into the same number (>1) of fields most consistently.
func sniffCSV(sample []byte) (comma, quote byte) {
	// Drop a possibly cut last line.
	if i := bytes.LastIndexByte(sample, '\n'); i > 0 {
		sample = sample[:i+1]
	}
	quote = '"'
	if countQuoteStarts(sample, '\'') > 2*countQuoteStarts(sample, '"')+2 {
		quote = '\''
	}
	best, bestScore := byte(','), -1
	for _, cand := range []byte{',', '\t', ';', '|'} {
		r := newCSVReader(bytes.NewReader(sample), cand, quote)
		counts := map[int]int{}
		n := 0
		for n < 50 {
			rec, err := r.Read()
			if err != nil {
				break
			}
			counts[len(rec)]++
			n++
		}
		mode, modeN := 0, 0
		for k, v := range counts {
			if v > modeN || v == modeN && k > mode {
				mode, modeN = k, v
			}
		}
		if mode < 2 {
			continue
		}
		score := modeN*1000 + mode
		if score > bestScore {
			best, bestScore = cand, score
		}
	}
	return best, quote
}

func countQuoteStarts(b []byte, q byte) int {
	n := 0
	for i := 0; i < len(b); i++ {
		if b[i] == q && (i == 0 || b[i-1] == ',' || b[i-1] == '\t' || b[i-1] == ';' || b[i-1] == '\n' || b[i-1] == '|') {
			n++
		}
	}
	return n
}
