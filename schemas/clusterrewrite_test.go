package schemas

import (
	"errors"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestClusterRewriteSplitsLocalOnly(t *testing.T) {
	src := `-- a comment
-- shard: cityHash64(id)
CREATE TABLE IF NOT EXISTS t (
    id String
) ENGINE = MergeTree
ORDER BY id;
-- local-only
INSERT INTO {local:t} (id) SELECT id FROM {local:u};
DROP TABLE IF EXISTS t;
`
	st := splitStatements(src)
	if len(st) != 3 {
		t.Fatalf("%d statements: %+v", len(st), st)
	}
	if st[0].ShardKey != "cityHash64(id)" || st[0].LocalOnly {
		t.Errorf("statement 1: %+v", st[0])
	}
	if !st[1].LocalOnly || st[1].ShardKey != "" {
		t.Errorf("statement 2 should be local-only: %+v", st[1])
	}
	if st[2].LocalOnly {
		t.Errorf("local-only leaked to statement 3: %+v", st[2])
	}
}

func TestClusterRewrite(t *testing.T) {
	type want struct {
		sql       string
		scope     stepScope
		alterSync bool
		tolerant  bool
	}
	cases := []struct {
		name    string
		st      Statement
		cluster string
		want    []want
	}{
		{"single server", Statement{SQL: "CREATE TABLE IF NOT EXISTS x (a String) ENGINE = MergeTree ORDER BY a", ShardKey: "rand()"}, "",
			[]want{{sql: "CREATE TABLE IF NOT EXISTS x (a String) ENGINE = MergeTree ORDER BY a"}}},
		{"single server local ref", Statement{SQL: "INSERT INTO {local:x} (a) SELECT a FROM {local:y}", LocalOnly: true}, "",
			[]want{{sql: "INSERT INTO x (a) SELECT a FROM y"}}},
		{"single server column alter tolerates a rerun", Statement{SQL: "ALTER TABLE x ADD COLUMN b String"}, "",
			[]want{{sql: "ALTER TABLE x ADD COLUMN b String", tolerant: true}}},
		{"plain MergeTree", Statement{SQL: "CREATE TABLE IF NOT EXISTS x (\n a String\n) ENGINE = MergeTree\nORDER BY a\nSETTINGS index_granularity = 1024", ShardKey: "cityHash64(a)"}, "c",
			[]want{
				{sql: "CREATE TABLE IF NOT EXISTS x_local (\n a String\n) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/db/x_local', '{replica}')\nORDER BY a\nSETTINGS index_granularity = 1024"},
				{sql: "CREATE TABLE IF NOT EXISTS x AS x_local ENGINE = Distributed('c', 'db', x_local, cityHash64(a))"},
			}},
		{"replacing with version", Statement{SQL: "CREATE TABLE IF NOT EXISTS x (a String, v UInt64) ENGINE = ReplacingMergeTree(v) ORDER BY a"}, "c",
			[]want{
				{sql: "CREATE TABLE IF NOT EXISTS x_local (a String, v UInt64) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/x_local', '{replica}', v) ORDER BY a"},
				{sql: "CREATE TABLE IF NOT EXISTS x AS x_local ENGINE = Distributed('c', 'db', x_local, rand())"},
			}},
		{"summing with columns", Statement{SQL: "CREATE TABLE IF NOT EXISTS x (a String, n UInt64) ENGINE = SummingMergeTree((n)) ORDER BY a"}, "c",
			[]want{
				{sql: "CREATE TABLE IF NOT EXISTS x_local (a String, n UInt64) ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/db/x_local', '{replica}', (n)) ORDER BY a"},
				{sql: "CREATE TABLE IF NOT EXISTS x AS x_local ENGINE = Distributed('c', 'db', x_local, rand())"},
			}},
		{"aggregating", Statement{SQL: "CREATE TABLE IF NOT EXISTS x (a String, n AggregateFunction(sum, UInt64)) ENGINE = AggregatingMergeTree() ORDER BY a"}, "c",
			[]want{
				{sql: "CREATE TABLE IF NOT EXISTS x_local (a String, n AggregateFunction(sum, UInt64)) ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/db/x_local', '{replica}') ORDER BY a"},
				{sql: "CREATE TABLE IF NOT EXISTS x AS x_local ENGINE = Distributed('c', 'db', x_local, rand())"},
			}},
		{"column alter on both", Statement{SQL: "ALTER TABLE x ADD COLUMN b String AFTER a"}, "c",
			[]want{
				{sql: "ALTER TABLE x_local ADD COLUMN b String AFTER a", alterSync: true, tolerant: true},
				{sql: "ALTER TABLE x ADD COLUMN b String AFTER a", tolerant: true},
			}},
		{"mutation once per shard, never through Distributed", Statement{SQL: "ALTER TABLE x DELETE WHERE a = ''"}, "c",
			[]want{{sql: "ALTER TABLE x_local DELETE WHERE a = ''", scope: oncePerShard}}},
		{"insert once through Distributed", Statement{SQL: "INSERT INTO x (a) SELECT 'a'"}, "c",
			[]want{{sql: "INSERT INTO x (a) SELECT 'a'", scope: onceInAll}}},
		{"optimize local", Statement{SQL: "OPTIMIZE TABLE x FINAL"}, "c",
			[]want{{sql: "OPTIMIZE TABLE x_local FINAL", scope: oncePerShard}}},
		{"local-only create is replicated, no Distributed", Statement{SQL: "CREATE TABLE IF NOT EXISTS {local:x_new} (a String) ENGINE = MergeTree ORDER BY a", LocalOnly: true}, "c",
			[]want{{sql: "CREATE TABLE IF NOT EXISTS x_new_local (a String) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/db/x_new_local', '{replica}') ORDER BY a"}}},
		{"local-only insert once per shard", Statement{SQL: "INSERT INTO {local:x} (a) SELECT a FROM {local:y}", LocalOnly: true}, "c",
			[]want{{sql: "INSERT INTO x_local (a) SELECT a FROM y_local", scope: oncePerShard}}},
		{"local-only drop on every replica", Statement{SQL: "DROP TABLE IF EXISTS {local:x}", LocalOnly: true}, "c",
			[]want{{sql: "DROP TABLE IF EXISTS x_local"}}},
		{"local-only column alter", Statement{SQL: "ALTER TABLE {local:x} DROP COLUMN b", LocalOnly: true}, "c",
			[]want{{sql: "ALTER TABLE x_local DROP COLUMN b", alterSync: true, tolerant: true}}},
		{"other statements as written", Statement{SQL: "DROP TABLE IF EXISTS x"}, "c",
			[]want{{sql: "DROP TABLE IF EXISTS x"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := clusterRewrite(tc.st, tc.cluster, "db")
			if len(got) != len(tc.want) {
				t.Fatalf("got %d steps %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.sql != w.sql || g.scope != w.scope || g.alterSync != w.alterSync || (g.applied != nil) != w.tolerant {
					t.Errorf("step %d:\n got %q scope %d alterSync %v tolerant %v\nwant %q scope %d alterSync %v tolerant %v",
						i, g.sql, g.scope, g.alterSync, g.applied != nil, w.sql, w.scope, w.alterSync, w.tolerant)
				}
			}
		})
	}
}

func TestClusterColumnAlterTolerance(t *testing.T) {
	add := columnApplied("ALTER TABLE x ADD COLUMN b String")
	if !add(&clickhouse.Exception{Code: 44, Message: "Cannot add column b: column with this name already exists"}) {
		t.Error("18.16's duplicate column answer not recognised")
	}
	if !add(&clickhouse.Exception{Code: 15, Message: "Cannot add column `b`: column with this name already exists"}) {
		t.Error("current versions' duplicate column answer not recognised")
	}
	if add(&clickhouse.Exception{Code: 62, Message: "Syntax error"}) || add(errors.New("already exists")) {
		t.Error("an unrelated error taken for an applied ALTER")
	}
	drop := columnApplied("ALTER TABLE x DROP COLUMN b")
	if !drop(&clickhouse.Exception{Code: 44, Message: "Wrong column name. Cannot find column b to drop"}) {
		t.Error("18.16's missing column answer not recognised")
	}
	if columnApplied("ALTER TABLE x MODIFY COLUMN b UInt8") != nil {
		t.Error("MODIFY COLUMN needs no tolerance")
	}
}

func TestClusterParseShards(t *testing.T) {
	got, err := ParseShards([]string{"a:9000, b:9000", "c:9000"})
	if err != nil || len(got) != 2 || strings.Join(got[0], "|") != "a:9000|b:9000" || strings.Join(got[1], "|") != "c:9000" {
		t.Fatalf("ParseShards = %v, %v", got, err)
	}
	for _, bad := range [][]string{{""}, {" , "}, {"a"}, {"a:1,b"}} {
		if _, err := ParseShards(bad); err == nil {
			t.Errorf("ParseShards(%q): no error", bad)
		}
	}
	db := &DB{}
	if db.Local("x") != "x" {
		t.Error("Local on a single server")
	}
}
