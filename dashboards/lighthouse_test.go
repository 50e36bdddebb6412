package dashboards

import (
	"encoding/json"
	"net/url"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLighthouse runs Lighthouse's accessibility and best-practices categories
// (npm lighthouse@12 with Debian's chromium; performance is left to
// deploy/lighthouse.sh, which is slower and needs a quiet machine) on the
// overview, funnel, reps and territories as the director, on desktop and on a
// phone. A score below 98 (accessibility) or 100 (best practices) names the
// audits that failed: what a screen-reader user or the browser's console would
// meet.
func TestLighthouse(t *testing.T) {
	lh, err := osexec.LookPath("lighthouse")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("lighthouse is not installed: deploy/install-deps.sh installs it (npm install -g lighthouse@12)")
		}
		t.Skip("lighthouse is not installed (npm install -g lighthouse@12)")
	}
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("Lighthouse needs Debian's chromium at " + chromium)
		}
		t.Skip("Lighthouse needs Debian's chromium at " + chromium)
	}
	d := newDemo(t, 3000)
	c := d.client(t)
	if code := d.login(t, c, "director", demoPassword); code != 303 {
		t.Fatalf("sign in: %d", code)
	}
	base, _ := url.Parse(d.ts.URL)
	var cookies []string
	for _, ck := range c.Jar.Cookies(base) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	headers, _ := json.Marshal(map[string]string{"Cookie": strings.Join(cookies, "; ")})
	dir := t.TempDir()
	for _, form := range []string{"desktop", "mobile"} {
		for _, p := range []string{"/", "/funnel", "/reps", "/territories"} {
			// The server's page cache warm, as a second visit finds it.
			d.page(t, c, p)
			out := filepath.Join(dir, strings.Trim(strings.ReplaceAll(p, "/", "_"), "_")+form+".json")
			args := []string{d.ts.URL + p, "--quiet", "--output=json", "--output-path=" + out, "--extra-headers=" + string(headers),
				"--chrome-flags=--headless=new --no-sandbox --disable-gpu", "--only-categories=accessibility,best-practices"}
			if form == "desktop" {
				args = append(args, "--preset=desktop")
			}
			cmd := osexec.Command(lh, args...)
			cmd.Env = append(os.Environ(), "CHROME_PATH="+chromium)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("lighthouse %s %s: %v\n%s", p, form, err, b)
			}
			a11y, bp, fails := lighthouseScores(t, out)
			t.Logf("%-12s %-7s accessibility %3d  best practices %3d", p, form, a11y, bp)
			if a11y < 98 || bp < 100 {
				t.Errorf("%s on %s: accessibility %d (want >= 98), best practices %d (want 100); failed audits: %s", p, form, a11y, bp, strings.Join(fails, "; "))
			}
		}
	}
}

// lighthouseScores reads a Lighthouse JSON report: the two categories' scores
// and the weighted audits that did not pass, with their titles.
func lighthouseScores(t *testing.T, path string) (a11y, bp int, fails []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		RuntimeError *struct{ Message string } `json:"runtimeError"`
		Categories   map[string]struct {
			Score     *float64 `json:"score"`
			AuditRefs []struct {
				ID     string  `json:"id"`
				Weight float64 `json:"weight"`
			} `json:"auditRefs"`
		} `json:"categories"`
		Audits map[string]struct {
			Title string   `json:"title"`
			Score *float64 `json:"score"`
		} `json:"audits"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if rep.RuntimeError != nil {
		t.Fatalf("lighthouse could not load the page: %s", rep.RuntimeError.Message)
	}
	score := func(k string) int {
		c, ok := rep.Categories[k]
		if !ok || c.Score == nil {
			return -1
		}
		for _, ref := range c.AuditRefs {
			if a := rep.Audits[ref.ID]; ref.Weight > 0 && a.Score != nil && *a.Score < 1 {
				fails = append(fails, ref.ID+" ("+a.Title+")")
			}
		}
		return int(*c.Score*100 + 0.5)
	}
	return score("accessibility"), score("best-practices"), fails
}
