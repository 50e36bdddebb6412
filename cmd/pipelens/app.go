package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// app is what every subcommand shares: output streams, the logger and the config.
type app struct {
	stdout, stderr io.Writer
	log            *slog.Logger
	configPath     string
	cfg            *config.Config
}

// errUsage means the arguments were wrong; the message was already printed.
var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdout: stdout, stderr: stderr}
	global := flag.NewFlagSet("pipelens", flag.ContinueOnError)
	global.SetOutput(stderr)
	global.StringVar(&a.configPath, "config", "", "YAML config file (or PIPELENS_CONFIG)")
	logLevel := global.String("log-level", "info", "debug, info, warn or error")
	global.Usage = func() { usage(stderr, global) }
	if err := global.Parse(args); err != nil {
		return 2
	}
	rest := global.Args()
	if len(rest) == 0 {
		usage(stderr, global)
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "pipelens: --log-level %q: want debug, info, warn or error\n", *logLevel)
		return 2
	}
	a.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	c, ok := commands[rest[0]]
	if !ok {
		fmt.Fprintf(stderr, "pipelens: unknown command %q\n\n", rest[0])
		usage(stderr, global)
		return 2
	}
	if err := c.run(ctx, a, rest[1:]); err != nil {
		if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintf(stderr, "pipelens %s: %v\n", c.name, err)
		return 1
	}
	return 0
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: pipelens [--config FILE] COMMAND [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nglobal flags:")
	fs.PrintDefaults()
}

// flags makes a subcommand's flag set that prints its own usage.
func (a *app) flags(name, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet("pipelens "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	// --config is global, but people write it after the command too
	// (`pipelens serve --config FILE`): accept it in either place.
	fs.StringVar(&a.configPath, "config", a.configPath, "YAML config file (or PIPELENS_CONFIG); also before the command")
	fs.Usage = func() {
		fmt.Fprintf(a.stderr, "usage: pipelens %s [flags] %s\n", name, argsUsage)
		fs.PrintDefaults()
	}
	return fs
}

func (a *app) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	return nil
}

func (a *app) config() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	c, err := config.Load(a.configPath)
	if err != nil {
		return nil, err
	}
	// The alerts and smtp sections are checked by the alerts package; a
	// mistake in them refuses every command, as one anywhere else in the file
	// does, instead of surfacing only when serve or alerts run reach it.
	if _, err := alerts.ParseConfig(&c.Alerts, c.Location()); err != nil {
		return nil, fmt.Errorf("config %s: %w", a.configName(), err)
	}
	if c.SMTP.Host != "" {
		if _, err := alerts.NewSMTPSender(c.SMTP); err != nil {
			return nil, fmt.Errorf("config %s: %w", a.configName(), err)
		}
	}
	a.cfg = c
	return c, nil
}

// configName is the config file in use, for messages.
func (a *app) configName() string {
	if a.configPath != "" {
		return a.configPath
	}
	if p := os.Getenv("PIPELENS_CONFIG"); p != "" {
		return p
	}
	return "(defaults)"
}

// openDB connects (starting the embedded server when no URL is set) and migrates.
func (a *app) openDB(ctx context.Context) (*schemas.DB, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	db, err := schemas.Open(ctx, c.ClickHouse, c.Home, a.log)
	if err != nil {
		return nil, err
	}
	res, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if len(res.Applied) > 0 {
		a.log.Info("migrated", "from", res.From, "to", res.To, "applied", strings.Join(res.Applied, ","))
	}
	return db, nil
}

func init() {
	register(command{name: "version", summary: "print the version", run: func(ctx context.Context, a *app, args []string) error {
		fmt.Fprintln(a.stdout, "pipelens", version)
		return nil
	}})
	register(command{name: "migrate", summary: "apply the schema migrations to ClickHouse", run: runMigrate})
}

func runMigrate(ctx context.Context, a *app, args []string) error {
	fs := a.flags("migrate", "")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	c, err := a.config()
	if err != nil {
		return err
	}
	db, err := schemas.Open(ctx, c.ClickHouse, c.Home, a.log)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(res.Applied) == 0 {
		fmt.Fprintf(a.stdout, "schema is up to date at version %d (%s, database %s)\n", res.To, db.ServerVersion(), db.Database)
		return nil
	}
	fmt.Fprintf(a.stdout, "migrated database %s from version %d to %d: %s\n", db.Database, res.From, res.To, strings.Join(res.Applied, ", "))
	return nil
}
