package schemas

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrSchemaNewer means the database was migrated by a newer pipelens: this binary
// would misread it, so it refuses to run.
var ErrSchemaNewer = errors.New("database schema is newer than this pipelens")

// Migration is one versioned .sql file.
type Migration struct {
	Version    int
	Name       string
	Checksum   string
	Statements []Statement
}

// Statement is one SQL statement with the sharding key declared before it.
type Statement struct {
	SQL      string
	ShardKey string
}

// Migrations lists the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and an underscore", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, name, v)
		}
		seen[v] = name
		b, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		out = append(out, Migration{Version: v, Name: name, Checksum: hex.EncodeToString(sum[:8]), Statements: splitStatements(string(b))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

var shardComment = regexp.MustCompile(`^\s*--\s*shard:\s*(.+?)\s*$`)

// splitStatements splits on semicolons that end a line; comments are dropped,
// "-- shard:" comments are kept with the statement they precede.
func splitStatements(src string) []Statement {
	var (
		out   []Statement
		cur   strings.Builder
		shard string
	)
	for _, line := range strings.Split(src, "\n") {
		if m := shardComment.FindStringSubmatch(line); m != nil {
			shard = m[1]
			continue
		}
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			sql := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
			out = append(out, Statement{SQL: sql, ShardKey: shard})
			cur.Reset()
			shard = ""
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, Statement{SQL: s, ShardKey: shard})
	}
	return out
}

// MigrateResult says what Migrate did.
type MigrateResult struct {
	From, To int
	Applied  []string
}

// Migrate applies the embedded migrations not yet recorded, in order, and records
// each in schema_migrations. Running it again changes nothing. In cluster mode it
// runs on every shard: local tables (<name>_local) plus Distributed tables <name>.
func (db *DB) Migrate(ctx context.Context) (MigrateResult, error) {
	ms, err := Migrations()
	if err != nil {
		return MigrateResult{}, err
	}
	if db.Cluster == "" {
		return migrateOne(ctx, db, ms, "")
	}
	if len(db.shards) == 0 {
		return MigrateResult{}, fmt.Errorf("cluster mode (clickhouse.cluster %q) needs clickhouse.shards: the native address of every shard", db.Cluster)
	}
	var res MigrateResult
	for _, addr := range db.shards {
		sdb, err := connect(ctx, withAddr(db, addr), db.Timeout, db.log)
		if err != nil {
			return res, fmt.Errorf("shard %s: %w", addr, err)
		}
		r, err := migrateOne(ctx, sdb, ms, db.Cluster)
		sdb.Conn.Close()
		if err != nil {
			return res, fmt.Errorf("shard %s: %w", addr, err)
		}
		res = r
	}
	return res, nil
}

func withAddr(db *DB, addr string) *optionsCopy {
	o := *db.opts
	o.Addr = []string{addr}
	return &o
}

type optionsCopy = clickhouse.Options

func migrateOne(ctx context.Context, db *DB, ms []Migration, cluster string) (MigrateResult, error) {
	var res MigrateResult
	if err := db.Exec(ctx, "migrate", `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime
) ENGINE = MergeTree ORDER BY version`); err != nil {
		return res, fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[int]string{}
	qctx, cancel := db.Context(ctx, "migrate-read")
	rows, err := db.Conn.Query(qctx, "SELECT version, checksum FROM schema_migrations")
	if err != nil {
		cancel()
		return res, fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			rows.Close()
			cancel()
			return res, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[int(v)] = sum
		if int(v) > res.From {
			res.From = int(v)
		}
	}
	rows.Close()
	cancel()
	known := 0
	for _, m := range ms {
		known = max(known, m.Version)
	}
	if res.From > known {
		return res, fmt.Errorf("%w: database %s is at version %d, this pipelens knows up to %d; upgrade pipelens", ErrSchemaNewer, db.Database, res.From, known)
	}
	res.To = res.From
	for _, m := range ms {
		if sum, ok := applied[m.Version]; ok {
			if sum != m.Checksum {
				db.log.Warn("applied migration differs from the embedded one", "migration", m.Name, "applied", sum, "embedded", m.Checksum)
			}
			continue
		}
		for i, st := range m.Statements {
			for _, sql := range clusterRewrite(st, cluster, db.Database) {
				mctx, cancel := db.ContextTimeout(ctx, "migrate", 5*time.Minute)
				err := db.Conn.Exec(mctx, sql)
				cancel()
				if err != nil {
					return res, fmt.Errorf("migration %s statement %d: %w", m.Name, i+1, err)
				}
			}
		}
		err := db.InsertRows(ctx, "migrate-record", "INSERT INTO schema_migrations (version, name, checksum, applied_at)",
			[]any{uint32(m.Version), m.Name, m.Checksum, time.Now().UTC().Truncate(time.Second)})
		if err != nil {
			return res, fmt.Errorf("record migration %s: %w", m.Name, err)
		}
		res.Applied = append(res.Applied, m.Name)
		res.To = m.Version
	}
	return res, nil
}

var (
	createTable = regexp.MustCompile(`(?is)^\s*CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)`)
	alterTable  = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)`)
)

// clusterRewrite turns one statement into what cluster mode runs on a shard: a
// table becomes <name>_local plus a Distributed <name> over it; an ALTER applies to both.
func clusterRewrite(st Statement, cluster, database string) []string {
	if cluster == "" {
		return []string{st.SQL}
	}
	if m := createTable.FindStringSubmatchIndex(st.SQL); m != nil {
		name := st.SQL[m[2]:m[3]]
		local := st.SQL[:m[2]] + name + "_local" + st.SQL[m[3]:]
		key := st.ShardKey
		if key == "" {
			key = "rand()"
		}
		dist := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s AS %s_local ENGINE = Distributed(%s, %s, %s_local, %s)",
			name, name, quoteString(cluster), quoteString(database), name, key)
		return []string{local, dist}
	}
	if m := alterTable.FindStringSubmatchIndex(st.SQL); m != nil {
		name := st.SQL[m[2]:m[3]]
		local := st.SQL[:m[2]] + name + "_local" + st.SQL[m[3]:]
		return []string{local, st.SQL}
	}
	return []string{st.SQL}
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
