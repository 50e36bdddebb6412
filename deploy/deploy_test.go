package deploy

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var betweenTags = regexp.MustCompile(`>\s+<`)

func section(t *testing.T, doc, tag string) string {
	t.Helper()
	if k := strings.Index(doc, "-->"); k >= 0 {
		doc = doc[k:] // past the header comment
	}
	i := strings.Index(doc, "<"+tag+">")
	j := strings.Index(doc, "</"+tag+">")
	if i < 0 || j < 0 {
		t.Fatalf("no <%s> section in\n%s", tag, doc)
	}
	return norm(doc[i : j+len(tag)+3])
}

func norm(s string) string { return betweenTags.ReplaceAllString(strings.TrimSpace(s), "><") }

// The shipped files are what the generator writes for their own layout, so the
// cluster test (which uses the generator) tests the files operators deploy.
func TestClusterFilesMatchGenerator(t *testing.T) {
	c, err := FileCluster()
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "pipelens" || len(c.Shards) != 2 || len(c.Shards[0]) != 2 || len(c.Shards[1]) != 2 || !c.InternalReplication {
		t.Fatalf("cluster.xml layout %+v: want pipelens, 2 shards x 2 replicas, internal_replication", c)
	}
	if c.SessionTimeout != 30*time.Second || len(c.ZooKeeper) != 1 || c.ZooKeeper[0] != "zk:2181" {
		t.Fatalf("cluster.xml zookeeper %v %v", c.ZooKeeper, c.SessionTimeout)
	}
	rs, err := c.RemoteServers()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := norm(rs), section(t, ClusterXML, "remote_servers"); got != want {
		t.Errorf("remote_servers:\n got %s\nfile %s", got, want)
	}
	zk, err := c.ZooKeeperSection()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := norm(zk), section(t, ClusterXML, "zookeeper"); got != want {
		t.Errorf("zookeeper:\n got %s\nfile %s", got, want)
	}
	n := 0
	for s := range c.Shards {
		for r := range c.Shards[s] {
			n++
			f, err := MacrosFile(n)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := norm(c.Macros(s, r)), section(t, f, "macros"); got != want {
				t.Errorf("macros of ch%d:\n got %s\nfile %s", n, got, want)
			}
		}
	}
}

func TestClusterServerConfigLocal(t *testing.T) {
	c, err := FileCluster()
	if err != nil {
		t.Fatal(err)
	}
	c, err = c.WithAddrs([]string{"127.0.0.1:9101", "127.0.0.1:9102", "127.0.0.1:9103", "127.0.0.1:9104"})
	if err != nil {
		t.Fatal(err)
	}
	c.ZooKeeper = []string{"127.0.0.1:2181"}
	x, err := c.ServerConfig(1, 0, "127.0.0.1:9203")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<shard>02</shard>", "<replica>127.0.0.1_9103</replica>", "<port>9104</port>", "<interserver_http_port>9203</interserver_http_port>", "<host>127.0.0.1</host>\n        <port>2181</port>"} {
		if !strings.Contains(x, want) {
			t.Errorf("server config lacks %q:\n%s", want, x)
		}
	}
	if _, err := c.ServerConfig(2, 0, ""); err == nil {
		t.Error("config for a shard that does not exist: no error")
	}
	if _, err := RemoteServers([]string{"a:1"}); err == nil {
		t.Error("RemoteServers with too few addresses: no error")
	}
}
