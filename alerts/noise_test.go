package alerts

import (
	"strings"
	"testing"
)

// TestBenjaminiHochberg: over 100 reps tested at alpha 0.01, Bonferroni keeps
// only p ≤ 0.0001; Benjamini–Hochberg keeps the k smallest p with p(k) ≤
// k/100·0.01. Hand-computed: p = 0.00005 (rank 1 ≤ 0.0001), 0.00015 (rank 2 ≤
// 0.0002), 0.00029 (rank 3 ≤ 0.0003), 0.0009 (rank 4 > 0.0004, rank 5? no
// fifth): the first three are kept; 0.0009 is not. A robust-z finding (p 0)
// is kept as it is.
func TestBenjaminiHochberg(t *testing.T) {
	as := []Anomaly{{Segment: "d", pValue: 0.0009}, {Segment: "b", pValue: 0.00015}, {Segment: "z"}, {Segment: "a", pValue: 0.00005}, {Segment: "c", pValue: 0.00029}}
	keep := benjaminiHochberg(as, 100, 0.01)
	var got []string
	for i, k := range keep {
		if k {
			got = append(got, as[i].Segment)
		}
	}
	if strings.Join(got, ",") != "b,z,a,c" {
		t.Errorf("kept %v, want b, z, a, c (d's p 0.0009 is above 4/100·0.01)", got)
	}
	// Step-up: a larger p at a higher rank lifts the smaller ones with it.
	as = []Anomaly{{Segment: "a", pValue: 0.0002}, {Segment: "b", pValue: 0.00025}, {Segment: "c", pValue: 0.0003}}
	keep = benjaminiHochberg(as, 100, 0.01)
	if !keep[0] || !keep[1] || !keep[2] {
		t.Errorf("step-up: p(3) = 0.0003 ≤ 3/100·0.01 keeps all three, got %v", keep)
	}
	// One segment alone: the plain test at alpha.
	if k := benjaminiHochberg([]Anomaly{{pValue: 0.009}}, 1, 0.01); !k[0] {
		t.Error("a single segment at p 0.009 < 0.01 must be kept")
	}
}

// TestGroupTree: a manager's email with the team's drop and two of its reps'
// drops of the same rule reads one section with the reps under it; a rep of
// another team, another rule, the other direction and deal alerts keep their
// own sections.
func TestGroupTree(t *testing.T) {
	org := Org{Reps: []Person{{ID: "r1", Team: "East"}, {ID: "r2", Team: "East"}, {ID: "r3", Team: "West"}}}
	mk := func(rule, kind, seg string, dir int) *Anomaly {
		return &Anomaly{Rule: rule, Metric: MetricBookings, SegmentKind: kind, Segment: seg, SegmentLabel: seg, Direction: dir}
	}
	team := mk("bookings", SegTeam, "East", -1)
	r1, r2, r3 := mk("bookings", SegRep, "r1", -1), mk("bookings", SegRep, "r2", -1), mk("bookings", SegRep, "r3", -1)
	r1up := mk("bookings", SegRep, "r1", 1)
	other := mk("leads", SegRep, "r2", -1)
	deal := mk("bookings", SegRep, "r1", -1)
	deal.Deal = &Deal{ID: "o1"}
	top, among := groupTree([]*Anomaly{r1, team, r2, r3, r1up, other, deal}, org)
	if len(top) != 5 || top[0] != team || top[1] != r3 || top[2] != r1up || top[3] != other || top[4] != deal {
		t.Errorf("sections %d: %+v", len(top), top)
	}
	if len(among[team]) != 2 || among[team][0] != r1 || among[team][1] != r2 {
		t.Errorf("under East: %+v, want r1 and r2", among[team])
	}
	// The whole organisation's drop gathers the team and its reps.
	all := mk("bookings", SegAll, "", -1)
	top, among = groupTree([]*Anomaly{team, r1, all}, org)
	if len(top) != 1 || top[0] != all || len(among[all]) != 2 {
		t.Errorf("org-wide: sections %+v, under it %+v", top, among[all])
	}
	em, err := renderGrouped(Recipient{Email: "m@example.com", Lang: "en"}, []*Anomaly{team}, testLinks, map[*Anomaly][]*Anomaly{team: {r1, r2}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(em.Text, "Also flagged under this segment") || !strings.Contains(em.Text, "Rep r1") || !strings.Contains(em.HTML, "Rep r2") {
		t.Errorf("the email does not list the reps under the team:\n%s", em.Text)
	}
}
