package ingest

import (
	"archive/zip"
	"compress/flate"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
)

// A workbook is a zip of XML parts. It is read straight from the file: the sheet
// streams through an XML decoder row by row (nothing is buffered whole, nothing
// goes to a temporary file), and a part fails as soon as it has unpacked more
// than xlsxMinExpand bytes and more than xlsxMaxRatio times the compressed bytes
// read so far. So a small file built to unpack to gigabytes (a zip bomb) fails
// within its first megabytes, in little memory. Apache POI refuses the same
// ratio (ZipSecureFile's minimum inflate ratio, 0.01); real sheets, whose cells
// carry their row numbers, deflate 10 to 30 times.
const (
	xlsxMaxRatio  = 100
	xlsxMinExpand = 16 << 20
	// xlsxMaxToken bounds the bytes between two XML tags: Excel keeps at most
	// 32,767 characters in a cell, so a longer text is not a sheet.
	xlsxMaxToken = 1 << 20
	xlsxMaxCols  = 16384 // Excel's column limit (XFD)
)

// xlsxPart opens a part of the workbook, bounded as above. file is for errors.
// It inflates the part itself (archive/zip's reader does not tell how much
// compressed input it has used) and checks the CRC and size at the end.
func xlsxPart(zf *zip.File, file string) (*boundedPart, error) {
	raw, err := zf.OpenRaw()
	if err != nil {
		return nil, fmt.Errorf("open %s in workbook %s: %w: %w", zf.Name, file, ErrMalformed, err)
	}
	b := &boundedPart{zf: zf, raw: &countReader{r: raw}, crc: crc32.NewIEEE(), part: zf.Name, file: file}
	switch zf.Method {
	case zip.Store:
		b.r = b.raw
	case zip.Deflate:
		fr := flate.NewReader(b.raw)
		b.r, b.c = fr, fr
	default:
		return nil, fmt.Errorf("open %s in workbook %s: %w: compression method %d", zf.Name, file, ErrMalformed, zf.Method)
	}
	return b, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// boundedPart reads a zip entry, failing past its expansion limit, on an XML
// text run longer than xlsxMaxToken, or when its size or CRC is not what the
// zip directory says.
type boundedPart struct {
	zf         *zip.File
	raw        *countReader
	r          io.Reader
	c          io.Closer
	crc        hash.Hash32
	n          int64
	run        int // bytes since the last '<' or '>'
	part, file string
	sheet      string // for errors, when the part is a sheet
}

func (b *boundedPart) what() string {
	if b.sheet != "" {
		return fmt.Sprintf("sheet %q (%s)", b.sheet, b.part)
	}
	return b.part
}

func (b *boundedPart) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > xlsxMinExpand && b.n > xlsxMaxRatio*b.raw.n {
		return 0, fmt.Errorf("read %s of workbook %s: %w: %d MiB unpacked from %d KiB (limit: %d× the compressed size past the first %d MiB)",
			b.what(), b.file, ErrExpandLimit, b.n>>20, b.raw.n>>10, xlsxMaxRatio, xlsxMinExpand>>20)
	}
	q := p[:n]
	b.crc.Write(q)
	if k := max(lastIndex(q, '<'), lastIndex(q, '>')); k >= 0 {
		b.run = n - k - 1
	} else {
		b.run += n
	}
	if b.run > xlsxMaxToken {
		return 0, fmt.Errorf("read %s of workbook %s: %w: an XML text or tag longer than %d bytes", b.what(), b.file, ErrMalformed, xlsxMaxToken)
	}
	switch {
	case err == io.EOF:
		if uint64(b.n) != b.zf.UncompressedSize64 || b.crc.Sum32() != b.zf.CRC32 {
			return n, fmt.Errorf("read %s of workbook %s: %w: %d bytes with CRC %08x, the zip directory says %d with %08x",
				b.what(), b.file, ErrMalformed, b.n, b.crc.Sum32(), b.zf.UncompressedSize64, b.zf.CRC32)
		}
	case err != nil:
		err = fmt.Errorf("read %s of workbook %s: %w: %w", b.what(), b.file, ErrMalformed, err)
	}
	return n, err
}

func (b *boundedPart) Close() error {
	if b.c != nil {
		return b.c.Close()
	}
	return nil
}

func lastIndex(p []byte, c byte) int {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == c {
			return i
		}
	}
	return -1
}

// xlsxBook is a workbook opened from its zip directory: its sheets by name and
// the parts they are in.
type xlsxBook struct {
	z       *zip.Reader
	file    string
	parts   map[string]*zip.File
	sheets  []string          // in workbook order
	targets map[string]string // sheet name → part
	strings string            // the shared strings part, if any
}

func openBook(f *os.File, file string) (*xlsxBook, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	z, err := zip.NewReader(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("open workbook %s: %w: %w", file, ErrMalformed, err)
	}
	b := &xlsxBook{z: z, file: file, parts: map[string]*zip.File{}, targets: map[string]string{}}
	for _, zf := range z.File {
		b.parts[strings.ToLower(strings.TrimPrefix(zf.Name, "/"))] = zf
	}
	wb := "xl/workbook.xml"
	if rels, err := b.rels("_rels/.rels", ""); err == nil {
		for _, r := range rels {
			if strings.HasSuffix(r.typ, "/officeDocument") {
				wb = r.target
			}
		}
	}
	var sheets []struct{ name, rid string }
	err = b.walk(wb, func(d *xml.Decoder, se xml.StartElement) error {
		if se.Name.Local == "sheet" {
			var name, rid string
			for _, a := range se.Attr {
				switch {
				case a.Name.Local == "name":
					// Excel allows 31 characters; a longer name is cut so that
					// it cannot swell every message that names the sheet.
					name = truncate(a.Value, 255)
				case a.Name.Local == "id" && a.Name.Space != "":
					rid = a.Value
				}
			}
			sheets = append(sheets, struct{ name, rid string }{name, rid})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rels, err := b.rels(path.Join(path.Dir(wb), "_rels", path.Base(wb)+".rels"), path.Dir(wb))
	if err != nil {
		return nil, err
	}
	byID := map[string]string{}
	for _, r := range rels {
		byID[r.id] = r.target
		if strings.HasSuffix(r.typ, "/sharedStrings") {
			b.strings = r.target
		}
	}
	for _, sh := range sheets {
		if t, ok := byID[sh.rid]; ok {
			b.sheets = append(b.sheets, sh.name)
			b.targets[sh.name] = t
		}
	}
	return b, nil
}

type xlsxRel struct{ id, typ, target string }

// rels reads a relationships part; targets are made absolute against dir.
func (b *xlsxBook) rels(name, dir string) ([]xlsxRel, error) {
	var out []xlsxRel
	err := b.walk(name, func(d *xml.Decoder, se xml.StartElement) error {
		if se.Name.Local != "Relationship" {
			return nil
		}
		var r xlsxRel
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "Id":
				r.id = a.Value
			case "Type":
				r.typ = a.Value
			case "Target":
				r.target = a.Value
			}
		}
		if strings.HasPrefix(r.target, "/") {
			r.target = strings.TrimPrefix(r.target, "/")
		} else {
			r.target = path.Join(dir, r.target)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

func (b *xlsxBook) open(name string) (*boundedPart, error) {
	zf := b.parts[strings.ToLower(name)]
	if zf == nil {
		return nil, fmt.Errorf("open workbook %s: %w: no part %s", b.file, ErrMalformed, name)
	}
	return xlsxPart(zf, b.file)
}

// walk decodes a whole part, calling fn on each start element.
func (b *xlsxBook) walk(name string, fn func(*xml.Decoder, xml.StartElement) error) error {
	rc, err := b.open(name)
	if err != nil {
		return err
	}
	defer rc.Close()
	d := xml.NewDecoder(rc)
	for {
		t, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return xlsxErr(b.file, name, err)
		}
		if se, ok := t.(xml.StartElement); ok {
			if err := fn(d, se); err != nil {
				return err
			}
		}
	}
}

// xlsxErr names the file and part of an XML error; a part cut short or not XML
// is ErrMalformed.
func xlsxErr(file, part string, err error) error {
	if errors.Is(err, ErrExpandLimit) || errors.Is(err, ErrMalformed) {
		return err
	}
	return fmt.Errorf("read %s of workbook %s: %w: %w", part, file, ErrMalformed, err)
}

// sharedStrings reads the shared strings table (bounded like any part).
func (b *xlsxBook) sharedStrings() ([]string, error) {
	if b.strings == "" || b.parts[strings.ToLower(b.strings)] == nil {
		return nil, nil
	}
	var out []string
	var cur strings.Builder
	err := b.walk(b.strings, func(d *xml.Decoder, se xml.StartElement) error {
		if se.Name.Local != "si" {
			return nil
		}
		cur.Reset()
		if err := readText(d, &cur); err != nil {
			return xlsxErr(b.file, b.strings, err)
		}
		out = append(out, unescapeOOXML(cur.String()))
		return nil
	})
	return out, err
}

// readText appends the text of the <t> elements inside the element just started
// (a <si> or an <is>), skipping phonetic runs, up to its end.
func readText(d *xml.Decoder, b *strings.Builder) error {
	depth, inT := 1, 0
	for depth > 0 {
		t, err := d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		switch e := t.(type) {
		case xml.StartElement:
			switch e.Name.Local {
			case "rPh", "phoneticPr":
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			case "t":
				inT++
			}
			depth++
		case xml.EndElement:
			if e.Name.Local == "t" && inT > 0 {
				inT--
			}
			depth--
		case xml.CharData:
			if inT > 0 {
				b.Write(e)
			}
		}
	}
	return nil
}

// unescapeOOXML decodes the _xHHHH_ escapes Office writes for control characters.
func unescapeOOXML(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+7 <= len(s) && s[i] == '_' && s[i+1] == 'x' && s[i+6] == '_' {
			if v, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				b.WriteRune(rune(v))
				i += 7
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// xlsxSheet streams the rows of one sheet.
type xlsxSheet struct {
	book  *xlsxBook
	name  string
	part  string
	rc    *boundedPart
	d     *xml.Decoder
	sst   []string
	row   int64 // number of the last row read
	cells []string
	val   strings.Builder
	ended bool // </sheetData> seen
}

func (b *xlsxBook) sheet(name string) (*xlsxSheet, error) {
	part := b.targets[name]
	rc, err := b.open(part)
	if err != nil {
		return nil, err
	}
	rc.sheet = name
	sst, err := b.sharedStrings()
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &xlsxSheet{book: b, name: name, part: part, rc: rc, d: xml.NewDecoder(rc), sst: sst}, nil
}

func (s *xlsxSheet) close() { s.rc.Close() }

func (s *xlsxSheet) fail(err error) error {
	if errors.Is(err, ErrExpandLimit) || errors.Is(err, ErrMalformed) {
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read sheet %q (%s) of workbook %s after row %d: %w: %w", s.name, s.part, s.book.file, s.row, ErrMalformed, err)
}

// next returns the next row and its number; the cells are reused by the next
// call. At the end of the sheet it reads the rest of the part, so that a sheet
// cut short or damaged (its CRC) fails instead of ending early: io.EOF means
// the whole sheet was read.
func (s *xlsxSheet) next() (int64, []string, error) {
	for {
		t, err := s.d.Token()
		if err == io.EOF {
			if !s.ended {
				return 0, nil, s.fail(fmt.Errorf("the sheet ends before its </sheetData>"))
			}
			return 0, nil, io.EOF
		}
		if err != nil {
			return 0, nil, s.fail(err)
		}
		switch e := t.(type) {
		case xml.EndElement:
			if e.Name.Local == "sheetData" {
				s.ended = true
			}
		case xml.StartElement:
			if e.Name.Local != "row" || s.ended {
				continue
			}
			r := s.row + 1
			if v := attr(e, "r"); v != "" {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n <= s.row || n > 1<<21 {
					return 0, nil, s.fail(fmt.Errorf("row number %q after row %d", truncate(v, 20), s.row))
				}
				r = n
			}
			s.row = r
			if err := s.readRow(); err != nil {
				return 0, nil, s.fail(err)
			}
			return r, s.cells, nil
		}
	}
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// readRow reads the cells of the row just started, up to its end.
func (s *xlsxSheet) readRow() error {
	s.cells = s.cells[:0]
	col := -1
	for {
		t, err := s.d.Token()
		if err != nil {
			return err
		}
		switch e := t.(type) {
		case xml.EndElement:
			if e.Name.Local == "row" {
				return nil
			}
		case xml.StartElement:
			if e.Name.Local != "c" {
				if err := s.d.Skip(); err != nil {
					return err
				}
				continue
			}
			typ, ref := attr(e, "t"), attr(e, "r")
			col++
			if ref != "" {
				c, ok := refColumn(ref)
				if !ok || c < col {
					return fmt.Errorf("cell reference %q in row %d", truncate(ref, 20), s.row)
				}
				col = c
			}
			if col >= xlsxMaxCols {
				return fmt.Errorf("cell %q in row %d: beyond column XFD", truncate(ref, 20), s.row)
			}
			v, err := s.cell(typ)
			if err != nil {
				return err
			}
			for len(s.cells) < col {
				s.cells = append(s.cells, "")
			}
			s.cells = append(s.cells, v)
		}
	}
}

// cell reads the value of the cell just started as Excel stores it (numbers and
// dates as their raw numbers, booleans as 0/1), up to its end.
func (s *xlsxSheet) cell(typ string) (string, error) {
	s.val.Reset()
	depth, inV := 1, false
	for depth > 0 {
		t, err := s.d.Token()
		if err != nil {
			return "", err
		}
		switch e := t.(type) {
		case xml.StartElement:
			switch e.Name.Local {
			case "v":
				inV = true
			case "is":
				if err := readText(s.d, &s.val); err != nil {
					return "", err
				}
				continue
			case "f":
				if err := s.d.Skip(); err != nil {
					return "", err
				}
				continue
			}
			depth++
		case xml.EndElement:
			if e.Name.Local == "v" {
				inV = false
			}
			depth--
		case xml.CharData:
			if inV {
				s.val.Write(e)
			}
		}
	}
	v := s.val.String()
	switch typ {
	case "s":
		if strings.TrimSpace(v) == "" {
			return "", nil // a styled cell without a value
		}
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || i < 0 || i >= len(s.sst) {
			return "", fmt.Errorf("row %d: shared string %q of %d", s.row, truncate(v, 20), len(s.sst))
		}
		return s.sst[i], nil
	case "inlineStr":
		return unescapeOOXML(v), nil
	}
	return v, nil
}

// refColumn is the 0-based column of a cell reference like "C12".
func refColumn(ref string) (int, bool) {
	c := 0
	i := 0
	for ; i < len(ref) && i < 4; i++ {
		ch := ref[i]
		switch {
		case ch >= 'A' && ch <= 'Z':
			c = c*26 + int(ch-'A'+1)
		case ch >= 'a' && ch <= 'z':
			c = c*26 + int(ch-'a'+1)
		default:
			return c - 1, i > 0
		}
	}
	return c - 1, i > 0 && (i == len(ref) || ref[i] >= '0' && ref[i] <= '9')
}
