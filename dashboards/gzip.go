package dashboards

import (
	"net/http"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
	"github.com/labstack/echo/v4"
)

// pageGzip compresses pages and API answers (not what noPageGzip leaves out).
//
// A warm page is served from the results cache, so compressing it was most of
// its cost: echo's gzip middleware (compress/gzip at the default level) took
// 58% of the server's CPU under 50 users (TestLoad, warm), 2.0 ms a page.
// klauspost's gzhttp at BestSpeed takes 0.42 ms a page (the overview, funnel
// and stage pages are 64–190 kB) for 16% more bytes (57 against 49 kB for the
// three). gzip only: zstd would need its own memory budget.
//
// The handler's error is written here, inside the compressing writer, so an
// error page is compressed like any page; requestLog's c.Error then finds the
// response committed.
func pageGzip() echo.MiddlewareFunc {
	wrap, err := gzhttp.NewWrapper(gzhttp.MinSize(1024), gzhttp.CompressionLevel(gzip.BestSpeed), gzhttp.EnableZstd(false))
	if err != nil {
		panic(err) // fixed options: a mistake here is a programming error
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if noPageGzip(c) {
				return next(c)
			}
			res := c.Response()
			orig := res.Writer
			defer func() { res.Writer = orig }()
			var herr error
			wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				res.Writer = w
				c.SetRequest(r)
				if herr = next(c); herr != nil {
					c.Error(herr)
				}
			})).ServeHTTP(orig, c.Request())
			return herr
		}
	}
}
