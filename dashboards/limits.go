package dashboards

import (
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// limits bound what one connection may hold: a client that sends its headers or
// body slowly (or not at all) is cut off, while a large upload on a slow link
// goes on as long as it keeps sending.
type limits struct {
	// ReadHeader is the time to send the request headers.
	ReadHeader time.Duration
	// Body is the time to send a whole body on routes other than uploads.
	Body time.Duration
	// UploadIdle is the longest pause between reads of an upload, and
	// UploadTotal the longest an upload request may take end to end.
	UploadIdle, UploadTotal time.Duration
	// Write is the time to answer a request other than an upload (requests
	// give up after 60 s: middleware.ContextTimeout).
	Write time.Duration
	// Idle is how long a keep-alive connection waits for its next request.
	Idle time.Duration
	// SmallBody is the largest body a route other than an upload takes.
	SmallBody int64
}

var defaultLimits = limits{
	ReadHeader:  10 * time.Second,
	Body:        30 * time.Second,
	UploadIdle:  60 * time.Second,
	UploadTotal: 2 * time.Hour,
	Write:       90 * time.Second,
	Idle:        2 * time.Minute,
	SmallBody:   1 << 20,
}

// isUpload says whether r is one of the upload routes, which take large bodies.
func isUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/api/v1/imports" || r.URL.Path == "/imports")
}

// httpServer is the net/http server with the limits. ReadTimeout stays unset:
// it would cut a large upload off however steadily it arrives; deadlines puts a
// deadline on each request's body instead.
func (s *Server) httpServer() *http.Server {
	return &http.Server{Handler: s.deadlines(s.Echo), ReadHeaderTimeout: s.limits.ReadHeader, IdleTimeout: s.limits.Idle}
}

// deadlines puts read and write deadlines on each request's connection: a
// body must arrive within limits.Body (an upload: no pause longer than
// limits.UploadIdle), and the answer be written within limits.Write.
func (s *Server) deadlines(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		now := time.Now()
		l := s.limits
		if isUpload(r) {
			_ = rc.SetWriteDeadline(now.Add(l.UploadTotal))
		} else {
			_ = rc.SetWriteDeadline(now.Add(l.Write))
		}
		if r.Body != nil && r.Body != http.NoBody {
			br := &deadlineBody{ReadCloser: r.Body, rc: rc}
			if isUpload(r) {
				br.idle, br.end = l.UploadIdle, now.Add(l.UploadTotal)
			} else {
				br.end = now.Add(l.Body)
			}
			// Also when the handler never reads the body: the server drains
			// it after the handler, and must not wait for it forever.
			br.arm()
			r.Body = br
		}
		h.ServeHTTP(w, r)
	})
}

// deadlineBody sets the connection's read deadline before each read of the
// body and clears it once the body is read: after that the server reads the
// connection only to notice the client leaving, which must not time out.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration // 0: only end
	end  time.Time
	done bool
}

func (b *deadlineBody) arm() {
	d := b.end
	if b.idle > 0 {
		if t := time.Now().Add(b.idle); t.Before(d) {
			d = t
		}
	}
	_ = b.rc.SetReadDeadline(d)
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	b.arm()
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// bodyLimit gives routes other than uploads a small body (forms, JSON); the
// upload routes have their own limit (ingest.max_upload_mb).
func (s *Server) bodyLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if isUpload(r) || r.Body == nil || r.Body == http.NoBody {
			return next(c)
		}
		if r.ContentLength > s.limits.SmallBody {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "the request body is too large")
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, s.limits.SmallBody)
		return next(c)
	}
}
