package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
