package query

import "errors"

// ErrForbidden means the caller's scope does not allow what was asked.
var ErrForbidden = errors.New("outside the caller's scope")

// Roles a caller can have.
const (
	RoleDirector = "director" // everything
	RoleManager  = "manager"  // own team only
	RoleRep      = "rep"      // own numbers only
	RoleAdmin    = "admin"    // everything, plus imports and alert rules
)

// Scope is who is asking. Row-level limits are applied here in query, never in
// the pages: a manager's Team and a rep's Rep are added to every statement.
type Scope struct {
	Name string
	Role string
	Team string // manager: the only team visible
	Rep  string // rep: the only rep visible
}

// Unrestricted is the scope of pipelens itself (alerts, the CLI).
var Unrestricted = Scope{Name: "pipelens", Role: RoleAdmin}

// SeesAll says whether the scope spans the whole organisation.
func (s Scope) SeesAll() bool { return s.Role == RoleDirector || s.Role == RoleAdmin }
