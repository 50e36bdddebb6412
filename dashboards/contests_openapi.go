package dashboards

import "github.com/pipelens/pipelens/query"

// openAPIContestsTiers adds the contests and tiers schemas and paths.
func openAPIContestsTiers(schemas, paths obj) {
	errResp := jsonResp("error", "Error")
	errs := obj{"400": errResp, "401": errResp, "403": errResp, "404": errResp, "503": errResp}
	with := func(code string, r obj) obj {
		out := obj{code: r}
		for k, v := range errs {
			out[k] = v
		}
		return out
	}
	id := obj{"name": "id", "in": "path", "required": true, "schema": str, "description": "The contest id."}
	group := props([]string{"name", "reps"}, obj{"name": str, "reps": arr(str)})
	input := obj{"name": str, "metric": enum(query.ContestMetrics...),
		"from": date, "to": obj{"type": "string", "format": "date", "description": "exclusive"},
		"baseline_from": obj{"type": "string", "format": "date", "description": "default: the same number of days just before from"},
		"baseline_to":   date, "newcomer_days": obj{"type": "integer", "description": "a rep hired at most this many days before from is a newcomer (default 180)"},
		"teams": obj{"type": "array", "items": str, "description": "their reps compete (not managers)"},
		"reps":  arr(str), "groups": arr(ref("ContestGroup")),
		"categories": obj{"type": "array", "items": enum(query.ContestCategories...), "description": "default [top]"}}
	contest := obj{"id": str, "created_by": str, "updated_at": obj{"type": "string", "format": "date-time"}}
	for k, v := range input {
		contest[k] = v
	}
	schemas["ContestGroup"] = group
	schemas["ContestInput"] = props([]string{"name", "metric", "from", "to"}, input)
	schemas["Contest"] = props([]string{"id", "name", "metric", "from", "to"}, contest)
	schemas["Contests"] = props([]string{"contests"}, obj{"contests": arr(ref("Contest"))})
	schemas["BoardToken"] = props([]string{"board_token", "board_url"}, obj{"contest": ref("Contest"),
		"board_token": obj{"type": "string", "description": "shown this once; only its hash is stored"},
		"board_url":   obj{"type": "string", "description": "/board/{id}?token=…: opens the board and its event stream, nothing else"}})
	schemas["RankRow"] = props([]string{"rank", "rep", "value"}, obj{"rank": obj{"type": "integer", "description": "competition rank: ties share it, the next skips"},
		"rep": str, "name": str, "team": str, "value": number, "current": number, "baseline": number, "newcomer": boolean})
	schemas["ContestRanking"] = props([]string{"contest", "categories"}, obj{"contest": ref("Contest"), "publication": integer, "participants": integer,
		"categories": arr(props(nil, obj{"category": enum(query.ContestCategories...), "metric": enum(query.ContestMetrics...),
			"groups": arr(props(nil, obj{"name": str, "rows": arr(ref("RankRow"))}))}))})
	body := obj{"required": true, "content": obj{"application/json": obj{"schema": ref("ContestInput")}}}
	paths["/contests"] = obj{
		"get": obj{"summary": "Contests", "description": "Every contest's definition (the rankings are scoped).", "responses": with("200", jsonResp("OK", "Contests"))},
		"post": obj{"summary": "Define a contest", "description": "Admins and directors. Unknown fields are refused. The answer holds the board token, shown this once.",
			"requestBody": body, "responses": with("201", jsonResp("Created", "BoardToken"))},
	}
	paths["/contests/{id}"] = obj{
		"get":    obj{"summary": "One contest", "parameters": []any{id}, "responses": with("200", jsonResp("OK", "Contest"))},
		"put":    obj{"summary": "Change a contest", "description": "Admins and directors; the board token stays.", "parameters": []any{id}, "requestBody": body, "responses": with("200", jsonResp("OK", "Contest"))},
		"delete": obj{"summary": "Delete a contest", "description": "Admins and directors; its board stops answering.", "parameters": []any{id}, "responses": with("204", obj{"description": "Deleted"})},
	}
	paths["/contests/{id}/token"] = obj{"post": obj{"summary": "New board token", "description": "Admins and directors. The old token stops working; the new one is shown this once.",
		"parameters": []any{id}, "responses": with("200", jsonResp("OK", "BoardToken"))}}
	paths["/contests/{id}/ranking"] = obj{"get": obj{"summary": "A contest's rankings",
		"description": "Per category and group, as of the latest publication. Everyone competes; a manager sees the own team's rows, a rep the own, with their ranks among all. " +
			"The office board (/board/{id}?token=…, outside /api/v1) shows the same and follows a server-sent event stream (/board/{id}/events?token=…, event ranking) that pushes it after every load.",
		"parameters": []any{id}, "responses": with("200", jsonResp("OK", "ContestRanking"))}}

	level := props(nil, obj{"contact_every_days": integer, "response_hours": integer, "covered_by": enum("rep", "team", "anyone")})
	summary := props(nil, obj{"key": str, "name_en": str, "name_zh": str, "service": level, "accounts": integer, "covered": integer, "coverage": number,
		"bookings": number, "pipeline": number, "bookings_share": number, "pipeline_share": number})
	account := props(nil, obj{"account": str, "name": str, "territory": str, "segment": str, "rep": str, "rep_name": str, "team": str, "tier": str,
		"revenue": number, "employees": number, "pipeline": number, "won": number, "activities": integer, "last_contact": str,
		"days_since": obj{"type": "integer", "description": "-1: never contacted"}, "contact_every_days": integer, "covered": boolean})
	owner := props(nil, obj{"key": str, "name": str, "team": str, "accounts": integer, "below": integer})
	schemas["TierSummary"] = summary
	schemas["AccountTier"] = account
	schemas["TierOwner"] = owner
	schemas["AccountTiers"] = props([]string{"tiers", "below"}, obj{"from": date, "to": date, "lookback_days": integer, "tiers": arr(ref("TierSummary")),
		"no_account": ref("TierSummary"), "by_rep": arr(ref("TierOwner")), "by_team": arr(ref("TierOwner")), "below": arr(ref("AccountTier")), "accounts": arr(ref("AccountTier"))})
	paths["/tiers"] = op("Account tiers", "Each account's tier (config tiers: first matching level), coverage per tier from activities as of the range's end, "+
		"the accounts below their tier's service level (per rep and team), and each tier's share of the range's bookings and of the open pipeline. "+
		"Product and source filters do not apply (400).", "AccountTiers", param("accounts", "Also list every account, not only those below their level.", boolean))
}
