// Package config reads pipelens's YAML configuration and applies the environment
// overrides for the essentials (PIPELENS_HOME, PIPELENS_CLICKHOUSE_URL, PIPELENS_ADDR,
// PIPELENS_TIMEZONE). Each part of pipelens takes only its own section.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Secret is a string that never prints itself, so a logged config leaks nothing.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<redacted>"
}

// MarshalJSON keeps secrets out of JSON dumps too.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// Config is the whole configuration file.
type Config struct {
	// Home holds the embedded ClickHouse's config and data, uploads and the outbox.
	Home       string     `yaml:"home"`
	TimeZone   string     `yaml:"timezone"`
	FiscalYear FiscalYear `yaml:"fiscal_year"`
	ClickHouse ClickHouse `yaml:"clickhouse"`
	Server     Server     `yaml:"server"`
	Auth       Auth       `yaml:"auth"`
	Ingest     Ingest     `yaml:"ingest"`
	Stages     Stages     `yaml:"stages"`
	Alerts     yaml.Node  `yaml:"alerts"`
	SMTP       SMTP       `yaml:"smtp"`
	Tiers      Tiers      `yaml:"tiers"`
	Currency   Currency   `yaml:"currency"`
	CRM        CRM        `yaml:"crm"`
}

// Currency says which currency the numbers are reported in and how others
// convert to it. With Reporting empty amounts are summed as exported (one
// currency assumed); with it set, a deal, snapshot or target in another
// currency converts at Rates[code] (units of the reporting currency per unit),
// and a row in a currency without a rate is rejected at load.
type Currency struct {
	Reporting string             `yaml:"reporting"`
	Rates     map[string]float64 `yaml:"rates"`
}

func (c Currency) validate() []error {
	var errs []error
	if c.Reporting != "" && !currencyCode(c.Reporting) {
		errs = append(errs, fmt.Errorf("currency.reporting %q: want an ISO 4217 code such as CNY or USD", c.Reporting))
	}
	if len(c.Rates) > 0 && c.Reporting == "" {
		errs = append(errs, errors.New("currency.rates: set currency.reporting, the currency the rates convert to"))
	}
	for code, r := range c.Rates {
		if !currencyCode(code) {
			errs = append(errs, fmt.Errorf("currency.rates.%s: want an ISO 4217 code (three capital letters)", code))
		}
		if !(r > 0) || r > 1e9 {
			errs = append(errs, fmt.Errorf("currency.rates.%s %v: want units of %s per %s, a positive number", code, r, c.Reporting, code))
		}
	}
	return errs
}

func currencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// FiscalYear says in which month the fiscal year starts (1 = January).
type FiscalYear struct {
	StartMonth int `yaml:"start_month"`
}

// ClickHouse says where the data lives. With URL empty pipelens runs its own server.
type ClickHouse struct {
	URL     Secret `yaml:"url"`
	URLFile string `yaml:"url_file"`
	// Cluster names a remote_servers cluster: tables become local tables plus
	// Distributed tables over it.
	Cluster string `yaml:"cluster"`
	// Shards lists the cluster's servers in cluster mode, one entry per shard: the
	// native address (host:port) of each of its replicas, separated by commas
	// ("ch1:9000,ch2:9000"); a single address is a shard of one replica.
	// Migrations run the DDL on every replica (docs/cluster.md).
	Shards []string `yaml:"shards"`
	// Binary is the clickhouse-server (or clickhouse) program for the embedded default.
	Binary string `yaml:"binary"`
	// QueryTimeout bounds every statement (also sent as max_execution_time).
	QueryTimeout time.Duration `yaml:"query_timeout"`
}

// Server is the HTTP side.
type Server struct {
	Addr    string `yaml:"addr"`
	BaseURL string `yaml:"base_url"`
	// MetricsToken, when set, is the bearer token /metrics asks scrapers for;
	// MetricsTokenFile reads it from a file (a mounted secret) instead.
	MetricsToken     Secret `yaml:"metrics_token"`
	MetricsTokenFile string `yaml:"metrics_token_file"`
	// MaxComputingRequests is how many requests compute numbers the cache does
	// not hold at once; the others wait their turn, first come first served.
	// 0: the ClickHouse server's cores.
	MaxComputingRequests int `yaml:"max_computing_requests"`
}

// Auth lists machine tokens, users, and the optional trusted proxy header.
type Auth struct {
	Tokens         []Token  `yaml:"tokens"`
	Users          []User   `yaml:"users"`
	SessionSecret  Secret   `yaml:"session_secret"`
	TrustedHeader  string   `yaml:"trusted_header"`
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Token is a bearer token for machine clients.
type Token struct {
	Name  string `yaml:"name"`
	Token Secret `yaml:"token"`
	Role  string `yaml:"role"`
	Team  string `yaml:"team"`
	Rep   string `yaml:"rep"`
}

// User signs in on the pages; PasswordHash is a bcrypt hash.
type User struct {
	Username     string `yaml:"username"`
	Name         string `yaml:"name"`
	PasswordHash Secret `yaml:"password_hash"`
	Role         string `yaml:"role"`
	Team         string `yaml:"team"`
	Rep          string `yaml:"rep"`
	Email        string `yaml:"email"`
	Lang         string `yaml:"lang"`
}

// Ingest tunes loading.
type Ingest struct {
	// RejectThreshold fails a run whose share of rejected rows exceeds it
	// (0..1). An explicit 0 allows no rejected row; only a missing key takes
	// DefaultRejectThreshold.
	RejectThreshold float64 `yaml:"reject_threshold"`
	// MaxUploadMB bounds one upload, for the dashboards' upload door and the
	// ingest service alike (MaxUploadBytes).
	MaxUploadMB int64    `yaml:"max_upload_mb"`
	Mappings    []string `yaml:"mappings"`
}

// The ingest defaults live here only: the dashboards and the ingest service
// read them from the config (or, for a zero ingest.Options, from these).
const (
	DefaultRejectThreshold = 0.05
	DefaultMaxUploadMB     = 256
	DefaultMaxUploadBytes  = int64(DefaultMaxUploadMB) << 20
	// maxUploadMB (1 TiB) keeps the limit in bytes far from overflowing.
	maxUploadMB = 1 << 20
)

// MaxUploadBytes is the upload limit in bytes: max_upload_mb, or the default
// when it is not set (a Config not made by Default or Load).
func (i Ingest) MaxUploadBytes() int64 {
	if i.MaxUploadMB <= 0 {
		return DefaultMaxUploadBytes
	}
	return i.MaxUploadMB << 20
}

// Stages maps vendor stage names onto the canonical pipeline.
type Stages struct {
	Open    []string            `yaml:"open"`
	Aliases map[string][]string `yaml:"aliases"`
}

// SMTP is the outgoing mail server.
type SMTP struct {
	Host         string `yaml:"host"`
	Port         int    `yaml:"port"`
	Username     string `yaml:"username"`
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	From         string `yaml:"from"`
	// TLS: "starttls" (default when the server offers it), "tls" (implicit), "none".
	TLS string `yaml:"tls"`
	// CAFile is a PEM file of CA certificates to trust for the server's
	// certificate instead of the system roots (a server with a private CA).
	CAFile string `yaml:"ca_file"`
}

// Default is the configuration without a file.
func Default() *Config {
	return &Config{
		Home:       ".pipelens",
		TimeZone:   "UTC",
		FiscalYear: FiscalYear{StartMonth: 1},
		ClickHouse: ClickHouse{QueryTimeout: 60 * time.Second},
		Server:     Server{Addr: "127.0.0.1:8080"},
		Ingest:     Ingest{RejectThreshold: DefaultRejectThreshold, MaxUploadMB: DefaultMaxUploadMB},
		Tiers:      DefaultTiers(),
	}
}

// Load reads path (may be empty: defaults only), then applies environment
// overrides. A key pipelens does not know (a typo) is an error naming the key
// and its line: a misspelt setting would otherwise silently keep its default.
// Keys absent from the file keep their defaults; keys present, even 0, win.
func Load(path string) (*Config, error) {
	c := Default()
	if path == "" {
		path = os.Getenv("PIPELENS_CONFIG")
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if err := decode(b, c); err != nil {
			return nil, fmt.Errorf("parse config %s: %w", path, err)
		}
	}
	if v := os.Getenv("PIPELENS_HOME"); v != "" {
		c.Home = v
	}
	if v := os.Getenv("PIPELENS_CLICKHOUSE_URL"); v != "" {
		c.ClickHouse.URL = Secret(v)
	}
	if v := os.Getenv("PIPELENS_ADDR"); v != "" {
		c.Server.Addr = v
	}
	if v := os.Getenv("PIPELENS_TIMEZONE"); v != "" {
		c.TimeZone = v
	}
	if c.ClickHouse.URL == "" && c.ClickHouse.URLFile != "" {
		b, err := os.ReadFile(c.ClickHouse.URLFile)
		if err != nil {
			return nil, fmt.Errorf("read clickhouse.url_file: %w", err)
		}
		c.ClickHouse.URL = Secret(trimSpace(string(b)))
	}
	if c.SMTP.Password == "" && c.SMTP.PasswordFile != "" {
		b, err := os.ReadFile(c.SMTP.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("read smtp.password_file: %w", err)
		}
		c.SMTP.Password = Secret(trimSpace(string(b)))
	}
	if c.Server.MetricsToken == "" && c.Server.MetricsTokenFile != "" {
		b, err := os.ReadFile(c.Server.MetricsTokenFile)
		if err != nil {
			return nil, fmt.Errorf("read server.metrics_token_file: %w", err)
		}
		c.Server.MetricsToken = Secret(trimSpace(string(b)))
	}
	if err := c.validate(); err != nil {
		if path == "" {
			path = "(defaults and environment)"
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	abs, err := filepath.Abs(c.Home)
	if err != nil {
		return nil, fmt.Errorf("resolve home %q: %w", c.Home, err)
	}
	c.Home = abs
	return c, nil
}

// decode reads b over c strictly: unknown keys anywhere but under alerts (the
// alerts package checks its own section with UnknownKeys) are refused, all of
// them at once, each with its line and full key.
func decode(b []byte, c *Config) error {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return err
	}
	if err := UnknownKeys(&root, c, ""); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func (c *Config) validate() error {
	var errs []error
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("timezone %q: %w", c.TimeZone, err))
	}
	if c.FiscalYear.StartMonth < 1 || c.FiscalYear.StartMonth > 12 {
		errs = append(errs, fmt.Errorf("fiscal_year.start_month %d: want 1..12", c.FiscalYear.StartMonth))
	}
	if t := c.Ingest.RejectThreshold; t < 0 || t > 1 || math.IsNaN(t) {
		errs = append(errs, fmt.Errorf("ingest.reject_threshold %v: want a share of rows from 0 (no rejected row allowed) to 1 (any), e.g. 0.05 for 5%%", t))
	}
	if c.Ingest.MaxUploadMB <= 0 || c.Ingest.MaxUploadMB > maxUploadMB {
		errs = append(errs, fmt.Errorf("ingest.max_upload_mb %d: want a number of megabytes from 1 to %d (default %d)", c.Ingest.MaxUploadMB, maxUploadMB, DefaultMaxUploadMB))
	}
	for i, t := range c.Auth.Tokens {
		if t.Token == "" {
			errs = append(errs, fmt.Errorf("auth.tokens[%d] (%s): empty token", i, t.Name))
		}
		if !validRole(t.Role) {
			errs = append(errs, fmt.Errorf("auth.tokens[%d] (%s): role %q: want director, manager, rep or admin", i, t.Name, t.Role))
		}
		if t.Role == "manager" && t.Team == "" {
			errs = append(errs, fmt.Errorf("auth.tokens[%d] (%s): a manager token needs a team", i, t.Name))
		}
	}
	for i, u := range c.Auth.Users {
		if u.Username == "" || u.PasswordHash == "" {
			errs = append(errs, fmt.Errorf("auth.users[%d]: username and password_hash are required", i))
		}
		if !validRole(u.Role) {
			errs = append(errs, fmt.Errorf("auth.users[%d] (%s): role %q: want director, manager, rep or admin", i, u.Username, u.Role))
		}
	}
	errs = append(errs, c.Tiers.validate()...)
	errs = append(errs, c.Currency.validate()...)
	errs = append(errs, c.CRM.validate()...)
	if c.ClickHouse.QueryTimeout <= 0 {
		c.ClickHouse.QueryTimeout = 60 * time.Second
	}
	if n := c.Server.MaxComputingRequests; n < 0 || n > 1000 {
		errs = append(errs, fmt.Errorf("server.max_computing_requests: %d: want 0 (the ClickHouse server's cores) to 1000", n))
	}
	return errors.Join(errs...)
}

func validRole(r string) bool {
	switch r {
	case "director", "manager", "rep", "admin":
		return true
	}
	return false
}

// Location is the business time zone.
func (c *Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}
