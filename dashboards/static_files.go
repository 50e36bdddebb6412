package dashboards

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// Static files are embedded and never change while the server runs, so each is
// gzipped once, on first request, and served from memory: echarts.min.js is
// 1 MB as it is and about 330 kB gzipped, which on a phone's connection was most
// of the time to the first chart (Lighthouse's LCP). A URL with ?v= (the layout
// adds the files' hash) is cached for a year; without it, for an hour.

type staticFile struct {
	once        sync.Once
	plain, gzip []byte
	ctype       string
	etag        string
}

var staticCache sync.Map // name -> *staticFile

// loadStatic reads an embedded static file and its gzip; ok is false for a
// missing file or a directory.
func loadStatic(name string) (*staticFile, bool) {
	v, ok := staticCache.Load(name)
	if !ok {
		// Only names of embedded files are remembered: a client asking for
		// made-up names must not grow the map.
		if st, err := fs.Stat(assets, "static/"+name); err != nil || st.IsDir() {
			return nil, false
		}
		v, _ = staticCache.LoadOrStore(name, &staticFile{})
	}
	f := v.(*staticFile)
	f.once.Do(func() {
		b, err := fs.ReadFile(assets, "static/"+name)
		if err != nil {
			return
		}
		f.plain = b
		f.ctype = mime.TypeByExtension(path.Ext(name))
		if f.ctype == "" {
			f.ctype = http.DetectContentType(b)
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(b)
		_ = zw.Close()
		if buf.Len() < len(b) {
			f.gzip = buf.Bytes()
		}
		sum := sha256.Sum256(b)
		f.etag = `"` + hex.EncodeToString(sum[:8]) + `"`
	})
	return f, f.plain != nil
}

// staticFiles serves /static/ from memory, gzipped when the client accepts it.
// Anything it does not know falls through to the route.
func staticFiles(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		name, ok := strings.CutPrefix(req.URL.Path, "/static/")
		if !ok || (req.Method != http.MethodGet && req.Method != http.MethodHead) || name == "" || strings.Contains(name, "..") {
			return next(c)
		}
		f, ok := loadStatic(name)
		if !ok {
			return next(c)
		}
		h := c.Response().Header()
		h.Set("Content-Type", f.ctype)
		h.Add("Vary", "Accept-Encoding")
		h.Set("ETag", f.etag)
		if req.URL.Query().Get("v") != "" {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "public, max-age=3600")
		}
		if req.Header.Get("If-None-Match") == f.etag {
			return c.NoContent(http.StatusNotModified)
		}
		body := f.plain
		if f.gzip != nil && acceptsGzip(req.Header.Get("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			body = f.gzip
		}
		h.Set("Content-Length", itoa(len(body)))
		if req.Method == http.MethodHead {
			return c.NoContent(http.StatusOK)
		}
		return c.Blob(http.StatusOK, f.ctype, body)
	}
}

func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// noPageGzip leaves out of the gzip middleware what must not be buffered or
// compressed there: static files (gzipped once above), the contest board's event
// stream, and the small machine endpoints.
func noPageGzip(c echo.Context) bool {
	p := c.Request().URL.Path
	return strings.HasPrefix(p, "/static/") || strings.HasSuffix(p, "/events") || p == "/metrics" || p == "/healthz" || p == "/readyz"
}
