package parity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// old is the embedded 18.16 server seen through its HTTP interface, which
// returns answers in the server's own text formats (clickhouse-go's native
// protocol gives Go values). Nothing sent here is logged as pipelens's: the
// query ids start with parity-, and log_queries is off.
type old struct {
	base   string // http://127.0.0.1:port/
	db     string
	client *http.Client
	n      atomic.Int64
}

func newOld(httpPort int, db string) *old {
	return &old{base: fmt.Sprintf("http://127.0.0.1:%d/", httpPort), db: db, client: &http.Client{Timeout: 5 * time.Minute}}
}

// httpPortOf reads the HTTP port schemas.StartEmbedded recorded in dir/server.json.
func httpPortOf(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "server.json"))
	if err != nil {
		return 0, err
	}
	var st struct {
		HTTPPort int `json:"http_port"`
	}
	if err := json.Unmarshal(b, &st); err != nil || st.HTTPPort == 0 {
		return 0, fmt.Errorf("no http_port in %s: %v", filepath.Join(dir, "server.json"), err)
	}
	return st.HTTPPort, nil
}

// query runs sql with the given settings; a server error is returned as err.
func (o *old) query(sql string, settings map[string]any) ([]byte, error) {
	v := url.Values{}
	v.Set("database", o.db)
	v.Set("query_id", fmt.Sprintf("parity-%d-%d", os.Getpid(), o.n.Add(1)))
	v.Set("log_queries", "0")
	for k, x := range settings {
		v.Set(k, fmt.Sprint(x))
	}
	resp, err := o.client.Post(o.base+"?"+v.Encode(), "text/plain", strings.NewReader(sql))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s", bytes.TrimSpace(b))
	}
	return b, nil
}

func (o *old) must(sql string) (string, error) {
	b, err := o.query(sql, nil)
	if err != nil {
		return "", fmt.Errorf("18.16: %v\n  in: %s", err, short(sql, 300))
	}
	return string(b), nil
}

// answer is what a statement returns in format TSVWithNamesAndTypes (or its error).
func (o *old) answer(sql string, settings map[string]any) (string, string) {
	b, err := o.query(sql+"\nFORMAT TSVWithNamesAndTypes", settings)
	if err != nil {
		return "", firstLine(err.Error())
	}
	return string(b), ""
}

// table is one table of a dump.
type table struct {
	Name    string
	Create  string
	Columns [][2]string // name, type
	Parts   []string    // files holding one 18.16 part each, RowBinary, in insert order
	Rows    int
}

// dump writes every table of the database into dir, part by part (RowBinary
// in on-disk row order), so that the rows of parts a merge would collapse
// survive. The caller stops merges meanwhile, so that no part disappears
// between the listing and the read.
func (o *old) dump(dir string) ([]table, error) {
	names, err := o.must("SELECT name FROM system.tables WHERE database = '" + o.db + "' AND engine NOT LIKE '%View%' ORDER BY name FORMAT TSV")
	if err != nil {
		return nil, err
	}
	var out []table
	for _, name := range strings.Fields(names) {
		t := table{Name: name}
		if t.Create, err = o.must("SHOW CREATE TABLE " + o.db + "." + name + " FORMAT TSVRaw"); err != nil {
			return nil, err
		}
		t.Create = strings.TrimSpace(t.Create)
		cols, err := o.must("SELECT name, type FROM system.columns WHERE database = '" + o.db + "' AND table = '" + name + "' FORMAT TSVRaw")
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(strings.TrimSpace(cols), "\n") {
			f := strings.SplitN(l, "\t", 2)
			if len(f) == 2 {
				t.Columns = append(t.Columns, [2]string{f[0], f[1]})
			}
		}
		parts, err := o.must("SELECT name, rows FROM system.parts WHERE database = '" + o.db + "' AND table = '" + name +
			"' AND active ORDER BY min_block_number, partition_id FORMAT TSV")
		if err != nil {
			return nil, err
		}
		for i, l := range strings.Split(strings.TrimSpace(parts), "\n") {
			f := strings.Fields(l)
			if len(f) != 2 || f[1] == "0" {
				continue
			}
			b, err := o.query("SELECT * FROM "+o.db+"."+name+" WHERE _part = '"+f[0]+"' FORMAT RowBinary", map[string]any{"max_threads": 1})
			if err != nil {
				return nil, fmt.Errorf("dump %s part %s: %w", name, f[0], err)
			}
			p := filepath.Join(dir, fmt.Sprintf("%s.%03d.bin", name, i))
			if err := os.WriteFile(p, b, 0o644); err != nil {
				return nil, err
			}
			t.Parts = append(t.Parts, p)
			var n int
			fmt.Sscan(f[1], &n)
			t.Rows += n
		}
		out = append(out, t)
	}
	return out, nil
}

// selectAll is a SELECT of every column of t whose text is the same on every
// version: AggregateFunction states finalised (their bytes follow the hash
// table's layout).
func selectAll(db string, t table) string {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		if strings.HasPrefix(c[1], "AggregateFunction") {
			cols[i] = "finalizeAggregation(`" + c[0] + "`)"
		} else {
			cols[i] = "`" + c[0] + "`"
		}
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + db + "." + t.Name
}

// load creates db on chDB with the dump's tables and inserts each 18.16 part as
// one part, merges stopped and optimize_on_insert off, so that chDB holds the
// same parts with the same rows.
func (c *chdb) load(db string, tables []table) error {
	if _, err := c.must("DROP DATABASE IF EXISTS " + db + " SYNC"); err != nil {
		return err
	}
	if _, err := c.must("CREATE DATABASE " + db + " ENGINE = Atomic"); err != nil {
		return err
	}
	for _, t := range tables {
		if _, err := c.must(t.Create); err != nil {
			return err
		}
	}
	if _, err := c.must("SYSTEM STOP MERGES"); err != nil {
		return err
	}
	for _, t := range tables {
		cols := make([]string, len(t.Columns))
		for i, col := range t.Columns {
			cols[i] = "`" + col[0] + "` " + col[1]
		}
		for _, p := range t.Parts {
			if _, err := c.must("INSERT INTO " + db + "." + t.Name + " SELECT * FROM file('" + p + "', 'RowBinary', '" + strings.ReplaceAll(strings.Join(cols, ", "), "'", `\'`) + "') " +
				"SETTINGS optimize_on_insert = 0, max_threads = 1, max_insert_threads = 1, input_format_parallel_parsing = 0"); err != nil {
				return err
			}
		}
	}
	_, err := c.must("USE " + db)
	return err
}
