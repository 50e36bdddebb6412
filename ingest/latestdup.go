package ingest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pipelens/pipelens/schemas"
)

// Rows of one file that repeat a key: the later row is the newer state of the
// record (an export lists an opportunity again after it changed), so it wins;
// when the file has a modification stamp (LastModifiedDate, Modified Time,
// 最后修改时间, …) the row with the later stamp wins, equal stamps going to the
// later row. The streaming pass keeps the first row of a key, so a file with
// duplicates is loaded twice: the first pass learns the repeated keys
// (plan.dupKeys) and is discarded; the second holds those keys' rows back
// (plan.held), loads the winners at the end and counts the others as
// duplicates. A file without duplicates is read once, as before.

// stampCols are the headers (normKey) of a record's last modification.
var stampCols = []string{"lastmodifieddate", "lastmodified", "lastmodifieddate/time", "systemmodstamp", "modifiedtime",
	"modifieddate", "modifiedat", "modified", "updatedat", "updatetime", "hslastmodifieddate", "最后修改时间", "修改时间", "更新时间", "最后更新时间"}

// heldRow is a mapped row of a repeated key, kept until the file ends.
type heldRow struct {
	hash  uint64
	row   int64
	stamp int64 // Unix seconds; 0: none
	v     []val
	stub  []pendingRow
}

// DuplicateRows names the rows of a file that carry one key and the row loaded.
type DuplicateRows struct {
	Key  string  `json:"key"`
	Rows []int64 `json:"rows"`
	Kept int64   `json:"kept_row"`
}

// noteDup records a repeated key (with p.mu held).
func (p *plan) noteDup(h uint64) {
	if p.dupKeys == nil {
		p.dupKeys = map[uint64]struct{}{}
	}
	p.dupKeys[h] = struct{}{}
}

// hold keeps the row back when its key repeats in the file (second pass).
func (p *plan) hold(m *mapped) bool {
	if p.held == nil {
		return false
	}
	h := p.keyHash(m)
	if _, ok := p.held[h]; !ok {
		return false
	}
	r := heldRow{hash: h, row: m.row, v: cloneVals(m.v)}
	if s := trimSpace(m.raw.get(p.stampIdx)); s != "" {
		if t, err := parseTime(s, p.order, p.loc); err == nil {
			r.stamp = t.Unix()
		}
	}
	for _, pr := range m.stub {
		r.stub = append(r.stub, pendingRow{pr.t, cloneVals(pr.v)})
	}
	p.mu.Lock()
	p.heldRows = append(p.heldRows, r)
	p.mu.Unlock()
	return true
}

func cloneVals(v []val) []val {
	out := make([]val, len(v))
	for i, x := range v {
		x.s = strings.Clone(x.s)
		out[i] = x
	}
	return out
}

// newer says whether a is the later state of the record than b.
func (a *heldRow) newer(b *heldRow) bool {
	if a.stamp != 0 && b.stamp != 0 && a.stamp != b.stamp {
		return a.stamp > b.stamp
	}
	return a.row > b.row
}

// winners picks each held key's row, counts the others as duplicates and
// returns the winners in row order with a sample of the repeated keys.
func (p *plan) winners() ([]*heldRow, []DuplicateRows) {
	sort.Slice(p.heldRows, func(i, j int) bool { return p.heldRows[i].row < p.heldRows[j].row })
	best := map[uint64]*heldRow{}
	rows := map[uint64][]int64{}
	var order []uint64
	for i := range p.heldRows {
		r := &p.heldRows[i]
		if b, ok := best[r.hash]; !ok {
			order = append(order, r.hash)
			best[r.hash] = r
		} else if r.newer(b) {
			best[r.hash] = r
		}
		rows[r.hash] = append(rows[r.hash], r.row)
	}
	var win []*heldRow
	var sample []DuplicateRows
	for _, h := range order {
		w := best[h]
		win = append(win, w)
		p.dups += int64(len(rows[h]) - 1)
		if len(sample) < 20 && len(rows[h]) > 1 {
			var key []string
			for _, i := range p.keyIdx {
				key = append(key, w.v[i].s)
			}
			sample = append(sample, DuplicateRows{Key: strings.Join(key, " "), Rows: rows[h], Kept: w.row})
		}
	}
	sort.Slice(win, func(i, j int) bool { return win[i].row < win[j].row })
	return win, sample
}

// heldBufs lays the winners out as one buffer per table.
func (p *plan) heldBufs(win []*heldRow) map[*table]*tableBuf {
	bufs := map[*table]*tableBuf{}
	add := func(t *table, v []val) {
		b := bufs[t]
		if b == nil {
			b = newTableBuf(t, len(win))
			bufs[t] = b
		}
		b.append(v)
	}
	for _, w := range win {
		add(p.t, w.v)
		for _, pr := range w.stub {
			add(pr.t, pr.v)
		}
	}
	return bufs
}

// discardWait deletes the run's rows from tables and waits until ClickHouse has
// applied the deletes, so that the rows loaded next are the run's only ones.
func (s *Service) discardWait(ctx context.Context, runID uint64, tables []*table) error {
	if err := s.discard(ctx, runID, tables); err != nil {
		return err
	}
	return s.db.EachShard(ctx, func(ctx context.Context, sh *schemas.DB) error {
		for _, t := range tables {
			for {
				var left uint64
				qctx, cancel := sh.Context(ctx, "ingest-discard-wait")
				err := sh.Conn.QueryRow(qctx, "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND table = ? AND is_done = 0", sh.Local(t.name)).Scan(&left)
				cancel()
				if err != nil {
					return fmt.Errorf("wait for the delete on %s: %w", t.name, err)
				}
				if left == 0 {
					break
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(50 * time.Millisecond):
				}
			}
		}
		return nil
	})
}
