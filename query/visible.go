package query

import (
	"context"
	"fmt"
	"strings"

	"github.com/pipelens/pipelens/schemas"
)

// Every statement that reads the warehouse names the visibility rule of each
// table it reads with a token; query fills the tokens with the filters of one
// version (schemas/visibility.go), so a statement never mixes two loads:
//
//	{raw}       raw tables: rows of published runs (latest() adds it)
//	{facts}     opp_facts, opp_stays, stay_lens, deal_amounts, opp_closes, opp_open and opp_moves: current versions
//	{accounts}  account_facts, account_dims: current versions
//	{delta}     rep_days, rep_dim_months, territory_days, territory_wins, rep_activity_days, lead_days, cycle_days, team_days, dim_days, territory_dim_days, stay_hist, deal_hist, territory_firsts
const (
	tokRaw      = "{raw}"
	tokFacts    = "{facts}"
	tokAccounts = "{accounts}"
	tokDelta    = "{delta}"
)

// servingReads pairs each serving table with its token: a statement that reads
// the table without the token is a bug that would count replaced rows.
var servingReads = []struct{ table, token string }{
	{"opp_facts", tokFacts}, {"opp_stays", tokFacts}, {"stay_lens", tokFacts}, {"deal_amounts", tokFacts}, {"opp_closes", tokFacts}, {"opp_open", tokFacts}, {"opp_moves", tokFacts}, {"account_facts", tokAccounts}, {"account_dims", tokAccounts},
	{"rep_days", tokDelta}, {"rep_dim_months", tokDelta}, {"territory_days", tokDelta}, {"territory_wins", tokDelta}, {"rep_activity_days", tokDelta},
	{"lead_days", tokDelta}, {"cycle_days", tokDelta}, {"team_days", tokDelta}, {"dim_days", tokDelta}, {"territory_dim_days", tokDelta}, {"stay_hist", tokDelta}, {"deal_hist", tokDelta}, {"territory_firsts", tokDelta},
}

type versionKey struct{}

// AsOf fixes the version every statement run with ctx reads: a page or an API
// request takes it once, so all its numbers come from the same loads (and a
// cache keyed by it is invalidated by any process's publication).
func AsOf(ctx context.Context, v schemas.Version) context.Context {
	return context.WithValue(ctx, versionKey{}, v)
}

// VersionOf is the version AsOf put in ctx.
func VersionOf(ctx context.Context) (schemas.Version, bool) {
	v, ok := ctx.Value(versionKey{}).(schemas.Version)
	return v, ok
}

// Version is ctx's version (AsOf), else the latest publication.
func (s *Service) Version(ctx context.Context) (schemas.Version, error) {
	if v, ok := ctx.Value(versionKey{}).(schemas.Version); ok {
		return v, nil
	}
	return s.db.CurrentVersion(ctx)
}

func (s *Service) visible(ctx context.Context, q string) (string, error) {
	for _, r := range servingReads {
		if strings.Contains(q, "FROM "+r.table) && !strings.Contains(q, r.token) {
			return "", fmt.Errorf("statement reads %s without %s", r.table, r.token)
		}
	}
	if !strings.Contains(q, "{") {
		return q, nil
	}
	v, err := s.Version(ctx)
	if err != nil {
		return "", err
	}
	return strings.NewReplacer(
		tokRaw, schemas.RawVisible(v),
		tokFacts, schemas.EntityVisible(v, "opportunity_id", s.db.ShardLocal("opp_gone")),
		tokAccounts, schemas.EntityVisible(v, "account_id", s.db.ShardLocal("account_gone")),
		tokDelta, schemas.DeltaVisible(v),
	).Replace(q), nil
}
