package ingest

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// datedRates is a Salesforce DatedConversionRate export (Data Loader: every
// value quoted) of an org whose corporate currency is USD: CNY 7.2 for the
// first quarter and 7.0 from April, EUR 0.9 from 15 January and 0.92 from 15
// February.
const datedRates = `"ID","ISOCODE","CONVERSIONRATE","STARTDATE","NEXTSTARTDATE"
"04w000000000001AAA","USD","1.000000","2024-01-01","9999-12-31"
"04w000000000002AAA","CNY","7.200000","2024-01-01","2024-04-01"
"04w000000000003AAA","CNY","7.000000","2024-04-01","9999-12-31"
"04w000000000004AAA","EUR","0.900000","2024-01-15","2024-02-15"
"04w000000000005AAA","EUR","0.920000","2024-02-15","9999-12-31"
`

// TestSalesforceDatedRates: the DatedConversionRate export is recognised (not
// as plain monthly rates: its rate is the inverse), each range fills the months
// it covers with USD per unit, and a CNY deal then counts at its month's rate.
func TestSalesforceDatedRates(t *testing.T) {
	db := schemastest.Open(t)
	s := newService(t, db, Options{RejectThreshold: threshold(0.5), Currency: Currency{Reporting: "USD"}})
	dir := t.TempDir()
	path := filepath.Join(dir, "DatedConversionRate.csv")
	if err := os.WriteFile(path, []byte(datedRates), 0o644); err != nil {
		t.Fatal(err)
	}
	fr := load(t, s, path, LoadOptions{})
	if fr.Profile != "salesforce-dated-rates" || fr.Rejected != 0 {
		t.Fatalf("profile %s, %d rejected %v; want salesforce-dated-rates, none", fr.Profile, fr.Rejected, fr.RejectsByReason)
	}
	rows, err := db.Conn.Query(context.Background(), "SELECT currency, toString(month), rate FROM fx_rates ORDER BY currency, month")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var c, m string
		var r float64
		if err := rows.Scan(&c, &m, &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %.6f", c, m, math.Round(r*1e6)/1e6))
	}
	want := []string{
		fmt.Sprintf("CNY 2024-01-01 %.6f", 1/7.2), fmt.Sprintf("CNY 2024-02-01 %.6f", 1/7.2), fmt.Sprintf("CNY 2024-03-01 %.6f", 1/7.2),
		fmt.Sprintf("CNY 2024-04-01 %.6f", 1/7.0),
		fmt.Sprintf("EUR 2024-01-15 %.6f", 1/0.9), fmt.Sprintf("EUR 2024-02-15 %.6f", 1/0.92),
		"USD 2024-01-01 1.000000",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("fx_rates:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	deals := filepath.Join(dir, "deals.csv")
	if err := os.WriteFile(deals, []byte("opportunity_id,name,account_id,owner_id,stage,amount,currency,created_at,close_date\n"+
		"D1,a,A1,U1,won,720,CNY,2024-01-02,2024-03-10\nD2,b,A1,U1,won,100,JPY,2024-01-02,2024-02-01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fr = load(t, s, deals, LoadOptions{}); fr.Loaded != 1 || fr.RejectsByReason["no_fx_rate"] != 1 {
		t.Errorf("deals: loaded %d rejects %v; want the CNY deal loaded, JPY no_fx_rate", fr.Loaded, fr.RejectsByReason)
	}
}

// TestSalesforceDatedRatesOtherCorporateCurrency: reporting in CNY while the
// org's corporate currency is USD would invert every rate; the CNY rows say
// so (not_corporate_currency, with row and column) and the run stores nothing.
func TestSalesforceDatedRatesOtherCorporateCurrency(t *testing.T) {
	db := schemastest.Open(t)
	s := newService(t, db, Options{Currency: Currency{Reporting: "CNY", Rates: map[string]float64{"USD": 7.1}}})
	path := filepath.Join(t.TempDir(), "DatedConversionRate.csv")
	if err := os.WriteFile(path, []byte(datedRates), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.LoadFile(context.Background(), path, LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "not_corporate_currency") {
		t.Fatalf("got %v, want the load to fail naming not_corporate_currency", err)
	}
	// No committed run holds a rate: readers see none at once.
	var n uint64
	if err := db.Conn.QueryRow(context.Background(), "SELECT count() FROM fx_rates WHERE run_id IN "+
		"(SELECT run_id FROM ingest_runs GROUP BY run_id HAVING argMax(status, updated_ns) = 'committed')").Scan(&n); err != nil || n != 0 {
		t.Errorf("fx_rates holds %d rows of committed runs (%v), want none", n, err)
	}
	// The failed run's rows go with the DELETE mutation discard starts, which
	// ClickHouse runs in the background: gone within a minute.
	deadline := time.Now().Add(time.Minute)
	for {
		if err := db.Conn.QueryRow(context.Background(), "SELECT count() FROM fx_rates").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fx_rates still holds %d rows of the failed run a minute after it failed", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
