package dashboards

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/query"
)

// The OpenAPI 3 document of /api/v1, built once. Metric definitions live in
// query/METRICS.md; the descriptions here point there rather than repeat them.

var openAPIDoc = sync.OnceValue(func() []byte {
	b, err := json.MarshalIndent(withForecast(openAPI()), "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
})

func serveOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", openAPIDoc())
}

type obj = map[string]any

func param(name, desc string, schema obj) obj {
	return obj{"name": name, "in": "query", "required": false, "description": desc, "schema": schema}
}

var (
	str     = obj{"type": "string"}
	integer = obj{"type": "integer"}
	number  = obj{"type": "number"}
	boolean = obj{"type": "boolean"}
	date    = obj{"type": "string", "format": "date"}
)

func enum(vals ...string) obj { return obj{"type": "string", "enum": vals} }
func arr(items obj) obj       { return obj{"type": "array", "items": items} }
func ref(name string) obj     { return obj{"$ref": "#/components/schemas/" + name} }
func props(required []string, p obj) obj {
	o := obj{"type": "object", "properties": p}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func filterParams() []any {
	list := obj{"type": "array", "items": str}
	desc := func(s string) string { return s + " Repeat the parameter or separate values with commas." }
	return []any{
		param("from", "First day of the range (inclusive), YYYY-MM-DD in the business time zone. Default: 365 days before to.", date),
		param("to", "Day after the range (exclusive), YYYY-MM-DD. Default: tomorrow.", date),
		obj{"name": "team", "in": "query", "description": desc("Team names."), "schema": list, "style": "form", "explode": true},
		obj{"name": "manager", "in": "query", "description": desc("Manager rep ids."), "schema": list, "style": "form", "explode": true},
		obj{"name": "rep", "in": "query", "description": desc("Rep ids (opportunity owners)."), "schema": list, "style": "form", "explode": true},
		obj{"name": "territory", "in": "query", "description": desc("Territories (the account's, else the owner's)."), "schema": list, "style": "form", "explode": true},
		obj{"name": "product", "in": "query", "description": desc("Products."), "schema": list, "style": "form", "explode": true},
		obj{"name": "source", "in": "query", "description": desc("Lead sources."), "schema": list, "style": "form", "explode": true},
		obj{"name": "segment", "in": "query", "description": desc("Account segments."), "schema": list, "style": "form", "explode": true},
	}
}

func op(summary, desc, schema string, extra ...obj) obj {
	params := filterParams()
	for _, e := range extra {
		params = append(params, e)
	}
	errResp := obj{"description": "error", "content": obj{"application/json": obj{"schema": ref("Error")}}}
	return obj{"get": obj{
		"summary":     summary,
		"description": desc,
		"parameters":  params,
		"responses": obj{
			"200": obj{"description": "OK", "content": obj{"application/json": obj{"schema": ref(schema)}}},
			"400": errResp, "401": errResp, "403": errResp, "404": errResp, "503": errResp,
		},
	}}
}

func openAPI() obj {
	groupBy := param("group_by", "Group the result.", enum("rep", "team", "manager", "territory", "product", "source", "segment"))
	period := param("period", "Period of the trend (default month).", enum("week", "month", "quarter"))
	durations := props(nil, obj{"key": str, "name": str, "count": integer, "median_days": number, "mean_days": number, "stddev_days": number})
	winGroup := props([]string{"key", "won", "lost", "win_rate"}, obj{"key": str, "name": str, "won": integer, "lost": integer, "win_rate": number,
		"won_amount": number, "lost_amount": number, "win_rate_amount": number})
	stage := props([]string{"stage", "reached"}, obj{"stage": str, "rank": integer, "reached": integer, "conversion": number})
	funnelProps := obj{"from": date, "to": date, "cohort": integer, "stages": arr(ref("StageCount")), "won": integer, "lost": integer, "open": integer,
		"won_amount": number, "amount": number}
	convProps := obj{"period": date, "win_conversion": number, "incomplete": boolean, "partial": boolean}
	for k, v := range funnelProps {
		convProps[k] = v
	}
	metric := props(nil, obj{"metric": str, "stage": str, "value": number, "n": integer, "low": number, "high": number, "peer": number,
		"higher_is_better": boolean, "verdict": enum("strength", "weakness"), "hint_en": str, "hint_zh": str})
	schemas := obj{
		"Error":        props([]string{"error"}, obj{"error": str}),
		"StageCount":   stage,
		"Funnel":       props([]string{"stages", "won", "lost", "open"}, funnelProps),
		"Conversion":   arr(props(nil, convProps)),
		"WinRateGroup": winGroup,
		"WinRate":      props([]string{"total", "groups"}, obj{"from": date, "to": date, "group_by": str, "total": ref("WinRateGroup"), "groups": arr(ref("WinRateGroup"))}),
		"Durations":    durations,
		"CycleTime":    props(nil, obj{"from": date, "to": date, "group_by": str, "total": ref("Durations"), "groups": arr(ref("Durations"))}),
		"DaysInStage": arr(props(nil, obj{"stage": str, "rank": integer, "key": str, "name": str, "count": integer, "median_days": number,
			"mean_days": number, "stddev_days": number, "still_in": integer})),
		"Movement": props(nil, obj{"from": date, "to": date, "period": str,
			"periods": arr(props(nil, obj{"period": date, "opened": integer, "opened_amount": number, "pulled_in": integer, "pulled_in_amount": number,
				"pushed_out": integer, "pushed_out_amount": number, "won": integer, "won_amount": number, "lost": integer, "lost_amount": number,
				"amount_change": number, "pushes_per_deal": number})),
			"top_pushed": arr(props(nil, obj{"opportunity_id": str, "name": str, "owner_id": str, "pushes": integer, "days_pushed": integer}))}),
		"LeadSource": props(nil, obj{"source": str, "leads": integer, "converted": integer, "conversion": number}),
		"LeadConversion": props(nil, obj{"from": date, "to": date, "total": ref("LeadSource"), "sources": arr(ref("LeadSource")),
			"ignored_filters": arr(str)}),
		"Attainment": props(nil, obj{"from": date, "to": date, "targets": arr(props(nil, obj{"scope": enum("rep", "team", "territory", "company"),
			"scope_id": str, "period_start": date, "period_end": date, "target": number, "booked": number, "attainment": number}))}),
		"Coverage": props(nil, obj{"from": date, "to": date, "pipeline": number, "won": number, "target": number,
			"target_level": enum("company", "territory", "team", "rep", "team+rep", ""), "prorated": boolean,
			"team_targets": obj{"type": "object", "additionalProperties": number}, "remaining": number,
			"coverage": obj{"type": "number", "nullable": true, "description": "pipeline / remaining; null when nothing remains (status)"},
			"status":   enum("ok", "target_met", "no_target", "not_comparable", "ended")}),
		"MetricScore": metric,
		"RepScore": props([]string{"rep_id", "metrics"}, obj{"rep_id": str, "name": str, "team": str, "manager_id": str, "territory": str,
			"deals": integer, "won": integer, "lost": integer, "won_amount": number, "metrics": arr(ref("MetricScore")),
			"worst_stage": str, "worst_stage_excess_losses": number, "strengths": integer, "weaknesses": integer}),
		"Reps": arr(ref("RepScore")),
		"Territories": arr(props(nil, obj{"territory": str, "potential": number, "potential_source": enum("market", "estimate"),
			"captured": number, "penetration": number, "headroom": number, "accounts": integer, "white_space_accounts": integer,
			"won": integer, "lost": integer, "win_rate": number, "pipeline": number, "coverage": number, "rank": integer})),
		"Deals": props([]string{"total", "deals"}, obj{"total": integer, "page": integer, "page_size": integer,
			"deals": arr(props(nil, obj{"opportunity_id": str, "name": str, "account_id": str, "account_name": str, "owner_id": str,
				"owner_name": str, "team": str, "territory": str, "segment": str, "product": str, "source": str, "stage": str,
				"furthest_stage": str, "amount": number, "created": date, "close_date": date, "status": enum("open", "won", "lost")}))}),
		"Series": obj{"type": "object", "additionalProperties": arr(props(nil, obj{"day": obj{"type": "string", "format": "date-time"}, "value": number,
			"num": obj{"type": "number", "description": "rates and means: the day's numerator"}, "den": obj{"type": "number", "description": "rates and means: the day's denominator (0: no value that day)"}}))},
	}
	schemas["FileReport"] = props([]string{"file", "run_id", "status"}, obj{"file": str, "run_id": integer, "checksum": str, "profile": str, "table": str,
		"format": str, "status": enum("running", "loaded", "committed", "failed", "duplicate"), "read": integer, "loaded": integer, "rejected": integer,
		"duplicates": integer, "rejects_by_reason": obj{"type": "object", "additionalProperties": integer},
		"tables": obj{"type": "object", "additionalProperties": integer}, "date_order": str,
		"sample_rejects": arr(props(nil, obj{"row": integer, "column": str, "value": str, "reason": str, "message": str})),
		"duplicate_of":   integer, "error": str, "started_at": obj{"type": "string", "format": "date-time"}, "duration_ms": integer,
		"progress": props(nil, obj{"file": str, "rows": integer, "bytes": integer, "total": integer, "done": boolean}), "host": str, "pid": integer})
	schemas["ImportReport"] = props([]string{"files"}, obj{"files": arr(ref("FileReport")), "loaded": integer, "rejected": integer, "failed": integer})
	schemas["ImportFailed"] = props([]string{"error"}, obj{"error": str, "files": arr(ref("FileReport")), "loaded": integer, "rejected": integer, "failed": integer})
	schemas["ImportAccepted"] = props([]string{"run_id", "status", "report"}, obj{"run_id": integer, "status": enum("running"), "report": str})
	schemas["ImportRuns"] = props([]string{"runs"}, obj{"runs": arr(props(nil, obj{"run_id": integer, "file": str, "profile": str, "kind": str,
		"status": str, "read": integer, "loaded": integer, "rejected": integer, "error": str,
		"started_at": obj{"type": "string", "format": "date-time"}, "finished_at": obj{"type": "string", "format": "date-time"}}))})
	repID := obj{"name": "id", "in": "path", "required": true, "schema": str}
	repOp := op("One rep's scorecard", "404 when the rep is not in the caller's scope.", "RepScore")
	repOp["get"].(obj)["parameters"] = append(repOp["get"].(obj)["parameters"].([]any), repID)
	doc := obj{
		"openapi": "3.0.3",
		"info": obj{"title": "pipelens API", "version": "1",
			"description": "Every number of the pipelens dashboards. Metric definitions: query/METRICS.md. " +
				"Authenticate with Authorization: Bearer <token> (auth.tokens in the config); a manager token sees its team only " +
				"(asking for another team is 403), a rep token its own deals only."},
		"servers":    []any{obj{"url": "/api/v1"}},
		"security":   []any{obj{"bearer": []any{}}},
		"components": obj{"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer"}}, "schemas": schemas},
		"paths": obj{
			"/funnel":        op("Cohort funnel", "Opportunities created in [from, to): reached per open stage, conversion per step, won, lost, open.", "Funnel"),
			"/conversion":    op("Conversion trend", "The funnel of each period's cohort, flagged incomplete when over 20% is still open.", "Conversion", period),
			"/winrate":       op("Win rate", "won/(won+lost) over opportunities closed in [from, to), by count and amount.", "WinRate", groupBy),
			"/cycle":         op("Cycle time", "Days from created to closed of won opportunities closed in [from, to).", "CycleTime", groupBy),
			"/days-in-stage": op("Days in stage", "Days from entering a stage (in [from, to)) to the next stage change or close.", "DaysInStage", groupBy),
			"/movement":      op("Pipeline movement", "Opened, pulled in, pushed out, won, lost and amount changes per period; the most pushed deals.", "Movement", period),
			"/leads":         op("Lead conversion by source", "Leads created in [from, to) converted to opportunities.", "LeadConversion"),
			"/attainment":    op("Attainment", "Won amount against the targets whose period lies in [from, to).", "Attainment"),
			"/coverage":      op("Pipeline coverage", "Open pipeline closing in [from, to) against the target still to book.", "Coverage"),
			"/reps":          op("Rep scorecards", "Each rep against the other reps of the filter, with intervals; strengths and weaknesses.", "Reps"),
			"/reps/{id}":     repOp,
			"/territories":   op("Territory potential", "Potential, captured, penetration, headroom, white space; ranked by headroom.", "Territories"),
			"/deals": op("Deals", "The deals behind a number, paged.", "Deals",
				param("basis", "Which date the range applies to (default created).", enum("created", "closed", "open")),
				param("stage", "Current stage, or with reached=true the furthest stage at least this.", str),
				param("reached", "Match the furthest stage instead of the current one.", boolean),
				param("status", "Deal status.", enum("open", "won", "lost", "closed")),
				param("sort", "Order (default -amount).", enum("amount", "-amount", "created", "-created", "close", "-close")),
				param("page", "1-based page.", integer),
				param("page_size", "Deals per page, 1..500 (default 50).", integer)),
			"/imports":      importsOps(),
			"/imports/{id}": importRunOp(),
			"/series": op("Daily series", "A metric per day in [from, to) per segment, zero-filled (what alerts watch).", "Series",
				param("metric", "A metric of the registry (query.Metrics; older names opportunities, won, lost accepted).", enum(query.SeriesMetrics...)),
				param("segment_kind", "Cut by (default: one series \"all\"); each metric lists the kinds it allows.", enum("all", "team", "manager", "rep", "territory", "product", "source", "segment"))),
		},
	}
	paths := doc["paths"].(obj)
	openAPITargets(schemas, paths)
	openAPICoaching(schemas, paths)
	openAPIContests(schemas, paths)
	openAPIAnomalies(schemas, paths)
	openAPIDeals(schemas, paths)
	openAPIRules(schemas, paths)
	openAPISubscriptions(schemas, paths)
	openAPICompare(schemas, paths)
	return doc
}

func jsonResp(desc, schema string) obj {
	return obj{"description": desc, "content": obj{"application/json": obj{"schema": ref(schema)}}}
}

// importsOps is the upload door: directors and admins only.
func importsOps() obj {
	errResp := jsonResp("error", "Error")
	return obj{
		"post": obj{
			"summary": "Upload an export",
			"description": "Loads one CRM export or spreadsheet (CSV, TSV, XLSX, JSON, Parquet; any common encoding) and publishes it. " +
				"Directors and admins only. A small file is answered with its report; one still loading after a few seconds with 202 " +
				"and its run, which GET /imports/{id} follows. A file that cannot be loaded is a 4xx with the reason `pipelens ingest` gives. " +
				"A browser session sends its CSRF token (field csrf before the file, or header X-CSRF-Token).",
			"parameters": []any{param("source", "The CRM the export comes from (else detected from its columns).",
				enum("salesforce", "hubspot", "zoho", "pipedrive", "fxiaoke", "canonical"))},
			"requestBody": obj{"required": true, "content": obj{"multipart/form-data": obj{"schema": props([]string{"file"}, obj{
				"csrf":   obj{"type": "string", "description": "The session's CSRF token (browser sessions only), before the file."},
				"source": obj{"type": "string", "description": "As the query parameter, before the file."},
				"file":   obj{"type": "string", "format": "binary", "description": "The export; its name's extension helps pick the reader."},
			})}}},
			"responses": obj{
				"200": jsonResp("Loaded (or a duplicate of an earlier load)", "ImportReport"),
				"202": obj{"description": "Still loading: follow the run", "headers": obj{"Location": obj{"schema": str}},
					"content": obj{"application/json": obj{"schema": ref("ImportAccepted")}}},
				"400": errResp, "401": errResp, "403": errResp, "413": errResp,
				"422": jsonResp("The file cannot be loaded: the reason, and the report when the load started", "ImportFailed"),
				"503": errResp,
			},
		},
		"get": obj{
			"summary":     "Recent imports",
			"description": "The latest 100 ingest runs, newest first. Directors and admins only.",
			"responses":   obj{"200": jsonResp("OK", "ImportRuns"), "401": errResp, "403": errResp, "503": errResp},
		},
	}
}

func importRunOp() obj {
	errResp := jsonResp("error", "Error")
	return obj{"get": obj{
		"summary":     "One import's report",
		"description": "A run's report: its status while it loads (with progress), its counts and rejects when it ended. Directors and admins only.",
		"parameters":  []any{obj{"name": "id", "in": "path", "required": true, "schema": integer, "description": "The run id (run_id)."}},
		"responses":   obj{"200": jsonResp("OK", "ImportReport"), "400": errResp, "401": errResp, "403": errResp, "404": errResp, "503": errResp},
	}}
}
