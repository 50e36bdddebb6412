package ingest

import (
	"bufio"
	"bytes"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// detectEncoding names the text encoding of a sample: a BOM decides; otherwise
// NUL bytes in alternate positions mean UTF-16 without BOM, valid UTF-8 is UTF-8,
// and anything else is read as GB18030 (a superset of GBK and GB2312, which Chinese
// CRMs and Excel on Chinese Windows write).
func detectEncoding(sample []byte) string {
	switch {
	case bytes.HasPrefix(sample, []byte{0xEF, 0xBB, 0xBF}):
		return "utf-8-bom"
	case bytes.HasPrefix(sample, []byte{0xFF, 0xFE}):
		return "utf-16le"
	case bytes.HasPrefix(sample, []byte{0xFE, 0xFF}):
		return "utf-16be"
	}
	if len(sample) >= 4 {
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
	}
	s := sample
	// A sample may cut a multi-byte character at its end.
	for k := 0; k < 3 && len(s) > 0 && !utf8.Valid(s); k++ {
		s = s[:len(s)-1]
	}
	if utf8.Valid(s) {
		return "utf-8"
	}
	return "gb18030"
}

// decodeReader wraps r so it yields UTF-8 without BOM. It returns the encoding's name.
func decodeReader(r io.Reader) (io.Reader, string, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	sample, err := br.Peek(64 << 10)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, "", err
	}
	name := detectEncoding(sample)
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
		enc = simplifiedchinese.GB18030
	}
	return transform.NewReader(br, enc.NewDecoder()), name, nil
}
