package ingest

import (
	"fmt"
	"strings"
	"time"
)

// Report is what a load tells its caller: per file and in total, how many rows were
// loaded and rejected, and why.
type Report struct {
	Files    []FileReport `json:"files"`
	Loaded   int64        `json:"loaded"`
	Rejected int64        `json:"rejected"`
	Failed   int          `json:"failed"`
}

// FileReport is one file's run.
type FileReport struct {
	File     string `json:"file"`
	RunID    uint64 `json:"run_id"`
	Checksum string `json:"checksum"`
	Profile  string `json:"profile"`
	// Detection is the profile's score and the runner-up's.
	Detection
	Table  string `json:"table"`
	Format string `json:"format,omitempty"`
	Status string `json:"status"`
	// Read = Loaded + Rejected + Duplicates (rows of the file's main table).
	Read            int64            `json:"read"`
	Loaded          int64            `json:"loaded"`
	Rejected        int64            `json:"rejected"`
	Duplicates      int64            `json:"duplicates"`
	RejectsByReason map[string]int64 `json:"rejects_by_reason"`
	// Tables counts the rows written per table (snapshots and stage events too).
	Tables    map[string]int64 `json:"tables"`
	DateOrder string           `json:"date_order,omitempty"`
	// Warnings counts rows loaded under a documented rule that overrode part of
	// what the file says, by rule (stage_contradicts_flags: a Salesforce row whose
	// IsClosed/IsWon disagree with its StageName, which wins).
	Warnings      map[string]int64 `json:"warnings,omitempty"`
	SampleRejects []RejectedRow    `json:"sample_rejects,omitempty"`
	// SampleDuplicates names up to 20 keys the file repeats, their rows and the
	// row loaded (the later one, or the one with the later modification stamp).
	SampleDuplicates []DuplicateRows `json:"sample_duplicates,omitempty"`
	DuplicateOf      uint64          `json:"duplicate_of,omitempty"`
	Error            string          `json:"error,omitempty"`
	StartedAt        time.Time       `json:"started_at"`
	DurationMS       int64           `json:"duration_ms"`
	// Progress while the run loads (uploads: GET /api/v1/imports/{id}).
	Progress *Progress `json:"progress,omitempty"`
	Host     string    `json:"host,omitempty"`
	PID      int       `json:"pid,omitempty"`
}

// RejectedRow is one rejected row, as stored in ingest_rejects.
type RejectedRow struct {
	Row     int64  `json:"row"`
	Column  string `json:"column"`
	Value   string `json:"value"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func (r *Report) add(fs ...FileReport) {
	for _, f := range fs {
		r.Files = append(r.Files, f)
		if f.Status == StatusDuplicate {
			continue
		}
		if f.Status == StatusCommitted || f.Status == StatusLoaded {
			r.Loaded += f.Loaded
		}
		r.Rejected += f.Rejected
		if f.Status == StatusFailed {
			r.Failed++
		}
	}
}

// recount sets the totals from the files again (after a publication changed
// their states).
func (r *Report) recount() {
	fs := r.Files
	*r = Report{}
	r.add(fs...)
}

// Limits on what an error or a reject may quote from a file: a header of 100,000
// columns or a 10 MB cell must not become a 10 MB error message in ingest_runs
// and in every response that shows the run.
const (
	maxListed    = 20  // names listed, then "and N more"
	maxNameBytes = 80  // bytes of one listed name
	maxMessage   = 500 // bytes of a reject's message, column or raw value
	maxError     = 4000
)

// listNames lists the first maxListed names (each cut to maxNameBytes) and says
// how many more there are.
func listNames(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i == maxListed {
			fmt.Fprintf(&b, " and %d more", len(names)-maxListed)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(escapeInvalid(truncate(n, maxNameBytes)))
	}
	return b.String()
}

// tidy bounds a reject's text and makes it valid UTF-8 before it is stored or
// reported.
func (r reject) tidy() reject {
	r.file = escapeInvalid(truncate(r.file, maxMessage))
	r.column = escapeInvalid(truncate(r.column, maxNameBytes*2))
	r.raw = escapeInvalid(truncate(r.raw, maxMessage))
	r.message = escapeInvalid(truncate(r.message, maxMessage))
	return r
}

// errorText is an error as ingest_runs stores it: valid UTF-8, at most maxError bytes.
func errorText(s string) string {
	return escapeInvalid(truncate(s, maxError))
}
