package query

import (
	"context"
	"errors"
	"fmt"
)

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

// CheckRep says whether the caller may see rep id: nil when the rep is in scope,
// ErrForbidden when the rep exists outside it (another team's rep for a manager,
// another rep for a rep), ErrNotFound when there is no such rep. The pages use it
// to tell "not in your team" apart from an empty selection.
func (s *Service) CheckRep(ctx context.Context, sc Scope, id string) error {
	reps, err := s.repDims(ctx)
	if err != nil {
		return fmt.Errorf("check rep %q: %w", id, err)
	}
	for _, r := range reps {
		if r.id != id {
			continue
		}
		switch {
		case sc.SeesAll():
			return nil
		case sc.Role == RoleManager && sc.Team != "" && r.team == sc.Team:
			return nil
		case sc.Role == RoleRep && sc.Rep == id:
			return nil
		}
		return fmt.Errorf("%w: rep %q is not in %s's scope", ErrForbidden, id, sc.Name)
	}
	return fmt.Errorf("%w: rep %q", ErrNotFound, id)
}
