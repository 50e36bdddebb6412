package dashboards

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/pipelens/pipelens/schemas/config"
)

// TestPagesGzipped: pages and error pages reach a client that takes gzip
// compressed, with the status the handler chose; a client that does not take
// it, small answers and the machine endpoints get them as they are.
func TestPagesGzipped(t *testing.T) {
	cfg := config.Default()
	cfg.Auth.Tokens = []config.Token{{Name: "t", Token: "gzip-test", Role: "director"}}
	srv := New(Options{Config: cfg, Mount: []func(*Server){MountAPI}})
	long := strings.Repeat("a long reason ", 200)
	srv.Echo.GET("/api/v1/fails", func(echo.Context) error { return echo.NewHTTPError(http.StatusTeapot, long) })
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)
	tr := &http.Transport{DisableCompression: true}
	for _, c := range []struct {
		path, enc string
		code      int
		wantEnc   string
		contains  string
	}{
		{"/api/v1/openapi.json", "gzip, deflate, br", http.StatusOK, "gzip", `"paths"`},
		{"/api/v1/openapi.json", "", http.StatusOK, "", `"paths"`},
		{"/api/v1/openapi.json", "gzip;q=0", http.StatusOK, "", `"paths"`},
		{"/login", "gzip", http.StatusOK, "", "</html>"}, // under 1 kB: as it is
		{"/no-such-page", "gzip", http.StatusNotFound, "", "</html>"},
		{"/api/v1/no-such-thing", "gzip", http.StatusNotFound, "", "{"},
		{"/api/v1/fails", "gzip", http.StatusTeapot, "gzip", long}, // the error handler's answer, compressed
		{"/api/v1/fails", "", http.StatusTeapot, "", long},
		{"/healthz", "gzip", http.StatusOK, "", ""},
	} {
		resp, got := fetchEncoded(t, tr, ts.URL+c.path, c.enc, c.wantEnc, "Accept", "text/html", "Authorization", "Bearer gzip-test")
		if resp.StatusCode != c.code || !strings.Contains(string(got), c.contains) {
			t.Errorf("%s (%q): %d, %d bytes, want %d containing %q", c.path, c.enc, resp.StatusCode, len(got), c.code, c.contains)
		}
		if c.path != "/healthz" && !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: Vary %q, want Accept-Encoding", c.path, resp.Header.Get("Vary"))
		}
	}
}

// fetchEncoded GETs u with Accept-Encoding enc (none when "") and the headers
// given as name, value pairs, checks the answer's Content-Encoding is wantEnc
// and returns the answer and its body decoded.
func fetchEncoded(t *testing.T, tr http.RoundTripper, u, enc, wantEnc string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if enc != "" {
		req.Header.Set("Accept-Encoding", enc)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	if got := resp.Header.Get("Content-Encoding"); got != wantEnc {
		t.Errorf("%s with Accept-Encoding %q: Content-Encoding %q, want %q", u, enc, got, wantEnc)
	} else if got == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Errorf("%s (%q): reading the body: %v", u, enc, err)
	}
	return resp, b
}
