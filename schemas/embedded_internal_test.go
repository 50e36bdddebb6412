package schemas

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"testing"
)

// A port picked free may be bound by another process before the server binds
// it (CI saw it: "Address already in use"). The start then goes on with other
// ports instead of failing.
func TestEmbeddedStartsAgainOnPortClash(t *testing.T) {
	taken, err := ListenFree()
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	picks := 0
	pickPort = func() (int, error) {
		picks++
		if picks == 1 {
			return takenPort, nil
		}
		return freePort()
	}
	defer func() { pickPort = freePort }()

	e, err := StartEmbedded(context.Background(), EmbeddedOptions{Dir: filepath.Join(t.TempDir(), "clickhouse")})
	if err != nil {
		t.Fatalf("the start failed on the taken port instead of picking another: %v", err)
	}
	defer e.Stop()
	if e.Addr == net.JoinHostPort("127.0.0.1", strconv.Itoa(takenPort)) {
		t.Fatalf("the server claims the taken port %d", takenPort)
	}
	if picks < 4 {
		t.Fatalf("ports were picked %d times; a second start picks two more", picks)
	}
	db, err := OpenAddr(context.Background(), e.Addr, "default", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}
