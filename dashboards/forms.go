package dashboards

// form is a panel's form (layout.html): fields in a row, an optional grid of
// number inputs (one row per group, one column per period), a submit button.
// A post form carries the CSRF token.
type form struct {
	Method, Action, Submit string
	Hidden                 []formField
	Fields                 []formField
	Grid                   *formGrid
}

type formField struct {
	Label, Name, Type, Value, Placeholder string
	Options                               []formOption
}

type formOption struct {
	Value, Label string
	Selected     bool
}

// formGrid is a table of number inputs: Cols are the column headings (the
// first heads the row labels).
type formGrid struct {
	ID   string
	Cols []string
	Rows []formGridRow
}

type formGridRow struct {
	Label  string
	Inputs []formField
}
