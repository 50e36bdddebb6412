package main

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas/config"
	"golang.org/x/crypto/bcrypt"
)

func init() {
	register(command{name: "demo", summary: "generate the sample organisation, load it into the embedded ClickHouse, serve", run: runDemo})
}

// demoSeed and demoOpportunities fix the demo sample: large enough that the planted
// weak rep and territory stand out from chance, small enough to load in seconds.
const (
	demoSeed          = 1
	demoOpportunities = 12000
)

func runDemo(ctx context.Context, a *app, args []string) error {
	fs := a.flags("demo", "")
	addr := fs.String("addr", "", "listen address HOST:PORT (default from config server.addr, 127.0.0.1:8080)")
	seed := fs.Int64("seed", demoSeed, "sample seed")
	opps := fs.Int("opportunities", demoOpportunities, "sample size in opportunities")
	noServe := fs.Bool("load-only", false, "load the sample and exit without serving")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	c, err := a.config()
	if err != nil {
		return err
	}
	if c.Currency.Reporting == "" {
		// The sample's international team sells in USD: report in CNY.
		c.Currency = config.Currency{Reporting: "CNY", Rates: map[string]float64{"USD": 7.1}}
		fmt.Fprintln(a.stdout, "demo: amounts reported in CNY; USD converts at 7.1 (config currency.reporting and currency.rates)")
	}
	db, err := a.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()

	// The sample ends today, so the dashboards' "this quarter" and the alerts'
	// evaluation (which runs on today's date) see current data. A home keeps the
	// sample it was first given: loading another day's sample over it would mix
	// two histories of the same deals.
	t0 := time.Now()
	prefix := filepath.Join(c.Home, "sample", fmt.Sprintf("seed-%d-%d-", *seed, *opps))
	dirs, _ := filepath.Glob(prefix + "*/truth.json")
	var dir string
	if len(dirs) > 0 {
		sort.Strings(dirs)
		dir = filepath.Dir(dirs[0])
	} else {
		y, m, d := time.Now().In(c.Location()).Date()
		asOf := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		dir = prefix + asOf.Format("20060102")
		if _, err := gen.WriteDir(ctx, gen.Config{Seed: *seed, Opportunities: *opps, AsOf: asOf}, dir); err != nil {
			return fmt.Errorf("generate the sample: %w", err)
		}
		a.log.Info("sample generated", "dir", dir, "as_of", asOf.Format(time.DateOnly), "took", time.Since(t0).Round(time.Millisecond))
	}
	// Weekly activity targets per rep for the KAI panels (coaching_demo.go).
	if err := writeDemoActivityTargets(dir, time.Now().In(c.Location())); err != nil {
		a.log.Warn("demo activity targets", "err", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.csv"))
	if err != nil {
		return err
	}
	sort.Slice(files, func(i, j int) bool { return loadOrder(files[i]) < loadOrder(files[j]) })
	svc := a.ingestService(db, false)
	if err := svc.Recover(ctx); err != nil {
		a.log.Warn("recover abandoned runs", "err", err)
	}
	// Loading the same files again adds nothing (same checksums), so a second demo
	// start is quick and keeps what is there.
	rep, err := svc.LoadFiles(ctx, files, ingest.LoadOptions{Source: "canonical"})
	if err != nil {
		return fmt.Errorf("load the sample: %w", err)
	}
	a.refresh(ctx, db)
	var loaded, dup int64
	for _, f := range rep.Files {
		if f.Status == ingest.StatusDuplicate {
			dup++
		}
		for _, n := range f.Tables {
			loaded += n
		}
	}
	a.log.Info("sample loaded", "files", len(rep.Files), "already_loaded", dup, "rows", loaded, "rejected", rep.Rejected, "took", time.Since(t0).Round(time.Millisecond))
	if *noServe {
		return nil
	}
	if len(c.Auth.Users) == 0 {
		if err := demoUsers(c, filepath.Join(dir, "reps.csv"), a.stdout); err != nil {
			return fmt.Errorf("demo users: %w", err)
		}
	}
	if err := demoContest(ctx, a, db, c, *addr); err != nil {
		a.log.Warn("demo contest", "err", err)
	}
	return a.serve(ctx, db, *addr, false)
}

// demoUsers gives a demo without configured users people to sign in as: a
// director, the managers of two teams, a rep and an admin, all with password
// "demo". Only the demo does this; serve never invents users.
func demoUsers(c *config.Config, repsCSV string, out io.Writer) error {
	f, err := os.Open(repsCSV)
	if err != nil {
		return err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return fmt.Errorf("read %s: %w", repsCSV, err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	type person struct{ id, name, team string }
	var managers, reps []person
	for _, r := range recs[1:] {
		p := person{r[col["rep_id"]], r[col["name"]], r[col["team"]]}
		switch r[col["role"]] {
		case "manager":
			managers = append(managers, p)
		case "rep":
			reps = append(reps, p)
		}
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("demo"), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	h := config.Secret(hash)
	users := []config.User{{Username: "director", Name: "销售总监 Director", PasswordHash: h, Role: "director"},
		{Username: "admin", Name: "Admin", PasswordHash: h, Role: "admin", Lang: "en"}}
	for i, m := range managers {
		if i == 2 {
			break
		}
		users = append(users, config.User{Username: fmt.Sprintf("manager%d", i+1), Name: m.name, PasswordHash: h, Role: "manager", Team: m.team})
	}
	for _, r := range reps {
		if len(managers) > 0 && r.team == managers[0].team {
			users = append(users, config.User{Username: "rep", Name: r.name, PasswordHash: h, Role: "rep", Team: r.team, Rep: r.id})
			break
		}
	}
	c.Auth.Users = append(c.Auth.Users, users...)
	if c.Auth.SessionSecret == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		c.Auth.SessionSecret = config.Secret(hex.EncodeToString(b))
	}
	fmt.Fprintln(out, "demo sign-in (password for all: demo):")
	for _, u := range users {
		extra := u.Team
		if u.Rep != "" {
			extra += " " + u.Rep
		}
		fmt.Fprintf(out, "  %-10s %-9s %s\n", u.Username, u.Role, extra)
	}
	return nil
}

// loadOrder puts the org and accounts before the facts that point at them.
func loadOrder(path string) int {
	order := map[string]int{"reps.csv": 0, "accounts.csv": 1, "market.csv": 2, "targets.csv": 3, "opportunities.csv": 4,
		"opportunity_snapshots.csv": 5, "stage_events.csv": 6, "leads.csv": 7, "activities.csv": 8}
	if n, ok := order[filepath.Base(path)]; ok {
		return n
	}
	return 100
}
