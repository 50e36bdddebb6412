package alerts

// groupTree groups one email's anomalies along the org tree (rep → team →
// whole organisation): an anomaly of the same rule and direction as another
// in the email, on a segment under that one's (a rep of the team, or any
// segment under the whole organisation), is shown as a line of the upper
// one's section instead of a section of its own. A manager whose team and
// three of its reps dropped reads one section, not four. The deal alerts of a
// rule are one section too: the first of them in as heads it, the others are
// its lines, each naming its deal. as keeps its order; the result is the
// sections in that order and, per section, the anomalies under it.
func groupTree(as []*Anomaly, org Org) ([]*Anomaly, map[*Anomaly][]*Anomaly) {
	byID := org.byID()
	firstDeal := map[string]*Anomaly{}
	for _, a := range as {
		if a.Deal != nil && firstDeal[a.Rule] == nil {
			firstDeal[a.Rule] = a
		}
	}
	under := func(child, parent *Anomaly) bool {
		if child.Deal != nil || parent.Deal != nil {
			return child != parent && child.Deal != nil && parent == firstDeal[child.Rule]
		}
		if child == parent || child.Rule != parent.Rule || child.Direction != parent.Direction {
			return false
		}
		switch parent.SegmentKind {
		case SegAll:
			return child.SegmentKind != SegAll
		case SegTeam:
			return child.SegmentKind == SegRep && byID[child.Segment].Team == parent.Segment && parent.Segment != ""
		}
		return false
	}
	// The highest parent wins: a rep under a team under the whole
	// organisation goes to the whole organisation's section.
	rank := map[string]int{SegAll: 2, SegTeam: 1}
	var top []*Anomaly
	among := map[*Anomaly][]*Anomaly{}
	for _, a := range as {
		var best *Anomaly
		for _, p := range as {
			if under(a, p) && (best == nil || rank[p.SegmentKind] > rank[best.SegmentKind]) {
				best = p
			}
		}
		if best == nil {
			top = append(top, a)
			continue
		}
		among[best] = append(among[best], a)
	}
	return top, among
}
