// Package dashboards is pipelens's HTTP side: the Echo server, its routes, sign-in and
// tokens, the JSON API under /api/v1/, and the ECharts pages. Echo types stay inside
// this package so a move to Echo v5 touches one folder.
package dashboards

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

// Options is what the server needs.
type Options struct {
	Config *config.Config
	DB     *schemas.DB
	Logger *slog.Logger
	// Version is shown on /healthz.
	Version string
	// Query computes every number the API and pages show.
	Query *query.Service
	// Ingest loads and publishes uploads (POST /api/v1/imports).
	Ingest *ingest.Service
	// Mount adds routes (API, pages, imports) to the server; each part of pipelens
	// registers its own.
	Mount []func(*Server)
}

// Server is the Echo server with pipelens's middleware.
type Server struct {
	Echo *echo.Echo
	// API is /api/v1 behind token or session auth.
	API     *echo.Group
	opts    Options
	log     *slog.Logger
	auth    *authenticator
	metrics *metrics
	cache   *cache
	// admission bounds the requests computing at once (admit.go).
	admission *admission
	pages     *pages

	versions versions

	uploadWait time.Duration
	limits     limits

	bgMu sync.Mutex
	bg   context.Context // cancelled when ServeListener stops: background loads
}

// background is the context of work that outlives a request (uploads loading).
func (s *Server) background() context.Context {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.bg == nil {
		return context.Background()
	}
	return s.bg
}

// New builds the server and its routes.
func New(o Options) *Server {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if o.Config == nil {
		o.Config = config.Default()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s := &Server{Echo: e, opts: o, log: log, auth: newAuthenticator(o.Config.Auth, log), metrics: newMetrics(), cache: newCache(),
		uploadWait: defaultUploadWait, limits: defaultLimits, admission: newAdmission(computeSlots(o))}
	s.auth.revoked = newRevocations(o.DB, log)
	// server.metrics_token, when set, is a bearer token that may read /metrics
	// and nothing else (a Prometheus scraper). Admins may read /metrics anyway.
	s.auth.metricsToken = string(o.Config.Server.MetricsToken)
	e.HTTPErrorHandler = s.errorHandler
	e.Use(s.metrics.middleware)
	e.Use(middleware.Recover())
	e.Use(requestLog(log))
	e.Use(securityHeaders)
	e.Use(staticFiles)
	e.Use(pageGzip())
	e.Use(s.bodyLimit)
	e.Use(middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{Timeout: 60 * time.Second}))
	e.Use(s.auth.identify)
	e.Use(s.asOf)
	e.Use(s.admit)
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.metrics.handler(), s.metricsReader)
	s.API = e.Group("/api/v1", s.auth.middleware)
	s.mountImportsAPI()
	s.mountPages()
	for _, m := range o.Mount {
		m(s)
	}
	return s
}

// Invalidate drops cached page data and query's per-publication reads
// (benchmarks time uncached requests with it; a load needs no call: cache keys
// carry the publication).
func (s *Server) Invalidate() {
	s.cache.clear()
	if s.opts.Query != nil {
		s.opts.Query.Forget()
	}
}

// Options returns what the server was built with.
func (s *Server) Options() Options { return s.opts }

// Serve listens on addr until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener serves on ln until ctx ends.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	s.bgMu.Lock()
	s.bg = ctx
	s.bgMu.Unlock()
	srv := s.httpServer()
	s.log.Info("serving", "addr", "http://"+ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	// Uploads still loading were cancelled with ctx: wait for them to record
	// their runs as failed before the database closes.
	if s.opts.Ingest != nil {
		s.opts.Ingest.Wait()
	}
	return err
}

// metricsReader lets admins and the metrics token read /metrics: its series
// name routes, users' activity and the process, which is nobody else's business.
func (s *Server) metricsReader(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Get(viaKey) == "metrics" {
			return next(c)
		}
		sc, ok := ScopeOf(c)
		if !ok || sc.Role == "" {
			return echo.NewHTTPError(http.StatusUnauthorized, "send Authorization: Bearer <metrics or admin token>, or sign in as an admin")
		}
		if sc.Role != query.RoleAdmin {
			return echo.NewHTTPError(http.StatusForbidden, "/metrics is for admins and the metrics token")
		}
		return next(c)
	}
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": s.opts.Version})
}

func (s *Server) readyz(c echo.Context) error {
	if s.opts.DB == nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "no database"})
	}
	if err := s.opts.DB.Ping(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "clickhouse unreachable", "error": err.Error()})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready", "clickhouse": s.opts.DB.ServerVersion()})
}

func requestLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			t0 := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			if log.Enabled(c.Request().Context(), slog.LevelDebug) {
				log.Debug("request", "method", c.Request().Method, "path", c.Path(), "status", c.Response().Status, "took", time.Since(t0))
			}
			return nil
		}
	}
}

// errorHandler maps errors to status codes in one place, with errors.As so wrapped
// echo.HTTPErrors keep their code. Pages get an HTML page, everything else JSON.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	err = apiError(err)
	code := http.StatusInternalServerError
	msg := "internal error"
	var he *echo.HTTPError
	whole := false // msg is a sentence for the user, shown as it is
	switch {
	case errors.As(err, &he):
		code = he.Code
		switch m := he.Message.(type) {
		case string:
			msg = m
		case sentence:
			msg, whole = string(m), true
		default:
			msg = http.StatusText(code)
		}
	case errors.Is(err, context.DeadlineExceeded):
		code, msg = http.StatusServiceUnavailable, "the query took too long"
	case unreachable(err):
		code, msg = http.StatusServiceUnavailable, "the database does not answer; retry in a moment"
	}
	if code >= 500 {
		s.log.Error("request failed", "path", c.Path(), "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	if s.pages != nil && wantsHTML(c) {
		s.pages.renderError(c, code, msg, whole)
		return
	}
	_ = c.JSON(code, map[string]string{"error": msg})
}

// unreachable says whether err means ClickHouse could not be reached (down,
// restarting, network), as opposed to a failed statement.
func unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, clickhouse.ErrAcquireConnTimeout) ||
		errors.Is(err, driver.ErrBadConn)
}

// wantsHTML says whether a failed request came from a page (not the API or a
// static file).
func wantsHTML(c echo.Context) bool {
	p := c.Request().URL.Path
	if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/static/") || p == "/metrics" || p == "/healthz" || p == "/readyz" {
		return false
	}
	return strings.Contains(c.Request().Header.Get("Accept"), "text/html") || c.Request().Header.Get("Accept") == ""
}

// securityHeaders: nothing on a page may come from elsewhere, and no inline script
// runs. ECharts sets element styles from script, hence style-src 'unsafe-inline'.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		return next(c)
	}
}
