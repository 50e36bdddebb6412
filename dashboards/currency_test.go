package dashboards

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestPagesAndAPISayTheCurrency: with a reporting currency the API answers
// X-Currency and every page says which currency its amounts are in.
func TestPagesAndAPISayTheCurrency(t *testing.T) {
	db := schemastest.Open(t)
	loadAPIFixture(t, db)
	cfg := config.Default()
	cfg.Currency = config.Currency{Reporting: "CNY", Rates: map[string]float64{"USD": 7.1}}
	cfg.Auth.Tokens = []config.Token{{Name: "boss", Token: "tok-director", Role: "director"}}
	q := query.New(db, time.UTC, nil).WithCurrency(cfg.Currency.Reporting, cfg.Currency.Rates)
	s := New(Options{Config: cfg, DB: db, Query: q, Logger: quietLogger(), Mount: []func(*Server){APIMount(q)}})
	ts := httptest.NewServer(s.Echo)
	defer ts.Close()
	for _, c := range []struct{ path, want string }{
		{"/api/v1/funnel?from=2024-01-01&to=2024-04-01", ""},
		{"/?lang=en", "Amounts in CNY"},
		{"/targets?lang=zh-CN", "金额单位：CNY"},
		{"/targets?lang=en&csv=topdown", " (CNY)"},
	} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+c.path, nil)
		req.Header.Set("Authorization", "Bearer tok-director")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", c.path, resp.StatusCode, b)
		}
		if c.want == "" && resp.Header.Get("X-Currency") != "CNY" {
			t.Errorf("%s: X-Currency %q, want CNY", c.path, resp.Header.Get("X-Currency"))
		}
		if c.want != "" && !strings.Contains(string(b), c.want) {
			t.Logf("%.300s", b)
			t.Errorf("%s does not say %q", c.path, c.want)
		}
	}
}
