package dashboards

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the server's Prometheus registry. Each Server has its own, so tests
// can build many servers.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.HistogramVec
	queries    *prometheus.HistogramVec
	ingestRows *prometheus.CounterVec
	alertsSent prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "pipelens_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.005, .01, .025, .05, .1, .2, .3, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route", "code"})
	m.queries = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "pipelens_query_duration_seconds", Help: "Latency of metric queries against ClickHouse (cache misses).",
		Buckets: []float64{.002, .005, .01, .025, .05, .1, .2, .5, 1, 2.5, 5, 10},
	}, []string{"metric"})
	m.ingestRows = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pipelens_ingest_rows_total", Help: "Rows read by uploads through the server, by outcome.",
	}, []string{"outcome"})
	m.alertsSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pipelens_alerts_sent_total", Help: "Alert emails accepted by the SMTP server.",
	})
	m.reg.MustRegister(m.requests, m.queries, m.ingestRows, m.alertsSent,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// AlertsSent is the counter pipelens_alerts_sent_total; the alert engine's wiring
// adds the emails it delivered.
func (s *Server) AlertsSent() prometheus.Counter { return s.metrics.alertsSent }

// Registry is the server's Prometheus registry, for other parts to register on.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

func (m *metrics) observeQuery(metric string, d time.Duration) {
	m.queries.WithLabelValues(metric).Observe(d.Seconds())
}

func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		t0 := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(c.Request().Method, route, strconv.Itoa(c.Response().Status)).Observe(time.Since(t0).Seconds())
		return nil
	}
}

func (m *metrics) handler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
}
