package ingest

import (
	"fmt"
	"io"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCSVChunksMatchReader checks the chunk builder's fast path (lines without
// quotes split straight into columns) against the general record reader: same
// values, same line numbers, same rejects.
func TestCSVChunksMatchReader(t *testing.T) {
	in := "id,name,amount\r\n" +
		"1,plain,10\r\n" +
		"\r\n" +
		"2,\"quoted, comma\",20\r\n" +
		"3,short\r\n" +
		"4,extra blank,30,,\r\n" +
		"5,extra value,40,oops\r\n" +
		"6,\"multi\nline\",50\r\n" +
		"7, spaced ,60\n" +
		"8,,\n" +
		"9,last,70"
	src, err := openCSV(strings.NewReader(in), "t.csv", 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var rejected []int64
	for {
		ch, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range ch.rejects {
			rejected = append(rejected, r.row)
		}
		text := textCols(ch.cols)
		for i := range ch.rows {
			r := rawRow{cols: text, i: i}
			got = append(got, fmt.Sprintf("%d:%s|%s|%s", ch.rows[i], r.get(0), r.get(1), r.get(2)))
		}
		ch.release()
	}
	want := []string{"2:1|plain|10", "4:2|quoted, comma|20", "5:3|short|", "6:4|extra blank|30", "8:6|multi\nline|50",
		"10:7| spaced |60", "11:8||", "12:9|last|70"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(rejected) != 1 || rejected[0] != 7 {
		t.Errorf("rejected lines %v, want [7] (a fourth value the header has no column for)", rejected)
	}
}

// TestFastParsersAgree checks the fast paths against the general parsers they
// stand in front of: a value must read the same whichever path takes it.
func TestFastParsersAgree(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		var s string
		switch i % 4 {
		case 0:
			s = strconv.FormatInt(rng.Int63n(1e15)-5e14, 10)
		case 1:
			s = strconv.FormatFloat(rng.Float64()*1e6, 'f', rng.Intn(6), 64)
		case 2:
			s = fmt.Sprintf("%d.%0*d", rng.Intn(1e9), 1+rng.Intn(8), rng.Intn(1e8))
		default:
			s = "-" + strconv.FormatFloat(rng.Float64(), 'f', -1, 64)
		}
		f, ok := plainDecimal(s)
		want, _, err := parseAmount(s)
		if ok && (err != nil || f != want && !(math.IsNaN(f) && math.IsNaN(want))) {
			t.Fatalf("plainDecimal(%q) = %v, parseAmount = %v (%v)", s, f, want, err)
		}
	}
	for _, s := range []string{"1e5", "0x10", "1,5", "", "-", ".", "5.", "+3", "1_000", "Inf"} {
		if _, ok := plainDecimal(s); ok {
			t.Errorf("plainDecimal(%q) took the fast path", s)
		}
	}
	start := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := 0; d < 300*366; d += 7 {
		day := start.AddDate(0, 0, d)
		s := day.Format("2006-01-02 15:04:05")
		s = s[:11] + fmt.Sprintf("%02d:%02d:%02d", d%24, d%60, (d*7)%60)
		u, ok := isoUnixUTC(s)
		want, err := parseTime(s, orderMDY, time.UTC)
		if !ok || err != nil || u != want.Unix() {
			t.Fatalf("isoUnixUTC(%q) = %d %v, parseTime = %v %v", s, u, ok, want.Unix(), err)
		}
		days, ok := isoDays(s[:10])
		wd, _ := parseDate(s[:10], orderMDY, time.UTC)
		if !ok || days != wd.Unix()/86400 {
			t.Fatalf("isoDays(%q) = %d, parseDate = %d", s[:10], days, wd.Unix()/86400)
		}
	}
	for _, s := range []string{"2024-02-30", "1899-12-31", "2024-13-01", "2024/01/01"} {
		if _, ok := isoDays(s); ok {
			t.Errorf("isoDays(%q) accepted", s)
		}
	}
}

func TestHashSet(t *testing.T) {
	var s hashSet
	defer s.free()
	s.reserve(10)
	const n = 300000 // grows past offHeapSlots: the mapped table and its resize
	for i := uint64(0); i < n; i++ {
		if !s.add(i * 0x9E3779B97F4A7C15) {
			t.Fatalf("key %d reported as seen before", i)
		}
	}
	for i := uint64(0); i < n; i += 7 {
		if s.add(i * 0x9E3779B97F4A7C15) {
			t.Fatalf("key %d not found again", i)
		}
	}
	if s.n != n || s.mapped == nil {
		t.Errorf("set holds %d keys (mapped %v), want %d in a mapped table", s.n, s.mapped != nil, n)
	}
}

func TestSlicePoolClasses(t *testing.T) {
	for n := 1; n < 1<<20; n += 1 + n/50 {
		c, size := classUp(n)
		if size < n || size > n+n/4+8 {
			t.Fatalf("class of %d has size %d", n, size)
		}
		if d := classDown(size); d != c {
			t.Fatalf("a buffer of %d (got for %d) goes back to class %d, not %d", size, n, d, c)
		}
		if n > 8 && classDown(n) > c {
			t.Fatalf("classDown(%d) = %d above classUp's %d", n, classDown(n), c)
		}
	}
	var p slicePool[byte]
	b := p.get(1000)
	p.put(b)
	if got := p.get(1000); cap(got) < 1000 {
		t.Fatalf("pool returned %d bytes of room for 1000", cap(got))
	}
}
