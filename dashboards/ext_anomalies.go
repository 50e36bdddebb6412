package dashboards

import "github.com/labstack/echo/v4"

// Anomalies (issue 13): /api/v1/anomalies (list, ack, snooze).
func (a *api) mountAnomaliesAPI(g *echo.Group) {}
func openAPIAnomalies(schemas, paths obj)      {}
