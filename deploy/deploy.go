// Package deploy holds pipelens's deployment files: docker compose with a current
// ClickHouse, Kubernetes manifests and the ClickHouse cluster config. The cluster
// config is embedded so the cluster test runs against the very file operators use.
package deploy

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"
)

// ClusterXML is clickhouse/cluster.xml.
//
//go:embed clickhouse/cluster.xml
var ClusterXML string

var replicaRE = regexp.MustCompile(`(?s)<host>[^<]*</host>\s*<port>[^<]*</port>`)

// RemoteServers returns the <remote_servers> section of cluster.xml with the
// replicas' host and port replaced by addrs in order (one per replica).
func RemoteServers(addrs []string) (string, error) {
	start := strings.Index(ClusterXML, "<remote_servers>")
	end := strings.Index(ClusterXML, "</remote_servers>")
	if start < 0 || end < 0 {
		return "", fmt.Errorf("cluster.xml has no <remote_servers> section")
	}
	sec := ClusterXML[start : end+len("</remote_servers>")]
	n := len(replicaRE.FindAllStringIndex(sec, -1))
	if n != len(addrs) {
		return "", fmt.Errorf("cluster.xml has %d replicas, got %d addresses", n, len(addrs))
	}
	i := 0
	var err error
	sec = replicaRE.ReplaceAllStringFunc(sec, func(string) string {
		host, port, ok := strings.Cut(addrs[i], ":")
		if !ok {
			err = fmt.Errorf("address %q: want host:port", addrs[i])
		}
		i++
		return "<host>" + host + "</host>\n                    <port>" + port + "</port>"
	})
	return sec, err
}
