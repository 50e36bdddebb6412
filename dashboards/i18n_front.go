package dashboards

// Messages of the page frame: landmarks and table controls (app.js reads the
// table ones from data attributes the layout writes).
func init() {
	addMessages(map[string][2]string{
		"a11y.skip":    {"Skip to content", "跳到正文"},
		"a11y.menu":    {"Main menu", "主菜单"},
		"a11y.filters": {"Filters", "筛选"},
		"tbl.search":   {"Search rows", "搜索行"},
		"tbl.sort":     {"Sort by this column", "按此列排序"},
		"tbl.matches":  {"rows match", "行匹配"},
	})
}
