package parity

import (
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// relTol is how far two floats may be apart, relative to the larger; absTol
// how far apart two floats near zero may be. A float sum whose rows cancel (a
// later publication retracting a deal's rows) ends in a residue of about 1e-13
// whose size and sign follow the summation order, which parallel aggregation
// does not fix on either server: a billionth of a day, a yuan or a deal is no
// difference a user can see.
const relTol, absTol = 1e-9, 1e-9

// stripSQL blanks string literals, quoted identifiers and comments, so that
// keywords and parentheses can be looked for in what is left.
func stripSQL(sql string) string {
	var b strings.Builder
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				i = len(sql)
			} else {
				i += j
			}
			b.WriteByte(' ')
			continue
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				i = len(sql)
			} else {
				i += j + 4
			}
			b.WriteByte(' ')
			continue
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(sql) {
				if sql[j] == '\\' {
					j += 2
					continue
				}
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			if c == '\'' {
				b.WriteString("''")
			} else {
				b.WriteString("x")
			}
			i = j + 1
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// outer is the statement without what stands inside parentheses.
func outer(sql string) string {
	s := stripSQL(sql)
	var b strings.Builder
	depth := 0
	for _, c := range s {
		switch {
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0:
			b.WriteRune(c)
		}
	}
	return b.String()
}

var (
	reOrderBy  = regexp.MustCompile(`(?i)\bORDER\s+BY\b`)
	reSelect   = regexp.MustCompile(`(?is)^\s*(\(\s*)*(SELECT|WITH)\b`)
	reInsertAs = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+([A-Za-z0-9_.]+)\s*(\([^)]*\))?\s*SELECT\b`)
	reMutation = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+([A-Za-z0-9_.]+)\s+(DELETE|UPDATE)\b`)
	reSystem   = regexp.MustCompile(`(?i)\bsystem\s*\.`)
	// functions whose answer depends on when or where a statement runs
	reVolatile = regexp.MustCompile(`(?i)\b(now|now64|today|yesterday|rand|rand32|rand64|randConstant|generateUUIDv4|uptime|hostName|version|currentUser|queryID|initialQueryID|serverUUID|rowNumberInAllBlocks|rowNumberInBlock|blockNumber|runningDifference|runningAccumulate)\s*\(`)
)

// ordered says whether the statement's outer query sorts its rows.
func ordered(sql string) bool { return reOrderBy.MatchString(outer(sql)) }

func isSelect(sql string) bool { return reSelect.MatchString(stripSQL(sql)) }

// insertSelect returns the target of an INSERT … SELECT.
func insertSelect(sql string) (string, bool) {
	m := reInsertAs.FindStringSubmatch(sql)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// tsv is an answer in TSVWithNamesAndTypes.
type tsv struct {
	names, types []string
	rows         [][]string
}

func parseTSV(s string) tsv {
	lines := strings.Split(s, "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	var t tsv
	if len(lines) > 0 {
		t.names = strings.Split(lines[0], "\t")
	}
	if len(lines) > 1 {
		t.types = strings.Split(lines[1], "\t")
	}
	for _, l := range lines[min(2, len(lines)):] {
		row := strings.Split(l, "\t")
		for i := range row {
			// 18.16 prints the zero Date and DateTime as 0000-00-00[ 00:00:00],
			// current versions as 1970-01-01[ 00:00:00]: the same value.
			if i < len(t.types) && strings.Contains(t.types[i], "Date") {
				row[i] = strings.ReplaceAll(row[i], "0000-00-00", "1970-01-01")
			}
		}
		t.rows = append(t.rows, row)
	}
	return t
}

var reNum = regexp.MustCompile(`-?(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|inf|nan)`)

// fieldEq compares two printed values: equal text, or the same text with
// numbers equal to relTol (or absTol near zero).
func fieldEq(a, b string) bool {
	if a == b {
		return true
	}
	na, nb := reNum.FindAllStringIndex(a, -1), reNum.FindAllStringIndex(b, -1)
	if len(na) != len(nb) || len(na) == 0 {
		return false
	}
	pa, pb := 0, 0
	for i := range na {
		if a[pa:na[i][0]] != b[pb:nb[i][0]] {
			return false
		}
		x, y := a[na[i][0]:na[i][1]], b[nb[i][0]:nb[i][1]]
		if x != y {
			fx, err1 := strconv.ParseFloat(x, 64)
			fy, err2 := strconv.ParseFloat(y, 64)
			if err1 != nil || err2 != nil || math.IsNaN(fx) || math.IsNaN(fy) || math.IsInf(fx, 0) || math.IsInf(fy, 0) {
				return false
			}
			if d := math.Abs(fx - fy); d > relTol*math.Max(math.Abs(fx), math.Abs(fy)) && d > absTol {
				return false
			}
		}
		pa, pb = na[i][1], nb[i][1]
	}
	return a[pa:] == b[pb:]
}

func rowEq(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !fieldEq(a[i], b[i]) {
			return false
		}
	}
	return true
}

var reDecimal = regexp.MustCompile(`-?\d+\.\d+(?:[eE][+-]?\d+)?`)

// roundKey sorts rows that are equal to relTol (or absTol) next to each other.
func roundKey(r []string) string {
	return reDecimal.ReplaceAllStringFunc(strings.Join(r, "\t"), func(m string) string {
		f, err := strconv.ParseFloat(m, 64)
		if err != nil {
			return m
		}
		if math.Abs(f) < absTol {
			return "0"
		}
		return strconv.FormatFloat(f, 'g', 7, 64)
	})
}

// multisetDiff returns the rows of a not in b and of b not in a, each row
// matched at most once.
func multisetDiff(a, b [][]string) (onlyA, onlyB [][]string) {
	type kr struct {
		k string
		r []string
	}
	keyed := func(rows [][]string) []kr {
		out := make([]kr, len(rows))
		for i, r := range rows {
			out[i] = kr{roundKey(r), r}
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].k < out[j].k })
		return out
	}
	ka, kb := keyed(a), keyed(b)
	var ra, rb [][]string
	i, j := 0, 0
	for i < len(ka) && j < len(kb) {
		switch {
		case rowEq(ka[i].r, kb[j].r):
			i++
			j++
		case ka[i].k < kb[j].k:
			ra = append(ra, ka[i].r)
			i++
		default:
			rb = append(rb, kb[j].r)
			j++
		}
	}
	for ; i < len(ka); i++ {
		ra = append(ra, ka[i].r)
	}
	for ; j < len(kb); j++ {
		rb = append(rb, kb[j].r)
	}
	// rows whose rounded keys fell on either side of a boundary
	used := make([]bool, len(rb))
	for _, r := range ra {
		found := false
		for n, x := range rb {
			if !used[n] && rowEq(r, x) {
				used[n], found = true, true
				break
			}
		}
		if !found {
			onlyA = append(onlyA, r)
		}
	}
	for n, x := range rb {
		if !used[n] {
			onlyB = append(onlyB, x)
		}
	}
	return onlyA, onlyB
}

// verdict is how two answers compare.
type verdict struct {
	equal  bool
	kind   string // equal, error, rows-differ, order-differs, types-differ
	detail string
}

// compareAnswers compares 18.16's answer (a, or its error ea) with 26.x's.
func compareAnswers(a, ea, b, eb string, sorted bool) verdict {
	switch {
	case ea != "" && eb != "":
		return verdict{kind: "error", detail: "fails on both: 18.16: " + ea + "\n26.x: " + eb}
	case ea != "":
		return verdict{kind: "error", detail: "fails on 18.16 only: " + ea}
	case eb != "":
		return verdict{kind: "error", detail: "fails on 26.x only: " + eb}
	}
	x, y := parseTSV(a), parseTSV(b)
	onlyA, onlyB := multisetDiff(x.rows, y.rows)
	if len(onlyA) > 0 || len(onlyB) > 0 {
		d := "rows 18.16/26.x: " + strconv.Itoa(len(x.rows)) + "/" + strconv.Itoa(len(y.rows)) +
			"; only on 18.16: " + strconv.Itoa(len(onlyA)) + ", only on 26.x: " + strconv.Itoa(len(onlyB))
		d += "\n  columns: " + strings.Join(x.names, ", ")
		if len(onlyA) > 0 {
			d += "\n  first row only on 18.16: " + strings.Join(onlyA[0], " | ")
		}
		if len(onlyB) > 0 {
			d += "\n  first row only on 26.x:  " + strings.Join(onlyB[0], " | ")
		}
		return verdict{kind: "rows-differ", detail: d}
	}
	if sorted {
		for i := range x.rows {
			if !rowEq(x.rows[i], y.rows[i]) {
				return verdict{kind: "order-differs", detail: "same rows, other order (the statement sorts them): first difference at row " + strconv.Itoa(i+1) +
					"\n  columns: " + strings.Join(x.names, ", ") +
					"\n  18.16: " + strings.Join(x.rows[i], " | ") + "\n  26.x:  " + strings.Join(y.rows[i], " | ")}
			}
		}
	}
	if strings.Join(x.types, ",") != strings.Join(y.types, ",") {
		d := "\n  columns: " + strings.Join(x.names, ", ") + "\n  18.16: " + strings.Join(x.types, ", ") + "\n  26.x:  " + strings.Join(y.types, ", ")
		if nullableOnly(x.types, y.types, y.rows) {
			// e.g. scalar subqueries, Nullable on current versions: clickhouse-go
			// scans a Nullable(T) that holds no NULL into a *T like a T.
			return verdict{equal: true, kind: "equal-nullable", detail: "same values; 26.x types some columns Nullable, without NULLs:" + d}
		}
		return verdict{kind: "types-differ", detail: "same values, other column types (a Go Scan written for one may fail on the other):" + d}
	}
	return verdict{equal: true, kind: "equal"}
}

// nullableOnly says whether the types differ only by Nullable( ) wrappers on
// columns that hold no NULL.
func nullableOnly(a, b []string, rows [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	strip := func(t string) string {
		for strings.HasPrefix(t, "Nullable(") && strings.HasSuffix(t, ")") {
			t = t[len("Nullable(") : len(t)-1]
		}
		return strings.ReplaceAll(t, "Nullable(", "(")
	}
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		if strip(a[i]) != strip(b[i]) {
			return false
		}
		for _, r := range rows {
			if i < len(r) && strings.Contains(r[i], `\N`) {
				return false
			}
		}
	}
	return true
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return short(s, 400)
}

func short(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}
