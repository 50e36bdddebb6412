package gen

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// WriteDir generates the sample into dir as canonical CSV files, one per table
// (<table>.csv, header = column names), and truth.json. Dates are YYYY-MM-DD,
// datetimes YYYY-MM-DD HH:MM:SS in UTC, booleans 0/1. The directory is created if
// needed; existing files of the same names are replaced.
func WriteDir(ctx context.Context, cfg Config, dir string) (*Truth, error) {
	rc, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create output dir: %w", err)
	}
	files := make([]*os.File, numTables)
	writers := make([]*bufio.Writer, numTables)
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	for t := range tables {
		f, err := os.Create(filepath.Join(dir, tables[t].Name+".csv"))
		if err != nil {
			return nil, fmt.Errorf("create %s.csv: %w", tables[t].Name, err)
		}
		files[t] = f
		writers[t] = bufio.NewWriterSize(f, 1<<20)
		var hdr []byte
		for i, c := range tables[t].Columns {
			if i > 0 {
				hdr = append(hdr, ',')
			}
			hdr = append(hdr, c.Name...)
		}
		if _, err := writers[t].Write(append(hdr, '\n')); err != nil {
			return nil, fmt.Errorf("write %s.csv: %w", tables[t].Name, err)
		}
	}
	g := newGenerator(rc)
	truth, err := g.run(ctx, formatCSV, func(b *block) error {
		for t, out := range b.out {
			if len(out) == 0 {
				continue
			}
			if _, err := writers[t].Write(out); err != nil {
				return fmt.Errorf("write %s.csv: %w", tables[t].Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for t, w := range writers {
		if err := w.Flush(); err != nil {
			return nil, fmt.Errorf("write %s.csv: %w", tables[t].Name, err)
		}
		if err := files[t].Close(); err != nil {
			return nil, fmt.Errorf("close %s.csv: %w", tables[t].Name, err)
		}
		files[t] = nil
	}
	if err := writeTruth(dir, truth); err != nil {
		return nil, err
	}
	return truth, nil
}

func writeTruth(dir string, truth *Truth) error {
	js, err := json.MarshalIndent(truth, "", "  ")
	if err != nil {
		return fmt.Errorf("encode truth: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "truth.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("write truth.json: %w", err)
	}
	return nil
}

// ReadTruth reads the truth.json that WriteDir or WriteVendor wrote into dir.
func ReadTruth(dir string) (*Truth, error) {
	js, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		return nil, fmt.Errorf("read truth: %w", err)
	}
	var t Truth
	if err := json.Unmarshal(js, &t); err != nil {
		return nil, fmt.Errorf("decode truth: %w", err)
	}
	return &t, nil
}

// formatCSV renders a block's chunks as CSV rows (a worker hook, so it runs in parallel).
func formatCSV(b *block) error {
	for t, c := range b.chunks {
		if c == nil || c.Len == 0 {
			continue
		}
		b.out[t] = appendChunkCSV(make([]byte, 0, c.Len*64), c)
	}
	return nil
}

func appendChunkCSV(out []byte, c *Chunk) []byte {
	isDate := make([]bool, len(c.Columns))
	for i, col := range c.Columns {
		isDate[i] = col.Type == "Date"
	}
	for row := 0; row < c.Len; row++ {
		for i, data := range c.Data {
			if i > 0 {
				out = append(out, ',')
			}
			switch v := data.(type) {
			case []string:
				out = appendCSVField(out, v[row])
			case []uint8:
				out = strconv.AppendUint(out, uint64(v[row]), 10)
			case []uint16:
				out = strconv.AppendUint(out, uint64(v[row]), 10)
			case []uint32:
				out = strconv.AppendUint(out, uint64(v[row]), 10)
			case []float32:
				out = strconv.AppendFloat(out, float64(v[row]), 'f', -1, 32)
			case []float64:
				out = strconv.AppendFloat(out, v[row], 'f', -1, 64)
			case []time.Time:
				if isDate[i] {
					out = appendDate(out, v[row].Unix())
				} else {
					out = appendDateTime(out, v[row].Unix())
				}
			default:
				panic(fmt.Sprintf("gen: column %s of %s has unsupported type %T", c.Columns[i].Name, c.Table, data))
			}
		}
		out = append(out, '\n')
	}
	return out
}

// appendCSVField quotes s only when RFC 4180 needs it.
func appendCSVField(out []byte, s string) []byte {
	quote := len(s) > 0 && (s[0] == ' ' || s[len(s)-1] == ' ')
	for i := 0; i < len(s) && !quote; i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			quote = true
		}
	}
	if !quote {
		return append(out, s...)
	}
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return append(out, '"')
}
