package dashboards

// openAPICompare documents compare=true on the card endpoints (/winrate,
// /cycle, /coverage): the answer gains previous, last_year and compare_cut.
func openAPICompare(schemas, paths obj) {
	nullable := func(desc string) obj { return obj{"type": "number", "nullable": true, "description": desc} }
	schemas["Delta"] = props([]string{"from", "to", "value", "change", "n"}, obj{
		"from": date, "to": obj{"type": "string", "format": "date", "description": "exclusive"},
		"value": nullable("the number over this range; null when undefined there (n = 0: nothing closed), never a fake 0"),
		"change": nullable("the current number against value: win rate the difference (0.031 = +3.1 percentage points), cycle time the " +
			"difference in days, bookings relative (0.12 = +12%); null when either side is undefined or a relative change has 0 before"),
		"n": obj{"type": "integer", "description": "deals the number counts over this range (closed for win rate, won for cycle time and bookings)"}})
	cmpParam := param("compare", "Add previous (the period of the same length just before; a range of whole months moves by its months) and "+
		"last_year (the same dates a year earlier), cut to the elapsed days when the range runs past today (compare_cut). METRICS.md, Comparisons.", boolean)
	for path, what := range map[string]string{"/winrate": "the total win rate", "/cycle": "the total median days", "/coverage": "the bookings (won); coverage itself is not compared: its open pipeline is today's"} {
		p, ok := paths[path].(obj)
		if !ok {
			continue
		}
		get := p["get"].(obj)
		get["parameters"] = append(get["parameters"].([]any), cmpParam)
		get["description"] = get["description"].(string) + " With compare=true, previous and last_year compare " + what + "."
		schema := get["responses"].(obj)["200"].(obj)["content"].(obj)["application/json"].(obj)["schema"].(obj)["$ref"].(string)
		s := schemas[schema[len("#/components/schemas/"):]].(obj)
		s["properties"].(obj)["previous"] = ref("Delta")
		s["properties"].(obj)["last_year"] = ref("Delta")
		s["properties"].(obj)["compare_cut"] = obj{"type": "boolean", "description": "the range runs past today: the comparisons cover as many days as have elapsed"}
	}
}
