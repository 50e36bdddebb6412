package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigFlagEitherSide: --config names the file before the command and
// after it; a file with a mistake stops the command with its name and key
// either way (a strict decode, before any server starts).
func TestConfigFlagEitherSide(t *testing.T) {
	t.Setenv("PIPELENS_CONFIG", "")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("server:\n  adr: 127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--config", bad, "migrate"},
		{"migrate", "--config", bad},
		{"serve", "--config=" + bad},
	} {
		var out bytes.Buffer
		code := run(args, &out, &out)
		if code != 1 || !strings.Contains(out.String(), "adr") || !strings.Contains(out.String(), "bad.yaml") {
			t.Errorf("pipelens %s: exit %d, want 1 naming bad.yaml and the key adr:\n%s", strings.Join(args, " "), code, out.String())
		}
	}
}
