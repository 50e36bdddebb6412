package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

// Errors a caller can tell apart (the HTTP layer maps them to status codes).
var (
	ErrNoHeader        = errors.New("no header row")
	ErrNoSheet         = errors.New("no such sheet")
	ErrUnknownLayout   = errors.New("no profile recognises the columns")
	ErrAmbiguousLayout = errors.New("more than one profile fits the columns equally well")
	ErrMissingColumn   = errors.New("a required column is missing")
	ErrRejectThreshold = errors.New("too many rows rejected")
	ErrNotFound        = errors.New("no such import run")
	ErrTooLarge        = errors.New("upload too large")
	ErrAbandoned       = errors.New("the loading process stopped before the run finished")
	// ErrMalformed: the reader could not prove it read the whole file (cut short,
	// corrupt, or not what its format says); the run fails, nothing is stored.
	ErrMalformed = errors.New("the file is cut short or malformed")
	// ErrExpandLimit: a part of a workbook decompresses to more than the limit
	// (see "Hostile files" in the package doc).
	ErrExpandLimit = errors.New("a workbook part expands past the limit")
)

// Run states in ingest_runs (see schemas/runs.go): running while rows go in,
// loaded when all are in, committed once a publication made them visible.
const (
	StatusRunning   = schemas.RunRunning
	StatusLoaded    = schemas.RunLoaded
	StatusCommitted = schemas.RunCommitted
	StatusFailed    = schemas.RunFailed
	StatusDuplicate = schemas.RunDuplicate
)

// Options configure a Service.
// Currency is the reporting currency and what other currencies convert to it
// at (units of Reporting per unit).
type Currency struct {
	Reporting string
	Rates     map[string]float64

	monthly map[string]bool // currencies with monthly rates loaded (fx_rates)
}

// known says whether amounts in code can be reported: no reporting currency
// set, no code, the reporting currency itself, or a currency with a rate.
func (c Currency) known(code string) bool {
	code = strings.ToUpper(code)
	return c.Reporting == "" || code == "" || code == strings.ToUpper(c.Reporting) || c.Rates[code] > 0 || c.Rates[strings.ToLower(code)] > 0 || c.monthly[code]
}

// withLoadedRates adds the currencies committed loads gave monthly rates.
func (s *Service) withLoadedRates(ctx context.Context, c Currency) (Currency, error) {
	if c.Reporting == "" {
		return c, nil
	}
	qctx, cancel := s.db.Context(ctx, "fx-currencies")
	defer cancel()
	rows, err := s.db.Conn.Query(qctx, "SELECT DISTINCT upper(currency) FROM fx_rates WHERE rate > 0 AND run_id IN "+
		"(SELECT run_id FROM ingest_runs GROUP BY run_id HAVING argMax(status, updated_ns) = 'committed')")
	if err != nil {
		return c, fmt.Errorf("read the currencies with exchange rates: %w", err)
	}
	defer rows.Close()
	c.monthly = map[string]bool{}
	for rows.Next() {
		var code string
		if err := rows.Scan(&code); err != nil {
			return c, err
		}
		c.monthly[code] = true
	}
	return c, rows.Err()
}

type Options struct {
	// RejectThreshold is the share of rejected rows (0..1) above which a run fails as
	// a whole (config ingest.reject_threshold); nil means the default 0.05, and 0
	// allows no rejected row.
	RejectThreshold *float64
	// Mappings are mapping files for layouts no built-in profile knows (ingest.mappings).
	Mappings []string
	// Location is the business time zone: export times without a zone are read in it.
	// DateTime columns are stored in UTC. Default UTC.
	Location *time.Location
	// Progress, if set, is called as a file loads (from one goroutine at a time).
	Progress func(Progress)
	// ChunkRows is the rows per Arrow record batch and per native block sent
	// (default 16384: small enough that the batches in flight stay a few MB).
	ChunkRows int
	// InsertRows ends an INSERT statement once it holds this many rows (default
	// 262144); its blocks stream in until then. The server writes an INSERT's
	// part when the INSERT ends, so smaller INSERTs let it write parts while the
	// file is still being mapped instead of all at the end (1048576 rows left a
	// 0.9-1.7 s tail on a 1M-row file), at the price of more parts to merge.
	InsertRows int
	// Workers map chunks in parallel (default: the number of CPUs, at least 2).
	Workers int
	// StaleAfter: a running run not heard from for this long is abandoned (default 10m).
	StaleAfter time.Duration
	// Currency is the reporting currency and its rates (config currency): with
	// Reporting set, a row in another currency without a rate is rejected
	// (no_fx_rate), so no amount is summed unconverted.
	Currency Currency
	// MaxUploadBytes bounds LoadReader: ingest.max_upload_mb, filled in by the
	// caller (default config.DefaultMaxUploadBytes, the config's own default).
	MaxUploadBytes int64
	// SpoolDir holds uploads while they load (default os.TempDir()).
	SpoolDir string
	// WatchInterval is how often Watch looks at the folder (default 2s).
	WatchInterval time.Duration
	// Publish makes loaded runs visible (query.Service.Publish, wired by the
	// binary: ingest never imports query). A load calls it after its rows are in;
	// without it a run stays loaded, invisible, until some process publishes.
	Publish func(ctx context.Context) error

	inserters int // goroutines sending blocks (default 2); for benchmarks
}

// LoadOptions are per load.
type LoadOptions struct {
	// Source forces a profile (see Profiles) instead of detecting it from the header.
	Source string
	// Sheet names the XLSX sheet (default: the first).
	Sheet string
	// SnapshotDate is the export date of an opportunity export (default: the file's
	// modification date, or today for uploads).
	SnapshotDate time.Time
	// DateOrder forces "dmy" or "mdy" for dates like 03/04/2024.
	DateOrder string
	// Stages maps more vendor stage names to canonical stages.
	Stages map[string]string

	runID    uint64         // allocated by Submit before the load starts
	progress func(Progress) // per load, beside Options.Progress
}

// Progress is a load's progress.
type Progress struct {
	File  string `json:"file"`
	Bytes int64  `json:"bytes"` // input bytes read (0 when the format does not tell)
	Total int64  `json:"total"` // file size
	Rows  int64  `json:"rows"`
	Done  bool   `json:"done"`
}

// Service loads exports into ClickHouse. It is safe for concurrent use.
type Service struct {
	db       *schemas.DB
	opts     Options
	log      *slog.Logger
	mappings []*profile
	mapErr   error
	lastID   atomic.Uint64
	host     string
	jobs     sync.Map // run id → *Job, uploads of this process
	running  sync.WaitGroup
}

// active holds the run ids this process is loading, so that recovery never takes a
// live run of this process for a crashed one.
var active sync.Map

// New returns a Service over db (migrated).
func New(db *schemas.DB, opts Options, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	if opts.RejectThreshold == nil {
		t := config.DefaultRejectThreshold
		opts.RejectThreshold = &t
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = 16384
	}
	if opts.InsertRows <= 0 {
		opts.InsertRows = 1 << 18
	}
	if opts.inserters <= 0 {
		opts.inserters = 2
	}
	if opts.Workers <= 0 {
		opts.Workers = max(2, runtime.NumCPU())
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 10 * time.Minute
	}
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = config.DefaultMaxUploadBytes
	}
	if opts.WatchInterval <= 0 {
		opts.WatchInterval = 2 * time.Second
	}
	s := &Service{db: db, opts: opts, log: log}
	s.host, _ = os.Hostname()
	for _, f := range opts.Mappings {
		m, err := LoadMapping(f)
		if err != nil {
			s.mapErr = errors.Join(s.mapErr, err)
			continue
		}
		s.mappings = append(s.mappings, m.profile())
	}
	return s
}

// CommittedRunsSQL is a subquery of the runs whose rows count: a raw row is visible
// to metrics only when `run_id IN (CommittedRunsSQL())`.
func CommittedRunsSQL() string {
	return schemas.CommittedRunIDs
}

func (s *Service) nextRunID() uint64 {
	for {
		last := s.lastID.Load()
		id := uint64(time.Now().UnixNano())
		if id <= last {
			id = last + 1
		}
		if s.lastID.CompareAndSwap(last, id) {
			return id
		}
	}
}

// LoadFiles loads each file in turn; the report covers all. The error is the first
// file's error, the others are in the report.
func (s *Service) LoadFiles(ctx context.Context, paths []string, o LoadOptions) (*Report, error) {
	rep := &Report{}
	var first error
	for _, p := range paths {
		r, err := s.loadFile(ctx, p, o)
		if r != nil {
			rep.add(r.Files...)
		}
		if err != nil && first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	// One publication for all the files: they become visible together, and the
	// serving tables are updated once.
	if err := s.publishReport(ctx, rep); err != nil && first == nil {
		first = err
	}
	return rep, first
}

// LoadFile loads one export and publishes it. A file whose content was already
// loaded adds nothing (status duplicate). A run that fails leaves none of its
// rows visible.
func (s *Service) LoadFile(ctx context.Context, path string, o LoadOptions) (*Report, error) {
	rep, err := s.loadFile(ctx, path, o)
	if err != nil || rep == nil {
		return rep, err
	}
	return rep, s.publishReport(ctx, rep)
}

// publishReport publishes the loaded files of rep and updates their states.
func (s *Service) publishReport(ctx context.Context, rep *Report) error {
	var loaded []*FileReport
	pending := false
	for i := range rep.Files {
		switch rep.Files[i].Status {
		case StatusLoaded:
			loaded = append(loaded, &rep.Files[i])
			pending = true
		case StatusDuplicate:
			// Its twin may be loaded and unpublished (its process died): publish.
			pending = true
		}
	}
	if !pending {
		return nil
	}
	err := s.publish(ctx, loaded...)
	rep.recount()
	return err
}

func (s *Service) loadFile(ctx context.Context, path string, o LoadOptions) (*Report, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if o.SnapshotDate.IsZero() {
		o.SnapshotDate = st.ModTime()
	}
	return s.load(ctx, path, filepath.Base(path), st.Size(), o)
}

// LoadReader loads an upload named name (its extension helps pick the reader). It is
// spooled to disk first, up to Options.MaxUploadBytes.
func (s *Service) LoadReader(ctx context.Context, name string, r io.Reader, o LoadOptions) (*Report, error) {
	job, err := s.Submit(ctx, ctx, name, r, o)
	if err != nil {
		return nil, err
	}
	<-job.Done()
	return job.Result()
}

// Wait returns when every load Submit started has ended (cancel their context
// first to end them early).
func (s *Service) Wait() { s.running.Wait() }

// Job is a load running in the background (an upload): its run id is known at
// once, its progress while it runs, its report when it ends.
type Job struct {
	RunID uint64
	done  chan struct{}
	rep   *Report
	err   error

	mu   sync.Mutex
	last Progress
}

// Done is closed when the load (and its publication) ended.
func (j *Job) Done() <-chan struct{} { return j.done }

// Result is the report and error of a finished job.
func (j *Job) Result() (*Report, error) { return j.rep, j.err }

// Progress is the job's latest progress.
func (j *Job) Progress() Progress {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.last
}

// Submit spools an upload named name (its extension helps pick the reader) to
// disk, up to Options.MaxUploadBytes, within ctx, then loads and publishes it in
// the background under bg (which a server cancels when it stops): the caller
// answers with the run id at once. Run reports its progress meanwhile.
func (s *Service) Submit(ctx, bg context.Context, name string, r io.Reader, o LoadOptions) (*Job, error) {
	f, err := os.CreateTemp(s.opts.SpoolDir, "pipelens-upload-*"+filepath.Ext(name))
	if err != nil {
		return nil, fmt.Errorf("spool upload %s: %w", name, err)
	}
	n, err := io.Copy(f, io.LimitReader(r, s.opts.MaxUploadBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > s.opts.MaxUploadBytes {
		err = fmt.Errorf("upload %s: %w (limit %d bytes)", name, ErrTooLarge, s.opts.MaxUploadBytes)
	} else if err == nil {
		err = ctx.Err()
	} else {
		err = fmt.Errorf("spool upload %s: %w", name, err)
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	if o.SnapshotDate.IsZero() {
		o.SnapshotDate = time.Now()
	}
	job := &Job{RunID: s.nextRunID(), done: make(chan struct{})}
	o.runID = job.RunID
	o.progress = func(p Progress) {
		job.mu.Lock()
		job.last = p
		job.mu.Unlock()
	}
	s.jobs.Store(job.RunID, job)
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		defer close(job.done)
		defer os.Remove(f.Name())
		rep, err := s.load(bg, f.Name(), filepath.Base(name), n, o)
		if err == nil && rep != nil {
			err = s.publishReport(bg, rep)
		}
		job.rep, job.err = rep, err
		// Run reads the stored run from now on.
		time.AfterFunc(time.Minute, func() { s.jobs.Delete(job.RunID) })
	}()
	return job, nil
}

func fileChecksum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (s *Service) load(ctx context.Context, path, name string, size int64, o LoadOptions) (*Report, error) {
	start := time.Now()
	if err := s.Recover(ctx); err != nil {
		s.log.Warn("recover abandoned ingest runs", "err", err)
	}
	id := o.runID
	if id == 0 {
		id = s.nextRunID()
	}
	fr := &FileReport{File: name, RunID: id, Status: StatusRunning, StartedAt: start.UTC(), RejectsByReason: map[string]int64{},
		Tables: map[string]int64{}, Host: s.host, PID: os.Getpid()}
	active.Store(fr.RunID, true)
	defer active.Delete(fr.RunID)
	rep := &Report{}
	finish := func(err error) (*Report, error) {
		fr.DurationMS = time.Since(start).Milliseconds()
		if err != nil && fr.Error == "" {
			fr.Error = errorText(err.Error())
		}
		rep.add(*fr)
		return rep, err
	}
	sum, err := fileChecksum(path)
	if err != nil {
		fr.Status = StatusFailed
		return finish(fmt.Errorf("load %s: %w", name, err))
	}
	if o.Sheet != "" {
		// Another sheet of the same workbook is other content.
		sum += ":" + o.Sheet
	}
	fr.Checksum = sum
	if s.mapErr != nil {
		fr.Status = StatusFailed
		return finish(s.mapErr)
	}
	if prev, err := s.committedChecksum(ctx, sum); err != nil {
		fr.Status = StatusFailed
		return finish(fmt.Errorf("load %s: look up earlier loads: %w", name, err))
	} else if prev != nil {
		fr.Status, fr.DuplicateOf, fr.Profile, fr.Table = StatusDuplicate, prev.RunID, prev.Profile, prev.Table
		fr.Read = prev.Read
		fr.DurationMS = time.Since(start).Milliseconds()
		return finish(s.writeRun(context.WithoutCancel(ctx), fr))
	}
	if err := s.writeRun(ctx, fr); err != nil {
		fr.Status = StatusFailed
		return finish(fmt.Errorf("load %s: record run: %w", name, err))
	}
	written, err := s.loadRows(ctx, path, name, size, o, fr)
	if err == nil {
		schemas.FaultPoint("ingest-inserted")
	}
	if n := fr.RejectsByReason[reasonNotCorporate]; err == nil && n > 0 {
		// One such row means every rate of the file is relative to another
		// currency: none of them may load, whatever the threshold.
		err = fmt.Errorf("load %s: %d rows %s: the rates are relative to the org's corporate currency, not to the reporting currency %s; set currency.reporting to the corporate currency",
			name, n, reasonNotCorporate, s.opts.Currency.Reporting)
	}
	if err == nil && fr.Read > 0 && float64(fr.Rejected)/float64(fr.Read) > *s.opts.RejectThreshold {
		err = fmt.Errorf("load %s: %w: %d of %d rows (%.1f%%, threshold %.1f%%)", name, ErrRejectThreshold, fr.Rejected, fr.Read,
			100*float64(fr.Rejected)/float64(fr.Read), 100**s.opts.RejectThreshold)
	}
	fr.DurationMS = time.Since(start).Milliseconds()
	bg := context.WithoutCancel(ctx)
	if err != nil {
		fr.Status, fr.Error = StatusFailed, errorText(err.Error())
		if ctx.Err() != nil {
			fr.Error = errorText("cancelled: " + err.Error())
		}
		if derr := s.discard(bg, fr.RunID, written); derr != nil {
			s.log.Error("discard rows of failed run", "run_id", fr.RunID, "err", derr)
		}
		if werr := s.writeRun(bg, fr); werr != nil {
			s.log.Error("record failed run", "run_id", fr.RunID, "err", werr)
		}
		return finish(err)
	}
	fr.Status = StatusLoaded
	if err := s.writeRun(bg, fr); err != nil {
		// The rows stay invisible: the run never reached loaded. Recovery removes them.
		fr.Status = StatusFailed
		return finish(fmt.Errorf("load %s: record loaded run: %w", name, err))
	}
	schemas.FaultPoint("ingest-loaded")
	s.log.Info("ingest run loaded", "file", name, "run_id", fr.RunID, "profile", fr.Profile, "loaded", fr.Loaded, "rejected", fr.Rejected, "ms", fr.DurationMS)
	return finish(nil)
}

// publish makes the loaded run visible through Options.Publish and reads back
// what became of it: committed, or duplicate when a run of the same content was
// published first (two loads of one file at once).
func (s *Service) publish(ctx context.Context, frs ...*FileReport) error {
	if s.opts.Publish == nil {
		return nil
	}
	if err := s.opts.Publish(ctx); err != nil {
		// The runs stay loaded: the next publication by any process takes them.
		var errs error
		for _, fr := range frs {
			fr.Error = "loaded, not yet visible: publish: " + err.Error()
			errs = errors.Join(errs, fmt.Errorf("load %s: rows loaded as run %d, not yet visible: publish: %w", fr.File, fr.RunID, err))
		}
		return errs
	}
	for _, fr := range frs {
		st, dupOf, err := s.runState(context.WithoutCancel(ctx), fr)
		if err != nil {
			return fmt.Errorf("load %s: read run %d: %w", fr.File, fr.RunID, err)
		}
		fr.Status = st
		if st == StatusDuplicate {
			fr.DuplicateOf = dupOf
		}
	}
	return nil
}

// runState reads a run's state: committed when a publication lists it, else its
// last recorded state; for a duplicate, the committed run of the same content.
func (s *Service) runState(ctx context.Context, fr *FileReport) (string, uint64, error) {
	got, found, err := s.readRun(ctx, fr.RunID)
	if err != nil || !found {
		return fr.Status, 0, err
	}
	if got.Status != StatusDuplicate {
		return got.Status, 0, nil
	}
	prev, err := s.committedChecksum(ctx, fr.Checksum)
	if err != nil || prev == nil {
		return got.Status, 0, err
	}
	return got.Status, prev.RunID, nil
}

// committedChecksum returns the report of a committed or loaded (soon
// published) run of the same content.
func (s *Service) committedChecksum(ctx context.Context, sum string) (*FileReport, error) {
	cctx, cancel := s.db.Context(ctx, "ingest-dedup")
	defer cancel()
	rows, err := s.db.Conn.Query(cctx, `SELECT run_id, argMax(report, updated_ns) FROM ingest_runs
		GROUP BY run_id HAVING argMax(status, updated_ns) IN ('loaded', 'committed') AND argMax(checksum, updated_ns) = ? ORDER BY run_id LIMIT 1`, sum)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id uint64
		var rep string
		if err := rows.Scan(&id, &rep); err != nil {
			return nil, err
		}
		fr := &FileReport{}
		_ = json.Unmarshal([]byte(rep), fr)
		fr.RunID = id
		return fr, nil
	}
	return nil, rows.Err()
}

// writeRun appends the run's current state to ingest_runs.
func (s *Service) writeRun(ctx context.Context, fr *FileReport) error {
	// Errors and file names come from files and may quote them: bounded, valid text.
	fr.Error = errorText(fr.Error)
	fr.File = escapeInvalid(fr.File)
	rep, _ := json.Marshal(fr)
	finished := time.Unix(0, 0).UTC()
	if fr.Status != StatusRunning {
		finished = time.Now().UTC()
	}
	return s.db.InsertRows(ctx, "ingest-run", `INSERT INTO ingest_runs (run_id, file, checksum, profile, kind, status, rows_read, rows_loaded,
		rows_rejected, error, report, started_at, finished_at, updated_ns)`,
		[]any{fr.RunID, fr.File, fr.Checksum, fr.Profile, fr.Table, fr.Status, uint64(fr.Read), uint64(fr.Loaded), uint64(fr.Rejected),
			fr.Error, string(rep), fr.StartedAt, finished, uint64(time.Now().UnixNano())})
}

// dataTables are the tables that carry run_id rows.
var dataTables = []*table{tAccounts, tReps, tOpps, tSnaps, tEvents, tLeads, tActs, tTargets, tMarket, tFx, tLinks}

// discard deletes a run's rows (a mutation on each shard's local tables: they
// vanish in the background, and are invisible at once because no publication
// ever lists a failed run).
func (s *Service) discard(ctx context.Context, runID uint64, tables []*table) error {
	if tables == nil {
		tables = dataTables
	}
	return s.db.EachShard(ctx, func(ctx context.Context, sh *schemas.DB) error {
		var errs error
		for _, t := range tables {
			if err := sh.Exec(ctx, "ingest-discard", fmt.Sprintf("ALTER TABLE %s DELETE WHERE run_id = %d", sh.Local(t.name), runID)); err != nil {
				errs = errors.Join(errs, fmt.Errorf("delete rows of run %d from %s: %w", runID, t.name, err))
			}
		}
		return errs
	})
}

// Recover finds runs left running by a process that is gone (same host, dead pid)
// or silent for longer than StaleAfter, deletes their rows and marks them failed.
// Loads call it first; a server may call it at start-up.
func (s *Service) Recover(ctx context.Context) error {
	// In cluster mode a replica may not have the latest state rows yet, and a
	// finished run of this very process would look abandoned.
	if err := s.db.SyncReplicas(ctx, "ingest_runs"); err != nil {
		return err
	}
	cctx, cancel := s.db.Context(ctx, "ingest-recover")
	defer cancel()
	rows, err := s.db.Conn.Query(cctx, `SELECT run_id, argMax(report, updated_ns), max(updated_ns) FROM ingest_runs
		GROUP BY run_id HAVING argMax(status, updated_ns) = 'running'`)
	if err != nil {
		return err
	}
	type stale struct {
		fr FileReport
	}
	var found []stale
	for rows.Next() {
		var id, upd uint64
		var rep string
		if err := rows.Scan(&id, &rep, &upd); err != nil {
			rows.Close()
			return err
		}
		if _, live := active.Load(id); live {
			continue
		}
		var fr FileReport
		_ = json.Unmarshal([]byte(rep), &fr)
		fr.RunID = id
		gone := fr.Host == s.host && (fr.PID == os.Getpid() || !processAlive(fr.PID))
		silent := time.Since(time.Unix(0, int64(upd))) > s.opts.StaleAfter
		if gone || silent {
			found = append(found, stale{fr})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var errs error
	for _, st := range found {
		fr := st.fr
		s.log.Warn("cleaning up abandoned ingest run", "run_id", fr.RunID, "file", fr.File)
		if err := s.discard(ctx, fr.RunID, nil); err != nil {
			errs = errors.Join(errs, err)
			continue
		}
		fr.Status, fr.Error = StatusFailed, ErrAbandoned.Error()
		errs = errors.Join(errs, s.writeRun(ctx, &fr))
	}
	return errs
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// readRun reads a run's latest report with its state: committed when a
// publication lists it (whatever its last recorded state says).
func (s *Service) readRun(ctx context.Context, id uint64) (FileReport, bool, error) {
	cctx, cancel := s.db.Context(ctx, "ingest-report")
	defer cancel()
	rows, err := s.db.Conn.Query(cctx, `SELECT argMax(report, updated_ns), argMax(status, updated_ns), run_id GLOBAL IN (`+schemas.CommittedRunIDs+`)
		FROM ingest_runs WHERE run_id = ? GROUP BY run_id`, id)
	if err != nil {
		return FileReport{}, false, err
	}
	defer rows.Close()
	var fr FileReport
	if !rows.Next() {
		return fr, false, rows.Err()
	}
	var rep string
	var published uint8
	if err := rows.Scan(&rep, &fr.Status, &published); err != nil {
		return fr, false, err
	}
	status := fr.Status
	if err := json.Unmarshal([]byte(rep), &fr); err != nil {
		return fr, false, fmt.Errorf("run %d: read report: %w", id, err)
	}
	fr.RunID, fr.Status = id, status
	if published == 1 {
		fr.Status = StatusCommitted
	}
	return fr, true, nil
}

// Run returns the report of run id (GET /api/v1/imports/{id}).
func (s *Service) Run(ctx context.Context, id uint64) (*Report, error) {
	var job *Job
	if j, ok := s.jobs.Load(id); ok {
		job = j.(*Job)
		select {
		case <-job.done:
			if rep, _ := job.Result(); rep != nil && len(rep.Files) > 0 {
				return rep, nil
			}
		default:
		}
	}
	fr, found, err := s.readRun(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case !found && job == nil:
		return nil, fmt.Errorf("run %d: %w", id, ErrNotFound)
	case !found:
		fr.Status = StatusRunning // spooled, not started yet
	}
	fr.RunID = id
	if job != nil && fr.Status == StatusRunning {
		p := job.Progress()
		fr.Progress = &p
	}
	r := &Report{}
	r.add(fr)
	return r, nil
}

// Detection is how a file's layout was chosen: the profile's score and the
// runner-up's (0 when forced with --source or nothing else fits).
type Detection struct {
	Score         int    `json:"score"`
	RunnerUp      string `json:"runner_up,omitempty"`
	RunnerUpScore int    `json:"runner_up_score,omitempty"`
}

// detect picks the profile for a header: the forced one, or the best score.
func (s *Service) detect(hdr *header, source string) (*profile, Detection, error) {
	all := append(append([]*profile{}, s.mappings...), builtinProfiles()...)
	if source != "" {
		var cands []*profile
		for _, p := range all {
			if p.name == source || strings.TrimPrefix(p.name, "mapping:") == source || strings.HasPrefix(p.name, source+"-") || strings.HasPrefix(p.name, source+":") {
				cands = append(cands, p)
			}
		}
		if len(cands) == 0 {
			return nil, Detection{}, fmt.Errorf("source %q: %w (known: %s)", source, ErrUnknownLayout, strings.Join(Profiles(), ", "))
		}
		if len(cands) == 1 {
			return cands[0], Detection{}, nil
		}
		all = cands
	}
	var best, second *profile
	var d Detection
	for _, p := range all {
		switch sc := p.detect(hdr); {
		case sc > d.Score:
			second, d.RunnerUpScore = best, d.Score
			best, d.Score = p, sc
		case sc > d.RunnerUpScore:
			second, d.RunnerUpScore = p, sc
		}
	}
	if second != nil {
		d.RunnerUp = second.name
	}
	if best != nil && d.RunnerUpScore == d.Score {
		// Never a silent pick between layouts that fit equally well.
		return nil, d, fmt.Errorf("columns %s: %w: %s and %s both match (score %d); name the layout with --source %s or --source %s",
			listNames(hdr.raw), ErrAmbiguousLayout, best.name, second.name, d.Score, best.name, second.name)
	}
	if best == nil {
		if source != "" {
			// Never a silent pick within a family (canonical:opportunities'
			// columns read as accounts): say which layouts were tried.
			var names []string
			for _, p := range all {
				names = append(names, p.name)
			}
			return nil, d, fmt.Errorf("columns %s: %w: no layout of source %q fits (%s); name one with --source or fix the header",
				listNames(hdr.raw), ErrUnknownLayout, source, strings.Join(names, ", "))
		}
		return nil, d, fmt.Errorf("columns %s: %w; name the source with --source or add a mapping file", listNames(hdr.raw), ErrUnknownLayout)
	}
	if best.refuse != "" {
		return nil, d, fmt.Errorf("columns %s: %w: %s", listNames(hdr.raw), ErrUnknownLayout, best.refuse)
	}
	return best, d, nil
}

type insertJob struct {
	t    *table
	rec  arrow.Record
	free func() // releases rec and recycles its buffers
}

// insertBundle is what the mappers made of one chunk, seq in file order: each
// inserter takes every nth chunk, in order (see pipeline).
type insertBundle struct {
	seq  int
	jobs []insertJob
}

// loadRows reads, maps and inserts the file's rows under fr.RunID. It returns the
// tables it may have written to.
func (s *Service) loadRows(ctx context.Context, path, name string, size int64, o LoadOptions, fr *FileReport) ([]*table, error) {
	written, p, err := s.loadPass(ctx, path, name, size, o, fr, nil)
	if err != nil || p == nil || len(p.dupKeys) == 0 {
		return written, err
	}
	// Keys repeat: load again, the later rows winning (latestdup.go). The first
	// pass's rejects stay recorded; its rows go.
	if err := s.discardWait(context.WithoutCancel(ctx), fr.RunID, written); err != nil {
		return written, fmt.Errorf("load %s: discard the first pass over repeated keys: %w", name, err)
	}
	fr.RejectsByReason, fr.SampleRejects, fr.Warnings = map[string]int64{}, nil, nil
	written, _, err = s.loadPass(ctx, path, name, size, o, fr, p)
	return written, err
}

// loadPass reads the file once into the run's rows. prev is the first pass of a
// file whose keys repeat (nil on the first pass).
func (s *Service) loadPass(ctx context.Context, path, name string, size int64, o LoadOptions, fr *FileReport, prev *plan) ([]*table, *plan, error) {
	src, err := openSource(path, name, o.Sheet, s.opts.ChunkRows)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", name, err)
	}
	defer src.close()
	fr.Format = src.format()
	hdr := newHeader(src.header(), name)
	prof, det, err := s.detect(hdr, o.Source)
	fr.Detection = det
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", name, err)
	}
	xs, isXLSX := unwrap(src).(*xlsxSource)
	if isXLSX && prof.report {
		xs.asReport()
	}
	cs, isCSV := unwrap(src).(*csvSource)
	if isCSV && prof.report {
		cs.asReport()
	}
	p := newPlan(prof, hdr, name, s.opts.Location, o.Stages)
	if p.fx, err = s.withLoadedRates(ctx, s.opts.Currency); err != nil {
		return nil, nil, err
	}
	p.progress = o.progress
	p.enc = sourceEncoding(src)
	if prev != nil {
		p.seed, p.held, p.stampIdx = prev.seed, prev.dupKeys, hdr.find(stampCols)
	}
	defer p.seen.free()
	fr.Profile, fr.Table = prof.name, prof.table.name
	if k := p.missingKey(); k != "" {
		return nil, nil, fmt.Errorf("load %s as %s: %w: nothing fills %s", name, prof.name, ErrMissingColumn, k)
	}
	snap := o.SnapshotDate.In(s.opts.Location)
	sd := time.Date(snap.Year(), snap.Month(), snap.Day(), 0, 0, 0, 0, time.UTC)
	p.snapDays = sd.Unix() / 86400
	p.snapTime = time.Date(snap.Year(), snap.Month(), snap.Day(), 0, 0, 0, 0, s.opts.Location).Unix()
	if prof.snapshot {
		if p.prev, err = s.previousStages(ctx, sd); err != nil {
			return nil, nil, fmt.Errorf("load %s: read previous snapshot: %w", name, err)
		}
	}
	// The state so far, while running, so a crash leaves enough to clean up.
	if err := s.writeRun(ctx, fr); err != nil {
		return nil, nil, err
	}
	first, err := src.next()
	if err != nil && err != io.EOF {
		return nil, nil, fmt.Errorf("load %s: %w", name, err)
	}
	schemas.FaultPoint("ingest-read")
	forced := orderUnknown
	switch strings.ToLower(o.DateOrder) {
	case "dmy", "d/m/y":
		forced = orderDMY
	case "mdy", "m/d/y":
		forced = orderMDY
	}
	if first != nil {
		p.decideOrder(first, forced)
	} else {
		p.order = orderMDY
	}
	fr.DateOrder = p.order.String()
	if first != nil && p.t.unique {
		p.seen.reserve(estimateRows(first, size))
	}
	written := append(p.writes, tReps)
	err = s.pipeline(ctx, src, first, p, fr, size)
	fr.Duplicates = p.dups
	warnings := map[string]int64{"stage_contradicts_flags": p.contradictions.Load(), "created_defaulted": p.createdDefaulted.Load()}
	if isXLSX {
		for w, n := range xs.reportWarnings() {
			warnings[w] = n
		}
	}
	if isCSV {
		for w, n := range cs.reportWarnings() {
			warnings[w] = n
		}
	}
	for w, n := range warnings {
		if n > 0 {
			if fr.Warnings == nil {
				fr.Warnings = map[string]int64{}
			}
			fr.Warnings[w] = n
		}
	}
	return written, p, err
}

func (s *Service) progress(p *plan, pr Progress) {
	if s.opts.Progress != nil {
		s.opts.Progress(pr)
	}
	if p.progress != nil {
		p.progress(pr)
	}
}

// pipeline runs reader → mappers → inserters until the file ends or one fails.
func (s *Service) pipeline(ctx context.Context, src source, first *rawChunk, p *plan, fr *FileReport, size int64) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	raws := make(chan *rawChunk, 1)
	// Inserter k sends chunks k, k+n, k+2n… in that order, so each INSERT's rows
	// keep the file's order: an export sorted by its key (most are, by id) gives
	// the server blocks it need not sort, as clickhouse-client's single stream
	// does. window bounds the chunks between the reader and the inserters, those
	// mapped ahead of a slower one included.
	nIns := max(s.opts.inserters, 1)
	ins := make([]chan insertBundle, nIns)
	for k := range ins {
		ins[k] = make(chan insertBundle, 2)
	}
	window := make(chan struct{}, 2*s.opts.Workers+3*nIns)
	chunks := 0 // chunks the reader handed on, once it is done
	var mu sync.Mutex
	var rejects []reject
	fail := func(err error) { cancel(err) }
	var stats struct {
		sync.Mutex
		read, loaded, rejected int64
		tables                 map[string]int64
	}
	stats.tables = map[string]int64{}
	loadedAt := time.Now().Unix()

	// Heartbeat: a long run keeps saying it is alive.
	// It writes a copy: the report's maps are this goroutine's, and it is
	// stopped and waited for before they are filled.
	hb := time.NewTicker(max(s.opts.StaleAfter/4, time.Second))
	defer hb.Stop()
	hbStop, hbDone := make(chan struct{}), make(chan struct{})
	stopHeartbeat := sync.OnceFunc(func() { close(hbStop); <-hbDone })
	defer stopHeartbeat()
	beat := *fr
	beat.RejectsByReason, beat.Tables = nil, nil
	go func() {
		defer close(hbDone)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hbStop:
				return
			case <-hb.C:
				stats.Lock()
				beat.Read, beat.Loaded, beat.Rejected = stats.read, stats.loaded, stats.rejected
				stats.Unlock()
				_ = s.writeRun(ctx, &beat)
			}
		}
	}()

	var rg sync.WaitGroup
	rg.Add(1)
	go func() {
		defer rg.Done()
		defer close(raws)
		ch := first
		var rows int64
		for ch != nil {
			rows += int64(ch.read)
			ch.seq = chunks
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				ch.release()
				return
			}
			select {
			case raws <- ch:
				chunks++
			case <-ctx.Done():
				ch.release()
				return
			}
			s.progress(p, Progress{File: fr.File, Rows: rows, Total: size, Bytes: min(size, bytesHint(src, rows, size))})
			next, err := src.next()
			if err == io.EOF {
				return
			}
			if err != nil {
				fail(fmt.Errorf("read %s: %w", fr.File, err))
				return
			}
			ch = next
		}
	}()

	// Mapping a row again gives the same row unless the profile's derive step
	// remembers what it has seen (the Maven managers).
	batchDedup := p.t.unique && p.prof.derive == nil && p.held == nil
	var mg sync.WaitGroup
	for w := 0; w < s.opts.Workers; w++ {
		mg.Add(1)
		go func() {
			defer mg.Done()
			m := &mapped{v: make([]val, len(p.t.cols))}
			bufs := map[*table]*tableBuf{}
			var sums []uint64
			var good []int
			var dup []bool
			for ch := range raws {
				if ctx.Err() != nil {
					ch.release()
					continue
				}
				rows := len(ch.rows)
				buf := func(t *table) *tableBuf {
					b := bufs[t]
					if b == nil {
						b = newTableBuf(t, rows)
						bufs[t] = b
					}
					return b
				}
				var rej []reject
				rej = append(rej, ch.rejects...)
				var dups int64
				text := textCols(ch.cols)
				counts := map[*table]int64{}
				var out []insertJob
				send := func(t *table, b *tableBuf) {
					counts[t] += int64(b.n)
					rec, free := b.record()
					out = append(out, insertJob{t, rec, free})
				}
				// add appends a mapped row; check sends a table's record early when
				// its text nears Arrow's limit (not while a chunk may be mapped again).
				add := func(m *mapped, check bool) {
					b := buf(p.t)
					b.append(m.v)
					if check && b.full() {
						send(p.t, b)
					}
					for _, pr := range m.stub {
						b := buf(pr.t)
						b.append(pr.v)
						if check && b.full() {
							send(pr.t, b)
						}
					}
				}
				if batchDedup {
					// Map every row, then check the chunk's keys at once. A chunk
					// with duplicates (rare) is mapped again without them.
					sums, good = sums[:0], good[:0]
					for i := 0; i < rows; i++ {
						m.raw = rawRow{cols: text, i: i}
						m.row = ch.rows[i]
						if r := p.mapRow(m); r != nil {
							rej = append(rej, *r)
							continue
						}
						sums = append(sums, p.keyHash(m))
						good = append(good, i)
						add(m, false)
					}
					dup = grow(dup, len(sums))
					if dups = int64(p.duplicates(sums, dup)); dups > 0 {
						for _, b := range bufs {
							b.reset()
						}
						for k, i := range good {
							if dup[k] {
								continue
							}
							m.raw = rawRow{cols: text, i: i}
							m.row = ch.rows[i]
							_ = p.mapRow(m)
							add(m, false)
						}
					}
				} else {
					for i := 0; i < rows; i++ {
						m.raw = rawRow{cols: text, i: i}
						m.row = ch.rows[i]
						if r := p.mapRow(m); r != nil {
							rej = append(rej, *r)
							continue
						}
						if p.hold(m) {
							continue
						}
						if p.duplicate(m) {
							dups++
							continue
						}
						add(m, true)
					}
				}
				for _, t := range p.writesOrder(bufs) {
					if b := bufs[t]; b.n > 0 {
						send(t, b)
					}
				}
				// Every chunk sends its bundle, empty or not: the inserter waits
				// for each in turn.
				select {
				case ins[ch.seq%nIns] <- insertBundle{ch.seq, out}:
				case <-ctx.Done():
					for _, j := range out {
						j.rec.Release()
					}
				}
				ch.release()
				stats.Lock()
				stats.read += int64(ch.read)
				stats.rejected += int64(len(rej))
				stats.loaded += counts[p.t]
				for t, n := range counts {
					stats.tables[t.name] += n
				}
				stats.Unlock()
				if len(rej) > 0 {
					mu.Lock()
					rejects = append(rejects, rej...)
					var flush []reject
					if len(rejects) >= 10000 {
						flush, rejects = rejects, nil
					}
					if p.held != nil {
						// The first pass recorded them.
						flush = nil
					}
					mu.Unlock()
					if flush != nil {
						if err := s.insertRejects(ctx, fr.RunID, flush); err != nil {
							fail(err)
						}
					}
				}
			}
		}()
	}
	var ig sync.WaitGroup
	for k := 0; k < nIns; k++ {
		ig.Add(1)
		go func() {
			defer ig.Done()
			streams := map[*table]*insertStream{}
			defer func() {
				for _, st := range streams {
					st.close()
				}
			}()
			insert := func(j insertJob) {
				if ctx.Err() == nil {
					st := streams[j.t]
					if st == nil {
						st = &insertStream{s: s, t: j.t, runID: fr.RunID, loadedAt: loadedAt}
						streams[j.t] = st
					}
					if err := st.write(ctx, j.rec); err != nil {
						fail(fmt.Errorf("insert into %s: %w", j.t.name, err))
					} else if st.rows >= s.opts.InsertRows {
						if err := st.send(); err != nil {
							fail(fmt.Errorf("insert into %s: %w", j.t.name, err))
						}
					}
				}
				// The driver has copied the block: nothing refers to the buffers.
				j.free()
			}
			// Bundles that arrive before their turn wait in ahead.
			next, ahead := k, map[int]insertBundle{}
			for b := range ins[k] {
				ahead[b.seq] = b
				for {
					b, ok := ahead[next]
					if !ok {
						break
					}
					delete(ahead, next)
					next += nIns
					for _, j := range b.jobs {
						insert(j)
					}
					<-window
				}
			}
			for _, b := range ahead { // only when the load failed
				for _, j := range b.jobs {
					j.rec.Release()
				}
			}
			if ctx.Err() != nil {
				return
			}
			for _, st := range streams {
				if err := st.send(); err != nil {
					fail(fmt.Errorf("insert into %s: %w", st.t.name, err))
				}
			}
		}()
	}
	rg.Wait()
	mg.Wait()
	if p.held != nil && ctx.Err() == nil {
		win, sample := p.winners()
		fr.SampleDuplicates = sample
		// The kept rows go last, as the chunk after the file's last one.
		var out []insertJob
		held := p.heldBufs(win)
		for _, t := range p.writesOrder(held) {
			b := held[t]
			stats.Lock()
			stats.tables[t.name] += int64(b.n)
			stats.Unlock()
			rec, free := b.record()
			out = append(out, insertJob{t, rec, free})
		}
		stats.Lock()
		stats.loaded += int64(len(win))
		stats.Unlock()
		select {
		case window <- struct{}{}:
			ins[chunks%nIns] <- insertBundle{chunks, out}
		case <-ctx.Done():
			for _, j := range out {
				j.rec.Release()
			}
		}
	}
	for _, c := range ins {
		close(c)
	}
	ig.Wait()
	stopHeartbeat()
	stats.Lock()
	fr.Read, fr.Loaded, fr.Rejected, fr.Tables = stats.read, stats.loaded, stats.rejected, stats.tables
	stats.Unlock()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	// Rejects are recorded whatever happens next: they say why a run failed.
	sort.Slice(rejects, func(i, j int) bool { return rejects[i].row < rejects[j].row })
	for i := range rejects {
		rejects[i] = rejects[i].tidy()
		r := rejects[i]
		fr.RejectsByReason[r.reason]++
		if len(fr.SampleRejects) < 20 {
			fr.SampleRejects = append(fr.SampleRejects, RejectedRow{Row: r.row, Column: r.column, Value: r.raw, Reason: r.reason, Message: r.message})
		}
	}
	if p.held != nil {
		rejects = nil // the first pass recorded them
	}
	if err := s.insertRejects(context.WithoutCancel(ctx), fr.RunID, rejects); err != nil {
		return err
	}
	s.progress(p, Progress{File: fr.File, Rows: fr.Read, Total: size, Bytes: size, Done: true})
	return nil
}

// estimateRows guesses a file's rows from its size and its first chunk's bytes per
// row (text sources only; 0 when the chunk says nothing).
func estimateRows(ch *rawChunk, size int64) int {
	rows := int64(len(ch.rows))
	b := int64(len(ch.cols.text)) // a separator a field: delimiters and line ends
	if b == 0 || rows == 0 || ch.read < 1000 {
		return 0
	}
	// Capped: a first chunk of short rows must not make a huge set.
	return int(min(size*rows/b, 64<<20))
}

func bytesHint(src source, rows, size int64) int64 {
	if c, ok := src.(*closingSource); ok {
		if cs, ok := c.source.(*csvSource); ok {
			return cs.bytes()
		}
	}
	return 0
}

func (s *Service) insertRejects(ctx context.Context, runID uint64, rej []reject) error {
	if len(rej) == 0 {
		return nil
	}
	ctx, release := s.db.BatchContext(ctx, "ingest-rejects", 10*time.Minute)
	defer release()
	b, err := s.db.Conn.PrepareBatch(ctx, "INSERT INTO ingest_rejects (run_id, file, row, column, raw_value, reason, message, loaded_at)")
	if err != nil {
		return fmt.Errorf("record rejects: %w", err)
	}
	defer b.Close()
	now := time.Now().UTC()
	for _, r := range rej {
		r = r.tidy()
		if err := b.Append(runID, r.file, uint64(r.row), r.column, r.raw, r.reason, r.message, now); err != nil {
			return fmt.Errorf("record rejects: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("record rejects: %w", err)
	}
	return nil
}

// insertStream is an INSERT into one table kept open across records: each record is
// one native columnar block (Flush), and the INSERT ends after Options.InsertRows
// rows: the server squashes the blocks into one part per INSERT, and the driver
// reuses its column buffers from block to block.
type insertStream struct {
	s        *Service
	t        *table
	runID    uint64
	loadedAt int64
	b        driver.Batch
	cancel   context.CancelFunc
	rows     int
	// per column scratch the driver copies from, reused
	strs  [][]string
	times [][]time.Time
	ids   []uint64
	at    []int64
}

func (st *insertStream) write(ctx context.Context, rec arrow.Record) error {
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	t := st.t
	if st.b == nil {
		names := make([]string, 0, len(t.cols)+2)
		for _, c := range t.cols {
			names = append(names, c.name)
		}
		names = append(names, "run_id", "loaded_at")
		cctx, cancel := st.s.db.BatchContext(ctx, "ingest-insert-"+t.name, 30*time.Minute)
		b, err := st.s.db.Conn.PrepareBatch(cctx, "INSERT INTO "+t.name+" ("+strings.Join(names, ", ")+")")
		if err != nil {
			cancel()
			return err
		}
		st.b, st.cancel, st.rows = b, cancel, 0
		if st.strs == nil {
			st.strs = make([][]string, len(t.cols))
			st.times = make([][]time.Time, len(t.cols))
		}
	}
	for i := range t.cols {
		if err := st.b.Column(i).Append(st.columnSlice(i, rec.Column(i))); err != nil {
			return fmt.Errorf("column %s: %w", t.cols[i].name, err)
		}
	}
	if len(st.ids) < n || st.ids[0] != st.runID {
		st.ids = make([]uint64, max(n, len(st.ids)))
		st.at = make([]int64, len(st.ids))
		for i := range st.ids {
			st.ids[i], st.at[i] = st.runID, st.loadedAt
		}
	}
	if err := st.b.Column(len(t.cols)).Append(st.ids[:n]); err != nil {
		return err
	}
	if err := st.b.Column(len(t.cols) + 1).Append(st.at[:n]); err != nil {
		return err
	}
	if err := st.b.Flush(); err != nil {
		return err
	}
	st.rows += n
	return nil
}

// send ends the INSERT: its rows are stored.
func (st *insertStream) send() error {
	if st.b == nil {
		return nil
	}
	err := st.b.Send()
	st.cancel()
	st.b = nil
	return err
}

// close ends an INSERT that will not be sent (the run failed).
func (st *insertStream) close() {
	if st.b != nil {
		_ = st.b.Close()
		st.cancel()
		st.b = nil
	}
}

// columnSlice turns an Arrow column into the Go slice clickhouse-go appends: the
// Arrow buffers themselves for numbers, reused scratch for text and dates.
func (st *insertStream) columnSlice(col int, a arrow.Array) any {
	n := a.Len()
	switch c := a.(type) {
	case *array.String:
		// Views straight into the record's buffers: the driver copies them.
		out := grow(st.strs[col], n)
		offs, data := c.ValueOffsets(), c.ValueBytes()
		for i := range out {
			a, z := offs[i], offs[i+1]
			if z <= a {
				out[i] = ""
				continue
			}
			out[i] = unsafe.String(&data[a], int(z-a))
		}
		st.strs[col] = out
		return out
	case *array.Date32:
		out := grow(st.times[col], n)
		for i, d := range c.Date32Values() {
			out[i] = time.Unix(int64(d)*86400, 0).UTC()
		}
		st.times[col] = out
		return out
	case *array.Timestamp:
		return unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(c.TimestampValues()))), n)
	}
	return columnSlice(a)
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// columnSlice turns an Arrow column into the Go slice clickhouse-go appends.
func columnSlice(a arrow.Array) any {
	n := a.Len()
	switch c := a.(type) {
	case *array.String:
		out := make([]string, n)
		for i := range out {
			out[i] = c.Value(i)
		}
		return out
	case *array.Float64:
		return c.Float64Values()
	case *array.Float32:
		return c.Float32Values()
	case *array.Uint8:
		return c.Uint8Values()
	case *array.Uint16:
		return c.Uint16Values()
	case *array.Uint32:
		return c.Uint32Values()
	case *array.Uint64:
		return c.Uint64Values()
	case *array.Date32:
		out := make([]time.Time, n)
		for i, d := range c.Date32Values() {
			out[i] = time.Unix(int64(d)*86400, 0).UTC()
		}
		return out
	case *array.Timestamp:
		out := make([]int64, n)
		for i, v := range c.TimestampValues() {
			out[i] = int64(v)
		}
		return out
	}
	panic("ingest: no slice for " + a.DataType().String())
}

// previousStages reads each opportunity's stage in its latest committed snapshot
// before date.
func (s *Service) previousStages(ctx context.Context, date time.Time) (map[string]prevSnapshot, error) {
	cctx, cancel := s.db.ContextTimeout(ctx, "ingest-prev-snapshot", 10*time.Minute)
	defer cancel()
	rows, err := s.db.Conn.Query(cctx, `SELECT opportunity_id, argMax(stage, (snapshot_date, run_id)), min(snapshot_date) FROM opportunity_snapshots
		WHERE snapshot_date < toDate(?) AND run_id IN (`+CommittedRunsSQL()+`) GROUP BY opportunity_id`, date.Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]prevSnapshot{}
	for rows.Next() {
		var id, st string
		var first time.Time
		if err := rows.Scan(&id, &st, &first); err != nil {
			return nil, err
		}
		out[id] = prevSnapshot{stage: st, firstDay: first.Unix() / 86400}
	}
	if len(out) == 0 {
		return nil, rows.Err()
	}
	return out, rows.Err()
}

// prevSnapshot is what earlier snapshots say of an opportunity: its latest
// stage and the day it was first seen.
type prevSnapshot struct {
	stage    string
	firstDay int64 // days since 1970
}
