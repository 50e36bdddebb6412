package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pipelens.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFileAndEnvOverrides(t *testing.T) {
	p := write(t, `
home: /var/lib/pipelens
timezone: Asia/Shanghai
clickhouse:
  url: clickhouse://u:p@db:9000/sales
server:
  addr: 0.0.0.0:9000
auth:
  tokens:
    - {name: bi, token: abc, role: director}
    - {name: east, token: def, role: manager, team: 华东一组}
`)
	t.Setenv("PIPELENS_CONFIG", "")
	t.Setenv("PIPELENS_HOME", "")
	t.Setenv("PIPELENS_ADDR", "")
	t.Setenv("PIPELENS_TIMEZONE", "")
	t.Setenv("PIPELENS_CLICKHOUSE_URL", "clickhouse://x@other:9000/db")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Home != "/var/lib/pipelens" || c.TimeZone != "Asia/Shanghai" || c.Server.Addr != "0.0.0.0:9000" {
		t.Errorf("file values not read: %+v", c)
	}
	if c.ClickHouse.URL != "clickhouse://x@other:9000/db" {
		t.Errorf("PIPELENS_CLICKHOUSE_URL did not override the file: %q", c.ClickHouse.URL)
	}
	if len(c.Auth.Tokens) != 2 || c.Auth.Tokens[1].Team != "华东一组" {
		t.Errorf("tokens: %+v", c.Auth.Tokens)
	}
	if c.Location().String() != "Asia/Shanghai" {
		t.Errorf("location %v", c.Location())
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	s := Secret("clickhouse://u:hunter2@db:9000/x")
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v", Token{Token: "hunter2"})} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("a secret printed itself: %s", out)
		}
	}
}

func TestInvalidConfigSaysWhat(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"timezone: Mars/Olympus\n", `timezone "Mars/Olympus"`},
		{"auth:\n  tokens:\n    - {name: x, token: y, role: boss}\n", `role "boss"`},
		{"auth:\n  tokens:\n    - {name: x, token: y, role: manager}\n", "needs a team"},
		{"ingest:\n  reject_threshold: 2\n", "reject_threshold"},
		{"fiscal_year:\n  start_month: 13\n", "start_month"},
		{"server: [\n", "parse config"},
	} {
		_, err := Load(write(t, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %v, want one mentioning %q", tc.body, err, tc.want)
		}
	}
}

func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"PIPELENS_CONFIG", "PIPELENS_HOME", "PIPELENS_ADDR", "PIPELENS_TIMEZONE", "PIPELENS_CLICKHOUSE_URL"} {
		t.Setenv(k, "")
	}
}

// TestBadConfigsAreRefused loads every file in testdata/bad: each must be
// refused with the message its "# want:" lines give (the key and its line
// for a typo), or a misspelt setting silently keeps its default and pipelens
// starts with it.
func TestBadConfigsAreRefused(t *testing.T) {
	clearEnv(t)
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs in testdata/bad: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			for _, l := range strings.Split(string(b), "\n") {
				if w, ok := strings.CutPrefix(l, "# want: "); ok {
					wants = append(wants, w)
				}
			}
			if len(wants) == 0 {
				t.Fatalf("%s has no # want: line", f)
			}
			_, err = Load(f)
			if err == nil {
				t.Fatalf("%s loaded; want it refused with %q", f, wants)
			}
			for _, w := range wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %q, want it to say %q", f, err, w)
				}
			}
		})
	}
}

// TestGoodConfigsLoad loads every file in testdata/good.
func TestGoodConfigsLoad(t *testing.T) {
	clearEnv(t)
	files, _ := filepath.Glob("testdata/good/*.yaml")
	if len(files) == 0 {
		t.Fatal("no configs in testdata/good")
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	c, err := Load("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.MetricsToken != "scrape-me" || fmt.Sprint(c.Server.MetricsToken) == "scrape-me" {
		t.Errorf("server.metrics_token read as %q, printed as %v: want it read and redacted", string(c.Server.MetricsToken), c.Server.MetricsToken)
	}
	if c.Alerts.Kind == 0 {
		t.Error("the alerts section was not kept for the alerts package")
	}
}

// TestIngestValuesAsWritten: an explicit reject_threshold of 0 (no rejected
// row allowed) stays 0; only a missing key takes the default. The upload
// limit has one default, here.
func TestIngestValuesAsWritten(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct {
		body      string
		threshold float64
		maxBytes  int64
	}{
		{"ingest:\n  reject_threshold: 0\n", 0, DefaultMaxUploadBytes},
		{"ingest:\n  reject_threshold: 0.0\n  max_upload_mb: 64\n", 0, 64 << 20},
		{"ingest:\n  reject_threshold: 1\n", 1, DefaultMaxUploadBytes},
		{"ingest:\n  reject_threshold: 0.2\n", 0.2, DefaultMaxUploadBytes},
		{"ingest:\n  reject_threshold:\n", DefaultRejectThreshold, DefaultMaxUploadBytes},
		{"ingest:\n  mappings: []\n", DefaultRejectThreshold, DefaultMaxUploadBytes},
		{"home: x\n", DefaultRejectThreshold, DefaultMaxUploadBytes},
		{"", DefaultRejectThreshold, DefaultMaxUploadBytes},
	} {
		c, err := Load(write(t, tc.body))
		if err != nil {
			t.Errorf("config %q: %v", tc.body, err)
			continue
		}
		if c.Ingest.RejectThreshold != tc.threshold {
			t.Errorf("config %q: reject_threshold %v, want %v", tc.body, c.Ingest.RejectThreshold, tc.threshold)
		}
		if got := c.Ingest.MaxUploadBytes(); got != tc.maxBytes {
			t.Errorf("config %q: upload limit %d bytes, want %d", tc.body, got, tc.maxBytes)
		}
	}
	if DefaultMaxUploadBytes != 256<<20 || (Ingest{}).MaxUploadBytes() != DefaultMaxUploadBytes || Default().Ingest.MaxUploadBytes() != DefaultMaxUploadBytes {
		t.Errorf("the upload limit defaults disagree: const %d, zero Ingest %d, Default() %d", DefaultMaxUploadBytes, (Ingest{}).MaxUploadBytes(), Default().Ingest.MaxUploadBytes())
	}
}

// TestUnknownKeysWalksAllShapes checks the key walker the alerts section uses
// too: nested structs, lists of structs, maps of lists, inline structs, merge
// keys, and all unknown keys reported at once.
func TestUnknownKeysWalksAllShapes(t *testing.T) {
	type inner struct {
		A int `yaml:"a"`
	}
	type shape struct {
		Base  inner            `yaml:",inline"`
		List  []inner          `yaml:"list"`
		Map   map[string]inner `yaml:"map"`
		Ptr   *inner           `yaml:"ptr"`
		Plain string
		Raw   yaml.Node `yaml:"raw"`
	}
	body := `a: 1
plain: x
list:
  - {a: 1}
  - {b: 2}
map:
  k: {a: 1, c: 3}
ptr: {d: 4}
raw: {anything: goes}
base: &b {a: 1}
merged:
  <<: *b
zz: 1
`
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(body), &n); err != nil {
		t.Fatal(err)
	}
	err := UnknownKeys(&n, &shape{}, "top")
	if err == nil {
		t.Fatal("no unknown key found")
	}
	want := []string{"line 5: unknown key top.list[1].b", "line 7: unknown key top.map.k.c", "line 8: unknown key top.ptr.d",
		"line 10: unknown key top.base", "line 11: unknown key top.merged", "line 13: unknown key top.zz"}
	if got := strings.Split(err.Error(), "\n"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("unknown keys:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

// TestMetricsTokenFromFile: server.metrics_token_file is read like the other
// *_file secrets, and the token never prints.
func TestMetricsTokenFromFile(t *testing.T) {
	clearEnv(t)
	tok := filepath.Join(t.TempDir(), "metrics-token")
	if err := os.WriteFile(tok, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(write(t, "server:\n  metrics_token_file: "+tok+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.MetricsToken != "from-file" {
		t.Errorf("server.metrics_token from the file: %q, want %q", string(c.Server.MetricsToken), "from-file")
	}
	if out := fmt.Sprintf("%v %+v", c.Server, c.Server); strings.Contains(out, "from-file") {
		t.Errorf("the metrics token printed itself: %s", out)
	}
}

// TestTiersDefaultAndRead: without a tiers section the four default levels
// (战略/重点/核心/普通) apply; a section replaces them and fills match and
// covered_by.
func TestTiersDefaultAndRead(t *testing.T) {
	clearEnv(t)
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, l := range c.Tiers.Levels {
		keys = append(keys, l.Key+"/"+l.Name.ZH)
	}
	if got := strings.Join(keys, ","); got != "strategic/战略,key/重点,core/核心,standard/普通" || c.Tiers.LookbackDays != 365 {
		t.Errorf("default tiers %s over %d days, want strategic/战略,key/重点,core/核心,standard/普通 over 365", got, c.Tiers.LookbackDays)
	}
	// The example in deploy/ spells out the defaults.
	ex, err := Load("../../deploy/pipelens.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ex.Tiers, c.Tiers) {
		t.Errorf("deploy/pipelens.yaml's tiers %+v differ from the defaults %+v", ex.Tiers, c.Tiers)
	}
	c, err = Load("testdata/good/tiers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := c.Tiers.Levels
	if len(l) != 2 || c.Tiers.LookbackDays != 180 || l[0].Match != "all" || *l[0].When.RevenueAtLeast != 1e9 || l[0].Service.CoveredBy != "team" ||
		l[1].Match != "any" || l[1].Service.CoveredBy != "rep" || len(l[1].When.Conditions()) != 0 {
		t.Errorf("tiers read as %+v", c.Tiers)
	}
}
