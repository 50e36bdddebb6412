package query

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// What the alert engine's deal rules and routing read besides the daily
// series (DailySeries): the org, the open deals with their snapshot history,
// and the usual days in each stage. Like every other number they come from the
// published data (opp_facts and the latest rows of the published runs), so an
// alert never sees a load the pages do not.

// Person is a row of the reps export: a rep, manager or director.
type Person struct {
	ID, Name, Email, Role, ManagerID, Team, Territory, Lang string
	Active                                                  bool
}

// People is the sales organisation of the published reps export, by id.
func (s *Service) People(ctx context.Context) ([]Person, error) {
	q := "SELECT rep_id, name, email, role, manager_id, team, territory, lang, active FROM " +
		latest("reps", "rep_id", "rep_id, name, email, role, manager_id, team, territory, lang, active") + " ORDER BY rep_id"
	var out []Person
	err := s.query(ctx, "people", q, nil, func(r driverRows) error {
		var p Person
		var active uint8
		if err := r.Scan(&p.ID, &p.Name, &p.Email, &p.Role, &p.ManagerID, &p.Team, &p.Territory, &p.Lang, &active); err != nil {
			return err
		}
		p.Active = active == 1
		out = append(out, p)
		return nil
	})
	return out, err
}

// OpenDeal is an open opportunity as the deal rules see it, with its territory
// as every page has it (the account's, else the owner's).
type OpenDeal struct {
	ID, Name, Account, OwnerID, Stage string
	Product, Source, Territory        string
	Amount                            float64
	Currency                          string
	CloseDate                         time.Time
	StageEntered                      time.Time // latest stage entry before asOf
	Created                           time.Time
	// Snapshot history before asOf, oldest first; only of deals whose close
	// date or amount moved in the year before asOf.
	SnapDates, SnapClose []time.Time
	SnapAmount           []float64
}

// OpenDeals is the opportunities open in the published data created before
// asOf.
func (s *Service) OpenDeals(ctx context.Context, asOf time.Time) ([]OpenDeal, error) {
	// Only the open deals' snapshots: the others' history is not asked for.
	return s.readOpenDeals(ctx, asOf, openDealsSQL(asOf.Unix(), s.currency == ""), tokRaw+" AND "+openIDs)
}

// readOpenDeals reads the deals of q (openDealsSQL's columns) and the snapshot
// history of those among them whose raw snapshot rows snapRows selects.
func (s *Service) readOpenDeals(ctx context.Context, asOf time.Time, q, snapRows string) ([]OpenDeal, error) {
	var deals []OpenDeal
	idx := map[string]int{}
	err := s.query(ctx, "open-deals", q, nil, func(r driverRows) error {
		var d OpenDeal
		if err := r.Scan(&d.ID, &d.Name, &d.Account, &d.OwnerID, &d.Stage, &d.Product, &d.Source, &d.Territory, &d.Amount, &d.Currency, &d.CloseDate, &d.StageEntered, &d.Created); err != nil {
			return err
		}
		if s.currency != "" {
			d.Currency = s.currency // opp_facts amounts are in the reporting currency
		}
		idx[d.ID] = len(deals)
		deals = append(deals, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	day := asOf.In(s.loc)
	// Snapshot amounts in the reporting currency at their day's rate, as the
	// deal's amount (opp_facts) and Pipeline movement count them.
	fx, err := s.fxRates(ctx, tokRaw)
	if err != nil {
		return nil, err
	}
	snaps := latestWhere("opportunity_snapshots", "snapshot_date, opportunity_id", "snapshot_date, opportunity_id, "+fx.sql("amount", "currency", "snapshot_date")+" AS s_amount, close_date, closed", snapRows)
	sq := `SELECT opportunity_id,
    arraySort(groupArray(snapshot_date)) AS ds,
    arraySort((c, x) -> x, groupArray(close_date), groupArray(snapshot_date)) AS cs,
    arraySort((a, x) -> x, groupArray(s_amount), groupArray(snapshot_date)) AS am
FROM ` + snaps + `
WHERE snapshot_date <= toDate(?) AND snapshot_date >= toDate(?) AND closed = 0
GROUP BY opportunity_id
HAVING uniqExact(close_date) >= 2 OR min(s_amount) < max(s_amount)`
	err = s.query(ctx, "open-deal-snapshots", sq, []any{day.Format(time.DateOnly), day.AddDate(-1, 0, 0).Format(time.DateOnly)}, func(r driverRows) error {
		var id string
		var ds, cs []time.Time
		var am []float64
		if err := r.Scan(&id, &ds, &cs, &am); err != nil {
			return err
		}
		if i, ok := idx[id]; ok {
			deals[i].SnapDates, deals[i].SnapClose, deals[i].SnapAmount = ds, cs, am
		}
		return nil
	})
	return deals, err
}

// openIDs keeps the rows of the opportunities open now (a deal open at an
// earlier as-of day but closed since is not open in the published data).
const openIDs = "opportunity_id GLOBAL IN (SELECT opportunity_id FROM opp_open WHERE " + tokFacts + ")"

// openDealsSQL is OpenDeals' statement at the unix time t: the open
// opp_facts rows (PREWHERE: one row in 30 at 3.2M), each with its latest
// stage change before t and, when withCurrency, the currency of its latest raw
// row. Both read only the open deals' raw rows (their ids from opp_open).
// The latest stage change needs no latest-row pass: a stage event row is its
// key (opportunity, time, stage), so every run that has it has the same row,
// and the maximum over the published runs' rows is the maximum over their
// latest rows. Sorting all 10M events per run (latest) cost 11 s of
// ClickHouse CPU at 3.2M opportunities, each evaluation.
func openDealsSQL(t int64, withCurrency bool) string {
	facts := fmt.Sprintf("(SELECT opportunity_id, name, account_name, owner_id, stage, product, source, territory, amount, close_date, created_at "+
		"FROM opp_facts PREWHERE closed = 0 WHERE %s AND created_at < toDateTime(%d))", tokFacts, t)
	entered := fmt.Sprintf("(SELECT opportunity_id, max(entered_at) AS stage_entered FROM stage_events WHERE %s AND %s AND entered_at < toDateTime(%d) GROUP BY opportunity_id)",
		tokRaw, openIDs, t)
	fe := "(SELECT * FROM " + facts + " AS f ALL LEFT JOIN " + entered + " AS e USING opportunity_id)"
	cols := "opportunity_id, name, account_name, owner_id, stage, product, source, territory, amount, %s, close_date, stage_entered, created_at"
	if !withCurrency {
		return "SELECT " + fmt.Sprintf(cols, "'' AS currency") + " FROM " + fe + " AS fe ORDER BY opportunity_id"
	}
	cur := latestWhere("opportunities", "opportunity_id", "opportunity_id, currency", tokRaw+" AND "+openIDs)
	return "SELECT " + fmt.Sprintf(cols, "currency") + " FROM " + fe + " AS fe ALL LEFT JOIN " + cur + " AS c USING opportunity_id ORDER BY opportunity_id"
}

// StageNorm is the usual time in an open stage for a team ("" = everybody).
type StageNorm struct {
	Team, Stage string
	Count       int
	P50, P90    float64 // days
}

// StageNorms is, per team and open stage and for all teams together, the
// stays (as in DaysInStage) entered in the year before asOf and left before
// asOf: their count, median and 90th percentile.
func (s *Service) StageNorms(ctx context.Context, asOf time.Time) ([]StageNorm, error) {
	t := asOf.Unix()
	names := make([]string, len(s.stages))
	for i, st := range s.stages {
		names[i] = quote(st)
	}
	stage := "arrayElement([" + strings.Join(names, ", ") + "], rk)"
	var out []StageNorm
	err := s.query(ctx, "stage-norms", stageNormsSQL(stage, s.tz, t-365*86400, t), nil, func(r driverRows) error {
		var n StageNorm
		var cnt uint64
		if err := r.Scan(&n.Team, &n.Stage, &cnt, &n.P50, &n.P90); err != nil {
			return err
		}
		n.Count = int(cnt)
		out = append(out, n)
		return nil
	})
	return out, err
}
