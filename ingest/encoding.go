package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// textStats is the evidence a file gives about its encoding: how its bytes read
// as UTF-8 and as GB18030. A byte counts as bad when it cannot start or continue
// a character there; good counts the non-ASCII characters that decode.
type textStats struct {
	u8Good, u8Bad int64
	gbGood, gbBad int64
}

// addUTF8 counts b read as UTF-8. Unless atEOF, b may end inside a character:
// it returns how many bytes it consumed, the rest is for the next call.
func (st *textStats) addUTF8(b []byte, atEOF bool) int {
	i := 0
	for i < len(b) {
		// Skip ASCII and valid runs fast.
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		if !atEOF && !utf8.FullRune(b[i:]) {
			return i
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			st.u8Bad++
			i++
			continue
		}
		st.u8Good++
		i += n
	}
	return i
}

// addGB is addUTF8 for GB18030.
func (st *textStats) addGB(b []byte, atEOF bool) int {
	i := 0
	for i < len(b) {
		n := gbSeqLen(b[i:])
		switch {
		case n == 0 && !atEOF:
			return i
		case n <= 0:
			st.gbBad++
			i++
		default:
			if n > 1 {
				st.gbGood++
			}
			i += n
		}
	}
	return i
}

// gbSeqLen is the length of the GB18030 character at the start of b (1, 2 or 4),
// 0 when b ends before the character does, -1 when b[0] cannot start one.
func gbSeqLen(b []byte) int {
	c := b[0]
	switch {
	case c < 0x80:
		return 1
	case c == 0x80 || c == 0xFF:
		return -1
	case len(b) < 2:
		return 0
	}
	c1 := b[1]
	switch {
	case c1 >= 0x40 && c1 <= 0x7E || c1 >= 0x80 && c1 <= 0xFE:
		return 2
	case c1 < 0x30 || c1 > 0x39:
		return -1
	case len(b) < 3:
		return 0
	case b[2] < 0x81 || b[2] > 0xFE:
		return -1
	case len(b) < 4:
		return 0
	case b[3] < 0x30 || b[3] > 0x39:
		return -1
	}
	return 4
}

// decide names the encoding the evidence supports. A file that is UTF-8 but for
// a few bytes is UTF-8 with bad bytes (they are rejected with their row and
// column, never decoded as something else); GB18030 needs a file that reads
// worse as UTF-8 than it does right and reads (nearly) clean as GB18030.
func (st *textStats) decide() string {
	if st.u8Bad == 0 {
		return "utf-8"
	}
	if st.u8Bad > st.u8Good && st.gbBad*8 <= st.gbGood {
		return "gb18030"
	}
	return "utf-8"
}

// bomEncoding names the encoding a byte-order mark at the start of b says, and its length.
func bomEncoding(b []byte) (string, int) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return "utf-8-bom", 3
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return "utf-16le", 0
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return "utf-16be", 0
	}
	return "", 0
}

// utf16NoBOM recognises UTF-16 without BOM by its NUL bytes in alternate positions.
func utf16NoBOM(sample []byte) string {
	if len(sample) < 4 {
		return ""
	}
	var even, odd int
	n := min(len(sample), 4096)
	for i := 0; i < n; i++ {
		if sample[i] == 0 {
			if i%2 == 0 {
				even++
			} else {
				odd++
			}
		}
	}
	if odd > n/8 && even < odd/10 {
		return "utf-16le"
	}
	if even > n/8 && odd < even/10 {
		return "utf-16be"
	}
	return ""
}

// detectEncoding names the text encoding of a whole text: a BOM decides; otherwise
// NUL bytes in alternate positions mean UTF-16 without BOM, and the bytes decide
// between UTF-8 and GB18030 (a superset of GBK and GB2312, which Chinese CRMs and
// Excel on Chinese Windows write), see textStats.decide.
func detectEncoding(b []byte) string {
	if name, _ := bomEncoding(b); name != "" {
		return name
	}
	if name := utf16NoBOM(b); name != "" {
		return name
	}
	var st textStats
	st.addUTF8(b, true)
	if st.u8Bad > 0 {
		st.addGB(b, true)
	}
	return st.decide()
}

// scanEncoding reads all of r (a file, from its start) and names its encoding
// as detectEncoding would: the evidence is the whole file, not a prefix, so
// Chinese text after megabytes of ASCII still counts.
func scanEncoding(r io.ReadSeeker) (string, error) {
	buf := make([]byte, 1<<20)
	n, err := io.ReadFull(r, buf[:4096])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", err
	}
	name, _ := bomEncoding(buf[:n])
	if name == "" {
		name = utf16NoBOM(buf[:n])
	}
	if name != "" {
		_, err := r.Seek(0, io.SeekStart)
		return name, err
	}
	var st textStats
	// pass feeds the file to add in chunks; with skipValid, chunks that are valid
	// UTF-8 are not looked at (the first pass only asks whether there is a bad byte).
	pass := func(add func([]byte, bool) int, skipValid bool) error {
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return err
		}
		carry := 0
		for {
			n, err := io.ReadFull(r, buf[carry:])
			end := carry + n
			eof := err == io.EOF || err == io.ErrUnexpectedEOF
			if err != nil && !eof {
				return err
			}
			chunk := buf[:end]
			used := 0
			if skipValid && !eof && utf8.Valid(chunk) {
				used = end
			} else {
				used = add(chunk, eof)
			}
			carry = copy(buf, chunk[used:])
			if eof {
				return nil
			}
		}
	}
	if err := pass(st.addUTF8, true); err != nil {
		return "", err
	}
	if st.u8Bad > 0 {
		// Weigh the bad bytes against all the good characters, in both readings.
		st = textStats{}
		if err := pass(st.addUTF8, false); err != nil {
			return "", err
		}
		if err := pass(st.addGB, false); err != nil {
			return "", err
		}
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return st.decide(), nil
}

// gbDecoder decodes GB18030 like x/text's decoder, except that a byte that does
// not start a valid sequence is passed through as it is, not replaced with
// U+FFFD: such a byte is never valid UTF-8 there, so the value holding it is
// rejected (bad_encoding, naming row and column) instead of stored changed.
type gbDecoder struct{ inner transform.Transformer }

func (d *gbDecoder) Reset() { d.inner.Reset() }

func (d *gbDecoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		i := nSrc
		for i < len(src) {
			n := gbSeqLen(src[i:])
			if n <= 0 {
				break
			}
			i += n
		}
		if i > nSrc {
			// Whole characters only: the inner decoder never waits for more.
			nd, ns, err := d.inner.Transform(dst[nDst:], src[nSrc:i], true)
			nDst += nd
			nSrc += ns
			if err != nil {
				return nDst, nSrc, err
			}
			continue
		}
		if gbSeqLen(src[nSrc:]) == 0 && !atEOF {
			return nDst, nSrc, transform.ErrShortSrc
		}
		if nDst >= len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		dst[nDst] = src[nSrc]
		nDst++
		nSrc++
	}
	return nDst, nSrc, nil
}

// decodeReader wraps f (a file at its start) so it yields UTF-8 without BOM, and
// names the encoding. The whole file is read once first to decide it, so f must
// be seekable.
func decodeReader(r io.Reader) (io.Reader, string, error) {
	f, ok := r.(io.ReadSeeker)
	if !ok {
		return nil, "", errors.New("detect encoding: the input is not seekable")
	}
	name, err := scanEncoding(f)
	if err != nil {
		return nil, "", fmt.Errorf("detect encoding: %w", err)
	}
	br := bufio.NewReaderSize(f, 1<<20)
	var enc encoding.Encoding
	switch name {
	case "utf-8":
		return br, name, nil
	case "utf-8-bom":
		_, _ = br.Discard(3)
		return br, name, nil
	case "utf-16le":
		enc = unicode.UTF16(unicode.LittleEndian, unicode.UseBOM)
	case "utf-16be":
		enc = unicode.UTF16(unicode.BigEndian, unicode.UseBOM)
	case "gb18030":
		return transform.NewReader(br, &gbDecoder{inner: simplifiedchinese.GB18030.NewDecoder()}), name, nil
	}
	return transform.NewReader(br, enc.NewDecoder()), name, nil
}
