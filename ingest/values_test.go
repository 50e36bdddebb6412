package ingest

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	if sh == nil {
		sh = time.FixedZone("CST", 8*3600)
	}
	utc := func(s string) time.Time { v, _ := time.Parse(time.DateTime, s); return v }
	for _, c := range []struct {
		in    string
		order dateOrder
		loc   *time.Location
		want  string // UTC, or "" for an error
	}{
		{"2024-01-31", orderUnknown, time.UTC, "2024-01-31 00:00:00"},
		{"2024-01-31 10:00:00", orderUnknown, sh, "2024-01-31 02:00:00"},
		{"2024-01-31T10:00:00Z", orderUnknown, sh, "2024-01-31 10:00:00"},
		{"2024-01-31T10:00:00+08:00", orderUnknown, time.UTC, "2024-01-31 02:00:00"},
		{"2024-01-31T10:00:00.123-0500", orderUnknown, time.UTC, "2024-01-31 15:00:00"},
		{"2024-01-31 10:00 UTC", orderUnknown, sh, "2024-01-31 10:00:00"},
		{"31/01/2024", orderUnknown, time.UTC, "2024-01-31 00:00:00"},
		{"01/31/2024", orderUnknown, time.UTC, "2024-01-31 00:00:00"},
		{"03/04/2024", orderDMY, time.UTC, "2024-04-03 00:00:00"},
		{"03/04/2024", orderMDY, time.UTC, "2024-03-04 00:00:00"},
		{"03/04/2024", orderUnknown, time.UTC, ""},
		{"3/1/17", orderMDY, time.UTC, "2017-03-01 00:00:00"},
		{"02/03/2022 16:11", orderDMY, time.UTC, "2022-03-02 16:11:00"},
		{"1/15/2024 2:30 PM", orderMDY, time.UTC, "2024-01-15 14:30:00"},
		{"31.01.2024", orderUnknown, time.UTC, "2024-01-31 00:00:00"},
		{"2024/1/31", orderUnknown, time.UTC, "2024-01-31 00:00:00"},
		{"Jan 31, 2024", orderUnknown, time.UTC, "2024-01-31 00:00:00"},
		{"31-Jan-2024", orderUnknown, time.UTC, "2024-01-31 00:00:00"},
		{"Wednesday, 31 January 2024", orderUnknown, time.UTC, "2024-01-31 00:00:00"},
		{"2024年1月31日", orderUnknown, sh, "2024-01-30 16:00:00"},
		{"2024年1月31日 10时30分", orderUnknown, time.UTC, "2024-01-31 10:30:00"},
		{"2024年1月31日 下午3:05", orderUnknown, time.UTC, "2024-01-31 15:05:00"},
		{"２０２４－０１－３１", orderUnknown, time.UTC, "2024-01-31 00:00:00"},
		{"45322", orderUnknown, time.UTC, "2024-01-31 00:00:00"},
		{"45322.5", orderUnknown, time.UTC, "2024-01-31 12:00:00"},
		{"20240131", orderUnknown, time.UTC, "2024-01-31 00:00:00"},
		{"1706659200", orderUnknown, sh, "2024-01-31 00:00:00"},
		{"1706659200000", orderUnknown, sh, "2024-01-31 00:00:00"},
		{"2024-02-30", orderUnknown, time.UTC, ""},
		{"31/31/2024", orderUnknown, time.UTC, ""},
		{"soon", orderUnknown, time.UTC, ""},
		{"25:00", orderUnknown, time.UTC, ""},
	} {
		got, err := parseTime(c.in, c.order, c.loc)
		if c.want == "" {
			if err == nil {
				t.Errorf("parseTime(%q) = %v, want an error", c.in, got)
			}
			continue
		}
		if err != nil || !got.Truncate(time.Second).Equal(utc(c.want)) {
			t.Errorf("parseTime(%q, %s, %s) = %v, %v; want %s UTC", c.in, c.order, c.loc, got, err, c.want)
		}
	}
	if _, err := parseTime("  ", orderUnknown, time.UTC); !errors.Is(err, errBlank) {
		t.Errorf("blank: %v", err)
	}
}

func TestParseAmount(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		cur  string
		bad  bool
	}{
		{"1234.5", 1234.5, "", false},
		{"$1,234.56", 1234.56, "USD", false},
		{"USD 1,234", 1234, "USD", false},
		{"1 234,50 €", 1234.5, "EUR", false},
		{"1.234.567,89", 1234567.89, "", false},
		{"1'234.50 CHF", 1234.5, "CHF", false},
		{"(1,000)", -1000, "", false},
		{"-$50", -50, "USD", false},
		{"50-", -50, "", false},
		{"12.5万", 125000, "", false},
		{"1.2亿", 1.2e8, "", false},
		{"￥8,000元", 8000, "CNY", false},
		{"人民币 3万", 30000, "CNY", false},
		{"RMB1,000", 1000, "CNY", false},
		{"₹ 1,20,000", 120000, "INR", false},
		{"2.5k", 2500, "", false},
		{"1,5", 1.5, "", false},
		{"１２３", 123, "", false},
		{"abc", 0, "", true},
		{"1,2,3.4.5", 0, "", true},
		{"NaN", 0, "", true},
		{"Inf", 0, "", true},
		{"1e19", 0, "", true},
		{"1e300万亿", 0, "", true}, // overflowed to +Inf before the bound
		{"-2e18", 0, "", true},
		{"1e18", 1e18, "", false},
	} {
		got, cur, err := parseAmount(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("parseAmount(%q) = %v, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want || cur != c.cur {
			t.Errorf("parseAmount(%q) = %v %q %v; want %v %q", c.in, got, cur, err, c.want, c.cur)
		}
	}
}

func TestParseBool(t *testing.T) {
	for in, want := range map[string]bool{"TRUE": true, "false": false, "Yes": true, "no": false, "是": true, "否": false, "1": true, "0": false, "": false, "Y": true, "✓": true} {
		got, err := parseBool(in)
		if err != nil || got != want {
			t.Errorf("parseBool(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseBool("maybe"); err == nil {
		t.Error(`parseBool("maybe") accepted`)
	}
}

func TestStageMapping(t *testing.T) {
	m := stageMapper{extra: map[string]string{normKey("Early"): "lead"}}
	for in, want := range map[string]string{"Prospecting": "lead", "Qualification": "qualified", "Needs Analysis": "qualified",
		"Value Proposition": "qualified", "Id. Decision Makers": "proposal", "Perception Analysis": "proposal", "Proposal/Price Quote": "proposal",
		"Negotiation/Review": "negotiation", "Closed Won": "won", "Closed Lost": "lost", "closedwon": "won", "Closed Won (Sales Pipeline)": "won",
		"Engaging": "qualified", "方案/报价": "proposal", "赢单": "won", "输单": "lost", "Early": "lead"} {
		got, ok := m.lookup(in)
		if !ok || got != want {
			t.Errorf("stage %q → %q, want %q", in, got, want)
		}
	}
}

func TestCSVReader(t *testing.T) {
	in := "a,b,c\r\n1,\"x, y\",\"multi\r\nline\"\r\n\r\n2,\"say \"\"hi\"\"\",3\n4,5"
	r := newCSVReader(strings.NewReader(in), ',', '"')
	var got [][]string
	var lines []int64
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, append([]string(nil), rec...))
		lines = append(lines, r.start)
	}
	// The CR LF inside the quoted field is the field's own: kept as written.
	want := [][]string{{"a", "b", "c"}, {"1", "x, y", "multi\r\nline"}, {"2", `say "hi"`, "3"}, {"4", "5"}}
	if len(got) != len(want) {
		t.Fatalf("records %q, want %q", got, want)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("record %d = %q, want %q", i, got[i], want[i])
		}
	}
	if lines[2] != 5 || lines[3] != 6 {
		t.Errorf("physical lines %v, want record 3 on line 5 and 4 on 6", lines)
	}
	for _, c := range []struct {
		sample       string
		comma, quote byte
	}{{"a;b;c\n1;2;3\n", ';', '"'}, {"a\tb\n1\t2\n", '\t', '"'}, {"a|b\n1|2\n", '|', '"'}, {"a,b\n'x,y',2\n'z',3\n'w',4\n", ',', '\''}} {
		co, q := sniffCSV([]byte(c.sample))
		if co != c.comma || q != c.quote {
			t.Errorf("sniff %q: %q %q, want %q %q", c.sample, co, q, c.comma, c.quote)
		}
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024-01-31", "31/01/2024 10:00", "2024年1月31日", "45322.25", "Jan 31, 2024 3:04 PM", "2024-01-31T10:00:00+08:00", "1706659200000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, o := range []dateOrder{orderUnknown, orderDMY, orderMDY} {
			tm, err := parseTime(s, o, time.UTC)
			if err == nil && (tm.Year() < 1899 || tm.Year() > 2300) {
				t.Errorf("parseTime(%q) = %v: outside any CRM's years", s, tm)
			}
			d, err := parseDate(s, o, time.UTC)
			if err == nil && (d.Hour() != 0 || d.Minute() != 0) {
				t.Errorf("parseDate(%q) has a time of day: %v", s, d)
			}
		}
		dateVote(s)
	})
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"$1,234.56", "(1,000)", "12.5万", "1.234,5 €", "RMB 3亿", "-0", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, _, err := parseAmount(s)
		if err == nil && (v != v || v > 1e300 || v < -1e300) {
			t.Errorf("parseAmount(%q) = %v", s, v)
		}
		parseBool(s)
		parseNumber(s)
	})
}

// FuzzCSVReader checks that what encoding/csv writes, the reader reads back unchanged.
func FuzzCSVReader(f *testing.F) {
	f.Add("a,b\n1,2\n", byte(','))
	f.Add("x\"y,\"q,\"\"r\"\"\"\n\"multi\nline\",z", byte(';'))
	f.Fuzz(func(t *testing.T, data string, comma byte) {
		// Arbitrary input must not panic or loop.
		r := newCSVReader(strings.NewReader(data), comma, '"')
		for i := 0; i < 10000; i++ {
			if _, err := r.Read(); err != nil {
				break
			}
		}
		if comma == '"' || comma == '\r' || comma == '\n' || comma >= 0x80 || comma == 0 {
			return
		}
		// Round trip: fields made from the input.
		fields := strings.Split(data, "\x00")
		if len(fields) > 20 {
			fields = fields[:20]
		}
		for i, fl := range fields {
			fields[i] = strings.ReplaceAll(fl, "\r", "")
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Comma = rune(comma)
		if err := w.Write(fields); err != nil {
			return
		}
		w.Flush()
		if len(fields) == 1 && fields[0] == "" {
			return // an empty line is skipped
		}
		rec, err := newCSVReader(&buf, comma, '"').Read()
		if err != nil {
			t.Fatalf("read back %q: %v", buf.String(), err)
		}
		if strings.Join(rec, "\x00") != strings.Join(fields, "\x00") {
			t.Errorf("round trip of %q: got %q", fields, rec)
		}
	})
}
