package ingest

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// dateOrder says how a file writes numeric dates whose year comes last:
// 03/04/2024 is the 4th of March (mdy) or the 3rd of April (dmy).
type dateOrder uint8

const (
	orderUnknown dateOrder = iota
	orderMDY
	orderDMY
	// orderKnown marks an order the file's own dates showed (or the caller set):
	// then a date that only reads in the other order (14/02/2026 in an m/d/y
	// file) is not a date, rather than a date with day and month swapped.
	orderKnown dateOrder = 4
)

func (o dateOrder) String() string {
	switch o &^ orderKnown {
	case orderMDY:
		return "m/d/y"
	case orderDMY:
		return "d/m/y"
	}
	return "unknown"
}

var (
	errBlank     = errors.New("blank")
	errBadDate   = errors.New("not a date")
	errAmbiguous = errors.New("ambiguous day and month")
	errBadAmount = errors.New("not an amount")
	errAmountBig = errors.New("an amount beyond ±10^18 (no deal is that large; sums of such would overflow)")
	errBadBool   = errors.New("not a yes/no value")
	errBadNumber = errors.New("not a number")
)

// excelEpoch is day 0 of Excel's 1900 date system (the 1900 leap-year bug included).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// parseTime reads a date or date-time as people and CRMs write it: ISO 8601, d/m/y or
// m/d/y (order decides when both read as valid), month names, 2024年1月31日 10时30分,
// Excel serial numbers and Unix seconds or milliseconds. A time without a zone is
// read in loc. The result is in UTC.
func parseTime(s string, order dateOrder, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errBlank
	}
	if t, ok := fastISO(s, loc); ok {
		return t, nil
	}
	if !isASCII(s) {
		s = normalizeCJKDate(width.Fold.String(s))
	}
	if isNumeric(s) {
		return parseSerial(s, loc)
	}
	return parseGeneral(s, order, loc)
}

// parseDate is parseTime for a calendar date: the date the moment falls on in loc.
func parseDate(s string, order dateOrder, loc *time.Location) (time.Time, error) {
	t, err := parseTime(s, order, loc)
	if err != nil {
		return t, err
	}
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}

// fastISO handles the exact layouts the sample generator and most APIs write:
// YYYY-MM-DD and YYYY-MM-DD HH:MM:SS (in loc), without allocating.
func fastISO(s string, loc *time.Location) (time.Time, bool) {
	if len(s) != 10 && len(s) != 19 {
		return time.Time{}, false
	}
	if s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return time.Time{}, false
	}
	if len(s) == 10 {
		return time.Date(y, time.Month(m), d, 0, 0, 0, 0, loc).UTC(), true
	}
	if (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	hh, ok1 := digits(s[11:13])
	mm, ok2 := digits(s[14:16])
	ss, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 59 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), d, hh, mm, ss, 0, loc).UTC(), true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isNumeric(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0:
			dot = true
		default:
			return false
		}
	}
	return len(s) > 0
}

var cjkDate = strings.NewReplacer("年", "-", "月", "-", "日", " ", "号", " ", "时", ":", "點", ":", "点", ":", "分", ":", "秒", " ",
	"上午", " AM ", "下午", " PM ", "晚上", " PM ", "凌晨", " AM ", "中午", " PM ", "星期", " ", "周", " ")

func normalizeCJKDate(s string) string {
	s = cjkDate.Replace(s)
	// "10:30:" after 分 → drop the dangling colon.
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ":")
	s = strings.ReplaceAll(s, ": ", " ")
	return s
}

// parseSerial reads a bare number: YYYYMMDD, an Excel serial day (with a fraction
// for the time of day), or Unix seconds (10 digits) or milliseconds (13 digits).
func parseSerial(s string, loc *time.Location) (time.Time, error) {
	intPart, _, _ := strings.Cut(s, ".")
	if len(intPart) == 8 && !strings.Contains(s, ".") {
		y, _ := digits(s[0:4])
		m, _ := digits(s[4:6])
		d, _ := digits(s[6:8])
		if y >= 1900 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m) {
			return time.Date(y, time.Month(m), d, 0, 0, 0, 0, loc).UTC(), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, errBadDate
	}
	switch {
	case len(intPart) == 10:
		return time.Unix(int64(f), 0).UTC(), nil
	case len(intPart) == 13:
		return time.UnixMilli(int64(f)).UTC(), nil
	case f >= 1 && f < 109575 && len(intPart) <= 6: // up to 2199-12-31
		days := math.Floor(f)
		secs := math.Round((f - days) * 86400)
		t := excelEpoch.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second)
		y, m, d := t.Date()
		hh, mm, ss := t.Clock()
		return time.Date(y, m, d, hh, mm, ss, 0, loc).UTC(), nil
	}
	return time.Time{}, errBadDate
}

type dtok struct {
	num      int
	nd       int // digits; 0 for a word
	word     string
	sepAfter byte
	sepBef   byte
}

func tokenizeDate(s string) []dtok {
	var toks []dtok
	var prev byte
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			j := i
			n := 0
			for j < len(s) && s[j] >= '0' && s[j] <= '9' && j-i < 10 {
				n = n*10 + int(s[j]-'0')
				j++
			}
			t := dtok{num: n, nd: j - i, sepBef: prev}
			if j < len(s) {
				t.sepAfter = s[j]
			}
			toks = append(toks, t)
			prev = 0
			i = j
		case c < utf8.RuneSelf && unicode.IsLetter(rune(c)):
			j := i
			for j < len(s) && s[j] < utf8.RuneSelf && unicode.IsLetter(rune(s[j])) {
				j++
			}
			t := dtok{word: strings.ToLower(s[i:j]), sepBef: prev}
			if j < len(s) {
				t.sepAfter = s[j]
			}
			toks = append(toks, t)
			prev = 0
			i = j
		case c == '+' || c == '-':
			toks = append(toks, dtok{word: string(c), sepBef: prev})
			prev = c
			i++
		case c >= utf8.RuneSelf:
			return nil
		default:
			if c != ' ' || prev == 0 {
				prev = c
			}
			i++
		}
	}
	return toks
}

var months = map[string]int{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
	"jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
	"oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}

var fillerWords = map[string]bool{
	"mon": true, "tue": true, "tues": true, "wed": true, "thu": true, "thur": true, "thurs": true, "fri": true,
	"sat": true, "sun": true, "monday": true, "tuesday": true, "wednesday": true, "thursday": true,
	"friday": true, "saturday": true, "sunday": true, "t": true, "at": true, "of": true, "th": true, "st": true,
	"nd": true, "rd": true,
}

func parseGeneral(s string, order dateOrder, loc *time.Location) (time.Time, error) {
	toks := tokenizeDate(s)
	if len(toks) == 0 {
		return time.Time{}, errBadDate
	}
	type comp struct {
		v, nd int
		month bool
	}
	var comps []comp
	i := 0
	for i < len(toks) && len(comps) < 3 {
		t := toks[i]
		if t.nd > 0 {
			if t.sepAfter == ':' && len(comps) == 3 {
				break
			}
			if t.sepAfter == ':' {
				return time.Time{}, errBadDate
			}
			comps = append(comps, comp{v: t.num, nd: t.nd})
		} else if m, ok := months[t.word]; ok {
			comps = append(comps, comp{v: m, month: true})
		} else if t.word == "-" || fillerWords[t.word] {
			// separators and weekday names carry nothing
		} else {
			return time.Time{}, errBadDate
		}
		i++
	}
	if len(comps) != 3 {
		return time.Time{}, errBadDate
	}
	var y, m, d int
	a, b, c := comps[0], comps[1], comps[2]
	switch {
	case a.month:
		m, d, y = a.v, b.v, c.v
		if b.nd == 4 {
			d, y = c.v, b.v
		}
	case b.month:
		if a.nd == 4 {
			y, m, d = a.v, b.v, c.v
		} else {
			d, m, y = a.v, b.v, c.v
		}
	case c.month:
		return time.Time{}, errBadDate
	case a.nd == 4 || a.v > 31:
		y, m, d = a.v, b.v, c.v
	default:
		y = c.v
		switch {
		case a.v > 12 && b.v <= 12:
			if order == orderMDY|orderKnown {
				return time.Time{}, errBadDate
			}
			d, m = a.v, b.v
		case b.v > 12 && a.v <= 12:
			if order == orderDMY|orderKnown {
				return time.Time{}, errBadDate
			}
			m, d = a.v, b.v
		case a.v == b.v:
			m, d = a.v, b.v
		case order&^orderKnown == orderDMY:
			d, m = a.v, b.v
		case order&^orderKnown == orderMDY:
			m, d = a.v, b.v
		default:
			return time.Time{}, errAmbiguous
		}
	}
	if (c.nd == 2 && !a.month && !b.month && a.nd != 4) || (y < 100 && y >= 0 && (a.month || b.month) && c.nd == 2) {
		if y < 70 {
			y += 2000
		} else {
			y += 1900
		}
	}
	if y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return time.Time{}, errBadDate
	}
	// Time of day.
	for i < len(toks) && toks[i].nd == 0 && fillerWords[toks[i].word] {
		i++
	}
	var hh, mm, ss, nsec int
	zone := loc
	// Chinese writes the half of the day first: 下午3:05 (normalised to "PM 3:05").
	pre := ""
	if i < len(toks) && (toks[i].word == "am" || toks[i].word == "pm") && i+1 < len(toks) && toks[i+1].nd > 0 {
		pre = toks[i].word
		i++
	}
	if i < len(toks) && toks[i].nd > 0 && toks[i].nd <= 2 && toks[i].sepAfter == ':' {
		hh = toks[i].num
		i++
		if i >= len(toks) || toks[i].nd != 2 {
			return time.Time{}, errBadDate
		}
		mm = toks[i].num
		i++
		if i < len(toks) && toks[i].nd == 2 && toks[i-1].sepAfter == ':' {
			ss = toks[i].num
			i++
		}
		if i < len(toks) && toks[i].nd > 0 && (toks[i-1].sepAfter == '.' || toks[i-1].sepAfter == ',') {
			f := toks[i]
			nsec = f.num
			for k := f.nd; k < 9; k++ {
				nsec *= 10
			}
			i++
		}
		if i < len(toks) && (toks[i].word == "am" || toks[i].word == "pm" || toks[i].word == "a" || toks[i].word == "p") {
			if hh < 1 || hh > 12 {
				return time.Time{}, errBadDate
			}
			if toks[i].word[0] == 'p' && hh != 12 {
				hh += 12
			} else if toks[i].word[0] == 'a' && hh == 12 {
				hh = 0
			}
			i++
			if i < len(toks) && toks[i].word == "m" {
				i++
			}
		}
		if pre != "" {
			if hh < 1 || hh > 12 {
				return time.Time{}, errBadDate
			}
			if pre == "pm" && hh != 12 {
				hh += 12
			} else if pre == "am" && hh == 12 {
				hh = 0
			}
		}
		if hh > 23 || mm > 59 || ss > 59 {
			return time.Time{}, errBadDate
		}
	}
	// Zone.
	if i < len(toks) {
		t := toks[i]
		switch t.word {
		case "z", "utc", "gmt":
			zone = time.UTC
			i++
		}
		if i < len(toks) && (toks[i].word == "+" || toks[i].word == "-") {
			sign := 1
			if toks[i].word == "-" {
				sign = -1
			}
			i++
			if i >= len(toks) || toks[i].nd == 0 {
				return time.Time{}, errBadDate
			}
			var oh, om int
			switch toks[i].nd {
			case 1, 2:
				oh = toks[i].num
				i++
				if i < len(toks) && toks[i].nd == 2 {
					om = toks[i].num
					i++
				}
			case 4:
				oh, om = toks[i].num/100, toks[i].num%100
				i++
			default:
				return time.Time{}, errBadDate
			}
			if oh > 14 || om > 59 {
				return time.Time{}, errBadDate
			}
			zone = time.FixedZone("", sign*(oh*3600+om*60))
		}
	}
	if i < len(toks) {
		return time.Time{}, errBadDate
	}
	return time.Date(y, time.Month(m), d, hh, mm, ss, nsec, zone).UTC(), nil
}

// dateVote inspects one value for evidence of the file's date order.
func dateVote(s string) dateOrder {
	s = strings.TrimSpace(s)
	if len(s) < 6 || len(s) > 40 {
		return orderUnknown
	}
	if _, ok := digits(s[:4]); ok && s[4] == '-' {
		return orderUnknown // year first: no day or month to tell apart
	}
	toks := tokenizeDate(s)
	if len(toks) < 3 || toks[0].nd == 0 || toks[1].nd == 0 || toks[2].nd == 0 || toks[0].nd > 2 || toks[1].nd > 2 {
		return orderUnknown
	}
	a, b := toks[0].num, toks[1].num
	switch {
	case a > 12 && a <= 31 && b >= 1 && b <= 12:
		return orderDMY
	case b > 12 && b <= 31 && a >= 1 && a <= 12:
		return orderMDY
	}
	return orderUnknown
}

// currencySymbols maps symbols and words to ISO codes. Longer keys are tried first.
var currencyWords = []struct{ k, code string }{
	{"us$", "USD"}, {"r$", "BRL"}, {"hk$", "HKD"}, {"nt$", "TWD"}, {"a$", "AUD"}, {"c$", "CAD"}, {"s$", "SGD"},
	{"人民币", "CNY"}, {"美元", "USD"}, {"欧元", "EUR"}, {"港币", "HKD"}, {"日元", "JPY"}, {"英镑", "GBP"}, {"元", "CNY"},
	{"$", "USD"}, {"€", "EUR"}, {"£", "GBP"}, {"¥", "CNY"}, {"￥", "CNY"}, {"₹", "INR"}, {"₩", "KRW"}, {"₽", "RUB"},
	{"₺", "TRY"}, {"₫", "VND"}, {"฿", "THB"}, {"₱", "PHP"}, {"zł", "PLN"},
}

var currencyCodes = map[string]string{
	"usd": "USD", "eur": "EUR", "gbp": "GBP", "cny": "CNY", "rmb": "CNY", "jpy": "JPY", "hkd": "HKD", "twd": "TWD",
	"sgd": "SGD", "aud": "AUD", "cad": "CAD", "chf": "CHF", "inr": "INR", "krw": "KRW", "brl": "BRL", "mxn": "MXN",
	"sek": "SEK", "nok": "NOK", "dkk": "DKK", "pln": "PLN", "rub": "RUB", "zar": "ZAR", "nzd": "NZD", "thb": "THB",
	"myr": "MYR", "idr": "IDR", "php": "PHP", "vnd": "VND", "aed": "AED", "sar": "SAR", "try": "TRY", "czk": "CZK",
}

// parseAmount reads money as people write it: currency symbols or codes before or
// after, thousand separators (1,234.50, 1.234,50, 1 234,50, 1'234.50), negatives
// as -1, 1- or (1), and the multipliers 万 (10⁴), 亿 (10⁸), 千, k, M and bn. It returns the
// ISO code when the value names one.
func parseAmount(s string) (float64, string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, "", errBlank
	}
	// Fast path: a plain decimal number.
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && plainNumber(s) {
		return bounded(f, "")
	}
	if !isASCII(s) {
		s = width.Fold.String(s)
		s = strings.ReplaceAll(s, "\u2212", "-") // minus sign
	}
	neg := false
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		neg = true
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	cur := ""
	// Peel currency markers and signs from both ends.
	for changed := true; changed && s != ""; {
		changed = false
		low := strings.ToLower(s)
		for _, cw := range currencyWords {
			if strings.HasPrefix(low, cw.k) {
				s, cur, changed = strings.TrimSpace(s[len(cw.k):]), cw.code, true
				break
			}
			if strings.HasSuffix(low, cw.k) {
				s, cur, changed = strings.TrimSpace(s[:len(s)-len(cw.k)]), cw.code, true
				break
			}
		}
		if changed {
			continue
		}
		if len(s) > 3 {
			if c, ok := currencyCodes[low[:3]]; ok && !isLetter(s[3]) {
				s, cur, changed = strings.TrimSpace(s[3:]), c, true
				continue
			}
			if c, ok := currencyCodes[low[len(low)-3:]]; ok && !isLetter(s[len(s)-4]) {
				s, cur, changed = strings.TrimSpace(s[:len(s)-3]), c, true
				continue
			}
		}
		if strings.HasPrefix(s, "-") && !neg {
			neg, s, changed = true, strings.TrimSpace(s[1:]), true
		} else if strings.HasSuffix(s, "-") && !neg {
			neg, s, changed = true, strings.TrimSpace(s[:len(s)-1]), true
		} else if strings.HasPrefix(s, "+") {
			s, changed = strings.TrimSpace(s[1:]), true
		} else if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") && !neg {
			neg, s, changed = true, strings.TrimSpace(s[1:len(s)-1]), true
		}
	}
	mult := 1.0
	for _, m := range []struct {
		k string
		f float64
	}{{"万亿", 1e12}, {"亿", 1e8}, {"万", 1e4}, {"千", 1e3}, {"bn", 1e9}, {"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"mm", 1e6}, {"B", 1e9}} {
		if strings.HasSuffix(s, m.k) {
			mult = m.f
			s = strings.TrimSpace(s[:len(s)-len(m.k)])
			break
		}
	}
	num, ok := normalizeDigits(s)
	if !ok {
		return 0, "", errBadAmount
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, "", errBadAmount
	}
	f *= mult
	if neg {
		f = -f
	}
	return bounded(f, cur)
}

// bounded is parseAmount's answer for f, refused beyond maxAmount.
func bounded(f float64, cur string) (float64, string, error) {
	if math.Abs(f) > maxAmount {
		return 0, "", errAmountBig
	}
	return f, cur, nil
}

// maxAmount bounds an amount in any currency: 10^18 is a billion billion, far
// beyond any deal, and ten million of them still sum without overflow.
const maxAmount = 1e18

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// plainNumber rejects what ParseFloat accepts but a spreadsheet would not show
// as an amount (Inf, NaN, hex, underscores).
func plainNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
}

// normalizeDigits turns "1.234.567,89" or "1 234,5" into "1234567.89" / "1234.5".
func normalizeDigits(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	var b strings.Builder
	lastComma, lastDot := strings.LastIndexByte(s, ','), strings.LastIndexByte(s, '.')
	nComma, nDot := strings.Count(s, ","), strings.Count(s, ".")
	dec := byte(0)
	switch {
	case nComma > 0 && nDot > 0:
		if lastComma > lastDot {
			dec = ','
		} else {
			dec = '.'
		}
	case nComma == 1 && nDot == 0:
		// 1,234 is a thousand; 1,5 and 1234,56 are decimals.
		if len(s)-lastComma-1 != 3 || lastComma == 0 || lastComma > 3 && !strings.ContainsAny(s[:lastComma], " '") {
			dec = ','
		}
	case nDot == 1:
		dec = '.'
	case nDot > 1 && nComma == 0:
		dec = 0
	}
	if dec != 0 && strings.Count(s, string(dec)) > 1 {
		return "", false
	}
	seenDigit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
			seenDigit = true
		case c == dec:
			b.WriteByte('.')
		case c == ',' || c == '.' || c == ' ' || c == '\'' || c == '_':
			if !seenDigit {
				return "", false
			}
		case c == 0xc2 && i+1 < len(s) && s[i+1] == 0xa0: // no-break space
			i++
		case c == 0xe2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xaf || s[i+2] == 0x89): // narrow/thin space
			i += 2
		default:
			return "", false
		}
	}
	return b.String(), seenDigit
}

// parseBool reads TRUE/FALSE, Yes/No, Y/N, 1/0, 是/否, 对/错, checkmarks. Blank is false.
func parseBool(s string) (bool, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "0", "false", "f", "no", "n", "否", "不是", "错", "off", "unchecked", "×", "✗", "-", "0.0", "null", "none":
		return false, nil
	case "1", "true", "t", "yes", "y", "是", "对", "on", "checked", "✓", "✔", "√", "x", "1.0":
		return true, nil
	}
	return false, errBadBool
}

// parseNumber reads a count or a percentage as a float (thousand separators allowed, "%" dropped).
func parseNumber(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errBlank
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && plainNumber(s) {
		return f, nil
	}
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(s, "%"), "％"))
	f, _, err := parseAmount(s)
	if err != nil {
		return 0, errBadNumber
	}
	return f, nil
}

// plainDecimal reads the number most cells hold, -?digits[.digits], exactly as
// strconv.ParseFloat would (an exact integer mantissa divided by an exact power of
// ten rounds once, correctly), without its general machinery. ok is false for
// anything else, which then takes the full parser.
func plainDecimal(s string) (float64, bool) {
	i, neg := 0, false
	if len(s) > 0 && s[0] == '-' {
		neg, i = true, 1
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 || frac > 22 || dot && frac == 0 {
		return 0, false
	}
	f := float64(mant)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
	1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// isoDays reads YYYY-MM-DD (the years fastISO accepts) as days since 1970-01-01.
// A calendar date is the same in every zone, so no time.Time is needed.
func isoDays(s string) (int64, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	// The eight digits at their fixed places, without a loop a field.
	d0, d1, d2, d3 := s[0]-'0', s[1]-'0', s[2]-'0', s[3]-'0'
	m0, m1, e0, e1 := s[5]-'0', s[6]-'0', s[8]-'0', s[9]-'0'
	if d0 > 9 || d1 > 9 || d2 > 9 || d3 > 9 || m0 > 9 || m1 > 9 || e0 > 9 || e1 > 9 {
		return 0, false
	}
	y := int(d0)*1000 + int(d1)*100 + int(d2)*10 + int(d3)
	m, d := int(m0)*10+int(m1), int(e0)*10+int(e1)
	if y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return civilDays(y, m, d), true
}

// isoUnixUTC reads YYYY-MM-DD HH:MM:SS (or with a T) as Unix seconds in UTC.
func isoUnixUTC(s string) (int64, bool) {
	if len(s) != 19 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	days, ok := isoDays(s[:10])
	if !ok {
		return 0, false
	}
	hh, ok1 := digits(s[11:13])
	mm, ok2 := digits(s[14:16])
	ss, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 59 {
		return 0, false
	}
	return days*86400 + int64(hh*3600+mm*60+ss), true
}

// civilDays is the proleptic Gregorian day number of y-m-d, day 0 = 1970-01-01
// (Howard Hinnant's days_from_civil).
func civilDays(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y >= 1899 here, so no negative division
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}
