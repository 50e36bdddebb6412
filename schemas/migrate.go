package schemas

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
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
	// LocalOnly: "-- local-only" precedes it. It acts on each shard's local tables,
	// written {local:name} (name_local in cluster mode, name otherwise), and never
	// through a Distributed table.
	LocalOnly bool
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

var (
	shardComment     = regexp.MustCompile(`^\s*--\s*shard:\s*(.+?)\s*$`)
	localOnlyComment = regexp.MustCompile(`^\s*--\s*local-only\s*$`)
)

// splitStatements splits on semicolons that end a line; comments are dropped,
// "-- shard:" and "-- local-only" comments are kept with the statement they precede.
func splitStatements(src string) []Statement {
	var (
		out       []Statement
		cur       strings.Builder
		shard     string
		localOnly bool
	)
	for _, line := range strings.Split(src, "\n") {
		if m := shardComment.FindStringSubmatch(line); m != nil {
			shard = m[1]
			continue
		}
		if localOnlyComment.MatchString(line) {
			localOnly = true
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
			out = append(out, Statement{SQL: sql, ShardKey: shard, LocalOnly: localOnly})
			cur.Reset()
			shard = ""
			localOnly = false
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, Statement{SQL: s, ShardKey: shard, LocalOnly: localOnly})
	}
	return out
}

// MigrateResult says what Migrate did.
type MigrateResult struct {
	From, To int
	Applied  []string
}

// Migrate applies the embedded migrations not yet recorded, in order, and records
// each in schema_migrations. Running it again changes nothing.
//
// In cluster mode it runs on every replica of every shard (clickhouse.shards): each
// table becomes a replicated <name>_local on every replica plus a Distributed
// <name> over the cluster. Each server keeps its own schema_migrations. The
// statements of a migration run in lockstep: each one on every server that needs
// it before the next one, so a replicated table's replicas never disagree on its
// columns. DDL runs on every replica; data changes (INSERT, mutations of local
// tables) once per shard, on its first replica, and replication copies them; an
// INSERT through a Distributed table runs once in all. With a replica down, Migrate
// refuses to change anything; when there is nothing to change on the replicas that
// answer, it succeeds (a service restarts while a replica is down) and logs the
// ones it could not check.
func (db *DB) Migrate(ctx context.Context) (MigrateResult, error) {
	ms, err := Migrations()
	if err != nil {
		return MigrateResult{}, err
	}
	// Several processes may start on one home at once: one migrates, the others
	// wait and find nothing left to do.
	lease, err := db.AcquireLease(ctx, "migrate", time.Minute)
	if err != nil {
		return MigrateResult{}, err
	}
	defer lease.Release(ctx)
	if db.Cluster == "" {
		res, err := migrateServers(ctx, [][]*DB{{db}}, nil, ms, "", db.Database, db.log)
		if err == nil {
			err = db.convertRawEngines(ctx)
		}
		return res, err
	}
	servers, down, closeAll, err := db.openReplicas(ctx)
	if err != nil {
		return MigrateResult{}, fmt.Errorf("migrate cluster %s: %w", db.Cluster, err)
	}
	defer closeAll()
	return migrateServers(ctx, servers, down, ms, db.Cluster, db.Database, db.log)
}

func withAddr(db *DB, addr string) *optionsCopy {
	o := *db.opts
	o.Addr = []string{addr}
	return &o
}

type optionsCopy = clickhouse.Options

// migrationTarget is one server Migrate runs on, with what it already applied.
type migrationTarget struct {
	db      *DB
	shard   int
	applied map[int]string
	top     int
}

// migrateServers runs the migrations on servers, given per shard, one replica
// after another. One server is one shard of one replica: single-server mode takes
// the same path. down lists the replicas that did not answer: with any, nothing
// may be pending.
func migrateServers(ctx context.Context, servers [][]*DB, down []error, ms []Migration, cluster, database string, log *slog.Logger) (MigrateResult, error) {
	var res MigrateResult
	known := 0
	for _, m := range ms {
		known = max(known, m.Version)
	}
	where := func(t *migrationTarget) string {
		if cluster == "" {
			return ""
		}
		return fmt.Sprintf(" on shard %d replica %s", t.shard+1, t.db.Addr())
	}
	var targets []*migrationTarget
	for s, reps := range servers {
		for _, r := range reps {
			t := &migrationTarget{db: r, shard: s}
			if err := readApplied(ctx, t); err != nil {
				return res, fmt.Errorf("%w%s", err, where(t))
			}
			if t.top > known {
				return res, fmt.Errorf("%w: database %s%s is at version %d, this pipelens knows up to %d; upgrade pipelens", ErrSchemaNewer, database, where(t), t.top, known)
			}
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		return res, fmt.Errorf("no server of cluster %s answers: %w", cluster, errors.Join(down...))
	}
	res.From = targets[0].top
	for _, t := range targets {
		res.From = min(res.From, t.top)
	}
	res.To = res.From
	if len(down) > 0 {
		for _, m := range ms {
			for _, t := range targets {
				if _, ok := t.applied[m.Version]; !ok {
					return res, fmt.Errorf("migration %s is pending%s, and every replica must answer to change the schema: %w", m.Name, where(t), errors.Join(down...))
				}
			}
		}
		log.Warn("schema up to date on the replicas that answer; could not check the others", "down", errors.Join(down...).Error())
	}
	for _, m := range ms {
		var pending []*migrationTarget
		shardDone := map[int]bool{}
		anyDone := false
		for _, t := range targets {
			sum, ok := t.applied[m.Version]
			if !ok {
				pending = append(pending, t)
				continue
			}
			shardDone[t.shard], anyDone = true, true
			if sum != m.Checksum {
				log.Warn("applied migration differs from the embedded one", "migration", m.Name, "applied", sum, "embedded", m.Checksum, "server", t.db.Addr())
			}
		}
		if len(pending) == 0 {
			res.To = max(res.To, m.Version)
			continue
		}
		for i, st := range m.Statements {
			for _, step := range clusterRewrite(st, cluster, database) {
				var on []*migrationTarget
				switch step.scope {
				case everyReplica:
					on = pending
				case oncePerShard:
					seen := map[int]bool{}
					for _, t := range pending {
						if !shardDone[t.shard] && !seen[t.shard] {
							seen[t.shard] = true
							on = append(on, t)
						}
					}
				case onceInAll:
					if !anyDone {
						on = pending[:1]
					}
				}
				for _, t := range on {
					if err := runStep(ctx, t.db, step, log); err != nil {
						return res, fmt.Errorf("migration %s statement %d%s: %w", m.Name, i+1, where(t), err)
					}
				}
			}
		}
		for _, t := range pending {
			err := t.db.InsertRows(ctx, "migrate-record", "INSERT INTO schema_migrations (version, name, checksum, applied_at)",
				[]any{uint32(m.Version), m.Name, m.Checksum, time.Now().UTC().Truncate(time.Second)})
			if err != nil {
				return res, fmt.Errorf("record migration %s%s: %w", m.Name, where(t), err)
			}
			t.applied[m.Version] = m.Checksum
		}
		res.Applied = append(res.Applied, m.Name)
		res.To = max(res.To, m.Version)
	}
	return res, nil
}

// readApplied creates schema_migrations if needed (a plain table of each server)
// and reads what the server has applied.
func readApplied(ctx context.Context, t *migrationTarget) error {
	db := t.db
	if err := db.Exec(ctx, "migrate", `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime
) ENGINE = MergeTree ORDER BY version`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	t.applied = map[int]string{}
	qctx, cancel := db.Context(ctx, "migrate-read")
	defer cancel()
	rows, err := db.Conn.Query(qctx, "SELECT version, checksum FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v uint32
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		t.applied[int(v)] = sum
		t.top = max(t.top, int(v))
	}
	return rows.Err()
}

func runStep(ctx context.Context, db *DB, st step, log *slog.Logger) error {
	set := clickhouse.Settings{}
	if st.alterSync {
		// Wait until every replica applied the ALTER (18.16 does by itself; current
		// versions only with this), so the next replica's ALTER sees the new columns.
		set["replication_alter_partitions_sync"] = 2
	}
	if st.dropSync && atomicDrops(db.ServerVersion()) {
		// Atomic databases (20.10 on) drop a table minutes later unless told to wait;
		// a replicated table dropped that way keeps its ZooKeeper path, and a table
		// created again under the name would clash with it.
		set["database_atomic_wait_for_drop_and_detach_synchronously"] = 1
	}
	mctx, cancel := db.ContextTimeout(ctx, "migrate", 5*time.Minute, set)
	err := db.Conn.Exec(mctx, st.sql)
	cancel()
	if err != nil && st.applied != nil && st.applied(err) {
		log.Debug("migration step already applied", "server", db.Addr(), "sql", st.sql, "answer", err)
		return nil
	}
	return err
}

// atomicDrops says whether a server of version v (e.g. "24.8.1") has Atomic
// databases and their delayed DROP.
func atomicDrops(v string) bool {
	f := strings.SplitN(v, ".", 3)
	if len(f) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(f[0])
	minor, err2 := strconv.Atoi(f[1])
	return err1 == nil && err2 == nil && (major > 20 || major == 20 && minor >= 10)
}

// stepScope says on which servers of the cluster a step runs.
type stepScope int

const (
	// everyReplica: DDL, which changes one server's own metadata.
	everyReplica stepScope = iota
	// oncePerShard: data and mutations of a shard's local tables, on one replica;
	// replication brings them to the others.
	oncePerShard
	// onceInAll: through a Distributed table, which reaches every shard itself.
	onceInAll
)

// step is one statement as a server runs it.
type step struct {
	sql   string
	scope stepScope
	// alterSync: an ALTER of a replicated table; wait for every replica.
	alterSync bool
	// dropSync: a DROP; make current versions drop at once.
	dropSync bool
	// applied reports whether an error means the step had been applied already
	// (a column ALTER that replication or an earlier, interrupted run did).
	applied func(error) bool
}

var (
	createTable   = regexp.MustCompile(`(?is)^\s*CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)`)
	alterTable    = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\s+`)
	alterColumn   = regexp.MustCompile(`(?is)^(ADD|DROP|MODIFY|COMMENT|RENAME)\s+COLUMN\b`)
	addColumn     = regexp.MustCompile(`(?is)\bADD\s+COLUMN\b`)
	dropColumn    = regexp.MustCompile(`(?is)\bDROP\s+COLUMN\b`)
	tableOp       = regexp.MustCompile(`(?is)^\s*(OPTIMIZE|TRUNCATE)\s+TABLE\s+(?:IF\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)`)
	insertInto    = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\b`)
	dropTable     = regexp.MustCompile(`(?is)^\s*DROP\s+TABLE\b`)
	localRef      = regexp.MustCompile(`\{local:([A-Za-z_][A-Za-z0-9_]*)\}`)
	mergeTreeKind = regexp.MustCompile(`(?is)\bENGINE\s*=\s*(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing|Graphite)?MergeTree\b(\s*\(((?:[^()]|\([^()]*\))*)\))?`)
)

// clusterRewrite turns one statement into what each server runs. Without a
// cluster that is the statement itself ({local:name} → name). In cluster mode:
//
//   - CREATE TABLE IF NOT EXISTS x ... ENGINE = <Kind>MergeTree(args): a local
//     x_local with ENGINE = Replicated<Kind>MergeTree('/clickhouse/tables/{shard}/
//     <database>/x_local', '{replica}', args), plus CREATE TABLE x AS x_local ENGINE
//     = Distributed(cluster, database, x_local, <the "-- shard:" key, else rand()>),
//     both on every replica;
//   - ALTER TABLE x of columns: on x_local and on x, on every replica;
//     other ALTERs of x (UPDATE, DELETE, partitions): on x_local, once per shard;
//   - OPTIMIZE/TRUNCATE TABLE x: on x_local, once per shard;
//   - INSERT INTO x: once, through the Distributed table;
//   - anything else: as written, on every replica.
//
// A local-only statement (written with {local:name}, → name_local) is not split:
// a CREATE of a MergeTree-family table gets the replicated engine, and it runs on
// every replica when it is DDL, once per shard when it changes data.
func clusterRewrite(st Statement, cluster, database string) []step {
	if cluster == "" {
		sql := localRef.ReplaceAllString(st.SQL, "$1")
		return []step{{sql: sql, scope: everyReplica, dropSync: dropTable.MatchString(sql), applied: columnApplied(sql)}}
	}
	sql := localRef.ReplaceAllString(st.SQL, "${1}_local")
	if st.LocalOnly {
		if m := createTable.FindStringSubmatch(sql); m != nil {
			return []step{{sql: replicatedEngine(sql, database, m[1]), scope: everyReplica}}
		}
		if m := alterTable.FindStringSubmatchIndex(sql); m != nil {
			if alterColumn.MatchString(sql[m[1]:]) {
				return []step{{sql: sql, scope: everyReplica, alterSync: true, applied: columnApplied(sql)}}
			}
			return []step{{sql: sql, scope: oncePerShard}}
		}
		if insertInto.MatchString(sql) || tableOp.MatchString(sql) {
			return []step{{sql: sql, scope: oncePerShard}}
		}
		return []step{{sql: sql, scope: everyReplica, dropSync: dropTable.MatchString(sql)}}
	}
	if m := createTable.FindStringSubmatchIndex(sql); m != nil {
		name := sql[m[2]:m[3]]
		local := sql[:m[2]] + name + "_local" + sql[m[3]:]
		key := st.ShardKey
		if key == "" {
			key = "rand()"
		}
		dist := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s AS %s_local ENGINE = Distributed(%s, %s, %s_local, %s)",
			name, name, quoteString(cluster), quoteString(database), name, key)
		return []step{
			{sql: replicatedEngine(local, database, name+"_local"), scope: everyReplica},
			{sql: dist, scope: everyReplica},
		}
	}
	if m := alterTable.FindStringSubmatchIndex(sql); m != nil {
		name := sql[m[2]:m[3]]
		local := sql[:m[2]] + name + "_local" + sql[m[3]:]
		if alterColumn.MatchString(sql[m[1]:]) {
			return []step{
				{sql: local, scope: everyReplica, alterSync: true, applied: columnApplied(sql)},
				{sql: sql, scope: everyReplica, applied: columnApplied(sql)},
			}
		}
		return []step{{sql: local, scope: oncePerShard}}
	}
	if m := tableOp.FindStringSubmatchIndex(sql); m != nil {
		return []step{{sql: sql[:m[5]] + "_local" + sql[m[5]:], scope: oncePerShard}}
	}
	if insertInto.MatchString(sql) {
		return []step{{sql: sql, scope: onceInAll}}
	}
	return []step{{sql: sql, scope: everyReplica, dropSync: dropTable.MatchString(sql)}}
}

// replicatedEngine gives a CREATE of a MergeTree-family table the replicated
// engine of its kind, its replicas at /clickhouse/tables/{shard}/<database>/<table>
// in ZooKeeper. Old-style engine arguments are kept after the path and replica.
func replicatedEngine(sql, database, table string) string {
	m := mergeTreeKind.FindStringSubmatchIndex(sql)
	if m == nil {
		return sql
	}
	kind := ""
	if m[2] >= 0 {
		kind = sql[m[2]:m[3]]
	}
	args := []string{quoteString("/clickhouse/tables/{shard}/" + database + "/" + table), quoteString("{replica}")}
	if m[6] >= 0 {
		if a := strings.TrimSpace(sql[m[6]:m[7]]); a != "" {
			args = append(args, a)
		}
	}
	return sql[:m[0]] + "ENGINE = Replicated" + kind + "MergeTree(" + strings.Join(args, ", ") + ")" + sql[m[1]:]
}

// columnApplied recognises the answers to a column ALTER that was applied
// already: by replication from another replica, or by an earlier run that stopped
// before recording the migration. 18.16 has no ADD COLUMN IF NOT EXISTS.
func columnApplied(sql string) func(error) bool {
	add, drop := addColumn.MatchString(sql), dropColumn.MatchString(sql)
	if !add && !drop {
		return nil
	}
	return func(err error) bool {
		var ex *clickhouse.Exception
		if !errors.As(err, &ex) {
			return false
		}
		msg := strings.ToLower(ex.Message)
		return add && strings.Contains(msg, "already exists") ||
			drop && (strings.Contains(msg, "cannot find column") || strings.Contains(msg, "there is no column"))
	}
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
