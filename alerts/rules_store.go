package alerts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/pipelens/pipelens/schemas/config"
)

// This file keeps the rule set an admin edits (the rules editor, issue 15):
// saved sets are versioned documents in alert_rule_sets; the newest is in
// force at every evaluation, and until an admin saves one the config's rules
// are.

// RuleSet is a set of rules and where it comes from.
type RuleSet struct {
	// Source is "config" (the config file's alerts.rules, or the defaults) or
	// "saved" (a set saved in the editor).
	Source string
	// Version is the saved set's number (1, 2, ...); 0 for the config's.
	Version uint64
	SavedBy string
	SavedAt time.Time
	// Document is the rule list as YAML, as it was saved (the config's rules
	// are written out without their defaults).
	Document string
	// Rules are checked and completed with the defaults.
	Rules []Rule
}

// ErrNoRules is a saved set without any rule: the editor refuses it (the
// config file's disabled: true is the way to turn alerts off).
var ErrNoRules = errors.New("a rule set needs at least one rule")

// RuleErrors lists what is wrong with a rule set, rule by rule.
func RuleErrors(err error) []*RuleError {
	var out []*RuleError
	var one *RuleError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, RuleErrors(e)...)
		}
	} else if errors.As(err, &one) {
		out = append(out, one)
	}
	return out
}

// ParseRules reads a rule set: a YAML or JSON list of rules, a mapping with a
// rules key holding one, or a single rule (a mapping with its settings). Keys
// are those of alerts.rules in the config file; unknown keys are refused. The
// rules are checked and completed by the same validation as the config's,
// with the engine's defaults.
func (e *Engine) ParseRules(doc string) ([]Rule, error) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		return nil, &RuleError{Index: -1, Field: "document", Err: err}
	}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.MappingNode {
		if v := mappingValue(n, "rules"); v != nil {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i]; k.Value != "rules" {
					return nil, &RuleError{Index: -1, Field: k.Value, Err: fmt.Errorf("line %d: unknown key %s: a rule set holds only rules", k.Line, k.Value)}
				}
			}
			n = v
		} else {
			n = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{n}}
		}
	}
	if n.Kind != yaml.SequenceNode {
		return nil, &RuleError{Index: -1, Field: "document", Err: errors.New("want a list of rules")}
	}
	if len(n.Content) == 0 {
		return nil, &RuleError{Index: -1, Field: "document", Err: ErrNoRules}
	}
	rules := make([]Rule, len(n.Content))
	var errs []error
	for i, item := range n.Content {
		path := fmt.Sprintf("rules[%d]", i)
		if err := config.UnknownKeys(item, rules[i], path); err != nil {
			key := err.Error()[strings.LastIndex(err.Error(), ".")+1:]
			errs = append(errs, &RuleError{Index: i, Name: nameOf(item), Field: key, Err: err})
			continue
		}
		if err := item.Decode(&rules[i]); err != nil {
			errs = append(errs, &RuleError{Index: i, Name: nameOf(item), Field: "", Err: err})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	d := e.cfg.Defaults
	if err := validateRules(rules, &d, e.loc); err != nil {
		return nil, err
	}
	return rules, nil
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func nameOf(item *yaml.Node) string {
	if v := mappingValue(item, "name"); v != nil {
		return v.Value
	}
	return ""
}

// Rules returns the rule set in force: the newest saved, else the config's.
func (e *Engine) Rules(ctx context.Context) (RuleSet, error) {
	saved, ok, err := e.savedRules(ctx)
	if err != nil || ok {
		return saved, err
	}
	doc, err := RulesDocument(e.raw)
	if err != nil {
		return RuleSet{}, err
	}
	return RuleSet{Source: "config", Document: doc, Rules: e.cfg.Rules}, nil
}

// rawRules are the config's rules as written, before their defaults: the
// file's alerts.rules, or DefaultRules when it lists none (as ParseConfig
// reads it), or o, a programmatic set. A set saved from them keeps following
// the config's defaults for what it leaves out.
func rawRules(o *Config, c *config.Config) []Rule {
	if o != nil {
		return append([]Rule(nil), o.Rules...)
	}
	var a struct {
		Rules    []Rule `yaml:"rules"`
		Disabled bool   `yaml:"disabled"`
	}
	if c.Alerts.Kind != 0 {
		_ = c.Alerts.Decode(&a) // ParseConfig has said what is wrong with it
	}
	if len(a.Rules) == 0 && !a.Disabled {
		return DefaultRules()
	}
	return a.Rules
}

// rulesInForce is the rules an evaluation runs. A saved set that no longer
// reads (a metric a newer pipelens dropped) or a database that does not
// answer leaves the config's rules in force, loudly: alerts keep running.
func (e *Engine) rulesInForce(ctx context.Context) []Rule {
	saved, ok, err := e.savedRules(ctx)
	if err != nil {
		e.log.Error("saved alert rules: the config's rules stay in force", "err", err)
		return e.cfg.Rules
	}
	if !ok {
		return e.cfg.Rules
	}
	return saved.Rules
}

// savedRules reads the newest saved set (ok false: none was saved).
func (e *Engine) savedRules(ctx context.Context) (RuleSet, bool, error) {
	qctx, cancel := e.db.Context(ctx, "alerts-read-rule-set")
	defer cancel()
	rows, err := e.db.Conn.Query(qctx, "SELECT set_version, document, saved_by, saved_at FROM alert_rule_sets ORDER BY set_version DESC, version DESC LIMIT 1")
	if err != nil {
		return RuleSet{}, false, fmt.Errorf("read alert rule set: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return RuleSet{}, false, rows.Err()
	}
	s := RuleSet{Source: "saved"}
	if err := rows.Scan(&s.Version, &s.Document, &s.SavedBy, &s.SavedAt); err != nil {
		return RuleSet{}, false, fmt.Errorf("read alert rule set: %w", err)
	}
	s.Rules, err = e.ParseRules(s.Document)
	if err != nil {
		return RuleSet{}, false, fmt.Errorf("alert rule set %d: %w", s.Version, err)
	}
	return s, true, nil
}

// SaveRules checks doc (see ParseRules) and stores it as the next set, which
// every evaluation from now on runs. by is who saved it.
func (e *Engine) SaveRules(ctx context.Context, doc, by string) (RuleSet, error) {
	rules, err := e.ParseRules(doc)
	if err != nil {
		return RuleSet{}, err
	}
	cur, ok, err := e.savedRules(ctx)
	if err != nil && !errors.As(err, new(*RuleError)) {
		return RuleSet{}, err
	}
	s := RuleSet{Source: "saved", Version: 1, SavedBy: by, SavedAt: time.Now().UTC().Truncate(time.Second), Document: doc, Rules: rules}
	if ok {
		s.Version = cur.Version + 1
	} else if n, err := e.lastSetVersion(ctx); err != nil {
		return RuleSet{}, err
	} else {
		s.Version = n + 1
	}
	err = e.db.InsertRows(ctx, "alerts-rule-set", "INSERT INTO alert_rule_sets (set_version, document, saved_by, saved_at, version)",
		[]any{s.Version, doc, by, s.SavedAt, nextVersion()})
	if err != nil {
		return RuleSet{}, fmt.Errorf("store alert rule set: %w", err)
	}
	// On a cluster the next evaluation may read another replica: it must see
	// this set, not the one before.
	if err := e.db.SyncReplicas(ctx, "alert_rule_sets"); err != nil {
		return RuleSet{}, fmt.Errorf("store alert rule set: %w", err)
	}
	return s, nil
}

// lastSetVersion is the highest set number stored, even of a set that no
// longer reads (0: none).
func (e *Engine) lastSetVersion(ctx context.Context) (uint64, error) {
	qctx, cancel := e.db.Context(ctx, "alerts-rule-set-version")
	defer cancel()
	var n uint64
	if err := e.db.Conn.QueryRow(qctx, "SELECT max(set_version) FROM alert_rule_sets").Scan(&n); err != nil {
		return 0, fmt.Errorf("read alert rule set: %w", err)
	}
	return n, nil
}

// RulesDocument writes rules as the editor shows them: a YAML list with only
// the settings each rule sets (zero values are left out: they mean "the
// default").
func RulesDocument(rules []Rule) (string, error) {
	var n yaml.Node
	if err := n.Encode(rules); err != nil {
		return "", fmt.Errorf("write rules: %w", err)
	}
	for _, r := range n.Content {
		var keep []*yaml.Node
		for i := 0; i+1 < len(r.Content); i += 2 {
			v := r.Content[i+1]
			if v.Kind == yaml.ScalarNode && (v.Value == "" || v.Value == "0" || v.Value == "0s" || v.Tag == "!!null") ||
				v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				continue
			}
			keep = append(keep, r.Content[i], v)
		}
		r.Content = keep
	}
	out, err := yaml.Marshal(&n)
	if err != nil {
		return "", fmt.Errorf("write rules: %w", err)
	}
	return string(out), nil
}
