package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// reject is a row that could not be loaded, and why.
type reject struct {
	file    string
	row     int64
	column  string
	raw     string
	reason  string
	message string
}

// rawRow is one row of a rawChunk.
type rawRow struct {
	cols *rawText
	i    int
}

// textCols readies a chunk's text for mapping: it checks once, for the whole
// chunk, whether the text is valid UTF-8 (rawText.valid), so that a value of a
// valid chunk needs no check of its own.
func textCols(t *rawText) *rawText {
	t.valid = utf8.Valid(t.text)
	return t
}

func (r rawRow) get(idx int) string {
	t := r.cols
	if idx < 0 || idx >= t.width {
		return ""
	}
	k := r.i*t.width + idx
	a, z := t.pos[k], t.pos[k+1]-1
	if z <= a {
		return ""
	}
	return unsafe.String(&t.text[a], int(z-a))
}

// valid says column idx's values in this row's chunk are all valid UTF-8.
func (r rawRow) valid(idx int) bool {
	return r.cols.valid
}

// colSrc says where a canonical column's text comes from.
type colSrc struct {
	idx int                   // raw column, -1 for none
	fn  func(r rawRow) string // computed text (overrides idx)
}

// applyUnit scales canonical column i's amount by the unit its header names
// (商机金额(万元): ×10⁴) and takes the unit's currency when the value names none.
func (p *plan) applyUnit(m *mapped, i int) {
	u, ok := p.hdr.units[p.cols[i].idx]
	if !ok || p.cols[i].fn != nil {
		return
	}
	m.v[i].n *= u.mult
	if m.cur == "" {
		m.cur = u.cur
	}
}

func (c colSrc) text(r rawRow) string {
	if c.fn != nil {
		return c.fn(r)
	}
	return trimSpace(r.get(c.idx))
}

// trimSpace is strings.TrimSpace without its scan when the value has no space at
// either end, which is nearly every value.
func trimSpace(s string) string {
	if s == "" {
		return s
	}
	if a, z := s[0], s[len(s)-1]; a > ' ' && a < 0x80 && z > ' ' && z < 0x80 {
		return s
	}
	return strings.TrimSpace(s)
}

// val is a parsed value: text, number, or time (Unix seconds; days for Date).
type val struct {
	s string
	n float64
	t int64
}

// mapped is one row being mapped to a canonical table.
type mapped struct {
	raw rawRow
	row int64
	v   []val
	cur string // currency found inside the amount
	// createdDefault: the file gave no creation date (defaultCreated).
	createdDefault bool
	stub           []pendingRow
	// stages caches this worker's stage lookups: a file has few distinct names.
	stages map[string]stageHit
}

type stageHit struct {
	stage string
	known bool
}

// stage maps a vendor stage name, through the worker's cache.
func (p *plan) stage(m *mapped, vendor string) (string, bool) {
	if h, ok := m.stages[vendor]; ok {
		return h.stage, h.known
	}
	st, known := p.stages.lookup(vendor)
	if m.stages == nil {
		m.stages = map[string]stageHit{}
	}
	if len(m.stages) < 4096 {
		m.stages[strings.Clone(vendor)] = stageHit{st, known}
	}
	return st, known
}

type pendingRow struct {
	t *table
	v []val
}

type emitter struct{ m *mapped }

func (e emitter) emit(t *table, v []val) { e.m.stub = append(e.m.stub, pendingRow{t, v}) }

// enteredCol is a HubSpot "Date entered <stage>" column.
type enteredCol struct {
	idx          int
	stage        string
	vendor, head string
}

// plan maps the rows of one file, laid out as its profile says, to canonical tables.
type plan struct {
	// contradictions counts Salesforce rows whose IsClosed/IsWon disagree with
	// their StageName (mappers run concurrently).
	contradictions atomic.Int64
	// createdDefaulted counts opportunities without a creation date given the
	// day they were first seen (defaultCreated).
	createdDefaulted atomic.Int64
	progress         func(Progress)
	prof             *profile
	t                *table
	hdr              *header
	cols             []colSrc
	has              []bool
	order            dateOrder
	loc              *time.Location
	fx               Currency
	stages           stageMapper
	file             string
	enc              string // the text encoding the file was read in, for reject messages
	snapDays         int64  // snapshot date, days since 1970
	snapTime         int64  // midnight of the snapshot date in the business zone, Unix seconds
	prev             map[string]prevSnapshot
	entered          []enteredCol
	writes           []*table
	vals             []map[string]string // per column: the profile's value map
	keyIdx           []int
	at               colIdx
	// textValid: mapRow checks every string it stores (onlyCheckedText).
	textValid bool
	// money: the column holds an amount (a currency may come with it).
	money []bool

	mu       sync.Mutex
	seen     hashSet
	seed     maphash.Seed
	dups     int64
	managers map[string]bool
	// Repeated keys (latestdup.go): dupKeys are the keys a pass saw twice; held
	// the keys whose rows the second pass keeps back, in heldRows; stampIdx the
	// header's modification stamp column (-1: none).
	dupKeys  map[uint64]struct{}
	held     map[uint64]struct{}
	heldRows []heldRow
	stampIdx int
}

func newPlan(prof *profile, hdr *header, file string, loc *time.Location, extraStages map[string]string) *plan {
	t := prof.table
	p := &plan{prof: prof, t: t, hdr: hdr, loc: loc, file: file, cols: make([]colSrc, len(t.cols)), has: make([]bool, len(t.cols)),
		seed: maphash.MakeSeed(), managers: map[string]bool{}}
	p.vals = make([]map[string]string, len(t.cols))
	for i, c := range t.cols {
		p.vals[i] = prof.values[c.name]
	}
	for _, k := range t.key {
		p.keyIdx = append(p.keyIdx, t.col(k))
	}
	p.at = newColIdx(t)
	st := map[string]string{}
	for k, v := range extraStages {
		st[normKey(k)] = v
	}
	for k, v := range prof.stages {
		st[k] = v
	}
	p.stages = stageMapper{extra: st}
	syn := synonyms[t.name]
	for i, c := range t.cols {
		idx := -1
		if strings.HasPrefix(prof.name, "canonical:") {
			idx = hdr.find([]string{normKey(c.name)})
		} else {
			if cands, ok := prof.cols[c.name]; ok {
				idx = hdr.find(cands)
			}
			if idx < 0 && prof.cols[c.name] == nil || idx < 0 && len(prof.cols[c.name]) > 0 && prof.cols[c.name][0] != "\x00none" {
				idx = hdr.find(syn[c.name])
			}
		}
		p.cols[i] = colSrc{idx: idx}
		p.has[i] = idx >= 0
	}
	// The same header cannot fill both the id and the name unless the layout says so.
	if t == tOpps && prof.nameAsID && !p.has[t.col("opportunity_id")] {
		p.cols[t.col("opportunity_id")] = p.cols[t.col("name")]
		p.has[t.col("opportunity_id")] = p.has[t.col("name")]
	}
	if t == tAccounts && !p.has[t.col("account_id")] {
		p.cols[t.col("account_id")] = p.cols[t.col("name")]
		p.has[t.col("account_id")] = p.has[t.col("name")]
	}
	if t == tOpps && p.has[t.col("stage")] {
		p.cols[t.col("vendor_stage")] = p.cols[t.col("stage")]
		p.has[t.col("vendor_stage")] = true
	}
	p.writes = []*table{t}
	if prof.snapshot {
		p.writes = append(p.writes, tSnaps, tEvents)
	}
	if prof.derive != nil && !prof.snapshot {
		p.writes = append(p.writes, t)
	}
	if prof.prepare != nil {
		prof.prepare(p)
	}
	p.writes = uniqTables(append(p.writes, p.extraWrites()...))
	p.textValid = p.onlyCheckedText()
	p.money = make([]bool, len(t.cols))
	for i, c := range t.cols {
		p.money[i] = c.name == "amount" || c.name == "revenue" || c.name == "potential"
	}
	return p
}

// onlyCheckedText says that every string mapRow stores is a value it checked, a
// constant, or one of the plan's own strings, all valid UTF-8: then checkText
// has nothing to find. Vendor fix-ups, derived rows and computed columns may
// build text from columns mapRow did not check, so they keep it.
func (p *plan) onlyCheckedText() bool {
	if p.prof.fix != nil || p.prof.derive != nil || p.prof.prepare != nil || len(p.entered) > 0 {
		return false
	}
	for _, c := range p.cols {
		if c.fn != nil {
			return false
		}
	}
	for _, vm := range p.vals {
		for _, v := range vm {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	for _, v := range p.stages.extra {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return utf8.ValidString(p.prof.source)
}

// writesOrder lists the tables of bufs in a fixed order (the plan's writes
// first), so that every chunk sends its tables' records in the same order.
func (p *plan) writesOrder(bufs map[*table]*tableBuf) []*table {
	out := make([]*table, 0, len(bufs))
	for _, t := range allTables {
		if bufs[t] != nil {
			out = append(out, t)
		}
	}
	return out
}

// colIdx holds the positions of the columns mapRow treats specially (-1: absent),
// so that no row looks them up by name.
type colIdx struct {
	stage, vendorStage, stageRank, currency, sourceSystem, origin, enteredAt int
	closed, won, probability, snapshotDate                                   int
}

func newColIdx(t *table) colIdx {
	at := func(n string) int {
		if i, ok := t.index[n]; ok {
			return i
		}
		return -1
	}
	return colIdx{stage: at("stage"), vendorStage: at("vendor_stage"), stageRank: at("stage_rank"), currency: at("currency"),
		sourceSystem: at("source_system"), origin: at("origin"), enteredAt: at("entered_at"), closed: at("closed"), won: at("won"),
		probability: at("probability"), snapshotDate: at("snapshot_date")}
}

func (p *plan) extraWrites() []*table {
	if p.prof.derive != nil && p.t == tOpps {
		return []*table{tEvents}
	}
	return nil
}

func uniqTables(ts []*table) []*table {
	var out []*table
	seen := map[*table]bool{}
	for _, t := range ts {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// missingKey names the key column the file lacks, if any.
func (p *plan) missingKey() string {
	for _, k := range p.t.key {
		if !p.filled(p.t.col(k)) {
			if p.t == tEvents && k == "stage" {
				continue
			}
			return k
		}
	}
	if p.t == tOpps && !p.filled(p.t.col("stage")) {
		return "stage"
	}
	return ""
}

// filled says whether canonical column i gets values: from a column of the
// file, or a mapping file's constant (constants: {stage: won}).
func (p *plan) filled(i int) bool {
	return p.has[i] || p.cols[i].fn != nil || p.vals[i][""] != ""
}

// decideOrder settles the file's date order from its first chunk: a value like
// 13/02/2024 can only be d/m/y, 02/13/2024 only m/d/y. Undecided files use the
// vendor's habit, then m/d/y.
func (p *plan) decideOrder(ch *rawChunk, forced dateOrder) {
	if forced != orderUnknown {
		p.order = forced | orderKnown
		return
	}
	var dmy, mdy int
	for i, c := range p.t.cols {
		if (c.typ != tDate && c.typ != tDateTime) || p.cols[i].idx < 0 {
			continue
		}
		for r := range ch.rows {
			switch dateVote(rawRow{ch.cols, r}.get(p.cols[i].idx)) {
			case orderDMY:
				dmy++
			case orderMDY:
				mdy++
			}
		}
	}
	for _, e := range p.entered {
		for r := range ch.rows {
			switch dateVote(rawRow{ch.cols, r}.get(e.idx)) {
			case orderDMY:
				dmy++
			case orderMDY:
				mdy++
			}
		}
	}
	switch {
	case dmy > mdy:
		p.order = orderDMY | orderKnown
	case mdy > dmy:
		p.order = orderMDY | orderKnown
	case p.prof.dateOrder != orderUnknown:
		p.order = p.prof.dateOrder
	default:
		p.order = orderMDY
	}
}

func badValue(reason string, err error) string {
	if errors.Is(err, errAmbiguous) {
		return "bad_date"
	}
	return reason
}

// mapRow parses one row into m.v. A nil result means the row is good.
func (p *plan) mapRow(m *mapped) *reject {
	t := p.t
	m.cur, m.createdDefault = "", false
	m.stub = m.stub[:0]
	// The row's field starts and the chunk's text, read here once rather than
	// through rawRow.get for each column.
	rt := m.raw.cols
	w := rt.width
	rp := rt.pos[m.raw.i*w : m.raw.i*w+w+1]
	text, valid := rt.text, rt.valid
	cols := t.cols
	srcs, has, vals, mv := p.cols[:len(cols)], p.has[:len(cols)], p.vals[:len(cols)], m.v[:len(cols)]
	for i := range cols {
		c := &cols[i]
		src := &srcs[i]
		s := ""
		if src.fn != nil {
			s = src.fn(m.raw)
			if !utf8.ValidString(s) {
				return p.badText(m, p.colName(i), s)
			}
		} else if has[i] {
			if idx := src.idx; uint(idx) < uint(w) {
				if a, z := rp[idx], rp[idx+1]-1; z > a {
					s = trimSpace(unsafe.String(&text[a], int(z-a)))
				}
			}
			// A trimmed view of a value of a valid chunk is valid: TrimSpace cuts
			// whole characters.
			if !valid && !utf8.ValidString(s) {
				return p.badText(m, p.colName(i), s)
			}
		}
		if vm := vals[i]; vm != nil {
			if x, ok := vm[s]; ok {
				s = x
			}
		}
		v := &mv[i]
		*v = val{}
		switch c.typ {
		case tString:
			v.s = s
		case tFloat64, tFloat32:
			if s == "" {
				continue
			}
			money := p.money[i]
			if f, ok := plainDecimal(s); ok {
				v.n = f
				if money {
					p.applyUnit(m, i)
				}
				continue
			}
			if money {
				f, cur, err := parseAmount(s)
				if err != nil {
					return p.rej(m, i, s, "bad_amount", err, fmt.Sprintf("%s: %q is %v", p.colName(i), s, err))
				}
				v.n, m.cur = f, cur
				p.applyUnit(m, i)
			} else {
				f, err := parseNumber(s)
				if err != nil {
					return p.rej(m, i, s, "bad_number", err, fmt.Sprintf("%s: %q is not a number", p.colName(i), s))
				}
				v.n = f
			}
		case tUInt8, tUInt16, tUInt32, tUInt64:
			if s == "" {
				continue
			}
			f, ok := plainDecimal(s)
			var err error
			if !ok {
				f, err = parseNumber(s)
			}
			if err != nil || f < 0 || f > maxOf(c.typ) {
				return p.rej(m, i, s, "bad_number", err, fmt.Sprintf("%s: %q is not a count", p.colName(i), s))
			}
			v.n = math.Round(f)
		case tBool:
			switch s {
			case "0", "":
				continue
			case "1":
				v.n = 1
				continue
			}
			b, err := parseBool(s)
			if err != nil {
				return p.rej(m, i, s, "bad_bool", err, fmt.Sprintf("%s: %q is neither yes nor no", p.colName(i), s))
			}
			if b {
				v.n = 1
			}
		case tDate:
			if s == "" {
				continue
			}
			if d, ok := isoDays(s); ok {
				v.t = d
				continue
			}
			d, err := parseDate(s, p.order, p.loc)
			if err != nil {
				return p.rej(m, i, s, "bad_date", err, fmt.Sprintf("%s: %q is not a date (%s file)", p.colName(i), s, p.order))
			}
			v.t = d.Unix() / 86400
		case tDateTime:
			if s == "" {
				continue
			}
			var u int64
			if x, ok := isoUnixUTC(s); ok && p.loc == time.UTC {
				u = x
			} else {
				d, err := parseTime(s, p.order, p.loc)
				if err != nil {
					return p.rej(m, i, s, "bad_date", err, fmt.Sprintf("%s: %q is not a date (%s file)", p.colName(i), s, p.order))
				}
				u = d.Unix()
			}
			if u < 0 || u > math.MaxUint32 {
				return p.rej(m, i, s, "bad_date", nil, fmt.Sprintf("%s: %q is outside 1970-2106", p.colName(i), s))
			}
			v.t = u
		}
	}
	// Keys.
	for n, i := range p.keyIdx {
		k := t.key[n]
		if t.cols[i].typ == tString && m.v[i].s == "" && !(t == tEvents && k == "stage") &&
			// a blank segment or industry in the market table means "all of them"
			!(t == tMarket && (k == "industry" || k == "segment")) {
			return &reject{file: p.file, row: m.row, column: p.colName(i), reason: "missing_id", message: k + " is blank"}
		}
	}
	at := &p.at
	if t == tEvents && m.v[at.enteredAt].t == 0 {
		i := at.enteredAt
		return &reject{file: p.file, row: m.row, column: p.colName(i), reason: "bad_date", message: "the date the stage was entered is blank"}
	}
	// Stages.
	if si := at.stage; si >= 0 && p.has[si] {
		vendor := m.v[si].s
		stage, known := p.stage(m, vendor)
		if !known {
			return &reject{file: p.file, row: m.row, column: p.colName(si), raw: strings.Clone(truncate(vendor, 500)), reason: "unknown_stage",
				message: fmt.Sprintf("stage %q is not in the pipeline; map it in a mapping file", vendor)}
		}
		m.v[si].s = stage
		if vi := at.vendorStage; vi >= 0 {
			m.v[vi].s = vendor
		}
		if ri := at.stageRank; ri >= 0 {
			m.v[ri].n = float64(stageRank[stage])
		}
	}
	if t == tEvents && m.v[at.origin].s == "" {
		m.v[at.origin].s = "import"
	}
	if ci := at.currency; ci >= 0 && m.v[ci].s == "" && m.cur != "" {
		m.v[ci].s = m.cur
	}
	if t == tFx {
		if r := m.v[t.col("rate")].n; !(r > 0) {
			return &reject{file: p.file, row: m.row, column: p.colName(t.col("rate")), raw: fmt.Sprint(r), reason: "bad_rate",
				message: "an exchange rate must be a positive number (units of the reporting currency per unit)"}
		}
	} else if ci := at.currency; ci >= 0 && !p.fx.known(m.v[ci].s) {
		return &reject{file: p.file, row: m.row, column: p.colName(ci), raw: strings.Clone(truncate(m.v[ci].s, 50)), reason: "no_fx_rate",
			message: fmt.Sprintf("currency %q has no rate to the reporting currency %s: add currency.rates.%s to the config", m.v[ci].s, p.fx.Reporting, strings.ToUpper(m.v[ci].s))}
	}
	if si := at.sourceSystem; si >= 0 && m.v[si].s == "" {
		m.v[si].s = p.prof.source
	}
	if t == tOpps {
		p.settleClosed(m)
		if !p.has[at.snapshotDate] {
			m.v[at.snapshotDate].t = p.snapDays
		}
		p.defaultCreated(m)
	}
	if p.prof.fix != nil {
		if r := p.prof.fix(p, m); r != nil {
			return r
		}
	}
	if p.prof.derive != nil {
		p.prof.derive(p, m, emitter{m})
	}
	if p.prof.snapshot && t == tOpps {
		p.snapshotRows(m)
	}
	if p.textValid {
		return nil
	}
	return p.checkText(m)
}

// checkText is the last guard before text is stored: a string value that is not
// valid UTF-8 (a byte the file's encoding could not decode) makes the row a
// reject naming the column, whatever computed the value.
func (p *plan) checkText(m *mapped) *reject {
	for i, c := range p.t.cols {
		if c.typ == tString && !utf8.ValidString(m.v[i].s) {
			return p.badText(m, p.colName(i), m.v[i].s)
		}
	}
	for _, pr := range m.stub {
		for i, c := range pr.t.cols {
			if c.typ == tString && !utf8.ValidString(pr.v[i].s) {
				return p.badText(m, pr.t.name+"."+c.name, pr.v[i].s)
			}
		}
	}
	return nil
}

// badText rejects a row whose value in column holds bytes the file's encoding
// does not decode. The reject shows them escaped (\xE9), so it is valid text itself.
func (p *plan) badText(m *mapped, column, s string) *reject {
	return &reject{file: p.file, row: m.row, column: column, raw: escapeInvalid(truncate(s, 500)), reason: "bad_encoding",
		message: fmt.Sprintf("%s: bytes that are not valid %s: %s", column, p.encoding(), truncate(escapeInvalid(s), 120))}
}

func (p *plan) encoding() string {
	if p.enc == "" {
		return "UTF-8"
	}
	return p.enc
}

// escapeInvalid returns s with each byte that is not part of a valid UTF-8
// character written as \xNN.
func escapeInvalid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			fmt.Fprintf(&b, "\\x%02X", s[i])
			i++
			continue
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}

func (p *plan) rej(m *mapped, i int, s, reason string, err error, msg string) *reject {
	// The raw value may point into the chunk's buffers: keep a copy, not the chunk.
	return &reject{file: p.file, row: m.row, column: p.colName(i), raw: strings.Clone(truncate(s, 500)), reason: badValue(reason, err), message: msg}
}

func maxOf(t colType) float64 {
	switch t {
	case tUInt8:
		return math.MaxUint8
	case tUInt16:
		return math.MaxUint16
	case tUInt32:
		return math.MaxUint32
	}
	return 1 << 63
}

func (p *plan) colName(i int) string {
	if i < len(p.cols) && p.cols[i].idx >= 0 && p.cols[i].idx < len(p.hdr.raw) {
		return p.hdr.raw[p.cols[i].idx]
	}
	return p.t.cols[i].name
}

// defaultCreated gives an opportunity export's deal without a creation date
// (Maven's Prospecting deals) the day it was first seen: its earliest earlier
// snapshot, else this export's date, midnight in the business zone. Without it
// such a deal is in no cohort. Each is counted as the warning created_defaulted.
func (p *plan) defaultCreated(m *mapped) {
	if !p.prof.snapshot {
		return
	}
	ci := p.t.col("created_at")
	if m.v[ci].t != 0 {
		return
	}
	at := p.snapTime
	if prev, ok := p.prev[m.v[p.t.col("opportunity_id")].s]; ok && prev.firstDay < p.snapDays {
		y, mo, d := time.Unix(prev.firstDay*86400, 0).UTC().Date()
		at = time.Date(y, mo, d, 0, 0, 0, 0, p.loc).Unix()
	}
	m.v[ci].t, m.createdDefault = at, true
	p.createdDefaulted.Add(1)
}

// settleClosed makes stage, closed and won agree. In a Salesforce export the
// StageName wins: Salesforce derives IsClosed/IsWon from the stage, so flags that
// disagree mean an edited export; each such row is counted as a warning. In other
// exports closed/won columns win over a contradicting stage name: a "won" deal
// with closed=0 is open, at the open stage its probability implies.
func (p *plan) settleClosed(m *mapped) {
	si, ci, wi := p.at.stage, p.at.closed, p.at.won
	stage := m.v[si].s
	if p.prof.source == "salesforce" && p.has[si] && stage != "" {
		closed, won := stage == "won" || stage == "lost", stage == "won"
		if p.has[ci] && (m.v[ci].n == 1) != closed || p.has[wi] && (m.v[wi].n == 1) != won {
			p.contradictions.Add(1)
		}
		m.v[ci].n, m.v[wi].n = b2f(closed), b2f(won)
		return
	}
	if !p.has[ci] && !p.has[wi] {
		if stage == "won" || stage == "lost" {
			m.v[ci].n = 1
		}
		if stage == "won" {
			m.v[wi].n = 1
		}
		return
	}
	closed, won := m.v[ci].n == 1, m.v[wi].n == 1
	if !p.has[ci] {
		closed = won || stage == "won" || stage == "lost"
	}
	if won {
		closed = true
	}
	switch {
	case closed && won:
		m.v[si].s = "won"
	case closed:
		m.v[si].s = "lost"
	case stage == "won" || stage == "lost":
		m.v[si].s = openStageByProbability(float64(m.v[p.at.probability].n))
	}
	m.v[ci].n, m.v[wi].n = b2f(closed), b2f(closed && won)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// openStageByProbability follows Salesforce's default stage probabilities.
func openStageByProbability(p float64) string {
	switch {
	case p <= 10:
		return "lead"
	case p <= 25:
		return "qualified"
	case p <= 75:
		return "proposal"
	}
	return "negotiation"
}

// snapshotRows writes the opportunity's state on the snapshot date, and a stage
// event when the stage differs from the previous snapshot's.
func (p *plan) snapshotRows(m *mapped) {
	t := p.t
	g := func(c string) val { return m.v[t.col(c)] }
	snap := make([]val, len(tSnaps.cols))
	snap[tSnaps.col("snapshot_date")] = g("snapshot_date")
	for _, c := range []string{"opportunity_id", "owner_id", "account_id", "product", "stage", "amount", "currency", "close_date", "closed", "won"} {
		snap[tSnaps.col(c)] = g(c)
	}
	m.stub = append(m.stub, pendingRow{tSnaps, snap})
	if p.prev == nil {
		return
	}
	prev, ok := p.prev[g("opportunity_id").s]
	if ok && prev.stage != g("stage").s {
		p.event(m, g("opportunity_id").s, g("stage").s, g("vendor_stage").s, p.snapTime, "snapshot")
	}
}

func (p *plan) event(m *mapped, id, stage, vendor string, at int64, origin string) {
	ev := make([]val, len(tEvents.cols))
	ev[tEvents.col("opportunity_id")].s = id
	ev[tEvents.col("stage")].s = stage
	ev[tEvents.col("stage_rank")].n = float64(stageRank[stage])
	ev[tEvents.col("vendor_stage")].s = vendor
	ev[tEvents.col("entered_at")].t = at
	ev[tEvents.col("origin")].s = origin
	m.stub = append(m.stub, pendingRow{tEvents, ev})
}

// duplicate reports whether the row's key was already seen in this file.
func (p *plan) duplicate(m *mapped) bool {
	if !p.t.unique {
		return false
	}
	sum := p.keyHash(m)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.seen.add(sum) {
		p.dups++
		p.noteDup(sum)
		return true
	}
	return false
}

// keyHash hashes the row's key columns.
func (p *plan) keyHash(m *mapped) uint64 {
	if len(p.keyIdx) == 1 && p.t.cols[p.keyIdx[0]].typ == tString {
		return maphash.String(p.seed, m.v[p.keyIdx[0]].s)
	}
	var h maphash.Hash
	h.SetSeed(p.seed)
	for _, i := range p.keyIdx {
		v := m.v[i]
		h.WriteString(v.s)
		var b [9]byte
		binary.LittleEndian.PutUint64(b[1:], uint64(v.t))
		h.Write(b[:])
	}
	return h.Sum64()
}

// duplicates is duplicate for a chunk's rows at once, in row order: dup[i] says
// row i repeats an earlier key. One lock per chunk, and the set's cache misses
// overlap instead of queueing behind a lock each.
func (p *plan) duplicates(sums []uint64, dup []bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for i, h := range sums {
		dup[i] = !p.seen.add(h)
		if dup[i] {
			n++
			p.noteDup(h)
		}
	}
	p.dups += int64(n)
	return n
}

// ---- vendor fix-ups and derived rows ----

func fixSalesforce(p *plan, m *mapped) *reject { return nil }

func fixPipedrive(p *plan, m *mapped) *reject {
	t := p.t
	status := strings.ToLower(strings.TrimSpace(m.raw.get(p.hdr.find([]string{"dealstatus", "status"}))))
	switch status {
	case "won":
		m.v[t.col("stage")].s, m.v[t.col("closed")].n, m.v[t.col("won")].n = "won", 1, 1
		if w := strings.TrimSpace(m.raw.get(p.hdr.find([]string{"dealwontime", "wontime"}))); w != "" {
			if d, err := parseDate(w, p.order, p.loc); err == nil {
				m.v[t.col("close_date")].t = d.Unix() / 86400
			}
		}
	case "lost":
		m.v[t.col("stage")].s, m.v[t.col("closed")].n, m.v[t.col("won")].n = "lost", 1, 0
		if w := strings.TrimSpace(m.raw.get(p.hdr.find([]string{"deallosttime", "losttime"}))); w != "" {
			if d, err := parseDate(w, p.order, p.loc); err == nil {
				m.v[t.col("close_date")].t = d.Unix() / 86400
			}
		}
	}
	return nil
}

// fixDynamics follows Dynamics 365's status: statecode Open (0), Won (1) or Lost
// (2), as a code or as the app's label; statuscode (Status Reason) Won (3),
// Canceled (4) or Out-Sold (5) says the same when statecode is missing. A closed
// deal's amount and date are its actual ones when the export has them.
func fixDynamics(p *plan, m *mapped) *reject {
	t := p.t
	state := strings.ToLower(strings.TrimSpace(m.raw.get(p.hdr.find([]string{"statecode", "status"}))))
	reason := strings.ToLower(strings.TrimSpace(m.raw.get(p.hdr.find([]string{"statuscode", "statusreason"}))))
	won := state == "1" || state == "won" || state == "" && (reason == "3" || reason == "won")
	lost := state == "2" || state == "lost" || state == "" && (reason == "4" || reason == "5" || reason == "canceled" || reason == "out-sold")
	if !won && !lost {
		return nil
	}
	if won {
		m.v[t.col("stage")].s, m.v[t.col("closed")].n, m.v[t.col("won")].n = "won", 1, 1
	} else {
		m.v[t.col("stage")].s, m.v[t.col("closed")].n, m.v[t.col("won")].n = "lost", 1, 0
	}
	if v := strings.TrimSpace(m.raw.get(p.hdr.find([]string{"actualvalue", "actualrevenue"}))); v != "" && won {
		f, cur, err := parseAmount(v)
		if err != nil {
			return p.rej(m, t.col("amount"), v, "bad_amount", err, fmt.Sprintf("actual value: %q is %v", v, err))
		}
		m.v[t.col("amount")].n = f
		if cur != "" && m.v[t.col("currency")].s == "" {
			m.v[t.col("currency")].s = cur
		}
	}
	if d := strings.TrimSpace(m.raw.get(p.hdr.find([]string{"actualclosedate"}))); d != "" {
		at, err := parseDate(d, p.order, p.loc)
		if err != nil {
			return p.rej(m, t.col("close_date"), d, "bad_date", err, fmt.Sprintf("actual close date: %q is not a date", d))
		}
		m.v[t.col("close_date")].t = at.Unix() / 86400
	}
	return nil
}

// deriveMaven turns Maven's engage and close dates into stage history: entering
// Engaging (qualified) on engage_date, won or lost on close_date.
func deriveMaven(p *plan, m *mapped, e emitter) {
	t := p.t
	id := m.v[t.col("opportunity_id")].s
	if at := m.v[t.col("created_at")].t; at > 0 && !m.createdDefault { // engage_date
		p.event(m, id, "qualified", "Engaging", at, "export")
	}
	if m.v[t.col("closed")].n == 1 {
		if d := m.v[t.col("close_date")].t; d > 0 {
			stage := m.v[t.col("stage")].s
			at := time.Unix(d*86400, 0).UTC()
			at = time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, p.loc)
			p.event(m, id, stage, m.v[t.col("vendor_stage")].s, at.Unix(), "export")
		}
	}
}

// deriveMavenManagers adds each manager once: a rep whose team is their own.
func deriveMavenManagers(p *plan, m *mapped, e emitter) {
	t := p.t
	mgr := m.v[t.col("manager_id")].s
	if mgr == "" {
		return
	}
	p.mu.Lock()
	seen := p.managers[mgr]
	if !seen {
		p.managers[strings.Clone(mgr)] = true
	}
	p.mu.Unlock()
	if seen {
		return
	}
	r := make([]val, len(tReps.cols))
	r[t.col("rep_id")].s, r[t.col("name")].s, r[t.col("role")].s = mgr, mgr, "manager"
	r[t.col("team")].s, r[t.col("territory")].s = mgr, m.v[t.col("territory")].s
	r[t.col("active")].n = 1
	r[t.col("source_system")].s = p.prof.source
	e.emit(tReps, r)
}

// prepareHubSpot finds the "Date entered <stage> (<pipeline>)" columns.
func prepareHubSpot(p *plan) {
	for _, i := range p.hdr.prefixed("dateentered") {
		h := p.hdr.raw[i]
		name := strings.TrimSpace(h[len("date entered"):])
		if len(h) < len("date entered") {
			continue
		}
		name = strings.Trim(name, `"“” `)
		stage, ok := p.stages.lookup(name)
		if !ok {
			continue
		}
		vendor := name
		if j := strings.LastIndexByte(vendor, '('); j > 0 {
			vendor = strings.TrimSpace(vendor[:j])
		}
		p.entered = append(p.entered, enteredCol{idx: i, stage: stage, vendor: vendor, head: h})
	}
	if len(p.entered) > 0 {
		p.writes = append(p.writes, tEvents)
	}
}

func deriveHubSpot(p *plan, m *mapped, e emitter) {
	id := m.v[p.t.col("opportunity_id")].s
	for _, ec := range p.entered {
		s := strings.TrimSpace(m.raw.get(ec.idx))
		if s == "" {
			continue
		}
		d, err := parseTime(s, p.order, p.loc)
		if err != nil {
			continue
		}
		p.event(m, id, ec.stage, ec.vendor, d.Unix(), "hubspot")
	}
}

// ---- typed output ----

// tableBuf builds a canonical table's typed Arrow record. Columns grow as plain Go
// slices (text as one byte buffer plus offsets), sized from the previous chunk, and
// become Arrow arrays without a copy.
type tableBuf struct {
	t    *table
	typs []colType // t's column types
	cols []colBuf
	n    int
}

type colBuf struct {
	data []byte  // tString: the values, back to back
	offs []int32 // tString: offsets into data, offs[0] == 0
	num  []byte  // fixed-width types: the little-endian values
}

func newTableBuf(t *table, rows int) *tableBuf {
	tb := &tableBuf{t: t, cols: make([]colBuf, len(t.cols)), typs: make([]colType, len(t.cols))}
	for i, c := range t.cols {
		tb.typs[i] = c.typ
		if c.typ == tString {
			tb.cols[i].offs = append(int32Pool.get(rows+1), 0)
			tb.cols[i].data = bytePool.get(rows * 8)
		} else {
			tb.cols[i].num = bytePool.get(rows * c.typ.size())
		}
	}
	return tb
}

func (tb *tableBuf) append(v []val) {
	v = v[:len(tb.typs)]
	for i, typ := range tb.typs {
		x := &v[i]
		cb := &tb.cols[i]
		switch typ {
		case tString:
			cb.data = append(cb.data, x.s...)
			cb.offs = append(cb.offs, int32(len(cb.data)))
		case tFloat64:
			cb.num = binary.LittleEndian.AppendUint64(cb.num, math.Float64bits(x.n))
		case tFloat32:
			cb.num = binary.LittleEndian.AppendUint32(cb.num, math.Float32bits(float32(x.n)))
		case tUInt8, tBool:
			cb.num = append(cb.num, uint8(x.n))
		case tUInt16:
			cb.num = binary.LittleEndian.AppendUint16(cb.num, uint16(x.n))
		case tUInt32:
			cb.num = binary.LittleEndian.AppendUint32(cb.num, uint32(x.n))
		case tUInt64:
			cb.num = binary.LittleEndian.AppendUint64(cb.num, uint64(x.n))
		case tDate:
			cb.num = binary.LittleEndian.AppendUint32(cb.num, uint32(int32(x.t)))
		case tDateTime:
			cb.num = binary.LittleEndian.AppendUint64(cb.num, uint64(x.t))
		default:
			panic("ingest: no column buffer for " + tb.t.cols[i].name)
		}
	}
	tb.n++
}

// reset drops the rows appended since the last record.
func (tb *tableBuf) reset() {
	for i := range tb.cols {
		cb := &tb.cols[i]
		if cb.offs != nil {
			cb.offs = cb.offs[:1]
		}
		cb.data, cb.num = cb.data[:0], cb.num[:0]
	}
	tb.n = 0
}

// full says a text column nears Arrow's int32 offset limit.
func (tb *tableBuf) full() bool {
	for i := range tb.cols {
		if len(tb.cols[i].data) > 1<<30 {
			return true
		}
	}
	return false
}

// record hands the buffers to an Arrow record and starts new ones of the same size.
// free gives the buffers back to the pool once the record has been sent.
func (tb *tableBuf) record() (rec arrow.Record, free func()) {
	cols := make([]arrow.Array, len(tb.cols))
	out := make([]colBuf, len(tb.cols))
	copy(out, tb.cols)
	for i, c := range tb.t.cols {
		cb := &tb.cols[i]
		if c.typ == tString {
			cols[i] = stringArray(cb.data, cb.offs)
			cb.offs = append(int32Pool.get(cap(cb.offs)), 0)
			cb.data = bytePool.get(len(cb.data) + len(cb.data)/8)
			continue
		}
		d := array.NewData(c.typ.arrow(), tb.n, []*memory.Buffer{nil, memory.NewBufferBytes(cb.num)}, nil, 0, 0)
		cols[i] = array.MakeFromData(d)
		d.Release()
		cb.num = bytePool.get(cap(cb.num))
	}
	rec = array.NewRecord(tb.t.schema, cols, int64(tb.n))
	for _, c := range cols {
		c.Release()
	}
	tb.n = 0
	return rec, func() {
		rec.Release()
		for _, cb := range out {
			bytePool.put(cb.data)
			int32Pool.put(cb.offs)
			bytePool.put(cb.num)
		}
	}
}
