package dashboards

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/query"
)

// mountImportsAPI adds the upload door: POST /api/v1/imports (multipart field
// "file", optional "source" before it or as a query parameter), GET
// /api/v1/imports (recent runs) and GET /api/v1/imports/{id} (a run's report).
// Directors and admins only.
func (s *Server) mountImportsAPI() {
	g := s.API.Group("/imports", s.requireImporter)
	g.POST("", s.apiUpload)
	g.GET("", s.apiRuns)
	g.GET("/:id", s.apiRun)
}

func (s *Server) requireImporter(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sc, _ := ScopeOf(c)
		if sc.Role != query.RoleAdmin && sc.Role != query.RoleDirector {
			return echo.NewHTTPError(http.StatusForbidden, "imports are for directors and admins")
		}
		return next(c)
	}
}

// maxUpload is ingest.max_upload_mb in bytes; the config holds its only
// default, and the ingest service is given the same value.
func (s *Server) maxUpload() int64 {
	return s.opts.Config.Ingest.MaxUploadBytes()
}

// upload streams the multipart file part into ingest without holding it in memory.
func (s *Server) upload(c echo.Context) (*ingest.Report, error) {
	if s.opts.Ingest == nil {
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "this server does not load uploads")
	}
	if s.opts.DB != nil {
		// Before the client sends a large file to a load that cannot run.
		if err := s.opts.DB.Ping(c.Request().Context()); err != nil {
			return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "the database does not answer, so nothing can be loaded now; retry in a moment").WithInternal(err)
		}
	}
	limit := s.maxUpload()
	if c.Request().ContentLength > limit+1<<20 {
		return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge, "the upload is larger than ingest.max_upload_mb").WithInternal(ingest.ErrTooLarge)
	}
	// Multipart framing and small fields get 1 MiB on top of the file limit.
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, limit+1<<20)
	mr, err := c.Request().MultipartReader()
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "want a multipart/form-data upload with a field named file").WithInternal(err)
	}
	source := c.QueryParam("source")
	csrf := ""
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, echo.NewHTTPError(http.StatusBadRequest, "no field named file in the upload")
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, s.uploadError(c.Request().Context(), err)
			}
			return nil, echo.NewHTTPError(http.StatusBadRequest, "the multipart upload is malformed (a control character in a part's header, such as the file name, or a body cut off): "+err.Error()).WithInternal(err)
		}
		switch part.FormName() {
		case "source":
			source = readSmall(part)
		case "csrf":
			csrf = readSmall(part)
		case "file":
			if !s.auth.writeOK(c, csrf) {
				return nil, echo.NewHTTPError(http.StatusForbidden, "missing or wrong CSRF token (send the csrf field before the file)")
			}
			name := part.FileName()
			if strings.IndexFunc(name, unicode.IsControl) >= 0 {
				return nil, echo.NewHTTPError(http.StatusBadRequest, "the file name contains a control character (NUL, tab, newline…): rename the file")
			}
			if name == "" {
				name = "upload"
			}
			job, err := s.opts.Ingest.Submit(c.Request().Context(), s.background(), name, io.LimitReader(part, limit+1), ingest.LoadOptions{Source: source})
			if err != nil {
				return nil, s.uploadError(c.Request().Context(), err)
			}
			// A small export is done within uploadWait and answered with its
			// report; a large one is answered at once with its run, which
			// GET /api/v1/imports/{id} follows.
			select {
			case <-job.Done():
			case <-time.After(s.uploadWait):
				go func() {
					<-job.Done()
					rep, _ := job.Result()
					s.afterUpload(rep)
				}()
				return nil, &pendingUpload{job.RunID}
			}
			rep, err := job.Result()
			s.afterUpload(rep)
			if err != nil {
				return rep, s.uploadError(c.Request().Context(), err)
			}
			return rep, nil
		}
		part.Close()
	}
}

// defaultUploadWait is how long an upload request waits for its load before
// it answers 202 with the run to follow.
const defaultUploadWait = 2 * time.Second

// pendingUpload is an upload still loading when its request answers.
type pendingUpload struct{ runID uint64 }

func (p *pendingUpload) Error() string { return "upload still loading" }

func readSmall(p *multipart.Part) string {
	b, _ := io.ReadAll(io.LimitReader(p, 4096))
	return strings.TrimSpace(string(b))
}

// afterUpload counts an upload's rows. The pages need nothing more: cache keys
// carry the publication, so a load is visible on the next request.
func (s *Server) afterUpload(rep *ingest.Report) {
	if rep == nil {
		return
	}
	for _, f := range rep.Files {
		switch f.Status {
		case ingest.StatusCommitted:
			s.metrics.ingestRows.WithLabelValues("loaded").Add(float64(f.Loaded))
		case ingest.StatusDuplicate:
			s.metrics.ingestRows.WithLabelValues("duplicate").Add(float64(f.Read))
			continue
		}
		s.metrics.ingestRows.WithLabelValues("rejected").Add(float64(f.Rejected))
	}
}

// uploadError maps ingest's errors to status codes: the file's fault is a 4xx
// with ingest's own message (what `pipelens ingest` prints for the same file),
// the server's (ClickHouse, the spool disk, a stop) stays a 5xx.
func (s *Server) uploadError(ctx context.Context, err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), errors.Is(err, ingest.ErrTooLarge):
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "the upload is larger than ingest.max_upload_mb").WithInternal(err)
	case errors.Is(err, ingest.ErrUnknownLayout), errors.Is(err, ingest.ErrAmbiguousLayout), errors.Is(err, ingest.ErrNoHeader), errors.Is(err, ingest.ErrMissingColumn),
		errors.Is(err, ingest.ErrNoSheet), errors.Is(err, ingest.ErrRejectThreshold):
		return echo.NewHTTPError(http.StatusUnprocessableEntity, err.Error()).WithInternal(err)
	case s.serverFault(ctx, err):
		return err
	}
	return echo.NewHTTPError(http.StatusUnprocessableEntity, err.Error()).WithInternal(err)
}

// serverFault says whether a failed load failed for the server's reasons rather
// than the file's. ingest has no error type for "the input is bad" (readers of
// XLSX, JSON and Parquet return their libraries' errors), so what is not
// recognisably the server's is the file's. io.EOF and friends are both a corrupt
// file and a dropped ClickHouse connection: ClickHouse answering tells them apart.
func (s *Server) serverFault(ctx context.Context, err error) bool {
	var ex *clickhouse.Exception
	var pe *fs.PathError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, ingest.ErrAbandoned),
		errors.As(err, &ex), errors.As(err, &pe), errors.Is(err, clickhouse.ErrAcquireConnTimeout), errors.Is(err, driver.ErrBadConn):
		return true
	case unreachable(err):
		return s.opts.DB == nil || s.opts.DB.Ping(ctx) != nil
	}
	return false
}

func (s *Server) apiUpload(c echo.Context) error {
	rep, err := s.upload(c)
	var pu *pendingUpload
	if errors.As(err, &pu) {
		id := strconv.FormatUint(pu.runID, 10)
		c.Response().Header().Set("Location", "/api/v1/imports/"+id)
		return c.JSON(http.StatusAccepted, map[string]any{"run_id": pu.runID, "status": ingest.StatusRunning, "report": "/api/v1/imports/" + id})
	}
	if err != nil {
		var he *echo.HTTPError
		if rep != nil && errors.As(err, &he) && he.Code == http.StatusUnprocessableEntity {
			return c.JSON(he.Code, struct {
				Error string `json:"error"`
				*ingest.Report
			}{he.Message.(string), rep})
		}
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

func (s *Server) apiRun(c echo.Context) error {
	if s.opts.Ingest == nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "this server does not load uploads")
	}
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "id: not a run number")
	}
	rep, err := s.opts.Ingest.Run(c.Request().Context(), id)
	if errors.Is(err, ingest.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, err.Error()).WithInternal(err)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// importRun is one row of GET /api/v1/imports.
type importRun struct {
	RunID      uint64    `json:"run_id"`
	File       string    `json:"file"`
	Profile    string    `json:"profile"`
	Kind       string    `json:"kind"`
	Status     string    `json:"status"`
	Read       uint64    `json:"read"`
	Loaded     uint64    `json:"loaded"`
	Rejected   uint64    `json:"rejected"`
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
}

// runs reads recent ingest runs; ingest has no list function, so this reads
// ingest_runs directly (read-only), the latest state of each run.
func (s *Server) runs(ctx context.Context, limit int) ([]importRun, error) {
	qctx, cancel := s.opts.DB.Context(ctx, "dashboards-imports")
	defer cancel()
	rows, err := s.opts.DB.Conn.Query(qctx, `SELECT run_id, argMax(file, updated_ns), argMax(profile, updated_ns), argMax(kind, updated_ns), argMax(status, updated_ns),
    argMax(rows_read, updated_ns), argMax(rows_loaded, updated_ns), argMax(rows_rejected, updated_ns), argMax(error, updated_ns),
    argMax(started_at, updated_ns), argMax(finished_at, updated_ns)
FROM ingest_runs GROUP BY run_id ORDER BY run_id DESC LIMIT `+strconv.Itoa(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []importRun{}
	for rows.Next() {
		var r importRun
		if err := rows.Scan(&r.RunID, &r.File, &r.Profile, &r.Kind, &r.Status, &r.Read, &r.Loaded, &r.Rejected, &r.Error, &r.StartedAt, &r.FinishedAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Server) apiRuns(c echo.Context) error {
	if s.opts.DB == nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "no database")
	}
	runs, err := s.runs(c.Request().Context(), 100)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"runs": runs})
}

type rejectRow struct {
	Row                          uint64
	Column, Raw, Reason, Message string
}

func (s *Server) rejects(ctx context.Context, run uint64, limit int) ([]rejectRow, error) {
	qctx, cancel := s.opts.DB.Context(ctx, "dashboards-rejects")
	defer cancel()
	rows, err := s.opts.DB.Conn.Query(qctx, "SELECT row, column, raw_value, reason, message FROM ingest_rejects WHERE run_id = ? ORDER BY row LIMIT "+strconv.Itoa(limit), run)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rejectRow
	for rows.Next() {
		var r rejectRow
		if err := rows.Scan(&r.Row, &r.Column, &r.Raw, &r.Reason, &r.Message); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// imports page: upload form and recent runs.
func (p *pages) imports(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	runs, err := p.s.runs(c.Request().Context(), 100)
	if err != nil {
		return err
	}
	v := &view{Title: r.T("nav.imports"), Nav: "imports"}
	v.Panels = append(v.Panels, &panel{ID: "upload", Title: r.T("im.upload"), Sub: r.T("im.upload_sub"), Upload: true, Sources: ingestSources()})
	v.Panels = append(v.Panels, &panel{ID: "runs", Title: r.T("im.runs"), Table: runsTable(r, runs)})
	return p.render(r, v)
}

func ingestSources() []string {
	return []string{"salesforce", "hubspot", "zoho", "pipedrive", "fxiaoke", "canonical"}
}

func runsTable(r *request, runs []importRun) *table {
	t := &table{ID: "runs", Cols: []col{{Label: r.T("col.run"), Num: true}, {Label: r.T("col.file")}, {Label: r.T("col.profile")}, {Label: r.T("col.status")},
		{Label: r.T("col.read"), Num: true}, {Label: r.T("col.loaded"), Num: true}, {Label: r.T("col.rejected"), Num: true}, {Label: r.T("col.started")}, {Label: r.T("col.error")}}}
	for _, run := range runs {
		st := cell{Text: run.Status}
		switch run.Status {
		case ingest.StatusCommitted:
			st.Class = "good"
		case ingest.StatusFailed:
			st.Class = "bad"
		}
		rej := count(r, int64(run.Rejected))
		if run.Rejected > 0 {
			rej.Class = "warn"
		}
		id := strconv.FormatUint(run.RunID, 10)
		t.Rows = append(t.Rows, row{Cells: []cell{{Text: id, Link: "/imports/" + id}, {Text: run.File}, {Text: run.Profile}, st, count(r, int64(run.Read)), count(r, int64(run.Loaded)), rej,
			{Text: run.StartedAt.In(time.Local).Format("2006-01-02 15:04")}, {Text: run.Error}}})
	}
	return t
}

func (p *pages) importUpload(c echo.Context) error {
	rep, err := p.s.upload(c)
	var pu *pendingUpload
	if errors.As(err, &pu) {
		return c.Redirect(http.StatusSeeOther, "/imports/"+strconv.FormatUint(pu.runID, 10)+"?notice=im.loading")
	}
	if err != nil && rep == nil {
		return err
	}
	if rep != nil && len(rep.Files) > 0 {
		return c.Redirect(http.StatusSeeOther, "/imports/"+strconv.FormatUint(rep.Files[0].RunID, 10)+"?notice=im.loaded")
	}
	return c.Redirect(http.StatusSeeOther, "/imports")
}

// importRun shows one run's report and its rejected rows.
func (p *pages) importRun(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "id: not a run number")
	}
	if p.s.opts.Ingest == nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "this server does not load uploads")
	}
	rep, err := p.s.opts.Ingest.Run(c.Request().Context(), id)
	if errors.Is(err, ingest.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, err.Error())
	}
	if err != nil {
		return err
	}
	rejs, err := p.s.rejects(c.Request().Context(), id, 1000)
	if err != nil {
		return err
	}
	v := &view{Title: r.T("im.run") + " #" + c.Param("id"), Nav: "imports"}
	v.Crumbs = []link{{Label: r.T("nav.imports"), URL: "/imports"}, {Label: "#" + c.Param("id"), URL: "/imports/" + c.Param("id")}}
	for _, f := range rep.Files {
		cls := ""
		switch f.Status {
		case ingest.StatusCommitted:
			cls = "good"
		case ingest.StatusFailed:
			cls = "bad"
		}
		items := []item{{Title: r.T("col.file"), Text: f.File}, {Title: r.T("col.profile"), Text: f.Profile + " → " + f.Table}, {Title: r.T("col.status"), Text: f.Status, Class: cls},
			{Title: r.T("col.read"), Text: r.Int(f.Read)}, {Title: r.T("col.loaded"), Text: r.Int(f.Loaded)}, {Title: r.T("col.rejected"), Text: r.Int(f.Rejected)},
			{Title: r.T("col.started"), Text: f.StartedAt.Format("2006-01-02 15:04:05") + " · " + strconv.FormatInt(f.DurationMS, 10) + " ms"}}
		if f.Progress != nil {
			items = append(items, item{Title: r.T("im.progress"), Text: r.Int(f.Progress.Rows) + " · " + r.Int(f.Progress.Bytes>>10) + " / " + r.Int(f.Progress.Total>>10) + " KiB"})
		}
		for reason, n := range f.RejectsByReason {
			items = append(items, item{Title: r.T("col.reason") + ": " + reason, Text: r.Int(n), Class: "warn"})
		}
		if f.Error != "" {
			items = append(items, item{Title: r.T("col.error"), Text: f.Error, Class: "bad"})
		}
		v.Panels = append(v.Panels, &panel{ID: "report", Title: r.T("im.run"), Items: items})
	}
	t := &table{ID: "rejects", Cols: []col{{Label: r.T("col.row"), Num: true}, {Label: r.T("col.column")}, {Label: r.T("col.raw")}, {Label: r.T("col.reason")}, {Label: r.T("col.message")}}}
	for _, rj := range rejs {
		t.Rows = append(t.Rows, row{Cells: []cell{count(r, int64(rj.Row)), {Text: rj.Column}, {Text: rj.Raw}, {Text: rj.Reason}, {Text: rj.Message}}})
	}
	pn := &panel{ID: "rejects", Title: r.T("im.rejects"), Table: t}
	if len(rejs) == 0 {
		pn.Empty = "–"
	}
	v.Panels = append(v.Panels, pn)
	return p.render(r, v)
}
