package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// demoActivityTargets are the weekly activity targets the demo sets per rep
// (the sample has no proposal activities, so it sets no proposal target).
var demoActivityTargets = []struct {
	metric  string
	perWeek float64
}{{"visits", 3}, {"calls", 8}, {"meetings", 2}, {"follow_ups", 4}}

// writeDemoActivityTargets adds activity_targets.csv to the sample dir (the
// canonical targets layout, metric visits, calls, ...): each rep of reps.csv
// gets the weekly targets for the sample's year, so the KAI panels have
// targets to compare with. An existing file is kept.
func writeDemoActivityTargets(dir string, asOf time.Time) error {
	out := filepath.Join(dir, "activity_targets.csv")
	if _, err := os.Stat(out); err == nil {
		return nil
	}
	f, err := os.Open(filepath.Join(dir, "reps.csv"))
	if err != nil {
		return err
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		return fmt.Errorf("read reps.csv: %w", err)
	}
	if len(recs) < 2 {
		return errors.New("reps.csv has no reps")
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	id, okID := col["rep_id"]
	role, okRole := col["role"]
	if !okID || !okRole {
		return errors.New("reps.csv lacks rep_id or role")
	}
	from := time.Date(asOf.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	weeks := to.Sub(from).Hours() / 24 / 7
	rows := [][]string{{"scope", "scope_id", "period_start", "period_end", "metric", "amount", "currency"}}
	for _, r := range recs[1:] {
		if r[role] != "rep" {
			continue
		}
		for _, t := range demoActivityTargets {
			rows = append(rows, []string{"rep", r[id], from.Format(time.DateOnly), to.Format(time.DateOnly), t.metric,
				fmt.Sprintf("%.0f", t.perWeek*weeks), ""})
		}
	}
	tmp := out + ".tmp"
	w, err := os.Create(tmp)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.WriteAll(rows)
	if err := errors.Join(cw.Error(), w.Close()); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return os.Rename(tmp, out)
}
