// Command pipelens: load CRM exports into ClickHouse, serve the dashboards and API,
// and send alert emails. See the README for the commands.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
